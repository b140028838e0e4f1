"""pyOCD driver: flashes an ELF through a debug probe and runs it on a real board.

start(image) checks the ELF (before any probe is touched), opens a pyOCD session on the
probe the target TOML names, programs the image, reads it back, enables the DWT cycle
counter, and leaves the core running from reset. The board's UART is the probe's USB
virtual COM port, found by USB serial number (ST-Link, J-Link OB and DAPLink expose the
VCP under the probe's own serial number), or given explicitly.

Options: the target TOML's [pyocd] table (docs/boards.md):

    probe_uid    = "0671FF48..."     # pyOCD unique id; "" / absent: the only probe connected
    target_type  = "stm32f429xi"     # pyOCD target type (required)
    frequency    = 4_000_000         # SWD clock in Hz (pyOCD default 1 MHz)
    remote       = "host:5555"       # a probe served by `pyocd server` (then `serial` is required)
    serial       = "/dev/ttyACM0"    # or "rfc2217://host:port"; overrides the serial-by-uid rule
    baud         = 115200
    verify       = true              # read the flash back after programming
    reset_type   = "default"         # pyOCD reset_type session option
    connect_mode = "halt"            # pyOCD connect_mode session option
    pack         = "path/to.pack"    # CMSIS device pack for targets pyOCD has no built-in for
    [pyocd.options]                  # further pyOCD session options, passed through

pyOCD is imported lazily so that this module imports without it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.errors import BenchError, ConfigError, ImageError, TargetError
from bench.link.transport import SerialTransport
from bench.targets.drivers.base import Driver
from bench.targets.spec import TargetSpec

# ARMv7-M debug registers (ARM DDI 0403, C1.6.5 DEMCR and C1.8 DWT).
DEMCR = 0xE000EDFC
DEMCR_TRCENA = 1 << 24
DWT_CTRL = 0xE0001000
DWT_CTRL_CYCCNTENA = 1 << 0
DWT_CTRL_NOCYCCNT = 1 << 25
DWT_CYCCNT = 0xE0001004

ELF_MAGIC = b"\x7fELF"
EM_ARM = 40

PYOCD_MISSING = "pyOCD is not installed: pip install 'bench[hw]'"

RESET_TYPES = ("default", "hardware", "system", "core", "n_srst", "sysresetreq", "vectreset",
               "emulated")
CONNECT_MODES = ("halt", "pre-reset", "under-reset", "attach")
OPTION_KEYS = ("probe_uid", "target_type", "frequency", "remote", "serial", "baud", "verify",
               "reset_type", "connect_mode", "pack", "options")


# ---------------------------------------------------------------------------------------------
# The image
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ElfImage:
    """What will be programmed: the PT_LOAD segments with file data, at their load addresses."""

    path: Path
    entry: int
    segments: tuple[tuple[int, bytes], ...]  # (p_paddr, data)
    sha256: str

    @property
    def nbytes(self) -> int:
        return sum(len(d) for _, d in self.segments)


def inspect_elf(path: Path) -> ElfImage:
    """Parse an image as a 32-bit little-endian ARM ELF with loadable data, or raise ImageError."""
    from elftools.elf.elffile import ELFFile

    p = Path(path)
    if not p.is_file():
        raise ImageError(f"image {p} does not exist; build it (`bench images build`) or fix the path")
    raw = p.read_bytes()
    if raw[:4] != ELF_MAGIC:
        raise ImageError(f"{p} is not an ELF file (starts with {raw[:4]!r}); the pyOCD driver flashes "
                         "ELF images only: pass the .elf the firmware build produced")
    rebuild = "rebuild it with `bench images build`"
    try:
        with open(p, "rb") as f:
            elf = ELFFile(f)
            if elf.elfclass != 32 or not elf.little_endian or elf["e_machine"] != "EM_ARM":
                raise ImageError(
                    f"{p} is a {elf.elfclass}-bit {'little' if elf.little_endian else 'big'}-endian ELF "
                    f"for {elf['e_machine']}, not a 32-bit little-endian ARM image for a Cortex-M board; "
                    "build it for the board's core")
            segments = []
            for seg in elf.iter_segments():
                if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0:
                    data = seg.data()
                    if len(data) != seg["p_filesz"]:
                        raise ImageError(f"{p} is truncated (a segment at 0x{seg['p_paddr']:08x} is "
                                         f"cut short); {rebuild}")
                    segments.append((int(seg["p_paddr"]), bytes(data)))
            entry = int(elf["e_entry"])
    except ImageError:
        raise
    except Exception as e:  # pyelftools reports damage as ELFError, struct/construct errors...
        raise ImageError(f"{p} is not a readable ELF file ({type(e).__name__}: {e}); {rebuild}") from e
    if not segments:
        raise ImageError(f"{p} has no loadable segment with data: nothing to flash; {rebuild}")
    return ElfImage(path=p, entry=entry, segments=tuple(sorted(segments)),
                    sha256=hashlib.sha256(raw).hexdigest())


# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PyocdOptions:
    target_type: str
    probe_uid: str = ""
    frequency: int | None = None
    remote: str = ""
    serial: str = ""
    baud: int = 115200
    verify: bool = True
    reset_type: str | None = None
    connect_mode: str | None = None
    pack: str | None = None
    session_options: dict[str, Any] = field(default_factory=dict)


def parse_options(target: TargetSpec) -> PyocdOptions:
    """The [pyocd] table of a target TOML, checked; ConfigError says which key is wrong."""
    o = dict(target.driver_options)
    where = f"target {target.name} ({target.path or 'no file'}) [pyocd]"
    unknown = sorted(set(o) - set(OPTION_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {', '.join(OPTION_KEYS)}")

    def text(key: str, default: str = "") -> str:
        v = o.get(key, default)
        if not isinstance(v, str):
            raise ConfigError(f"{where}: {key} must be a string, got {v!r}")
        return v.strip()

    def positive_int(key: str, default: int | None) -> int | None:
        v = o.get(key, default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ConfigError(f"{where}: {key} must be a positive integer, got {v!r}")
        return v

    target_type = text("target_type")
    if not target_type:
        raise ConfigError(f"{where}: target_type is required (the pyOCD target type, e.g. "
                          "\"stm32f429xi\"; `pyocd list --targets` lists them)")
    remote = text("remote")
    if remote:
        host, _, port = remote.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"{where}: remote must be \"host:port\" of a `pyocd server`, got {remote!r}")
    verify = o.get("verify", True)
    if not isinstance(verify, bool):
        raise ConfigError(f"{where}: verify must be true or false, got {verify!r}")
    reset_type = text("reset_type") or None
    if reset_type is not None and reset_type not in RESET_TYPES:
        raise ConfigError(f"{where}: reset_type must be one of {RESET_TYPES}, got {reset_type!r}")
    connect_mode = text("connect_mode") or None
    if connect_mode is not None and connect_mode not in CONNECT_MODES:
        raise ConfigError(f"{where}: connect_mode must be one of {CONNECT_MODES}, got {connect_mode!r}")
    pack = text("pack") or None
    if pack is not None and target.path is not None and not Path(pack).is_absolute():
        pack = str((Path(target.path).parent / pack).resolve())
    extra = o.get("options", {})
    if not isinstance(extra, dict):
        raise ConfigError(f"{where}: options must be a table of pyOCD session options")
    return PyocdOptions(
        target_type=target_type,
        probe_uid=text("probe_uid"),
        frequency=positive_int("frequency", None),
        remote=remote,
        serial=text("serial"),
        baud=positive_int("baud", 115200) or 115200,
        verify=verify,
        reset_type=reset_type,
        connect_mode=connect_mode,
        pack=pack,
        session_options=dict(extra),
    )


# ---------------------------------------------------------------------------------------------
# Probe ids and serial ports
# ---------------------------------------------------------------------------------------------

def same_usb_serial(a: str, b: str) -> bool:
    """Whether two USB serial numbers name the same device.

    Case-insensitive; all-digit serials compare as numbers, because pyOCD reports a J-Link's
    serial number unpadded ("683123456") while its USB descriptor pads it ("000683123456").
    """
    a, b = a.strip(), b.strip()
    if not a or not b:
        return False
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a.casefold() == b.casefold()


def ports_for_uid(ports: list[Any], uid: str) -> list[Any]:
    """The serial ports (pyserial ListPortInfo) whose USB serial number is the probe's uid."""
    return [p for p in ports if getattr(p, "serial_number", None) and same_usb_serial(p.serial_number, uid)]


def _describe_port(p: Any) -> str:
    serial = getattr(p, "serial_number", None) or "-"
    return f"{p.device} (usb serial {serial}, {getattr(p, 'description', '') or '-'})"


def _describe_probe(p: Any) -> str:
    try:
        desc = p.description
    except Exception:  # noqa: BLE001 - a description is only decoration
        desc = "?"
    return f"{p.unique_id} ({desc})"


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


class _LogCollector(logging.Handler):
    """pyOCD's warnings and errors, kept for logs()."""

    def __init__(self, sink: list[str]):
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.append(f"pyocd {record.levelname.lower()}: {record.getMessage()}")
        except Exception:  # noqa: BLE001 - logging must never break a run
            self.handleError(record)


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------

class PyocdDriver(Driver):
    def __init__(self, target: TargetSpec, workdir: Path):
        super().__init__(target, workdir)
        self.options = parse_options(target)
        self.image: ElfImage | None = None
        self.probe_uid: str | None = None  # the full uid of the probe in use, once chosen
        self._session: Any = None
        self._link: SerialTransport | None = None
        self._lines: list[str] = []
        self._log_handler: _LogCollector | None = None

    # -- log ------------------------------------------------------------------------------------

    def _note(self, msg: str) -> None:
        self._lines.append(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}")

    def logs(self) -> str:
        return "\n".join(self._lines) + ("\n" if self._lines else "")

    def _attach_pyocd_log(self) -> None:
        if self._log_handler is None:
            self._log_handler = _LogCollector(self._lines)
            logging.getLogger("pyocd").addHandler(self._log_handler)

    def _detach_pyocd_log(self) -> None:
        if self._log_handler is not None:
            logging.getLogger("pyocd").removeHandler(self._log_handler)
            self._log_handler = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self, image: Path) -> None:
        self.stop()
        elf = inspect_elf(Path(image))  # ImageError before any probe is touched
        api = _load_pyocd()
        target_type = self._check_target_type(api)
        self._attach_pyocd_log()
        session = self._create_session(api, target_type)
        try:
            self._check_image_fits(session, elf, target_type)
            self._connect(api, session)
            self._program(api, session, elf)
            if self.options.verify:
                self._verify(session, elf)
            self._reset_and_run(session)
        except BaseException:
            self._close_session(session)
            self._detach_pyocd_log()
            raise
        self._session = session
        self.image = elf

    def reset(self) -> None:
        session = self._require_session("reset")
        self._reset_and_run(session)

    def read_cycle_counter(self) -> int | None:
        session = self._require_session("read the cycle counter")
        try:
            return int(session.target.read32(DWT_CYCCNT)) & 0xFFFFFFFF
        except Exception as e:  # any probe failure is a target failure here
            raise TargetError(f"reading DWT_CYCCNT through probe {self.probe_uid} failed ({e}); check the "
                              "probe cable and that the board is powered") from e

    def open_link(self) -> SerialTransport:
        url = self._serial_url()
        if self._link is not None:
            self._link.close()
            self._link = None
        self._link = SerialTransport(url, baudrate=self.options.baud)
        self._note(f"serial link {url} at {self.options.baud} baud")
        return self._link

    def stop(self) -> None:
        try:
            link, self._link = self._link, None
            if link is not None:
                link.close()
            session, self._session = self._session, None
            if session is not None:
                self._close_session(session)
                self._note("session closed")
        except Exception as e:  # noqa: BLE001 - stop() never raises
            self._note(f"error while stopping (ignored): {e}")
        finally:
            self._detach_pyocd_log()

    # -- steps --------------------------------------------------------------------------------------

    def _require_session(self, what: str) -> Any:
        if self._session is None:
            raise TargetError(f"cannot {what}: no pyOCD session; call start(image) first")
        return self._session

    def _toml(self) -> str:
        return str(self.target.path) if self.target.path else f"the target TOML of {self.target.name}"

    def _unknown_target_error(self, target_type: str, detail: str = "") -> TargetError:
        return TargetError(
            f"pyOCD does not know target type '{target_type}' ([pyocd] target_type in {self._toml()})"
            f"{': ' + detail if detail else ''}. If the name is right, install the part's CMSIS device "
            f"pack: `pyocd pack install {target_type}` (or set [pyocd] pack = \"<file>.pack\"); note that "
            "pyOCD 0.46 has no built-in stm32f405/stm32f407 targets, those come only from the "
            "STM32F4xx_DFP pack. `pyocd list --targets` shows the types pyOCD knows."
        )

    def _check_target_type(self, api: SimpleNamespace) -> str:
        name = api.normalise_target_type_name(self.options.target_type)
        if self.options.pack:
            if not Path(self.options.pack).is_file():
                raise ConfigError(f"[pyocd] pack in {self._toml()}: no file {self.options.pack}; download "
                                  "the part's CMSIS device pack (.pack) or drop the key")
            return name  # pyOCD loads the pack's targets itself when the session is created
        if name in api.TARGET:
            return name
        try:
            api.ManagedPacks.populate_target(name)  # targets from packs `pyocd pack install` added
        except Exception as e:  # noqa: BLE001 - a broken pack cache only means "not found"
            self._note(f"looking up '{name}' in installed packs failed: {e}")
        if name not in api.TARGET:
            raise self._unknown_target_error(name)
        return name

    def _session_options(self, target_type: str) -> dict[str, Any]:
        o = self.options
        opts: dict[str, Any] = {"target_override": target_type, "hide_programming_progress": True}
        if o.frequency is not None:
            opts["frequency"] = o.frequency
        if o.reset_type is not None:
            opts["reset_type"] = o.reset_type
        if o.connect_mode is not None:
            opts["connect_mode"] = o.connect_mode
        if o.pack is not None:
            opts["pack"] = o.pack
        opts.update(o.session_options)
        return opts

    def _list_probes(self, api: SimpleNamespace) -> list[Any]:
        try:
            return list(api.ConnectHelper.get_all_connected_probes(blocking=False))
        except Exception as e:  # USB back ends fail in many ways
            raise TargetError(f"pyOCD could not list debug probes ({type(e).__name__}: {e}); check that "
                              "libusb is installed and that you may access the probe (udev rules on "
                              "Linux: https://pyocd.io/docs/installing)") from e

    def _choose_probe(self, probes: list[Any]) -> Any:
        uid = self.options.probe_uid
        seen = "; ".join(_describe_probe(p) for p in probes) or "none"
        how = (f"set [pyocd] probe_uid in {self._toml()} to the unique id of the board's probe "
               "(`pyocd list` prints them)")
        if not uid:
            if len(probes) == 1:
                self._note(f"probe_uid not set: using the only connected probe {_describe_probe(probes[0])}")
                return probes[0]
            if not probes:
                raise TargetError(f"no debug probe is connected (pyOCD sees none); plug the board in, "
                                  f"check its USB cable and power, then {how}")
            raise TargetError(f"{len(probes)} debug probes are connected and probe_uid is not set: {how}. "
                              f"Probes seen: {seen}")
        exact = [p for p in probes if same_usb_serial(p.unique_id, uid)]
        if len(exact) == 1:
            return exact[0]
        partial = [p for p in probes if uid.casefold() in p.unique_id.casefold()]
        if len(partial) == 1:
            self._note(f"probe_uid '{uid}' matches probe {partial[0].unique_id} (pyOCD substring rule)")
            return partial[0]
        if len(partial) > 1 or len(exact) > 1:
            many = "; ".join(_describe_probe(p) for p in (exact or partial))
            raise TargetError(f"probe_uid '{uid}' matches more than one probe: {many}; {how} in full")
        raise TargetError(f"debug probe '{uid}' is not connected. Probes pyOCD sees: {seen}. Check the "
                          f"board's USB cable and power, or {how}")

    def _create_session(self, api: SimpleNamespace, target_type: str) -> Any:
        opts = self._session_options(target_type)
        if self.options.remote:
            uid = f"remote:{self.options.remote}"
            where = f"the pyOCD probe server at {self.options.remote}"
        else:
            probe = self._choose_probe(self._list_probes(api))
            uid = probe.unique_id
            where = f"probe {uid}"
        try:
            session = api.ConnectHelper.session_with_chosen_probe(
                blocking=False, return_first=True, unique_id=uid, auto_open=False, options=opts)
        except api.TargetSupportError as e:
            raise self._unknown_target_error(target_type, str(e)) from e
        except Exception as e:
            raise TargetError(f"could not create a pyOCD session on {where} ({type(e).__name__}: {e})") from e
        if session is None:
            raise TargetError(f"{where} disappeared before the session opened; check its USB cable")
        self.probe_uid = uid
        clock = f"{self.options.frequency} Hz" if self.options.frequency else "pyOCD's default"
        self._note(f"probe {uid}, target type {target_type}, SWD clock {clock}")
        return session

    def _connect(self, api: SimpleNamespace, session: Any) -> None:
        try:
            session.open()
        except Exception as e:
            hint = (f"check that `pyocd server` runs on {self.options.remote} and serves the board's probe"
                    if self.options.remote else
                    "check the board is powered and its debug cable seated, that no other tool "
                    "(another pyOCD, OpenOCD, STM32CubeProgrammer, nRF Connect) holds the probe, "
                    "and try a lower [pyocd] frequency or connect_mode = \"under-reset\"")
            raise TargetError(f"could not connect to the {self.options.target_type} through "
                              f"{self.probe_uid} ({type(e).__name__}: {e}); {hint}") from e

    def _check_image_fits(self, session: Any, elf: ElfImage, target_type: str) -> None:
        """Every loadable segment must lie in the target's flash, or pyOCD would skip it silently."""
        mm = getattr(session.target, "memory_map", None)
        if mm is None:
            self._note("no memory map for this target: cannot check the image's load addresses")
            return
        flash = [r for r in mm if getattr(r, "is_flash", False)]
        for addr, data in elf.segments:
            a, end = addr, addr + len(data) - 1
            while a <= end:
                region = mm.get_region_for_address(a)
                if region is None or not region.is_flash:
                    ranges = ", ".join(f"0x{r.start:08x}-0x{r.end:08x}" for r in flash) or "none"
                    raise ImageError(
                        f"{elf.path.name} loads {len(data)} bytes at 0x{addr:08x}, but 0x{a:08x} is not in "
                        f"the flash of {target_type} (flash: {ranges}); the image was built for another "
                        "board or linker script: use an image built for this board")
                a = region.end + 1

    def _program(self, api: SimpleNamespace, session: Any, elf: ElfImage) -> None:
        t0 = time.monotonic()
        try:
            api.FileProgrammer(session).program(str(elf.path), file_format="elf")
        except Exception as e:
            raise TargetError(f"programming {elf.path.name} through {self.probe_uid} failed "
                              f"({type(e).__name__}: {e}); if the flash is write-protected, erase it: "
                              f"`pyocd erase --chip -t {self.options.target_type}` (`--mass` for a "
                              "read-protected part)") from e
        dt = time.monotonic() - t0
        self._note(f"programmed {elf.nbytes} bytes in {len(elf.segments)} segment(s) from {elf.path} "
                   f"(sha256 {elf.sha256[:16]}) in {dt:.2f} s")

    def _verify(self, session: Any, elf: ElfImage) -> None:
        t0 = time.monotonic()
        target = session.target
        for addr, data in elf.segments:
            try:
                got = bytes(target.read_memory_block8(addr, len(data)))
            except Exception as e:
                raise TargetError(f"reading flash back at 0x{addr:08x} failed ({e}); "
                                  "try a lower [pyocd] frequency") from e
            if got != data:
                n = min(len(got), len(data))
                off = next((i for i in range(n) if got[i] != data[i]), n)
                raise TargetError(
                    f"verify failed: flash at 0x{addr + off:08x} reads back "
                    f"{got[off:off + 4].hex() or 'nothing'} instead of {data[off:off + 4].hex()} after "
                    f"programming {elf.path.name}; the flash may be protected (erase it: `pyocd erase "
                    f"--chip -t {self.options.target_type}`, `--mass` if read-protected) or the SWD "
                    "link unreliable (lower [pyocd] frequency)")
        self._note(f"verified {elf.nbytes} bytes by read-back in {time.monotonic() - t0:.2f} s")

    def _enable_cycle_counter(self, target: Any) -> None:
        target.write32(DEMCR, (target.read32(DEMCR) | DEMCR_TRCENA) & 0xFFFFFFFF)
        ctrl = target.read32(DWT_CTRL)
        if ctrl & DWT_CTRL_NOCYCCNT:
            raise TargetError(f"the {self.options.target_type} core has no DWT cycle counter "
                              "(DWT_CTRL.NOCYCCNT is set): a counter kind \"cycles\" target cannot use it")
        target.write32(DWT_CTRL, (ctrl | DWT_CTRL_CYCCNTENA) & 0xFFFFFFFF)
        target.write32(DWT_CYCCNT, 0)
        if not target.read32(DWT_CTRL) & DWT_CTRL_CYCCNTENA:
            raise TargetError("DWT_CTRL.CYCCNTENA did not stay set; the cycle counter cannot be enabled "
                              "from the debugger on this part")

    def _reset_and_run(self, session: Any) -> None:
        """Reset into a halt at the reset vector, enable and clear CYCCNT, then run.

        The counter is set up while the core is halted at its first instruction, so that it is on
        from the image's first cycle whatever a system reset does to the DWT on this part.
        """
        target = session.target
        try:
            target.reset_and_halt()
            self._enable_cycle_counter(target)
            target.resume()
        except BenchError:
            raise
        except Exception as e:
            raise TargetError(f"reset/run of the {self.options.target_type} through {self.probe_uid} "
                              f"failed ({type(e).__name__}: {e}); check the board's power and reset "
                              "jumpers, or try [pyocd] reset_type = \"hardware\"") from e
        self._note("reset, DWT cycle counter enabled and cleared, core running")

    def _close_session(self, session: Any) -> None:
        try:
            session.close()
        except Exception as e:  # noqa: BLE001 - closing must not mask the real error
            self._note(f"closing the pyOCD session failed (ignored): {e}")

    def _serial_url(self) -> str:
        o = self.options
        if o.serial:
            return o.serial
        if o.remote:
            raise TargetError(f"the probe is served remotely ({o.remote}), so its serial port is not on this "
                              f"machine: set [pyocd] serial = \"rfc2217://<host>:<port>\" in {self._toml()} "
                              "(e.g. ser2net on the probe's host)")
        uid = self.probe_uid or o.probe_uid
        if not uid:
            raise TargetError(f"no probe uid known to find the board's serial port: call start(image) first, "
                              f"or set [pyocd] probe_uid or serial in {self._toml()}")
        from serial.tools import list_ports

        ports = list(list_ports.comports())
        matches = ports_for_uid(ports, uid)
        if len(matches) == 1:
            return str(matches[0].device)
        if not matches:
            seen = "; ".join(_describe_port(p) for p in ports) or "none"
            raise TargetError(f"no serial port has USB serial number {uid} (the probe's unique id); ports "
                              f"seen: {seen}. Is the probe's virtual COM port enabled? Set [pyocd] "
                              f"serial = \"/dev/ttyACM0\" (or \"rfc2217://host:port\") in {self._toml()} "
                              "to choose one")
        many = "; ".join(_describe_port(p) for p in sorted(matches, key=lambda p: p.device))
        raise TargetError(f"the probe {uid} exposes {len(matches)} serial ports: {many}; set [pyocd] "
                          f"serial in {self._toml()} to the board's UART (a stable /dev/serial/by-id/ path "
                          "on Linux)")
