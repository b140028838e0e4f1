"""One utterance over the link: handshake check, hops, the per-frame records table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from bench.errors import HandshakeError
from bench.images import ImageEntry
from bench.link import messages as m
from bench.link.session import Session
from bench.targets import TargetSpec


def check_hello(hello: m.Hello, entry: ImageEntry) -> None:
    """The image must name itself as the manifest does; list every field that differs."""
    expected = {
        "protocol_version": entry.protocol_version,
        "image_name": entry.name,
        "model_family": entry.model_family,
        "build_id": entry.build_id,
        "target_board": entry.board,
    }
    diffs = [f"{k}: image says {getattr(hello, k)!r}, manifest says {v!r}"
             for k, v in expected.items() if getattr(hello, k) != v]
    if diffs:
        raise HandshakeError(
            f"the running image does not match manifest entry '{entry.name}' ({'; '.join(diffs)}). "
            "The ELF was replaced or the manifest is stale: run `bench images build`."
        )


def hops_for(noisy: np.ndarray, hop: int, frame_len: int) -> np.ndarray:
    """The utterance padded with zeros to whole hops, plus the hops that flush the delay."""
    delay = frame_len - hop
    n = len(noisy) + delay
    n_hops = -(-n // hop)
    x = np.zeros(n_hops * hop, dtype=np.int16)
    x[: len(noisy)] = noisy
    return x.reshape(n_hops, hop)


def frames_table(utt: str, results: Sequence[m.Result], hello: m.Hello, target: TargetSpec) -> pa.Table:
    conv = target.counter.ticks_to_unit
    n = len(results)
    cols: dict[str, Any] = {
        "utt": pa.array([utt] * n, pa.string()),
        "frame": pa.array(np.arange(n, dtype=np.int32)),
        "total_ticks": pa.array(np.array([r.total_ticks for r in results], dtype=np.int64)),
    }
    cols["total"] = pa.array(conv(cols["total_ticks"].to_numpy()))
    for i, s in enumerate(hello.stage_names):
        ticks = np.array([r.stage_ticks[i] for r in results], dtype=np.int64)
        cols[f"stage_{s}"] = pa.array(conv(ticks))
    if any(r.side.exit is not None for r in results):
        cols["exit"] = pa.array([r.side.exit for r in results], pa.int16())
    if any(r.side.macs is not None for r in results):
        cols["macs"] = pa.array([r.side.macs for r in results], pa.int64())
    blocks = sorted({b for r in results for b in r.side.masks})
    for b in blocks:
        cols[f"mask_{b}"] = pa.array([r.side.masks.get(b) for r in results], pa.binary())
    probes = sorted({p for r in results for p in r.side.probes})
    for p in probes:
        cols[f"probe_{p}"] = pa.array([r.side.probes.get(p) for r in results], pa.int32())
    return pa.table(cols)


def stream_utterance(session: Session, hello: m.Hello, noisy: np.ndarray, configure: Sequence[tuple[str, int]],
                     advance: Callable[[int], None]) -> tuple[np.ndarray, list[m.Result]]:
    """RESET_STATE, CONFIGURE, every hop with a window in flight; returns the output aligned with
    the input (the model's delay removed) and the per-frame results."""
    session.reset_state()
    if configure:
        session.configure(dict(configure))
    hops = hops_for(noisy, hello.hop_len, hello.frame_len)
    results: list[m.Result] = []
    for r in session.process_stream(hops):
        results.append(r)
        advance(1)
    out = np.concatenate([r.pcm for r in results])
    delay = hello.frame_len - hello.hop_len
    return out[delay: delay + len(noisy)], results
