"""The `lpm01a` meter: ST X-NUCLEO-LPM01A (PowerShield, the MLPerf Tiny energy board) over its serial
command protocol. No maker's Python package exists; this is our driver of the protocol documented in
ST's UM2269 and the firmware's ``help`` text (pyserial only).

    [meter]
    kind = "lpm01a"
    device = "/dev/ttyACM0"  # the PowerShield's virtual COM port (any pyserial URL); "sim": the simulated one
    sample_rate = 5000       # one of 100k..1 Hz; ascii_dec streams at most 5 kHz without a time limit
    supply_v = 3.3           # the PowerShield supplies the board: 1.8-3.3 V
    marker = "D7"            # the PowerShield's event input (Arduino D7) wired to the frame marker
    [meter.options]
    baudrate = 3686400
    eventsrc_edge = "both"   # the edge argument of `eventsrc d7 ...`

Sequence: ``htc`` (host takes control), ``volt``, ``freq``, ``acqtime 0``, ``output current``,
``format ascii_dec``, ``trigsrc sw``, ``eventsrc d7 <edge>``, ``pwr on``; per utterance ``start`` ...
``stop`` (until "Acquisition completed"); ``hrc`` at the end. Each sample arrives as ``dddd-ee``
(dddd x 10^-ee A); marker edges as ``event <n> ris|fal`` lines placed before the first sample after
the edge; ``TimeStamp`` lines every 100 ms of samples, whose times the meter checks against the
sample count to find lost samples (an interval that lost samples is excluded as a gap). The
PowerShield has no stage input: per-stage energy is not available with it.

What has not met a board: the ``eventsrc`` edge argument ``both`` and the event and TimeStamp line
formats are our reading of MLPerf Tiny's runner; check ``help`` on your firmware (the meter logs the
PowerShield's answers in its errors). ``bin_hexa`` (above 20 kHz) is not implemented.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from typing import Any

import numpy as np

from bench.errors import ConfigError, TargetError
from bench.targets.meters.instrument import InstrumentMeter, need, package_version
from bench.targets.meters.sim.waveform import Waveform
from bench.targets.meters.windows import Capture, levels_from_edges
from bench.targets.spec import MeterSpec, TargetSpec

PROMPT = "PowerShield > "
FREQ_ARG = {100_000: "100k", 50_000: "50k", 20_000: "20k", 10_000: "10k", 5_000: "5k", 2_000: "2k", 1_000: "1k",
            500: "500", 200: "200", 100: "100", 50: "50", 20: "20", 10: "10", 5: "5", 2: "2", 1: "1"}
SAMPLE = re.compile(r"^(\d{4})([-+])(\d{2})$")
EVENT = re.compile(r"^event\s+(\d+)\s+(ris|fal)$")
STAMP = re.compile(r"^TimeStamp:\s*(\d+)s\s+(\d+)ms")


class Lpm01aMeter(InstrumentMeter):
    name = "lpm01a"
    label = "ST LPM01A PowerShield"
    package = "pyserial"  # the protocol is ours (bench/targets/meters/lpm01a.py), the port is pyserial's
    options_known = ("baudrate", "eventsrc_edge")

    def __init__(self, target: TargetSpec, spec: MeterSpec):
        super().__init__(target, spec)
        fs = int(spec.sample_rate or 5000)
        if fs not in FREQ_ARG:
            raise ConfigError(f"[meter] kind 'lpm01a': sample_rate must be one of {sorted(FREQ_ARG)}, got {fs}")
        if fs > 5000:
            raise ConfigError("[meter] kind 'lpm01a': ascii_dec streams at most 5 kHz for an unlimited time (10 kHz "
                              "for 1 s); bin_hexa, needed above, is not implemented")
        self._fs = float(fs)
        if not 1.8 <= self.supply_v <= 3.3:
            raise ConfigError(f"[meter] kind 'lpm01a': the PowerShield supplies 1.8-3.3 V, supply_v is {self.supply_v}")
        if (spec.marker or "D7").upper() != "D7":
            raise ConfigError("[meter] kind 'lpm01a': the PowerShield's event input is D7 (marker = \"D7\")")
        if spec.stage_marker:
            raise ConfigError("[meter] kind 'lpm01a': the PowerShield has one event input; leave stage_marker out")
        self.edge = str(self.options.get("eventsrc_edge", "both"))
        self._ser: Any = None
        self._sim: Any = None
        self._msgs: queue.Queue[str] = queue.Queue()
        self._tokens: list[tuple[str, Any]] = []
        self._collect = False
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def fs(self) -> float:
        return self._fs

    @property
    def source(self) -> str:
        where = "simulated instrument on a pty" if self.simulated else self.spec.device
        return (f"{self.label} via the bench's PowerShield protocol driver on pyserial {package_version('pyserial')} "
                f"({where}); frame marker D7 (events); {self.fs:g} S/s at {self.supply_v:g} V")

    # -- the serial protocol ------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        buf = b""
        while not self._stop.is_set():
            try:
                chunk = self._ser.read(self._ser.in_waiting or 1)
            except Exception:  # noqa: BLE001 -- the port went away: stop reading
                return
            if not chunk:
                continue
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace").replace(PROMPT, "").strip()
                if not line:
                    continue
                m = SAMPLE.match(line)
                if m:
                    if self._collect:
                        exp = int(m.group(3)) * (-1 if m.group(2) == "-" else 1)
                        self._tokens.append(("s", int(m.group(1)) * 10.0 ** exp))
                    continue
                m = EVENT.match(line)
                if m:
                    if self._collect:
                        self._tokens.append(("e", 1 if m.group(2) == "ris" else 0))
                    continue
                m = STAMP.match(line)
                if m:
                    if self._collect:
                        self._tokens.append(("t", int(m.group(1)) + int(m.group(2)) / 1000))
                    continue
                self._msgs.put(line)

    def _cmd(self, cmd: str, timeout: float = 2.0) -> list[str]:
        while not self._msgs.empty():
            self._msgs.get_nowait()
        self._ser.write((cmd + "\n").encode())
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._msgs.get(timeout=0.05)
            except queue.Empty:
                continue
            if line.startswith(f"ack {cmd}") or line == "ack":
                return out
            if line.startswith("error"):
                detail = ""
                try:
                    detail = self._msgs.get(timeout=0.5)
                except queue.Empty:
                    pass
                raise TargetError(f"lpm01a meter: the PowerShield refused '{cmd}': {detail or line}")
            out.append(line)
        raise TargetError(f"lpm01a meter: no answer to '{cmd}' within {timeout} s (wrong port or baud rate?)")

    def _open(self) -> None:
        serial = need("serial", "pyserial", self.name)
        port = self.spec.device
        if self.simulated:
            from bench.targets.meters.sim.lpm01a import SimLpm01a

            self._sim = SimLpm01a()
            port = self._sim.port
        if not port:
            raise ConfigError("[meter] kind 'lpm01a': device must name the PowerShield's serial port")
        try:
            self._ser = serial.serial_for_url(port, baudrate=int(self.options.get("baudrate", 3686400)), timeout=0.05)
        except Exception as e:  # noqa: BLE001 -- serial errors of every kind: say where
            raise TargetError(f"lpm01a meter: cannot open {port}: {e}") from e
        self._stop.clear()
        self._reader = threading.Thread(target=self._read_loop, name="lpm01a-reader", daemon=True)
        self._reader.start()
        self._cmd("htc")
        for c in (f"volt {int(round(self.supply_v * 1000))}m", f"freq {FREQ_ARG[int(self._fs)]}", "acqtime 0",
                  "output current", "format ascii_dec", "trigsrc sw", f"eventsrc d7 {self.edge}", "pwr on"):
            self._cmd(c)

    def _arm(self) -> None:
        self._tokens = []
        self._collect = True
        self._cmd("start")

    def _play(self, waveform: Waveform) -> None:
        self._sim.play(waveform.sample(self._fs))

    def _disarm(self) -> None:
        if self._sim is not None:
            self._sim.wait_played(timeout=120)
        self._ser.write(b"stop\n")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if "Acquisition completed" in self._msgs.get(timeout=0.05):
                    break
            except queue.Empty:
                continue
        self._collect = False

    def _capture(self) -> Capture:
        fs = self._fs
        values: list[float] = []
        edges: list[tuple[int, int]] = []
        seg_start, last_stamp = 0, 0.0
        lost_marks: list[tuple[int, int]] = []  # (start, end) sample ranges of intervals that lost samples
        notes: list[str] = []
        for kind, v in list(self._tokens):
            if kind == "s":
                values.append(v)
            elif kind == "e":
                edges.append((len(values), v))
            else:
                expect = int(round((v - last_stamp) * fs))
                got = len(values) - seg_start
                if got < expect:
                    missing = expect - got
                    values.extend([float("nan")] * missing)  # placed at the interval's end: its windows are out
                    lost_marks.append((seg_start, len(values)))
                    notes.append(f"the PowerShield's TimeStamp at {v:.3f} s shows {missing} sample(s) lost in the "
                                 "100 ms before it")
                seg_start, last_stamp = len(values), v
        if not values:
            raise TargetError("the PowerShield sent no samples: check its USB cable and that the board is powered "
                              "through it")
        cur = np.asarray(values, np.float64)
        known = np.isfinite(cur)  # the events are real inside a lossy interval, only the padding is unknown
        for a, b in lost_marks:
            cur[a:b] = np.nan  # the whole interval: where in it the samples went is not known
        frame = levels_from_edges(cur.size, edges, 0)
        return Capture(fs, cur, frame, self.supply_v, None, notes, marker_known=known)

    def _close(self) -> None:
        try:
            if self._ser is not None:
                self._cmd("hrc")
        except Exception:  # noqa: BLE001 -- closing is best effort
            pass
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self._ser is not None:
            self._ser.close()
            self._ser = None
        if self._sim is not None:
            self._sim.close()
            self._sim = None
