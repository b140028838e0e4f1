"""PyocdDriver: the pyOCD driver composed of its parts (bench.targets.drivers.pyocd describes it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.errors import TargetError
from bench.link.transport import SerialTransport
from bench.targets.drivers.base import Driver
from bench.targets.drivers.pyocd import api, dwt
from bench.targets.drivers.pyocd.elfcheck import ElfImage, check_image_fits, inspect_elf
from bench.targets.drivers.pyocd.fault import CoreReport, inspect_core
from bench.targets.drivers.pyocd.flash import already_holds, program, verify
from bench.targets.drivers.pyocd.options import parse_options
from bench.targets.drivers.pyocd.serial import serial_url
from bench.targets.drivers.pyocd.session import check_target_type, close_session, connect, create_session
from bench.targets.protocols import CounterReader, Flasher
from bench.targets.spec import TargetSpec


class PyocdDriver(Driver, Flasher, CounterReader):
    """Flasher (program + verify, skip_unchanged), Resetter (reset into halt, DWT on, run),
    LinkProvider (the probe's virtual COM port or [pyocd] serial), CounterReader (DWT CYCCNT)."""

    def __init__(self, target: TargetSpec, workdir: Path):
        super().__init__(target, workdir)
        self.options = parse_options(target)
        self.image: ElfImage | None = None
        self.probe_uid: str | None = None  # the full uid of the probe in use, once chosen
        self._session: Any = None
        self._api: Any = None  # pyOCD's pieces (api._load_pyocd), once a session is opened
        self._target_type = self.options.target_type  # pyOCD's normalised name, once looked up
        self._link: SerialTransport | None = None
        self._lines: list[str] = []
        self._log = api.LogCollector(self._lines)
        self._log_attached = False
        self.core_report: CoreReport | None = None  # the core as stop() found it (fault.py)

    # -- log ------------------------------------------------------------------------------------

    def _note(self, msg: str) -> None:
        self._lines.append(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}")

    def logs(self) -> str:
        return "\n".join(self._lines) + ("\n" if self._lines else "")

    def _attach_log(self) -> None:
        if not self._log_attached:
            self._log.attach()
            self._log_attached = True

    def _detach_log(self) -> None:
        if self._log_attached:
            self._log.detach()
            self._log_attached = False

    # -- protocols --------------------------------------------------------------------------------

    @classmethod
    def check_options(cls, target: TargetSpec) -> None:
        parse_options(target)

    def start(self, image: Path) -> None:
        """Flash (program + verify) the image and leave it running from reset with CYCCNT on."""
        self.stop()
        self.flash(image)
        session = self._session
        try:
            dwt.reset_and_run(session.target, self.options.target_type, self.probe_uid, self._note,
                              cycle_counter=self._uses_cycle_counter)
        except BaseException:
            self._session = None
            self._discard(session)
            raise

    def flash(self, image: Path) -> bool:
        """Program and (with [pyocd] verify) read back the image; the core is left halted or in
        reset, not running (start() or reset() runs it). With [pyocd] skip_unchanged, a flash
        that already holds the image byte for byte is not programmed again: returns False."""
        elf = inspect_elf(Path(image))  # ImageError before any probe is touched
        session, opened = self._session, self._session is None
        if session is None:
            session = self._open_session(elf)
        else:
            check_image_fits(session.target, elf, self._target_type, self._note)
        try:
            programmed = not (self.options.skip_unchanged and already_holds(session, elf, self._note))
            if programmed:
                program(self._api, session, elf, self.options.target_type, str(self.probe_uid),
                        self._note)
                if self.options.verify:
                    verify(session, elf, self.options.target_type, self._note)
        except BaseException:
            if opened:
                self._discard(session)
            raise
        self._session = session
        self.image = elf
        return programmed

    @property
    def _uses_cycle_counter(self) -> bool:
        """Boards count DWT cycles; an emulated board's image counts with a timer ([counter] kind)."""
        return self.target.counter.kind == "cycles"

    def reset(self) -> None:
        session = self._require_session("reset")
        dwt.reset_and_run(session.target, self.options.target_type, self.probe_uid, self._note,
                          cycle_counter=self._uses_cycle_counter)

    def read_cycle_counter(self) -> int | None:
        session = self._require_session("read the cycle counter")
        return dwt.read_cycle_counter(session.target, self.probe_uid)

    @property
    def probe(self) -> Any:
        """pyOCD's probe object of the open session (None before start)."""
        return getattr(self._session, "probe", None) if self._session is not None else None

    def open_link(self) -> SerialTransport:
        url = serial_url(self.options, self.probe_uid, self.probe)
        if self._link is not None:
            self._link.close()
            self._link = None
        self._link = SerialTransport(url, baudrate=self.options.baud)
        self._note(f"serial link {url} at {self.options.baud} baud")
        return self._link

    def inspect(self) -> CoreReport:
        """Where the core is and, if it is in a fault handler, why (fault.py): read through the probe."""
        session = self._require_session("inspect the core")
        try:
            report = inspect_core(session.target, str(self.probe_uid))
        except Exception as e:  # any probe failure is a target failure here
            raise TargetError(f"reading the core state of board {self.probe_uid} failed "
                              f"({type(e).__name__}: {e}); is it powered, is the debug cable seated?") from e
        self.core_report = report
        return report

    def stop(self) -> None:
        try:
            link, self._link = self._link, None
            if link is not None:
                link.close()
            session, self._session = self._session, None
            if session is not None:
                self._post_mortem(session)
                close_session(session, self._note)
                self._note("session closed")
        except Exception as e:  # noqa: BLE001 - stop() never raises
            self._note(f"error while stopping (ignored): {e}")
        finally:
            self._detach_log()

    # -- steps --------------------------------------------------------------------------------------

    def _open_session(self, elf: ElfImage) -> Any:
        """A connected session on the board's probe, after the checks that need no connection."""
        self._api = pyocd = api._load_pyocd()
        self._target_type = check_target_type(pyocd, self.options, self._note)
        self._attach_log()
        try:
            session, self.probe_uid = create_session(pyocd, self.options, self._target_type, self._note)
        except BaseException:
            self._detach_log()
            raise
        try:
            check_image_fits(session.target, elf, self._target_type, self._note)
            connect(session, self.options, self.probe_uid)
        except BaseException:
            self._discard(session)
            raise
        return session

    def _post_mortem(self, session: Any) -> None:
        """Before letting go: the core's state in the log, a fault decoded (a board that stopped
        answering is explained here), and what the probe says about itself (the emulated probe:
        its QEMU command line and what it translated)."""
        try:
            self.core_report = inspect_core(session.target, str(self.probe_uid))
            self._note(f"core at stop: {self.core_report.describe()}")
        except Exception as e:  # noqa: BLE001 - the board may be gone; stop() goes on
            self._note(f"core state at stop not readable ({type(e).__name__}: {e})")
        describe = getattr(getattr(session, "probe", None), "describe", None)
        if callable(describe):
            try:
                self._note(f"probe: {describe()}")
            except Exception:  # noqa: BLE001 - decoration only
                pass

    def _discard(self, session: Any) -> None:
        close_session(session, self._note)
        self._detach_log()

    def _require_session(self, what: str) -> Any:
        if self._session is None:
            raise TargetError(f"cannot {what}: no pyOCD session; call start(image) first")
        return self._session
