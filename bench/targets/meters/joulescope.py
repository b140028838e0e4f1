"""The `joulescope` meter: Joulescope JS220 / JS110 through Jetperch's ``joulescope`` package (1.5.0,
the newest that installs on Python 3.11, over ``pyjoulescope_driver`` 2.2.12; both Apache-2.0).

    [meter]
    kind = "joulescope"
    device = ""             # "" the one Joulescope; or a part of its path / serial ("js220", "000415"); "sim"
    sample_rate = 100_000   # the output rate (h/fs): 1 MHz .. 1 Hz; the buffer holds buffer_s of it
    marker = "GPI0"         # the general-purpose input wired to the frame marker
    stage_marker = "GPI1"   # optional
    [meter.options]
    buffer_s = 15           # the stream buffer (15, 30, 60, ... s): one utterance must fit
    model = "js220"         # simulated mode: which device the simulator is ("js220" or "js110")

The Joulescope measures current and voltage at 2 MS/s (downsampled in the driver to ``sample_rate``)
with the GPI bits on the same sample clock, so windows are sample-exact and each sample's power is
I x V as measured. The stream buffer fills skipped samples with NaN: a window that touches one is
excluded as a sample gap. ``supply_v`` is not needed (the voltage is measured).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.errors import ConfigError, TargetError
from bench.targets.meters.instrument import InstrumentMeter, digital_input, need
from bench.targets.meters.sim.waveform import Waveform
from bench.targets.meters.windows import Capture
from bench.targets.spec import MeterSpec, TargetSpec

RATES = (1_000_000, 500_000, 200_000, 100_000, 50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50,
         20, 10, 5, 2, 1)


class JoulescopeMeter(InstrumentMeter):
    name = "joulescope"
    label = "Joulescope"
    package = "joulescope"
    options_known = ("buffer_s", "model")

    def __init__(self, target: TargetSpec, spec: MeterSpec):
        super().__init__(target, spec)
        self._fs = float(spec.sample_rate or 100_000)
        if int(self._fs) not in RATES:
            raise ConfigError(f"[meter] kind 'joulescope': sample_rate must be one of {RATES}, got {self._fs:g}")
        self.frame_gpi = digital_input(spec.marker or "GPI0", "GPI", 2, "marker", self.name)
        self.stage_gpi = digital_input(spec.stage_marker, "GPI", 2, "stage_marker", self.name) \
            if spec.stage_marker else None
        self.buffer_s = int(self.options.get("buffer_s", 15))
        self.model = str(self.options.get("model", "js220")).lower()
        if self.model not in ("js220", "js110"):
            raise ConfigError(f"[meter] kind 'joulescope': options.model must be js220 or js110, got {self.model!r}")
        self._dev: Any = None
        self._sim: Any = None

    @property
    def fs(self) -> float:
        return self._fs

    @property
    def supply_v(self) -> float:
        return float(self.spec.supply_v or 3.3)  # the simulated board's supply; a real one's V is measured

    @property
    def source(self) -> str:
        return super().source.replace(f" at {self.supply_v:g} V", ", V measured")

    def _open(self) -> None:
        js = need("joulescope", "joulescope", self.name)
        if self.simulated:
            from joulescope.v1.js110 import DeviceJs110
            from joulescope.v1.js220 import DeviceJs220

            from bench.targets.meters.sim.joulescope import SimJoulescopeDriver

            self._sim = SimJoulescopeDriver(self.model, "000415", self.frame_gpi, self.stage_gpi)
            cls = DeviceJs220 if self.model == "js220" else DeviceJs110
            dev = cls(self._sim, self._sim.path)
        else:
            devices = [d for d in js.scan(config="off") if self.spec.device.lower() in str(d.device_path).lower()]
            if len(devices) != 1:
                raise TargetError(f"joulescope meter: {len(devices)} Joulescopes match {self.spec.device or 'any'}; "
                                  "name one in [meter] device (its serial number)")
            dev = devices[0]
        dev.parameter_set("buffer_duration", self.buffer_s)
        dev.parameter_set("sampling_frequency", int(self._fs))
        dev.open(mode="defaults")
        dev.parameter_set("i_range", "auto")
        self._dev = dev

    def _arm(self) -> None:
        self._dev.start()

    def _play(self, waveform: Waveform) -> None:
        self._sim.play(waveform.sample(self._fs), self.supply_v)

    def _disarm(self) -> None:
        self._dev.stop()

    def _capture(self) -> Capture:
        sb = self._dev.stream_buffer
        s0, s1 = sb.sample_id_range
        if s0 is None or s1 <= s0:
            raise TargetError("the Joulescope streamed no samples: check its USB cable and that no other program (the "
                              "Joulescope UI) holds it")
        data = sb.samples_get(s0, s1, fields=["current", "voltage", "current_lsb", "voltage_lsb"])
        sig = data["signals"]
        fs = float(data["time"]["output_sampling_frequency"]["value"])
        cur = np.asarray(sig["current"]["value"], np.float64)
        volt = np.asarray(sig["voltage"]["value"], np.float64)
        gpi = [np.asarray(sig["current_lsb"]["value"], np.uint8), np.asarray(sig["voltage_lsb"]["value"], np.uint8)]
        stage = gpi[self.stage_gpi] if self.stage_gpi is not None else None
        notes = []
        lost = int(np.count_nonzero(~np.isfinite(cur)))
        if lost:
            notes.append(f"the Joulescope's stream buffer has {lost} skipped sample(s) (NaN)")
        volt = np.where(np.isfinite(volt), volt, np.nan)
        return Capture(fs, cur, gpi[self.frame_gpi], volt, stage, notes)

    def _close(self) -> None:
        if self._dev is not None:
            try:
                self._dev.close()
            except Exception:  # noqa: BLE001 -- closing is best effort
                pass
            self._dev = None
        self._sim = None
