"""A simulated Otii application (the Otii desktop app or Otii Server with one Arc attached), serving
the TCP/JSON protocol that ``otii-tcp-client`` speaks: one JSON object per line ("\\r\\n"), a greeting
``{"type": "information", "info": "connected", ...}`` on connect, then for every
``{"type": "request", "cmd": ..., "trans_id": ..., "data": ...}`` a ``{"type": "response", "cmd": ...,
"trans_id": ..., "data": ...}`` or ``{"type": "error", "errorcode": ..., ...}``.

It serves the commands the `otii` meter uses (login and license state, devices, projects, channels,
main supply, recordings, channel data and info). While a recording runs, ``play`` appends a
waveform's samples to it: the main current channel ("mc") as analog values at the channel's sample
rate, the digital inputs ("i1", "i2") as timestamped edges, and, for UART-log sync, the "rx" channel
as log lines at the marker's edges. The Otii application owns the USB stream, so lost samples cannot
be expressed through this protocol: the simulator does not model them.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.targets.meters.sim.waveform import SampledTrace

DEVICE_ID = "Arc00000000000000000000SIM000001"


@dataclass
class _Recording:
    id: int
    fs: float
    current: list[np.ndarray] = field(default_factory=list)
    edges: dict[str, list[tuple[float, bool]]] = field(default_factory=lambda: {"i1": [], "i2": []})
    logs: list[tuple[float, str]] = field(default_factory=list)
    levels: dict[str, int] = field(default_factory=lambda: {"i1": 0, "i2": 0})
    t: float = 0.0  # seconds recorded so far

    @property
    def samples(self) -> np.ndarray:
        return np.concatenate(self.current) if self.current else np.zeros(0)


class SimOtii:
    """The simulated application; ``host, port`` is where it listens (loopback only)."""

    def __init__(self, frame_input: str = "i1", stage_input: str | None = "i2", rx_rise: str = "F1",
                 rx_fall: str = "F0") -> None:
        self.frame_input, self.stage_input = frame_input, stage_input
        self.rx_rise, self.rx_fall = rx_rise, rx_fall
        self.commands: list[str] = []
        self.main_voltage = 3.3
        self.main_on = False
        self.channels: dict[str, bool] = {}
        self.samplerate: dict[str, int] = {"mc": 50_000}
        self.projects: list[int] = []
        self.recordings: list[_Recording] = []
        self.recording: _Recording | None = None
        self.licenses = [{"id": 1, "type": "Automation", "available": True, "reserved_to": "", "hostname": ""}]
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self._closed = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="sim-otii", daemon=True)
        self._thread.start()

    # -- the waveform -------------------------------------------------------------------------------
    def play(self, trace: SampledTrace) -> None:
        """Append a sampled waveform to the running recording (the board drew it while recording)."""
        cut = trace.disconnect_at
        if cut is not None:  # the board drew this much before the Otii application went away
            trace = dataclasses.replace(trace, current_a=trace.current_a[:cut], frame_pin=trace.frame_pin[:cut],
                                        stage_pin=trace.stage_pin[:cut], lost=trace.lost[:cut])
        try:
            self._play(trace)
        finally:
            if cut is not None:
                self.close()  # the application closed: its TCP server and every connection with it

    def _play(self, trace: SampledTrace) -> None:
        with self._lock:
            rec = self.recording
            if rec is None:
                return
            t0 = rec.t
            rec.current.append(np.asarray(trace.current_a, np.float64))
            pins = {self.frame_input: trace.frame_pin}
            if self.stage_input:
                pins[self.stage_input] = trace.stage_pin
            for ch, pin in pins.items():
                if ch == "rx":
                    continue
                for k in np.flatnonzero(np.diff(np.r_[rec.levels[ch], pin.astype(np.int8)]) != 0):
                    rec.edges[ch].append((t0 + k / rec.fs, bool(pin[k])))
                if len(pin):
                    rec.levels[ch] = int(pin[-1])
            if self.frame_input == "rx":  # UART-log sync: the firmware prints a line at each frame edge
                pin = trace.frame_pin.astype(np.int8)
                for k in np.flatnonzero(np.diff(np.r_[rec.levels.get("rx", 0), pin]) != 0):
                    rec.logs.append((t0 + k / rec.fs, self.rx_rise if pin[k] else self.rx_fall))
                if len(pin):
                    rec.levels["rx"] = int(pin[-1])
            rec.t = t0 + len(trace.current_a) / rec.fs

    # -- the server -----------------------------------------------------------------------------------
    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        def send(obj: dict[str, Any]) -> None:
            conn.sendall((json.dumps(obj) + "\r\n").encode())

        send({"type": "information", "info": "connected",
              "data": {"otii_version": "3.5.5", "protocol_version": "0.1", "server": "bench-sim-otii"}})
        buf = b""
        conn.settimeout(0.1)
        while not self._closed.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                if not line.strip():
                    continue
                req = json.loads(line)
                cmd = req.get("cmd", "")
                self.commands.append(cmd)
                with self._lock:
                    try:
                        data = self._handle(cmd, req.get("data") or {})
                        resp = {"type": "response", "cmd": cmd, "trans_id": req.get("trans_id"), "data": data}
                    except _Error as e:
                        resp = {"type": "error", "cmd": cmd, "trans_id": req.get("trans_id"), "errorcode": e.code,
                                "data": e.data}
                send(resp)

    def _handle(self, cmd: str, d: dict[str, Any]) -> dict[str, Any]:
        if cmd == "otii_is_logged_in":
            return {"logged_in": True}
        if cmd in ("otii_login", "otii_logout"):
            return {}
        if cmd == "otii_get_licenses":
            return {"licenses": self.licenses}
        if cmd in ("otii_reserve_license", "otii_return_license"):
            for lic in self.licenses:
                if lic["id"] == d.get("license_id"):
                    lic["reserved_to"] = "bench" if cmd == "otii_reserve_license" else ""
            return {}
        if cmd == "otii_get_devices":
            return {"devices": [{"device_id": DEVICE_ID, "name": "Arc", "type": "Arc"}]}
        if cmd == "otii_get_active_project":
            return {"project_id": self.projects[-1] if self.projects else -1}
        if cmd == "otii_create_project":
            self.projects.append(len(self.projects) + 1)
            return {"project_id": self.projects[-1]}
        if cmd.startswith("arc_") and d.get("device_id") != DEVICE_ID:
            raise _Error("Device not connected", {"device_id": str(d.get("device_id"))})
        if cmd == "arc_enable_channel":
            if d["channel"] not in ("mc", "mp", "mv", "ac", "av", "sp", "sn", "vb", "vj", "tp", "rx", "i1", "i2"):
                raise _Error("Invalid key value", {"key": "channel", "value": d["channel"]})
            self.channels[d["channel"]] = bool(d["enable"])
            return {}
        if cmd == "arc_set_channel_samplerate":
            self.samplerate[d["channel"]] = int(d["value"])
            return {}
        if cmd == "arc_get_channel_samplerate":
            return {"value": self.samplerate.get(d["channel"], 1000)}
        if cmd == "arc_set_main_voltage":
            self.main_voltage = float(d["value"])
            return {}
        if cmd == "arc_get_main_voltage":
            return {"value": self.main_voltage}
        if cmd == "arc_set_main":
            self.main_on = bool(d["enable"])
            return {}
        if cmd in ("arc_set_uart_baudrate", "arc_enable_uart"):
            return {}
        if cmd == "project_start_recording":
            self.recording = _Recording(len(self.recordings) + 1, float(self.samplerate.get("mc", 50_000)))
            self.recordings.append(self.recording)
            return {}
        if cmd == "project_stop_recording":
            self.recording = None
            return {}
        if cmd == "project_get_last_recording":
            if not self.recordings:
                return {"recording_id": -1}
            r = self.recordings[-1]
            return {"recording_id": r.id, "name": f"Recording {r.id}", "start-time": "2026-01-01T00:00:00Z"}
        if cmd.startswith("recording_"):
            recs = [r for r in self.recordings if r.id == d.get("recording_id")]
            if not recs:
                raise _Error("Invalid key value", {"key": "recording_id", "value": d.get("recording_id")})
            return self._recording(cmd, recs[0], d)
        raise _Error("Invalid command", {})

    def _recording(self, cmd: str, r: _Recording, d: dict[str, Any]) -> dict[str, Any]:
        ch = str(d.get("channel", ""))
        if not self.channels.get(ch):
            raise _Error("Invalid key value", {"key": "channel", "value": ch})
        if cmd == "recording_get_channel_info":
            return {"offset": 0.0, "from": 0.0, "to": r.t, "sample_rate": int(r.fs)}
        if cmd == "recording_get_channel_data_count":
            if ch == "mc":
                return {"count": int(r.samples.size)}
            return {"count": len(r.logs if ch == "rx" else r.edges[ch]) + (0 if ch == "rx" else 1)}
        if cmd == "recording_get_channel_data":
            i, n = int(d["index"]), int(d["count"])
            if ch == "mc":
                return {"data_type": "analog", "timestamp": i / r.fs, "interval": 1.0 / r.fs,
                        "values": r.samples[i:i + n].tolist()}
            if ch == "rx":
                return {"data_type": "log", "values": [{"timestamp": t, "value": v} for t, v in r.logs[i:i + n]]}
            events = [(0.0, False), *r.edges[ch]]  # the input's state when the recording began
            return {"data_type": "digital", "values": [{"timestamp": t, "value": v} for t, v in events[i:i + n]]}
        raise _Error("Invalid command", {})

    def close(self) -> None:
        self._closed.set()
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self._sock.close()
        self._thread.join(timeout=2)


class _Error(Exception):
    def __init__(self, code: str, data: dict[str, Any]):
        super().__init__(code)
        self.code, self.data = code, data
