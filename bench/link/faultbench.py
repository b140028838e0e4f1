"""Throughput and retransmissions of a link under injected faults (docs/protocol.md, "Links under faults").

    .venv/bin/python -m bench.link.faultbench --url socket://127.0.0.1:4321 --ber 0,1e-4,1e-3,1e-2

streams `--frames` PROCESS frames of noise through a bench image running the passthrough model
(any pyserial URL: a board's /dev/ttyACM0, a QEMU serial socket), once per byte error rate and
seed, behind a FaultyTransport with that rate in both directions (bit flips; `--faults` adds
drops, duplicates, bursts, delays), with the Session's default policy. Each row checks that
every frame came back once, in order and unchanged, and that the device executed each once.

bench.link imports nothing above it (docs/architecture.md), so starting a target is left to the
caller: the figures in docs/protocol.md come from the benchmark tests, which build the native
agent or start QEMU and call stream() and table():

    .venv/bin/python -m pytest tests/unit/test_link_faults.py -k benchmark -s --benchmark-enable
    .venv/bin/python -m pytest tests/qemu/test_link_faults.py -k benchmark -s --benchmark-enable
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from bench.errors import LinkError
from bench.link.faults import LinkFaults, parse_faults
from bench.link.faulty import FaultyTransport
from bench.link.session import Session
from bench.link.transport import ByteTransport, SerialTransport


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


def stream(link: ByteTransport, faults: LinkFaults, frames: int, where: str, **session: float) -> Row:
    """Stream `frames` noise frames through `link` behind `faults`; a LinkError becomes the row's error."""
    s = Session(FaultyTransport(link, faults), **session)  # type: ignore[arg-type]
    t0 = time.monotonic()
    exact, error, seconds = False, "", 0.0
    try:
        hop = s.hello().hop_len
        x = (np.random.default_rng(faults.seed).standard_normal((frames, hop)) * 3000).astype(np.int16)
        s.reset_state()
        before = s.stats().frames
        t0 = time.monotonic()
        out = [r.pcm for r in s.process_stream(x)]
        seconds = time.monotonic() - t0
        exact = bool(np.array_equal(np.stack(out), x)) and s.stats().frames - before == frames
    except LinkError as e:
        seconds = time.monotonic() - t0
        error = f"{type(e).__name__}: {str(e).split(';')[0]}"
    c = s.counters
    return Row(where, faults.tx.ber, faults.seed, frames, exact, round(seconds, 2),
               round(frames / seconds, 1) if exact else 0.0, c.resends, round(c.resends / frames, 2),
               c.fast_resends, c.nacks, c.timeouts, round(c.max_silence_s, 2), error)


def table(rows: list[Row]) -> str:
    out = ["| where | byte error rate | seed | frames | exact | frames/s | resends (per frame) | fast resends | "
           "NACKs | timeouts | longest silence (s) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        exact = "yes" if r.exact else r.error or "no: WRONG DATA"
        out.append(f"| {r.where} | {r.ber:g} | {r.seed} | {r.frames} | {exact} | {r.frames_per_s:g} | "
                   f"{r.resends} ({r.resends_per_frame:g}) | {r.fast_resends} | {r.nacks} | {r.timeouts} | "
                   f"{r.max_silence_s:g} |")
    return "\n".join(out)


def fault_sets(bers: str, seeds: int, extra: str = "") -> list[LinkFaults]:
    """One LinkFaults per byte error rate (comma separated) and seed, with `extra` options added."""
    return [parse_faults("&".join(q for q in (f"ber={float(b):g}", extra, f"seed={seed}") if q))
            for b in bers.split(",") for seed in range(seeds)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.link.faultbench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="the bench image's serial link (pyserial URL or device)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--ber", default="0,1e-4,1e-3,1e-2", help="byte error rates, comma separated")
    ap.add_argument("--faults", default="", help="more fault options, URL query style (drop=1e-4&burst=4)")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=1, help="runs per error rate (seeds 0..N-1)")
    ap.add_argument("--dead-after", type=float, help="Session dead_after (default: the Session's)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    session = {} if a.dead_after is None else {"dead_after": a.dead_after}
    try:
        faults = fault_sets(a.ber, a.seeds, a.faults)
    except ValueError as e:
        ap.error(str(e))
    link = SerialTransport(a.url, baudrate=a.baud)
    rows = []
    try:
        for f in faults:
            rows.append(stream(link, f, a.frames, a.url, **session))
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    finally:
        link.close()
    print(json.dumps([asdict(r) for r in rows], indent=1) if a.json else table(rows))
    return 0 if all(r.exact or r.error for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
