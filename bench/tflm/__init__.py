"""TFLite-Micro on the host: the yardstick of our integer semantics (the optional `tflm` extra).

`bench.tflm.graph` builds .tflite files with TFLM's model editor (no TensorFlow needed) and
runs them in TFLM's host interpreter. Nothing in the runtime path imports this package unless
a user asks for TFLM (`bench export tflite`, an image whose manifest names a .tflite).
"""

from __future__ import annotations

from types import ModuleType

from bench.errors import ConfigError

TESTED_VERSION = "0.dev20261023182759"  # the tflite-micro build the conformance suite passed with


def require() -> tuple[ModuleType, ModuleType, ModuleType]:
    """(runtime, model_editor, schema) of the tflite-micro package, or a ConfigError saying how
    to install it."""
    try:
        from tflite_micro.python.tflite_micro import runtime
        from tflite_micro.tensorflow.lite.micro.compression import model_editor
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    except ImportError as exc:
        raise ConfigError(
            f"TFLite-Micro is not installed ({exc}); install the tflm extra: "
            f".venv/bin/pip install -e '.[tflm]' (tested with tflite-micro=={TESTED_VERSION})"
        ) from exc
    return runtime, model_editor, schema
