"""A simulated Nordic Power Profiler Kit II on a pty, speaking the PPK2's serial protocol.

Commands (one opcode byte, then its arguments): GET_META_DATA (0x19) is answered with the
calibration text ("R0: ...", ..., "END"); REGULATOR_SET (0x0d, 2 bytes), SET_POWER_MODE (0x11,
1 byte), DEVICE_RUNNING_SET (0x0c, 1 byte), AVERAGE_START (0x06), AVERAGE_STOP (0x07), RESET (0x20),
SPIKE_FILTERING_ON/OFF (0x15/0x16) are taken. While started, the simulator streams the samples of the
waveforms it is given (``play``): 4 bytes little-endian each, bits 0-13 the ADC code, 14-16 the
measurement range (auto-ranged), 18-23 a 6-bit sample counter, 24-31 the logic inputs D0-D7 (the
frame marker on one, the stage marker on another). A dropped sample is left out of the stream but
still advances the counter, as lost USB data would.

The ADC code of a current is what the real ``ppk2-api`` conversion maps back to that current with
this unit's calibration (R, O, GI per range; GS = S = I = 0, UG = 1), quantised to 14 bits: the
meter therefore measures through the library's own arithmetic, with the PPK2's real resolution
(range 1: about 0.43 uA per code).
"""

from __future__ import annotations

import queue
import threading

import numpy as np

from bench.targets.meters.sim.pty import PtyDevice
from bench.targets.meters.sim.waveform import SampledTrace

ADC_MULT = 1.8 / 163840
R = (1003.3, 101.5, 10.33, 0.95, 0.045)  # this unit's shunts (ohm), as its metadata states
OFFSET = (48.0, 40.0, 32.0, 24.0, 16.0)  # ADC offsets (after the x4 of the library)
GI = (1.0012, 0.9987, 1.003, 0.998, 1.0)
ARG_BYTES = {0x19: 0, 0x0D: 2, 0x11: 1, 0x0C: 1, 0x06: 0, 0x07: 0, 0x20: 0, 0x15: 0, 0x16: 0, 0x08: 1, 0x02: 1}


def metadata_text(vdd_mv: int) -> str:
    lines = ["Calibrated: 1"]
    for key, vals in (("R", R), ("GS", (0.0,) * 5), ("GI", GI), ("O", OFFSET), ("S", (0.0,) * 5), ("I", (0.0,) * 5),
                      ("UG", (1.0,) * 5)):
        lines += [f"{key}{i}: {v:.4f}" for i, v in enumerate(vals)]
    lines += [f"VDD: {vdd_mv}", "HW: 25650", "mode: 2", "IA: 56", "END"]
    return "\n".join(lines) + "\n"


def range_limits() -> np.ndarray:
    """The largest current each range encodes (A)."""
    return np.array([((16383 * 4 - OFFSET[r]) * ADC_MULT / R[r]) * GI[r] for r in range(5)])


def encode(current_a: np.ndarray, logic: np.ndarray, counter0: int = 0,
           lost: np.ndarray | None = None) -> tuple[bytes, int]:
    """PPK2 sample words for currents (A) and logic bytes; the counter runs over lost samples too.
    Returns the bytes and the next counter value."""
    cur = np.asarray(current_a, np.float64)
    n = cur.size
    lim = range_limits() * 0.95
    rng = np.searchsorted(lim, np.maximum(cur, 0.0))  # the smallest range that holds it (auto-ranging)
    rng = np.minimum(rng, 4)
    r_ohm = np.take(R, rng)
    adc = (cur / np.take(GI, rng)) * r_ohm / ADC_MULT + np.take(OFFSET, rng)
    code = np.clip(np.rint(adc / 4.0), 0, 16383).astype(np.uint32)
    counter = (counter0 + np.arange(n, dtype=np.uint32)) & 0x3F
    words = code | (rng.astype(np.uint32) << 14) | (counter << 18) | (np.asarray(logic, np.uint32) << 24)
    if lost is not None:
        words = words[~np.asarray(lost, bool)]
    return words.astype("<u4").tobytes(), (counter0 + n) & 0x3F


class SimPpk2(PtyDevice):
    def __init__(self, frame_bit: int = 0, stage_bit: int | None = 1) -> None:
        self.frame_bit, self.stage_bit = frame_bit, stage_bit
        self.vdd_mv = 3300
        self.mode = 0
        self.dut_power = False
        self.commands: list[int] = []
        self._pending = b""
        self._streaming = threading.Event()
        self._queue: queue.Queue[tuple[bytes, bool]] = queue.Queue()
        self._cv = threading.Condition()
        self._pending_plays = 0  # queued and not yet written
        self._counter = 0
        self._stops = 0  # AVERAGE_STOPs taken: a play queued before the latest stop is never streamed
        super().__init__()
        self._writer = threading.Thread(target=self._stream, name="sim-ppk2-stream", daemon=True)
        self._writer.start()

    def on_bytes(self, data: bytes) -> None:
        buf = self._pending + data
        i = 0
        while i < len(buf):
            op = buf[i]
            need = ARG_BYTES.get(op)
            if need is None:  # not an opcode this firmware knows: skip it, as the device would
                i += 1
                continue
            if i + 1 + need > len(buf):
                break
            args = buf[i + 1:i + 1 + need]
            i += 1 + need
            self.commands.append(op)
            self._command(op, args)
        self._pending = buf[i:]

    def _command(self, op: int, args: bytes) -> None:
        if op == 0x19:
            self.write(metadata_text(self.vdd_mv).encode())
        elif op == 0x0D:
            self.vdd_mv = (args[0] - 3) * 256 + args[1] - 32 + 800
        elif op == 0x11:
            self.mode = args[0]
        elif op == 0x0C:
            self.dut_power = bool(args[0])
        elif op == 0x06:
            self._streaming.set()
        elif op == 0x07:
            self._streaming.clear()
            self._stops += 1
            while not self._queue.empty():
                self._queue.get_nowait()
                with self._cv:
                    self._pending_plays -= 1
                    self._cv.notify_all()

    def play(self, trace: SampledTrace) -> None:
        """Queue the samples of a sampled waveform; streamed while the PPK2 is started."""
        logic = (trace.frame_pin.astype(np.uint32) << self.frame_bit)
        if self.stage_bit is not None:
            logic |= trace.stage_pin.astype(np.uint32) << self.stage_bit
        cut = trace.disconnect_at
        data, self._counter = encode(trace.current_a, logic, self._counter, trace.lost)
        if cut is not None:  # the words sent before the PPK2 goes away (lost ones were never in the stream)
            data = data[:4 * int(np.count_nonzero(~np.asarray(trace.lost[:cut], bool)))]
        with self._cv:
            self._pending_plays += 1
        self._queue.put((data, cut is not None, self._stops))

    def wait_played(self, timeout: float) -> bool:
        """True once everything queued has been written to the host's side of the pty."""
        with self._cv:
            return self._cv.wait_for(lambda: self._pending_plays <= 0, timeout)

    def _stream(self) -> None:
        while not self._closed.is_set():
            try:
                data, unplug, stops = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            # the host writes AVERAGE_START and then plays without a reply in between (the PPK2 sends none):
            # on a loaded machine the start can still be in the pty when the play is taken here. Wait for it
            # rather than drop the waveform, unless a stop came after the play was queued.
            while not self._streaming.is_set() and stops == self._stops and not self._closed.is_set():
                self._streaming.wait(0.01)
            for k in range(0, len(data), 16384):
                if not self._streaming.is_set():
                    break
                self.write(data[k:k + 16384])
            if unplug:  # the USB cable is pulled: the host's port hangs up
                self.close()
            with self._cv:
                self._pending_plays -= 1
                self._cv.notify_all()
