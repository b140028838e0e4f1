"""Per-utterance metrics over many utterances in a process pool.

A :class:`ScoreJob` is one (utterance, condition) pair: reference and degraded signals
at a sample rate. :func:`score_jobs` runs every requested metric on every job, in a
``concurrent.futures.ProcessPoolExecutor`` (or inline for ``max_workers=1`` or a single
job), and returns one :class:`UtteranceScores` per job in the order given. A metric
that cannot score an input gives NaN with its reason; one that raises an unexpected
exception is recorded the same way ("unscorable: <metric> raised ..."), so one bad
utterance never loses the rest. MetricError (a caller's mistake such as signals of
different lengths) is raised.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from typing import Protocol

import numpy as np

from bench.errors import MetricError
from bench.metrics.blas import single_threaded_blas
from bench.metrics.quality import DEFAULT_METRICS, METRICS
from bench.metrics.scores import Unscorable, reason_of


@dataclass(frozen=True, eq=False)
class ScoreJob:
    """Score ``deg`` against ``ref``; a missing side (None) makes every metric unscorable
    with ``missing_reason``."""

    utt: str
    condition: str
    ref: np.ndarray | None
    deg: np.ndarray | None
    sample_rate: int
    missing_reason: str = ""

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise MetricError(f"{self.utt}: sample_rate must be positive, got {self.sample_rate}")
        if self.ref is not None and self.deg is not None and np.shape(self.ref) != np.shape(self.deg):
            raise MetricError(
                f"{self.utt} ({self.condition}): reference has shape {np.shape(self.ref)}, "
                f"degraded {np.shape(self.deg)}; align and trim them to the same length"
            )


@dataclass(frozen=True)
class UtteranceScores:
    """Metric values of one (utterance, condition); ``reasons`` holds the NaN ones' reasons."""

    utt: str
    condition: str
    values: Mapping[str, float]
    reasons: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        extra = set(self.reasons) - set(self.values)
        if extra:
            raise MetricError(f"{self.utt}: reasons given for metrics without values: {sorted(extra)}")

    def get(self, metric: str) -> float:
        return self.values.get(metric, math.nan)


def _score_one(job: ScoreJob, metrics: tuple[str, ...]) -> UtteranceScores:
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for name in metrics:
        if job.ref is None or job.deg is None:
            v: float = Unscorable(job.missing_reason or ("no reference" if job.ref is None else "no degraded signal"))
        else:
            try:
                v = METRICS[name](job.ref, job.deg, job.sample_rate)
            except MetricError:
                raise
            except Exception as exc:  # a metric library failing on odd input: record, go on
                v = Unscorable(f"{name} raised {type(exc).__name__}: {exc}")
        r = reason_of(v)
        values[name] = math.nan if r is not None else float(v)
        if r is not None:
            reasons[name] = r
    return UtteranceScores(job.utt, job.condition, values, reasons)


def _score_chunk(jobs: Sequence[ScoreJob], metrics: tuple[str, ...]) -> list[UtteranceScores]:
    with single_threaded_blas():
        return [_score_one(j, metrics) for j in jobs]


def _die_with_parent(parent: int) -> None:
    """A scoring worker ends when bench (``parent``) ends, however bench ends.

    The worker's parent is the fork server, not bench, and the fork server lives as long as
    any worker does (each holds its liveness pipe), so neither a parent-death signal nor EOF
    ends it: a daemon thread waits on bench's pidfd (Linux 5.3+; polls elsewhere) and exits."""
    import select
    import threading

    def watch() -> None:
        try:
            fd = os.pidfd_open(parent)
        except ProcessLookupError:
            os._exit(1)
        except (AttributeError, OSError):  # no pidfd here: poll the pid
            while True:
                try:
                    os.kill(parent, 0)
                except ProcessLookupError:
                    os._exit(1)
                except PermissionError:
                    return
                threading.Event().wait(0.5)
        select.select([fd], [], [])  # readable when bench has exited
        os._exit(1)

    threading.Thread(target=watch, name="bench-parent-watch", daemon=True).start()


def pool_context() -> BaseContext:
    """How scoring workers start: from a fork server, never by forking bench itself.

    bench scores one image while its other image threads stream to QEMU; a fork copies
    whatever lock another thread holds at that instant (the dynamic loader's, logging's),
    and a worker that needs it waits forever. The fork server is a fresh interpreter with
    one thread, so its forks are safe (stop 11's CI run hung in a two-image run so)."""
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():  # not on POSIX
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["bench.metrics.pool"])  # workers start with the metrics imported
    return ctx


def worker_pool(workers: int, mp_context: BaseContext | None = None) -> ProcessPoolExecutor:
    """The process pool that scores: workers from :func:`pool_context`, ending with bench."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp_context or pool_context(),
                               initializer=_die_with_parent, initargs=(os.getpid(),))


def default_workers() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ScoreCache(Protocol):
    """Scores kept by content (the runner's disk cache): a metric is a pure function of its inputs."""

    def get(self, key: str) -> tuple[dict[str, float], dict[str, str]] | None: ...
    def put(self, key: str, values: Mapping[str, float], reasons: Mapping[str, str]) -> None: ...


def job_key(job: ScoreJob, metrics: tuple[str, ...]) -> str:
    """The content of a job: metrics, rate, the two signals (or why one is missing)."""
    h = hashlib.sha256(repr((metrics, job.sample_rate, job.missing_reason)).encode())
    for x in (job.ref, job.deg):
        if x is None:
            h.update(b"\0none")
        else:
            a = np.ascontiguousarray(x)
            h.update(f"\0{a.dtype.str}{a.shape}".encode() + a.tobytes())
    return h.hexdigest()


def check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    """The metric names, each one of METRICS (a MetricError lists them otherwise)."""
    names = tuple(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise MetricError(f"unknown metrics {unknown}; choose from {', '.join(METRICS)}")
    return names


def score_jobs(
    jobs: Sequence[ScoreJob],
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    max_workers: int | None = None,
    mp_context: BaseContext | None = None,
    cache: ScoreCache | None = None,
) -> list[UtteranceScores]:
    """Run ``metrics`` on every job (see the module doc); results in job order. Jobs of equal
    content (e.g. the golden and the target output of a bit-exact image) are scored once, and
    with a ``cache`` scores of earlier calls are reused."""
    names = check_metrics(metrics)
    keys = [job_key(j, names) for j in jobs]
    known: dict[str, tuple[dict[str, float], dict[str, str]]] = {}
    todo: dict[str, ScoreJob] = {}
    for k, j in zip(keys, jobs, strict=True):
        if k in known or k in todo:
            continue
        hit = cache.get(k) if cache is not None else None
        if hit is not None:
            known[k] = hit
        else:
            todo[k] = j
    for k, r in zip(todo, _score_all(list(todo.values()), names, max_workers, mp_context), strict=True):
        known[k] = (dict(r.values), dict(r.reasons))
        if cache is not None:
            cache.put(k, r.values, r.reasons)
    return [UtteranceScores(j.utt, j.condition, *known[k]) for k, j in zip(keys, jobs, strict=True)]


def _score_all(jobs: Sequence[ScoreJob], names: tuple[str, ...], max_workers: int | None,
               mp_context: BaseContext | None) -> list[UtteranceScores]:
    if not jobs:
        return []
    workers = default_workers() if max_workers is None else max_workers
    if workers < 1:
        raise MetricError(f"max_workers must be at least 1, got {workers}")
    workers = min(workers, len(jobs))
    if workers <= 1:
        return _score_chunk(jobs, names)
    # a few chunks per worker: balances uneven utterance lengths, keeps pickling overhead low
    n_chunks = min(len(jobs), workers * 4)
    chunks = [list(jobs[i::n_chunks]) for i in range(n_chunks)]
    out: list[UtteranceScores | None] = [None] * len(jobs)
    with worker_pool(workers, mp_context) as ex:
        for i, res in enumerate(ex.map(_score_chunk, chunks, [names] * n_chunks)):
            for k, r in enumerate(res):
                out[i + k * n_chunks] = r
    return [r for r in out if r is not None]
