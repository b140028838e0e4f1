"""A simulated ST X-NUCLEO-LPM01A (PowerShield) on a pty, speaking its ASCII command protocol.

Commands end with a newline; each is answered ``PowerShield > ack <command>`` or ``PowerShield >
error <command>`` followed by ``PowerShield > Error detail: <why>``. The settings the `lpm01a` meter
sends are checked as the firmware's ``help`` text states them (``volt`` 1800m-3300m; ``freq`` one of
100k..1; ``format ascii_dec`` limited to 20k and, above 5k, to a finite ``acqtime``; ``output
current``; ``trigsrc sw``). ``start`` streams, per sample, the current as ``dddd-ee`` (dddd x
10^-ee A, four significant digits); a ``TimeStamp: <s>s <ms>ms, buff <nn>%`` line after every 100 ms
of samples; and, with ``eventsrc d7 <edge>``, an ``event <n> ris`` / ``event <n> fal`` line before
the first sample at or after each edge of the marker on D7. ``stop`` ends the stream with
``PowerShield > Acquisition completed``. Lost samples are left out of the stream; the TimeStamp
lines then show fewer samples than their time (that is how the meter finds them).

The event lines and ``eventsrc``'s edge argument follow the MLPerf Tiny energy runner's use of the
board (``eventsrc d7 fal``, ``event <n> ris``); they have not been checked against a PowerShield.
"""

from __future__ import annotations

import dataclasses
import queue
import threading

import numpy as np

from bench.targets.meters.sim.pty import PtyDevice
from bench.targets.meters.sim.waveform import SampledTrace

PROMPT = "PowerShield > "
FREQS = {"100k": 100_000, "50k": 50_000, "20k": 20_000, "10k": 10_000, "5k": 5_000, "2k": 2_000, "1k": 1_000,
         "500": 500, "200": 200, "100": 100, "50": 50, "20": 20, "10": 10, "5": 5, "2": 2, "1": 1}


def ascii_dec(current_a: np.ndarray) -> list[str]:
    """dddd-ee: four significant digits, dddd x 10^-ee A."""
    out = []
    for v in np.maximum(np.asarray(current_a, np.float64), 0.0):
        if v <= 0:
            out.append("0000-00")
            continue
        e = 3 - int(np.floor(np.log10(v)))  # 1000 <= v x 10^e < 10000
        m = int(round(v * 10.0 ** e))
        if m >= 10000:
            m, e = m // 10, e - 1
        out.append(f"{m:04d}-{e:02d}" if e >= 0 else f"{m:04d}+{-e:02d}")
    return out


class SimLpm01a(PtyDevice):
    def __init__(self) -> None:
        self.settings: dict[str, str] = {"volt": "3300m", "freq": "100", "format": "ascii_dec", "acqtime": "10",
                                         "output": "current", "trigsrc": "sw", "eventsrc": ""}
        self.host_control = False
        self.commands: list[str] = []
        self._line = b""
        self._running = threading.Event()
        self._queue: queue.Queue[SampledTrace] = queue.Queue()
        self._cv = threading.Condition()
        self._pending_plays = 0  # queued and not yet written
        self._sent = 0  # samples streamed (lost ones included) since start
        self._events = 0
        self._level = 0
        super().__init__()
        self._writer = threading.Thread(target=self._stream, name="sim-lpm01a-stream", daemon=True)
        self._writer.start()

    def say(self, text: str) -> None:
        self.write((PROMPT + text + "\r\n").encode())

    def on_bytes(self, data: bytes) -> None:
        self._line += data
        while b"\n" in self._line:
            raw, self._line = self._line.split(b"\n", 1)
            cmd = raw.decode(errors="replace").strip()
            if cmd:
                self.commands.append(cmd)
                self._command(cmd)

    def _error(self, cmd: str, why: str) -> None:
        self.say(f"error {cmd}")
        self.say(f"Error detail: {why}")

    def _command(self, cmd: str) -> None:
        word, _, arg = cmd.partition(" ")
        arg = arg.strip()
        if word not in ("htc", "hrc", "powershield", "version", "status", "help") and not self.host_control:
            return self._error(cmd, "PowerShield not controlled by host: send 'htc' first")
        if word == "htc":
            self.host_control = True
        elif word == "hrc":
            self.host_control = False
        elif word == "volt":
            mv = float(arg[:-1]) if arg.endswith("m") else float(arg) * 1000
            if not 1800 <= mv <= 3300:
                return self._error(cmd, "voltage out of range [1800m; 3300m]")
            self.settings["volt"] = arg
        elif word == "freq":
            if arg not in FREQS:
                return self._error(cmd, f"frequency not among {', '.join(FREQS)}")
            self.settings["freq"] = arg
        elif word in ("format", "output", "trigsrc", "acqtime", "acqmode", "funcmode", "trigdelay", "pwr",
                      "pwrend", "lcd", "currthres", "eventsrc"):
            allowed = {"format": ("ascii_dec", "bin_hexa"), "output": ("current", "energy"), "trigsrc": ("sw", "d7")}
            if word in allowed and arg not in allowed[word]:
                return self._error(cmd, f"argument not among {', '.join(allowed[word])}")
            self.settings[word] = arg
        elif word == "start":
            f = FREQS[self.settings["freq"]]
            if self.settings["format"] != "ascii_dec" or self.settings["output"] != "current":
                return self._error(cmd, "this simulator streams output 'current' in format 'ascii_dec' only")
            if f > 20_000 or (f > 5_000 and self.settings["acqtime"] in ("0", "inf")):
                return self._error(cmd, "ascii_dec: sampling frequency too high for the acquisition time")
            self.say(f"ack {cmd}")
            self._sent, self._events, self._level = 0, 0, 0
            self._running.set()
            return None
        elif word == "stop":
            self.say(f"ack {cmd}")
            self._running.clear()
            while not self._queue.empty():
                self._queue.get_nowait()
                with self._cv:
                    self._pending_plays -= 1
                    self._cv.notify_all()
            self.say("Acquisition completed")
            return None
        elif word == "powershield":
            self.say(f"ack {cmd}")
            self.say("PowerShield present 000000SIM0001")
            return None
        elif word == "version":
            self.say(f"ack {cmd}")
            self.say("1.0.9")
            return None
        elif word in ("status", "help"):
            pass
        else:
            return self._error(cmd, "unknown command")
        self.say(f"ack {cmd}")
        return None

    def play(self, trace: SampledTrace) -> None:
        with self._cv:
            self._pending_plays += 1
        self._queue.put(trace)

    def wait_played(self, timeout: float) -> bool:
        with self._cv:
            return self._cv.wait_for(lambda: self._pending_plays <= 0, timeout)

    def _stream(self) -> None:
        while not self._closed.is_set():
            try:
                tr = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            cut = tr.disconnect_at
            if cut is not None:  # only what was sent before the PowerShield goes away
                tr = dataclasses.replace(tr, current_a=tr.current_a[:cut], frame_pin=tr.frame_pin[:cut],
                                         stage_pin=tr.stage_pin[:cut], lost=tr.lost[:cut])
            if self._running.is_set():
                self.write(self._encode(tr).encode())
            if cut is not None:  # the USB cable is pulled: the host's port hangs up
                self.close()
            with self._cv:
                self._pending_plays -= 1
                self._cv.notify_all()

    def _encode(self, tr: SampledTrace) -> str:
        fs = FREQS[self.settings["freq"]]
        per_stamp = max(fs // 10, 1)  # a TimeStamp line after every 100 ms of samples
        values = ascii_dec(tr.current_a)
        pin = tr.frame_pin.astype(np.int8)
        edge = self.settings.get("eventsrc", "").split()
        want = edge[1] if len(edge) > 1 else ""
        out: list[str] = []
        for k, v in enumerate(values):
            if pin[k] != self._level:
                self._level = int(pin[k])
                kind = "ris" if self._level else "fal"
                if want in ("both", kind):
                    self._events += 1
                    out.append(f"event {self._events} {kind}")
            if not tr.lost[k]:
                out.append(v)
            self._sent += 1
            if self._sent % per_stamp == 0:
                ms = self._sent * 1000 // fs
                out.append(f"TimeStamp: {ms // 1000}s {ms % 1000:03d}ms, buff 00%")
        return "".join(s + "\r\n" for s in out)
