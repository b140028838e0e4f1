"""pyOCD itself, imported lazily (an optional dependency: `pip install 'bench[hw]'`), and its
log records collected for the driver's logs()."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from bench.errors import TargetError

PYOCD_MISSING = "pyOCD is not installed: pip install 'bench[hw]'"


def _load_pyocd() -> SimpleNamespace:
    """The pieces of pyOCD this driver uses, imported now (pyOCD is an optional dependency)."""
    try:
        from pyocd.core import exceptions
        from pyocd.core.helpers import ConnectHelper
        from pyocd.flash.file_programmer import FileProgrammer
        from pyocd.target import TARGET, normalise_target_type_name
        from pyocd.target.pack.pack_target import ManagedPacks
    except ImportError as e:
        if (e.name or "").split(".")[0] == "pyocd":
            raise TargetError(PYOCD_MISSING) from e
        raise TargetError(f"pyOCD is installed but failed to import ({e}); reinstall it: "
                          "pip install --force-reinstall 'bench[hw]'") from e
    return SimpleNamespace(
        ConnectHelper=ConnectHelper,
        FileProgrammer=FileProgrammer,
        TARGET=TARGET,
        normalise_target_type_name=normalise_target_type_name,
        ManagedPacks=ManagedPacks,
        Error=exceptions.Error,
        TargetSupportError=exceptions.TargetSupportError,
    )


class LogCollector(logging.Handler):
    """pyOCD's warnings and errors, kept for logs() while attached to the "pyocd" logger."""

    def __init__(self, sink: list[str]):
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.append(f"pyocd {record.levelname.lower()}: {record.getMessage()}")
        except Exception:  # noqa: BLE001 - logging must never break a run
            self.handleError(record)

    def attach(self) -> None:
        logging.getLogger("pyocd").addHandler(self)

    def detach(self) -> None:
        logging.getLogger("pyocd").removeHandler(self)
