"""One utterance over the link: handshake check, hops, the per-frame records table, and a
device that resets in the middle of an utterance (re-handshake, one retry from its start)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from bench.errors import DeviceError, HandshakeError, LinkError, TargetError
from bench.images import ImageEntry
from bench.link import messages as m
from bench.link.session import DeviceReset, Session
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
    """cycles_est for the frames of one image run: the driver's marks file (its ``marks_path``,
    e.g. QEMU with the cm4cycles plugin) read from where the last utterance stopped and matched
    to the frames in order (bench.cyclest.frames.FrameStream)."""

    def __init__(self, driver: Any):
        from bench.cyclest.frames import FrameStream

        self.driver = driver
        self.stream = FrameStream(driver.marks_path)
        self.lost = False

    @classmethod
    def for_driver(cls, driver: Any) -> CycleEstimate | None:
        """An estimate for a driver that estimates cycles (bench.targets.protocols.CycleEstimator)."""
        return cls(driver) if getattr(driver, "estimates_cycles", False) else None

    def frames(self, stages: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if self.lost:
            return None
        got = self.stream.match(stages.astype(np.int64), total.astype(np.int64))
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
                     advance: Callable[[int], None],
                     inject: ResetInjector | None = None) -> tuple[np.ndarray, list[m.Result]]:
    """RESET_STATE, CONFIGURE, every hop with a window in flight; returns the output aligned with
    the input (the model's delay removed) and the per-frame results. A LinkError says the frame
    (the first one without its result; a DeviceReset also carries it as `frame`)."""
    hops = hops_for(noisy, hello.hop_len, hello.frame_len)
    results: list[m.Result] = []
    try:
        session.reset_state()
        if configure:
            session.configure(dict(configure))
        for r in session.process_stream(inject.wrap(hops) if inject is not None else hops):
            check_result(r, hello, len(results))
            results.append(r)
            advance(1)
    except DeviceError as e:  # say which frame: the first one without its result
        raise DeviceError(e.code, e.text, f"frame {len(results)} of {len(hops)}: {e}") from e
    except LinkError as e:
        err = type(e)(f"frame {len(results)} of {len(hops)}: {e}")
        err.frame, err.frames = len(results), len(hops)  # type: ignore[attr-defined]
        raise err from e
    out = np.concatenate([r.pcm for r in results])
    delay = hello.frame_len - hello.hop_len
    return out[delay: delay + len(noisy)], results


class ResetInjector:
    """A real device reset (the driver's ``reset()``, bench.targets.protocols.Resetter) right after the
    request of the image's `frame`-th frame (from 0, over every frame it streams) went out; once.
    ``bench run --link-faults reset_frame=N`` (bench.link.faults)."""

    def __init__(self, reset: Callable[[], None], frame: int):
        self.reset, self.frame = reset, frame
        self.sent = 0
        self.fired = False

    def wrap(self, hops: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for h in hops:
            yield h  # the session pulls the next hop once this one's request is out
            self.sent += 1
            if not self.fired and self.sent > self.frame:
                self.fired = True
                self.reset()


class ResetAgain(LinkError):
    """The device reset twice during one utterance (after the retry too): the utterance fails, the
    session is fresh (a new HELLO), so the run goes on with the next utterance."""


def describe_reset(e: Exception, utt: str, board: str, after: m.Hello, injected: bool) -> str:
    """"watchdog reset during frame 6 of utterance noise on board netduinoplus2 (...)": what the
    new HELLO says about the cause (its reset-cause and watchdog extensions)."""
    frame, frames = getattr(e, "frame", None), getattr(e, "frames", None)
    where = f"during frame {frame} of {frames} of utterance {utt}" if frame is not None else f"during utterance {utt}"
    cause = m.reset_cause_text(after.reset_cause)
    if injected:
        what = "injected device reset (--link-faults reset_frame)"
    elif after.reset_cause is not None and after.reset_cause & m.RESET_WATCHDOG:
        what = "watchdog reset"
    else:
        what = "device reset"
    return (f"{what} {where} on board {board} (reset cause the device reports: {cause}; "
            f"watchdog: {m.watchdog_name(after.watchdog_kind)}"
            f"{f' {after.watchdog_ms} ms' if after.watchdog_ms else ''})")


def stream_retrying(session: Session, hello: m.Hello, entry: ImageEntry, target: TargetSpec, utt: str,
                    noisy: np.ndarray, configure: Sequence[tuple[str, int]], advance: Callable[[int], None],
                    on_reset: Callable[[str], None], inject: ResetInjector | None = None,
                    ) -> tuple[np.ndarray, list[m.Result]]:
    """stream_utterance; when the device resets (DeviceReset): a new handshake (HELLO checked as at the
    start), `on_reset(note)` with what happened, and the utterance once more from its start (the reset
    lost the model's state). A second reset in the same utterance raises ResetAgain, naming board,
    utterance and frame."""
    notes: list[str] = []
    while True:
        fired = inject is not None and inject.fired
        try:
            return stream_utterance(session, hello, noisy, configure, advance, inject)
        except DeviceReset as e:
            after = session.hello()
            check_hello(after, entry)
            check_counter(after, target)
            notes.append(describe_reset(e, utt, entry.board, after,
                                        inject is not None and inject.fired and not fired))
            on_reset(notes[-1])
            if len(notes) > 1:
                raise ResetAgain(f"{notes[-1]}, again after one retry of the utterance from its start (first: "
                                 f"{notes[0]}): the image does not get through this utterance. Its frames "
                                 "measured so far are kept; fix the image (a hang? see console.log) and "
                                 "finish the run with `bench run --resume`") from e
