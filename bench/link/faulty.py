"""FaultyTransport: any ByteTransport behind a wire that corrupts, loses, doubles and delays bytes.

    link = FaultyTransport(driver.open_link(), parse_faults("ber=1e-3&seed=1"))
    session = Session(link)

Delayed bytes are held here and handed on during later read() and write() calls (the session
reads continuously while it waits), so no thread is needed. `on_reset` with `reset_at` restarts
the device in the middle of the host's byte stream: the bytes before offset `reset_at` reach the
old device, the hook runs (a driver's reset), the rest reaches the new one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from bench.link.faults import FaultStream, LinkFaults
from bench.link.transport import ByteTransport


class FaultyTransport:
    def __init__(self, inner: ByteTransport, faults: LinkFaults, *, on_reset: Callable[[], None] | None = None,
                 reset_at: int | None = None):
        if (on_reset is None) != (reset_at is None):
            raise ValueError("a device reset needs both on_reset (the hook) and reset_at (a byte offset)")
        self.inner = inner
        self.faults = faults
        self.tx = FaultStream(faults.tx, faults.seed, "tx")
        self.rx = FaultStream(faults.rx, faults.seed, "rx")
        self.resets = 0
        self._on_reset = on_reset
        self._reset_at = reset_at
        self._tx_queue: deque[tuple[float, bytes, bool]] = deque()  # (due, bytes, reset the device after them)
        self._rx_queue: deque[tuple[float, bytes]] = deque()
        self._tx_last_due = 0.0
        self._rx_last_due = 0.0

    def __getattr__(self, name: str) -> Any:  # url, tail, bytes_in, bytes_out... of the real link
        if name == "inner":  # not set yet (during __init__ or unpickling)
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"FaultyTransport({self.inner!r}, {self.faults.query()})"

    # ---- host to device ----------------------------------------------------
    def write(self, data: bytes) -> None:
        self._pump_tx()
        start = self.tx.offset
        cut = self._reset_at - start if self._reset_at is not None else -1
        if 0 <= cut < len(data):
            self._queue_tx(data[:cut], reset=True)
            self._reset_at = None
            data = data[cut:]
        self._queue_tx(data, reset=False)
        self._pump_tx()

    def _queue_tx(self, data: bytes, reset: bool) -> None:
        out = self.tx.apply(data)
        due = max(time.monotonic() + self.tx.latency(), self._tx_last_due)
        self._tx_last_due = due
        self._tx_queue.append((due, out, reset))

    def _pump_tx(self) -> None:
        now = time.monotonic()
        while self._tx_queue and self._tx_queue[0][0] <= now:
            _, data, reset = self._tx_queue.popleft()
            if data:
                self.inner.write(data)
            if reset and self._on_reset is not None:
                self.resets += 1
                self._on_reset()

    # ---- device to host ----------------------------------------------------
    def read(self, max_bytes: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            self._pump_tx()
            now = time.monotonic()
            if self._rx_queue and self._rx_queue[0][0] <= now:
                return self._take_rx(max_bytes, now)
            wait = deadline - now
            for q in (self._tx_queue, self._rx_queue):
                if q:
                    wait = min(wait, q[0][0] - now)
            wait = max(wait, 0.0)
            t0 = time.monotonic()
            chunk = self.inner.read(max_bytes, wait)
            if chunk:
                data = self.rx.apply(chunk)
                due = max(time.monotonic() + self.rx.latency(), self._rx_last_due)
                self._rx_last_due = due
                self._rx_queue.append((due, data))
            elif time.monotonic() - t0 < wait:  # an inner link that does not wait (in-process)
                time.sleep(min(wait, 0.001))
            if time.monotonic() >= deadline and not (self._rx_queue and self._rx_queue[0][0] <= time.monotonic()):
                return b""

    def _take_rx(self, max_bytes: int, now: float) -> bytes:
        out = bytearray()
        while self._rx_queue and self._rx_queue[0][0] <= now and len(out) < max_bytes:
            due, data = self._rx_queue.popleft()
            room = max_bytes - len(out)
            out += data[:room]
            if len(data) > room:
                self._rx_queue.appendleft((due, data[room:]))
        return bytes(out)

    def pending(self) -> int:
        """Bytes from the device that have arrived and are due."""
        now = time.monotonic()
        return sum(len(d) for due, d in self._rx_queue if due <= now)

    def close(self) -> None:
        self._tx_queue.clear()
        self.inner.close()
