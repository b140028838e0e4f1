"""Link throughput on QEMU: the raw UART capacity (echo image) against what the runner's
session reaches with a bench image (PROCESS/RESULT frames with a window in flight)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import LinkError
from bench.images import find_image
from bench.link.session import Session
from bench.targets.drivers import make_driver
from bench.targets.spec import TargetSpec


def raw_echo_rate(target: TargetSpec, n_bytes: int = 64 * 1024, chunk: int = 256,
                  stall_s: float = 120.0) -> dict[str, float]:
    """Host->guest bytes per second through the echo image, keeping `chunk`..2*chunk bytes in flight;
    a LinkError when nothing has come back for `stall_s` seconds."""
    with tempfile.TemporaryDirectory() as d:
        drv = make_driver(target, Path(d))
        try:
            drv.start(find_image("echo-an386").path)
            t = drv.open_link()
            banner = b"echo ready\r\n"
            got = b""
            deadline = time.monotonic() + 10
            while banner not in got and time.monotonic() < deadline:
                got += t.read(256, 0.1)
            payload = bytes((i % 255) + 1 for i in range(n_bytes))
            sent = received = 0
            t0 = last = time.monotonic()
            while received < n_bytes:
                if sent < n_bytes and sent - received < 2 * chunk:
                    t.write(payload[sent:sent + chunk])
                    sent += chunk
                data = t.read(8192, 0.005)
                received += len(data)
                now = time.monotonic()
                if data:
                    last = now
                elif now - last > stall_s:
                    raise LinkError(f"echo benchmark stalled: {received} of {n_bytes} bytes came back, then nothing "
                                    f"for {stall_s:g} s; check that echo-an386 runs on target {target.name}")
            dt = time.monotonic() - t0
        finally:
            drv.stop()
    return {"bytes": float(n_bytes), "seconds": dt, "bytes_per_s": n_bytes / dt}


def session_rate(target: TargetSpec, image: str = "passthrough-an386", frames: int = 300,
                 window: int = 4) -> dict[str, float]:
    """Host->guest wire bytes per second while streaming PROCESS frames through a bench image."""
    with tempfile.TemporaryDirectory() as d:
        drv = make_driver(target, Path(d))
        try:
            drv.start(find_image(image).path)
            tr = drv.open_link()
            s = Session(tr, window=window)
            h = s.hello()
            s.reset_state()
            x = (np.random.default_rng(0).standard_normal((frames, h.hop_len)) * 1000).astype(np.int16)
            out0 = tr.bytes_out  # type: ignore[attr-defined]
            t0 = time.monotonic()
            n = sum(1 for _ in s.process_stream(x))
            dt = time.monotonic() - t0
            wire = tr.bytes_out - out0  # type: ignore[attr-defined]
        finally:
            drv.stop()
    return {"frames": float(n), "seconds": dt, "bytes_per_s": wire / dt, "frames_per_s": n / dt,
            "audio_x_realtime": n * h.hop_len / h.sample_rate / dt}


def link_benchmark(target: TargetSpec, window: int = 4, frames: int = 300) -> dict[str, Any]:
    raw = raw_echo_rate(target)
    ses = session_rate(target, frames=frames, window=window)
    return {
        "raw_echo_kib_s": raw["bytes_per_s"] / 1024,
        "session_kib_s": ses["bytes_per_s"] / 1024,
        "fraction_of_raw": ses["bytes_per_s"] / raw["bytes_per_s"],
        "frames_per_s": ses["frames_per_s"],
        "audio_x_realtime": ses["audio_x_realtime"],
        "window": window,
    }
