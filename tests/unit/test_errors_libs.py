"""A third-party library that fails under the bench (docs/errors.md): pyOCD whose own dependency does
not import (a broken install), and PESQ's C library running out of memory. The library's own failure
is produced at its boundary (an import that fails, the library's exception class), the bench's
message checked for what went wrong and what to do."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from bench.errors import MetricError


def test_a_pyocd_whose_dependency_does_not_import_says_reinstall():
    pytest.importorskip("pyocd", reason="pyOCD is not installed (pip install 'bench[hw]')")
    code = ("import sys\nsys.modules['intelhex'] = None  # pyOCD's dependency, broken\n"
            "from bench.errors import TargetError\n"
            "from bench.targets.drivers.pyocd.api import _load_pyocd\n"
            "try:\n    _load_pyocd()\nexcept TargetError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("pyOCD is installed but failed to import (import of intelhex halted")
    assert "reinstall it: pip install --force-reinstall 'bench[hw]'" in r.stdout


def test_pesq_out_of_memory_says_score_shorter_utterances(monkeypatch):
    pesq_lib = pytest.importorskip("pesq")
    from bench.metrics import quality

    def oom(*args, **kw):
        raise pesq_lib.OutOfMemoryError()

    monkeypatch.setattr(pesq_lib, "pesq", oom)
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 0.1, 16000 * 3)
    with pytest.raises(MetricError, match=r"pesq_wb: PESQ ran out of memory .*score shorter utterances"):
        quality.pesq_wb(ref, ref + rng.normal(0, 0.01, ref.size), 16000)
