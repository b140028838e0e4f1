"""The `otii` meter: a Qoitech Otii Arc / Ace through ``otii-tcp-client`` (MIT), which drives the Otii
desktop application or Otii Server over TCP (its automation API; an Automation licence).

    [meter]
    kind = "otii"
    device = "127.0.0.1:1905"  # where the Otii application listens; "sim": the simulated application
    sample_rate = 50_000       # the main current channel's rate (S/s)
    supply_v = 3.3             # the Arc's main supply voltage, which powers the board
    marker = "GPI1"            # the digital input wired to the frame marker: GPI1, GPI2, or RX (UART-log sync)
    stage_marker = "GPI2"      # optional
    [meter.options]
    device_name = "Arc"        # which Otii device, when several are connected
    licensing = "auto"         # otii-tcp-client's licensing mode: "auto" (log in, reserve) or "manual"
    rx_rise = "F1"             # UART-log sync: the log line the firmware prints when a frame starts ...
    rx_fall = "F0"             # ... and when it ends
    uart_baudrate = 115200

The Otii records the main current as a uniform analog channel and the digital inputs as
timestamped edges on the same recording clock; the meter puts each edge on the sample after it.
With UART-log sync the edges are the timestamps of the firmware's log lines (their UART latency is
part of the window: GPI is the precise choice). The application owns the USB stream, so lost
samples do not show through this API; the meter compares the recording's sample count with its
stated duration instead and refuses a recording that is short.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bench.errors import ConfigError, TargetError
from bench.targets.meters.instrument import InstrumentMeter, need
from bench.targets.meters.sim.waveform import Waveform
from bench.targets.meters.windows import Capture, levels_from_edges
from bench.targets.spec import MeterSpec, TargetSpec

INPUTS = {"GPI1": "i1", "GPI2": "i2", "RX": "rx"}


def _input(name: str, what: str) -> str:
    key = name.strip().upper()
    if key not in INPUTS:
        raise ConfigError(f"[meter] kind 'otii': {what} must be one of {', '.join(INPUTS)}, got {name!r}")
    return INPUTS[key]


class OtiiMeter(InstrumentMeter):
    name = "otii"
    label = "Qoitech Otii"
    package = "otii-tcp-client"
    options_known = ("device_name", "licensing", "rx_rise", "rx_fall", "uart_baudrate")

    def __init__(self, target: TargetSpec, spec: MeterSpec):
        super().__init__(target, spec)
        self.frame_ch = _input(spec.marker or "GPI1", "marker")
        self.stage_ch = _input(spec.stage_marker, "stage_marker") if spec.stage_marker else None
        if self.stage_ch == "rx":
            raise ConfigError("[meter] kind 'otii': the stage marker needs a digital input (GPI1 or GPI2)")
        self._fs = float(spec.sample_rate or 50_000)
        self.licensing = str(self.options.get("licensing", "auto"))
        if self.licensing not in ("auto", "manual"):
            raise ConfigError(f"[meter] kind 'otii': options.licensing must be 'auto' or 'manual', "
                              f"got {self.licensing!r}")
        self._client: Any = None
        self._arc: Any = None
        self._project: Any = None
        self._sim: Any = None

    @property
    def fs(self) -> float:
        return self._fs

    def _open(self) -> None:
        mod = need("otii_tcp_client.otii_client", "otii-tcp-client", self.name)
        if self.simulated:
            from bench.targets.meters.sim.otii import SimOtii

            self._sim = SimOtii(self.frame_ch, self.stage_ch, str(self.options.get("rx_rise", "F1")),
                                str(self.options.get("rx_fall", "F0")))
            host, port = self._sim.host, self._sim.port
        else:
            host, _, p = (self.spec.device or "127.0.0.1:1905").rpartition(":")
            host, port = host or "127.0.0.1", int(p or 1905)
        client = mod.OtiiClient()
        try:
            otii = client.connect(host=host, port=port, try_for_seconds=5,
                                  licensing=mod.LicensingMode(self.licensing))
        except Exception as e:  # noqa: BLE001 -- socket and protocol errors alike: say where
            raise TargetError(f"otii meter: cannot reach the Otii application at {host}:{port} ({e}); start the "
                              "Otii app or Otii Server with TCP enabled") from e
        self._client = client
        devices = otii.get_devices()
        want = self.options.get("device_name")
        pick = [d for d in devices if want is None or d.name == want]
        if len(pick) != 1:
            raise TargetError(f"otii meter: {len(pick)} devices match {want or 'any'} "
                              f"({', '.join(d.name for d in devices) or 'none connected'}); set [meter.options] "
                              "device_name")
        arc = pick[0]
        try:
            project = otii.get_active_project()
        except Exception:  # noqa: BLE001 -- no active project: make one
            project = otii.create_project()
        arc.enable_channel("mc", True)
        arc.set_channel_samplerate("mc", int(self._fs))
        for ch in {self.frame_ch, *([self.stage_ch] if self.stage_ch else [])}:
            if ch == "rx":
                arc.set_uart_baudrate(int(self.options.get("uart_baudrate", 115200)))
                arc.enable_uart(True)
            arc.enable_channel(ch, True)
        arc.set_main_voltage(self.supply_v)
        arc.set_main(True)
        self._arc, self._project = arc, project

    def _arm(self) -> None:
        self._project.start_recording()

    def _play(self, waveform: Waveform) -> None:
        self._sim.play(waveform.sample(self._fs))

    def _disarm(self) -> None:
        self._project.stop_recording()

    def _edges(self, rec: Any, ch: str, t0: float, dt: float) -> tuple[list[tuple[int, int]], int]:
        count = rec.get_channel_data_count(self._arc.id, ch)
        values = rec.get_channel_data(self._arc.id, ch, 0, count)["values"] if count else []
        edges: list[tuple[int, int]] = []
        initial = 0
        rise, fall = str(self.options.get("rx_rise", "F1")), str(self.options.get("rx_fall", "F0"))
        for v in values:
            if ch == "rx":
                text = str(v["value"]).strip()
                level = 1 if text == rise else 0 if text == fall else None
                if level is None:
                    continue
            else:
                level = int(bool(v["value"]))
            idx = math.ceil((float(v["timestamp"]) - t0) / dt - 1e-9)  # the first sample at or after the edge
            if idx <= 0:
                initial = level
            else:
                edges.append((idx, level))
        return edges, initial

    def _capture(self) -> Capture:
        rec = self._project.get_last_recording()
        if rec is None:
            raise TargetError("the Otii has no recording")
        n = rec.get_channel_data_count(self._arc.id, "mc")
        if not n:
            raise TargetError("the Otii recording has no main-current samples: enable the main current channel in the "
                              "Otii application and check that the board is powered through the Otii")
        data = rec.get_channel_data(self._arc.id, "mc", 0, n)
        t0, dt = float(data["timestamp"]), float(data["interval"])
        cur = np.asarray(data["values"], np.float64)
        info = rec.get_channel_info(self._arc.id, "mc")
        expect = int(round((float(info["to"]) - float(info["from"])) * float(info["sample_rate"])))
        if cur.size < expect - 1:
            raise TargetError(f"the Otii recording holds {cur.size} samples for {expect} in its duration: samples "
                              "were lost and cannot be placed")
        edges, initial = self._edges(rec, self.frame_ch, t0, dt)
        frame = levels_from_edges(cur.size, edges, initial)
        stage = None
        if self.stage_ch:
            se, si = self._edges(rec, self.stage_ch, t0, dt)
            stage = levels_from_edges(cur.size, se, si)
        return Capture(1.0 / dt, cur, frame, self.supply_v, stage)

    def _close(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            except Exception:  # noqa: BLE001 -- closing is best effort
                pass
            self._client = None
        if self._sim is not None:
            self._sim.close()
            self._sim = None
