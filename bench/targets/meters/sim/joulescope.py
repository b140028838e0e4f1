"""A simulated Joulescope at the lowest layer the ``joulescope`` package lets us replace: the
``pyjoulescope_driver.Driver`` object (a C extension over libusb) that ``joulescope.v1`` devices
are built on. Everything above it is the real package: ``DeviceJs220`` / ``DeviceJs110`` (parameters,
topics, start / stop), its ``StreamBuffer`` and ``SampleBuffer`` (sample ids, decimation, NaN fill of
skipped samples) and ``samples_get``.

The driver is a publish / subscribe tree (pyjoulescope_driver's API): ``open``, ``close``,
``publish``, ``query``, ``subscribe``, ``unsubscribe``. While a stream's ``ctrl`` topic is 1, ``play``
publishes the waveform on ``<device>/s/<signal>/!data`` the way the driver does: a dict with
``sample_id`` (at the 2 MS/s input rate), ``field_id`` / ``index`` (current 1.0, voltage 2.0, power
3.0, current range 4.0, GPI 5.0 / 5.1), ``sample_rate`` (2 000 000), ``decimate_factor`` (input rate
over ``h/fs``) and ``data`` (float32, or GPI bits packed little-endian). Lost samples are left out:
the next message's ``sample_id`` jumps (lost runs are widened to whole bytes of GPI bits).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.targets.meters.sim.waveform import SampledTrace

INPUT_RATE = 2_000_000
FIELDS = {"s/i/": (1, 0), "s/v/": (2, 0), "s/p/": (3, 0), "s/i/range/": (4, 0), "s/gpi/0/": (5, 0),
          "s/gpi/1/": (5, 1)}


class SimJoulescopeDriver:
    def __init__(self, model: str = "js220", serial: str = "000415", frame_gpi: int = 0,
                 stage_gpi: int | None = 1) -> None:
        self.path = f"u/{model}/{serial}"
        self.frame_gpi, self.stage_gpi = frame_gpi, stage_gpi
        self.values: dict[str, Any] = {}
        self.published: list[tuple[str, Any]] = []
        self._subs: dict[str, list[Callable[[str, Any], Any]]] = {}
        self._lock = threading.RLock()
        self.is_open = False
        self.removed = False  # unplugged (sim_disconnect_frame): every call on the device fails
        self._sample_id = 0

    # -- pyjoulescope_driver.Driver's API --------------------------------------------------------
    def device_paths(self, timeout: float | None = None) -> list[str]:
        return [self.path]

    def open(self, device_prefix: str, mode: str | None = None, timeout: float | None = None) -> int:
        self._check_present()
        if device_prefix != self.path:
            raise RuntimeError(f"open {device_prefix}: no such device")
        self.is_open = True
        return 0

    def _check_present(self) -> None:
        if self.removed:  # what pyjoulescope_driver raises for a device that is gone
            raise RuntimeError(f"{self.path}: device removed (error 19: not found)")

    def close(self, device_prefix: str, timeout: float | None = None) -> int:
        self.is_open = False
        return 0

    def publish(self, topic: str, value: Any, timeout: float | None = None) -> int:
        self._check_present()
        with self._lock:
            self.published.append((topic, value))
            self.values[topic] = value
        return 0

    def query(self, topic: str, timeout: float | None = None) -> Any:
        self._check_present()
        with self._lock:
            if topic not in self.values:
                raise RuntimeError(f"query {topic}: not found")
            return self.values[topic]

    def subscribe(self, topic: str, flags: Any, fn: Callable[[str, Any], Any], timeout: float | None = None) -> int:
        with self._lock:
            self._subs.setdefault(topic, []).append(fn)
        return 0

    def unsubscribe(self, topic: Any, fn: Any = None, timeout: float | None = None) -> int:
        with self._lock:
            if fn is None or callable(topic):  # unsubscribe(fn): every topic
                fn = topic if callable(topic) else fn
                for fns in self._subs.values():
                    while fn in fns:
                        fns.remove(fn)
            else:
                fns = self._subs.get(topic, [])
                while fn in fns:
                    fns.remove(fn)
        return 0

    def finalize(self, timeout: float | None = None) -> None:
        self._subs.clear()

    # -- the simulated board ----------------------------------------------------------------------
    def _streaming(self, prefix: str) -> bool:
        return bool(self.values.get(f"{self.path}/{prefix}ctrl")) and bool(self._subs.get(f"{self.path}/{prefix}!data"))

    def play(self, trace: SampledTrace, supply_v: float) -> None:
        fs = int(self.values.get(f"{self.path}/h/fs", INPUT_RATE))
        dec = INPUT_RATE // fs
        n = len(trace.current_a)
        cut = n if trace.disconnect_at is None else int(trace.disconnect_at)
        lost = np.asarray(trace.lost, bool).copy()
        lost[cut:] = True  # nothing arrives after the device is unplugged
        if lost.any():  # whole GPI bytes: widen every lost run to 8-sample boundaries
            idx = np.flatnonzero(lost)
            for k in np.unique(idx // 8):
                lost[k * 8:(k + 1) * 8] = True
        cur = np.asarray(trace.current_a, np.float32)
        volt = np.full(n, supply_v, np.float32)
        signals: dict[str, np.ndarray] = {"s/i/": cur, "s/v/": volt, "s/p/": cur * volt,
                                          "s/i/range/": np.full(n, 3, np.uint8)}
        gpi = {self.frame_gpi: trace.frame_pin}
        if self.stage_gpi is not None:
            gpi[self.stage_gpi] = trace.stage_pin
        for g in (0, 1):
            signals[f"s/gpi/{g}/"] = np.asarray(gpi.get(g, np.zeros(n, np.uint8)), np.uint8)
        # contiguous runs of samples that arrive, in chunks of whole bytes
        keep = ~lost
        edges = np.flatnonzero(np.diff(np.r_[0, keep.astype(np.int8), 0]))
        for a, b in zip(edges[0::2], edges[1::2], strict=True):
            for c0 in range(a, b, 8192):
                c1 = min(c0 + 8192, b)
                for prefix, data in signals.items():
                    if not self._streaming(prefix):
                        continue
                    field_id, index = FIELDS[prefix]
                    chunk = data[c0:c1]
                    if field_id == 5:
                        chunk = np.packbits(chunk.astype(np.uint8), bitorder="little")
                    value = {"sample_id": (self._sample_id + c0) * dec, "field_id": field_id, "index": index,
                             "sample_rate": INPUT_RATE, "decimate_factor": dec, "data": chunk}
                    topic = f"{self.path}/{prefix}!data"
                    for fn in list(self._subs.get(topic, [])):
                        fn(topic, value)
        self._sample_id += n + (-n % 8)
        if trace.disconnect_at is not None:
            self.removed = True
            self.is_open = False
