"""The `ppk2` meter: Nordic Power Profiler Kit II through Nordic's community package ``ppk2-api``.

    [meter]
    kind = "ppk2"
    device = "/dev/ttyACM0"   # the PPK2's serial port; "" finds the one PPK2; "sim": the simulated PPK2
    supply_v = 3.3            # source mode: the voltage the PPK2 supplies; ampere mode: the board's supply
    marker = "D0"             # the logic input wired to the frame marker pin
    stage_marker = "D1"       # optional: the logic input wired to the stage marker pin
    [meter.options]
    mode = "ampere"           # or "source" (the PPK2 powers the board at supply_v)

The PPK2 samples at 100 kS/s; each sample carries the eight logic inputs D0-D7, so the marker is
sample-exact. ``ppk2-api`` converts the samples with the unit's calibration (``get_modifiers``)
and its spike filter; the meter reads the firmware's 6-bit sample counter (bits 18-23, as nRF
Connect Power Profiler does; ``ppk2-api`` ignores them) from the same bytes to find lost samples.
``ppk2-api`` is GPL-2.0: it is an optional extra (``energy``), never a core dependency.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from bench.errors import ConfigError, TargetError
from bench.targets.meters.instrument import InstrumentMeter, digital_input, need
from bench.targets.meters.sim.waveform import Waveform
from bench.targets.meters.windows import Capture
from bench.targets.spec import MeterSpec, TargetSpec

FS = 100_000.0


class Ppk2Meter(InstrumentMeter):
    name = "ppk2"
    label = "Nordic PPK2"
    package = "ppk2-api"
    options_known = ("mode",)

    def __init__(self, target: TargetSpec, spec: MeterSpec):
        super().__init__(target, spec)
        self.mode = str(self.options.get("mode", "ampere"))
        if self.mode not in ("ampere", "source"):
            raise ConfigError(f"[meter] kind 'ppk2': options.mode must be 'ampere' or 'source', got {self.mode!r}")
        if spec.sample_rate not in (None, FS):
            raise ConfigError(f"[meter] kind 'ppk2': the PPK2 samples at 100 kS/s only; sample_rate "
                              f"{spec.sample_rate:g} cannot be set (leave it out)")
        self.frame_bit = digital_input(spec.marker or "D0", "D", 8, "marker", self.name)
        self.stage_bit = digital_input(spec.stage_marker, "D", 8, "stage_marker", self.name) \
            if spec.stage_marker else None
        if self.mode == "source" and not 0.8 <= self.supply_v <= 5.0:
            raise ConfigError(f"[meter] kind 'ppk2': source mode supplies 0.8-5.0 V, supply_v is {self.supply_v}")
        self._api: Any = None
        self._sim: Any = None
        self._buf = bytearray()
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._port = ""
        self._lock = threading.Lock()
        self._error: BaseException | None = None  # what stopped the reader (the port went away)

    @property
    def fs(self) -> float:
        return FS

    @property
    def source(self) -> str:
        return super().source + f"; {self.mode} mode"

    def _open(self) -> None:
        mod = need("ppk2_api.ppk2_api", "ppk2-api", self.name)
        port = self.spec.device
        if self.simulated:
            from bench.targets.meters.sim.ppk2 import SimPpk2

            self._sim = SimPpk2(self.frame_bit, self.stage_bit)
            port = self._sim.port
        elif not port:
            found = mod.PPK2_API.list_devices()
            if len(found) != 1:
                raise TargetError(f"ppk2 meter: {len(found)} PPK2s found ({', '.join(found) or 'none'}); name the "
                                  "port in [meter] device")
            port = found[0]
        try:
            api = mod.PPK2_API(port, timeout=1, write_timeout=1)
        except Exception as e:  # noqa: BLE001 -- serial errors of every kind: say where
            raise TargetError(f"ppk2 meter: cannot open {port}: {e}") from e
        if not api.get_modifiers():
            raise TargetError(f"ppk2 meter: no PPK2 calibration answer on {port}: wrong port, or the PPK2 is busy "
                              "(close nRF Connect Power Profiler)")
        mv = int(round(self.supply_v * 1000))
        if self.mode == "source":
            api.use_source_meter()
            api.set_source_voltage(mv)
            api.toggle_DUT_power("ON")
        else:
            api.use_ampere_meter()
            api.set_source_voltage(mv)  # the library's conversion needs the supply it measures at
        self._api = api
        self._port = port
        self._error = None

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._api.get_data()
            except Exception as e:  # noqa: BLE001 -- the port went away (USB unplugged): stop, say so at stop()
                self._error = e
                return
            if data:
                with self._lock:
                    self._buf += data
            else:
                time.sleep(0.002)

    def _arm(self) -> None:
        if self._error is not None:
            raise TargetError(f"the PPK2 on {self._port} went away earlier ({self._error}); reconnect it")
        self._buf = bytearray()
        self._stop.clear()
        self._api.start_measuring()
        self._reader = threading.Thread(target=self._read_loop, name="ppk2-reader", daemon=True)
        self._reader.start()

    def _play(self, waveform: Waveform) -> None:
        self._sim.play(waveform.sample(FS))

    def _drain(self, first_bytes_s: float = 2.0) -> None:
        """Read until the port has been quiet for a while (the last USB packets). Quiet counts only
        once the first bytes came, or ``first_bytes_s`` passed without any (on a loaded machine the
        first packets can come later than 50 ms after the capture: an empty buffer then was read as
        "sent no samples")."""
        last, quiet = -1, 0
        deadline = time.monotonic() + first_bytes_s
        while quiet < 5:
            time.sleep(0.01)
            with self._lock:
                n = len(self._buf)
            if n == 0 and time.monotonic() < deadline:
                continue
            quiet = quiet + 1 if n == last else 0
            last = n

    def _disarm(self) -> None:
        if self._sim is not None:
            self._sim.wait_played(timeout=120)
        if self._error is None:
            self._drain()
            self._api.stop_measuring()  # ppk2-api logs a failed write and carries on: the reader tells
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=2)
        self._reader = None
        if self._error is not None:  # a capture cut short is never aligned: its pulses cannot be placed
            raise TargetError(f"the PPK2 on {self._port} went away during the capture ({type(self._error).__name__}: "
                              f"{self._error}); the utterance's samples are not used")

    def _capture(self) -> Capture:
        raw = bytes(self._buf[: len(self._buf) // 4 * 4])
        if not raw:
            raise TargetError("the PPK2 sent no samples: check its USB cable and that no other program (the Power "
                              "Profiler app) holds its port")
        api = self._api
        api.remainder = {"sequence": b"", "len": 0}  # a capture starts on a sample boundary
        samples_ua, bits = api.get_samples(raw)
        words = np.frombuffer(raw, "<u4")
        if len(samples_ua) != len(words):
            raise TargetError(f"ppk2-api decoded {len(samples_ua)} of {len(words)} samples")
        counter = (words >> 18) & 0x3F
        step = np.mod(np.diff(counter.astype(np.int64)), 64)
        lost_before = np.r_[0, np.mod(step - 1, 64)]
        pos = np.cumsum(1 + lost_before) - 1
        n = int(pos[-1]) + 1
        cur = np.full(n, np.nan)
        cur[pos] = np.asarray(samples_ua, np.float64) * 1e-6
        logic = np.zeros(n, np.uint8)
        logic_src = np.asarray(bits, np.uint8)
        idx = np.zeros(n, np.int64)
        idx[pos] = np.arange(len(pos))
        idx = np.maximum.accumulate(idx)  # a lost sample keeps the last level seen
        logic = logic_src[idx]
        frame = (logic >> self.frame_bit) & 1
        stage = (logic >> self.stage_bit) & 1 if self.stage_bit is not None else None
        notes = []
        if n > len(words):
            notes.append(f"the PPK2's sample counter shows {n - len(words)} lost sample(s) (a run of 64 or more "
                         "lost at once cannot be counted exactly)")
        return Capture(FS, cur, frame, self.supply_v, stage, notes)

    def _close(self) -> None:
        self._stop.set()
        if self._api is not None:
            try:
                self._api.ser.close()
            except Exception:  # noqa: BLE001 -- closing is best effort
                pass
            self._api = None
        if self._sim is not None:
            self._sim.close()
            self._sim = None
