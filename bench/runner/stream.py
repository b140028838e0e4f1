"""One utterance over the link: handshake check, hops, the per-frame records table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from bench.errors import DeviceError, HandshakeError, LinkError, TargetError
from bench.images import ImageEntry
from bench.link import messages as m
from bench.link.session import Session
from bench.targets import TargetSpec
from bench.targets.meters import FrameEnergy


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


class CycleEstimate:
    """cycles_est for the frames of one image run: the driver's regions (its ``cycle_regions()``,
    e.g. QEMU with the cm4cycles plugin) matched to the frames in order (bench.cyclest.frames)."""

    def __init__(self, driver: Any):
        from bench.cyclest.frames import FrameMatcher

        self.driver = driver
        self.matcher = FrameMatcher()
        self.lost = False

    @classmethod
    def for_driver(cls, driver: Any) -> CycleEstimate | None:
        """An estimate for a driver that estimates cycles (bench.targets.protocols.CycleEstimator)."""
        return cls(driver) if getattr(driver, "estimates_cycles", False) else None

    def frames(self, stages: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if self.lost:
            return None
        regions = self.driver.cycle_regions()
        got = None if regions is None else self.matcher.match(regions, stages.astype(np.int64),
                                                               total.astype(np.int64))
        self.lost = got is None  # a frame without its regions: no estimate for the rest of this image
        return got


def check_result(r: m.Result, hello: m.Hello, frame: int) -> None:
    """A RESULT must be what the image's HELLO promised: hop_len samples, one count per stage."""
    if len(r.pcm) != hello.hop_len or len(r.stage_ticks) != len(hello.stage_names):
        raise TargetError(
            f"frame {frame}: the image returned {len(r.pcm)} samples and {len(r.stage_ticks)} stage counts, but its "
            f"HELLO announced hop_len {hello.hop_len} and {len(hello.stage_names)} stages "
            f"({', '.join(hello.stage_names)}); the image is broken: rebuild it or report it to its author")


def check_counter(hello: m.Hello, target: TargetSpec) -> None:
    """The image's counter must be the one the target TOML converts: an image for QEMU on a board,
    or a board whose clock was not set up, would otherwise give figures in the wrong unit."""
    c = target.counter
    want = (0, c.timer_hz) if c.kind == "instructions" else (1, target.clock_hz)
    if (hello.counter_kind, hello.counter_hz) != want:
        raise HandshakeError(
            f"the image counts kind {hello.counter_kind} at {hello.counter_hz} Hz, but target {target.name} converts "
            f"kind {want[0]} ({c.kind}) at {want[1]} Hz: wrong target for this image, or the board's clock was "
            "not configured (see its boot report in console.log)")


def hops_for(noisy: np.ndarray, hop: int, frame_len: int) -> np.ndarray:
    """The utterance padded with zeros to whole hops, plus the hops that flush the delay."""
    delay = frame_len - hop
    n = len(noisy) + delay
    n_hops = -(-n // hop)
    x = np.zeros(n_hops * hop, dtype=np.int16)
    x[: len(noisy)] = noisy
    return x.reshape(n_hops, hop)


ENERGY_COLUMNS = ("energy", "energy_mean_a", "energy_peak_a", "energy_window_s", "energy_kind", "energy_source",
                  "energy_excluded")


def with_energy(table: pa.Table, energy: FrameEnergy | None) -> pa.Table:
    """The frames table with an instrument meter's per-frame figures (docs/energy.md): ``energy``
    (J; NaN where the frame's window was excluded), ``energy_mean_a`` / ``energy_peak_a`` (A),
    ``energy_window_s`` (the matched window, s), ``energy_stage_<stage>`` (J, with a stage marker),
    ``energy_kind`` ("measured" / "simulated"), ``energy_source`` and ``energy_excluded`` (why, or null)."""
    if energy is None:
        return table
    n = table.num_rows
    if len(energy.joules) != n:
        raise TargetError(f"the meter returned {len(energy.joules)} energies for {n} frames")

    def col(v: np.ndarray | None) -> pa.Array:
        return pa.array(np.full(n, np.nan) if v is None else np.asarray(v, np.float64), pa.float64())

    cols = {"energy": col(energy.joules), "energy_mean_a": col(energy.frame_mean_a),
            "energy_peak_a": col(energy.frame_peak_a), "energy_window_s": col(energy.frame_window_s)}
    for s, v in energy.stage_joules.items():
        cols[f"energy_stage_{s}"] = col(v)
    cols["energy_kind"] = pa.array([energy.kind] * n, pa.string())
    cols["energy_source"] = pa.array([energy.source] * n, pa.string())
    cols["energy_excluded"] = pa.array([energy.excluded.get(i) for i in range(n)], pa.string())
    for name, arr in cols.items():
        table = table.append_column(name, arr)
    return table


def frames_table(utt: str, results: Sequence[m.Result], hello: m.Hello, target: TargetSpec,
                 estimator: Any = None, energy: FrameEnergy | None = None) -> pa.Table:
    """One row per frame: counters in the target's unit per stage, and where the driver estimates
    cycles (``estimator``: a :class:`CycleEstimate`), ``cycles_est`` and ``cycles_est_<stage>``;
    with an instrument meter's ``energy`` (a FrameEnergy of these frames), its columns (:func:`with_energy`)."""
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
    if estimator is not None and n:
        stages = np.stack([cols[f"stage_{s}"].to_numpy() for s in hello.stage_names], axis=1)
        est = estimator.frames(stages, cols["total"].to_numpy())
        if est is not None:
            cols["cycles_est"] = pa.array(est[1])
            for i, s in enumerate(hello.stage_names):
                cols[f"cycles_est_{s}"] = pa.array(est[0][:, i])
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
    return with_energy(pa.table(cols), energy)


def stream_utterance(session: Session, hello: m.Hello, noisy: np.ndarray, configure: Sequence[tuple[str, int]],
                     advance: Callable[[int], None]) -> tuple[np.ndarray, list[m.Result]]:
    """RESET_STATE, CONFIGURE, every hop with a window in flight; returns the output aligned with
    the input (the model's delay removed) and the per-frame results."""
    session.reset_state()
    if configure:
        session.configure(dict(configure))
    hops = hops_for(noisy, hello.hop_len, hello.frame_len)
    results: list[m.Result] = []
    try:
        for r in session.process_stream(hops):
            check_result(r, hello, len(results))
            results.append(r)
            advance(1)
    except DeviceError as e:  # say which frame: the first one without its result
        raise DeviceError(e.code, e.text, f"frame {len(results)} of {len(hops)}: {e}") from e
    except LinkError as e:
        raise type(e)(f"frame {len(results)} of {len(hops)}: {e}") from e
    out = np.concatenate([r.pcm for r in results])
    delay = hello.frame_len - hello.hop_len
    return out[delay: delay + len(noisy)], results
