"""Throughput and retransmissions of the link under injected faults (docs/protocol.md, "Links under faults").

    .venv/bin/python -m bench.link.faultbench --where native --ber 0,1e-4,1e-3,1e-2
    .venv/bin/python -m bench.link.faultbench --where qemu --ber 0,1e-4,1e-3 --frames 200

Each row streams `frames` PROCESS frames of noise through the passthrough model behind a
FaultyTransport with byte error rate `ber` in both directions (bit flips; `--faults` adds
drops, duplicates, bursts, delays) with the Session's default policy, and checks that every
frame came back once, in order and unchanged, and that the device executed each exactly once.
`native` is the C agent built for this machine and called in-process (no wire time: the
figures show the protocol's overhead); `qemu` is the passthrough image over QEMU's UART.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.errors import BenchError, LinkError
from bench.link.faults import LinkFaults, parse_faults
from bench.link.faulty import FaultyTransport
from bench.link.session import Session
from bench.link.transport import ByteTransport


@dataclass
class Row:
    where: str
    ber: float
    seed: int
    frames: int
    exact: bool  # every frame back once, in order, unchanged; the device executed each once
    seconds: float
    frames_per_s: float
    resends: int
    resends_per_frame: float
    fast_resends: int
    nacks: int
    timeouts: int
    max_silence_s: float
    error: str = ""


class InProcessAgent:
    """The C agent with the passthrough model, built for this machine, as a ByteTransport."""

    def __init__(self) -> None:
        from bench.models.common.native import build_shared
        from bench.paths import firmware_dir

        fw = firmware_dir()
        model = fw / "models/passthrough/passthrough_model.c"
        so = build_shared([fw / "agent/bench_agent.c", fw / "tests/host_port.c", model],
                          include_dirs=[fw / "agent", model.parent], name="agent_passthrough")
        self.lib = lib = ctypes.CDLL(str(so))
        lib.bench_agent_feed.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.host_take_output.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.host_take_output.restype = ctypes.c_size_t
        self._buf = ctypes.create_string_buffer(1 << 20)
        self._pending = b""
        lib.host_init()

    def write(self, data: bytes) -> None:
        self.lib.bench_agent_feed(data, len(data))
        n = self.lib.host_take_output(self._buf, len(self._buf))
        self._pending += self._buf.raw[:n]

    def read(self, max_bytes: int, timeout: float) -> bytes:
        out, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return out

    def close(self) -> None:
        pass


@contextmanager
def native_link() -> Iterator[ByteTransport]:
    yield InProcessAgent()


@contextmanager
def qemu_link(target: str = "qemu-mps2-an386", image: str = "passthrough-an386") -> Iterator[ByteTransport]:
    from bench.images import find_image
    from bench.targets import load_target
    from bench.targets.drivers import make_driver

    with tempfile.TemporaryDirectory() as d:
        drv = make_driver(load_target(target), Path(d))
        try:
            drv.start(find_image(image).path)
            yield drv.open_link()
        finally:
            drv.stop()


def stream(link: ByteTransport, faults: LinkFaults, frames: int, where: str, ber: float,
           **session: float) -> Row:
    """Stream `frames` noise frames through `link` behind `faults`; never raises a LinkError."""
    s = Session(FaultyTransport(link, faults), **session)  # type: ignore[arg-type]
    x = (np.random.default_rng(faults.seed).standard_normal((frames, 256)) * 3000).astype(np.int16)
    t0 = time.monotonic()
    exact, error = False, ""
    try:
        hello = s.hello()
        if hello.hop_len != x.shape[1]:
            raise BenchError(f"{hello.image_name}: hop {hello.hop_len}, expected the passthrough model's 256")
        s.reset_state()
        out = np.stack([r.pcm for r in s.process_stream(x)])
        seconds = time.monotonic() - t0
        exact = bool(np.array_equal(out, x)) and s.stats().frames == frames
    except LinkError as e:
        seconds = time.monotonic() - t0
        error = str(e).split(";")[0]
    c = s.counters
    return Row(where, ber, faults.seed, frames, exact, round(seconds, 2),
               round(frames / seconds, 1) if exact else 0.0, c.resends, round(c.resends / frames, 2),
               c.fast_resends, c.nacks, c.timeouts, round(c.max_silence_s, 2), error)


def table(rows: list[Row]) -> str:
    out = ["| where | byte error rate | seed | frames | exact | frames/s | resends (per frame) | fast resends | "
           "NACKs | timeouts | longest silence (s) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        exact = "yes" if r.exact else f"LinkError: {r.error}"
        out.append(f"| {r.where} | {r.ber:g} | {r.seed} | {r.frames} | {exact} | {r.frames_per_s:g} | "
                   f"{r.resends} ({r.resends_per_frame:g}) | {r.fast_resends} | {r.nacks} | {r.timeouts} | "
                   f"{r.max_silence_s:g} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.link.faultbench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--where", choices=["native", "qemu"], default="native")
    ap.add_argument("--target", default="qemu-mps2-an386", help="with --where qemu")
    ap.add_argument("--ber", default="0,1e-4,1e-3,1e-2", help="byte error rates, comma separated")
    ap.add_argument("--faults", default="", help="more fault options, URL query style (drop=1e-4&burst=4)")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=1, help="runs per error rate (seeds 0..N-1)")
    ap.add_argument("--dead-after", type=float, help="Session dead_after (default: the Session's)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    session: dict[str, float] = {"poll": 0.0} if a.where == "native" else {}
    if a.dead_after is not None:
        session["dead_after"] = a.dead_after
    rows = []
    for ber in (float(b) for b in a.ber.split(",")):
        for seed in range(a.seeds):
            query = "&".join(q for q in (f"ber={ber:g}", a.faults, f"seed={seed}") if q)
            link = native_link() if a.where == "native" else qemu_link(a.target)
            with link as t:
                rows.append(stream(t, parse_faults(query), a.frames, a.where, ber, **session))
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(json.dumps([asdict(r) for r in rows], indent=1) if a.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
