"""Three-way (four with the noisy input) comparison of a model's outputs on a test set.

Conditions, each scored against the clean reference with the quality metrics:

noisy    the unprocessed input (the baseline every model should beat)
float    the float reference model (e.g. PyTorch / NumPy) run on the host
golden   the integer golden model on the host (optional): what the target should compute
target   the output captured from the device (QEMU or a real board)

Besides the per-utterance scores, :func:`compare` reports paired deltas between
conditions (default target - float, target - noisy and, with a golden model, target -
golden and golden - float) as the mean over utterances with a percentile bootstrap
confidence interval, and sample-level fidelity (bit-exactness, max error, SNR of the
difference) of target vs golden and target vs float.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from bench.errors import MetricError
from bench.metrics.fidelity import Fidelity, MaskAgreement, fidelity, mask_agreement
from bench.metrics.pool import ScoreCache, ScoreJob, UtteranceScores, check_metrics, score_jobs
from bench.metrics.quality import DEFAULT_METRICS
from bench.metrics.scores import Unscorable

CONDITIONS = ("noisy", "float", "golden", "target")
DEFAULT_N_BOOT = 2000
DEFAULT_CONFIDENCE = 0.95


class UtteranceLike(Protocol):
    """What compare needs of an utterance (bench.data.loader.Utterance fits)."""

    @property
    def id(self) -> str: ...
    @property
    def noisy(self) -> np.ndarray: ...
    @property
    def clean(self) -> np.ndarray | None: ...
    @property
    def sample_rate(self) -> int: ...


@dataclass(frozen=True)
class Delta:
    """Paired difference ``a - b`` of one metric, mean over the ``n`` utterances where both
    are finite, with a percentile bootstrap interval at ``confidence``."""

    metric: str
    a: str
    b: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    confidence: float

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise MetricError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.n < 0:
            raise MetricError("n must be non-negative")


@dataclass(frozen=True)
class FidelityRow:
    utt: str
    a: str
    b: str
    fidelity: Fidelity
    mask: MaskAgreement | None = None


def bootstrap_mean_ci(
    values: npt.ArrayLike,
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap CI of the mean of the finite ``values``."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        nan = Unscorable("no utterance with both values finite")
        return nan, nan, nan
    mean = float(v.mean())
    if v.size == 1:
        nan = Unscorable("one utterance: no confidence interval")
        return mean, nan, nan
    if n_boot < 1:
        raise MetricError(f"n_boot must be at least 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return mean, float(lo), float(hi)


@dataclass(frozen=True, eq=False)
class Comparison:
    sample_rate: int
    utts: tuple[str, ...]
    conditions: tuple[str, ...]
    metrics: tuple[str, ...]
    scores: tuple[UtteranceScores, ...]
    deltas: tuple[Delta, ...]
    fidelity: tuple[FidelityRow, ...]

    def __post_init__(self) -> None:
        bad = [c for c in self.conditions if c not in CONDITIONS]
        if bad:
            raise MetricError(f"unknown conditions {bad}; use {CONDITIONS}")

    def _index(self) -> dict[tuple[str, str], UtteranceScores]:
        return {(s.utt, s.condition): s for s in self.scores}

    def score(self, utt: str, condition: str, metric: str) -> float:
        s = self._index().get((utt, condition))
        return math.nan if s is None else s.get(metric)

    def values(self, condition: str, metric: str) -> np.ndarray:
        """Per-utterance values in ``utts`` order (NaN where unscorable)."""
        idx = self._index()
        return np.array([idx[(u, condition)].get(metric) if (u, condition) in idx else math.nan for u in self.utts])

    def reasons(self, condition: str, metric: str) -> dict[str, str]:
        """Utterance id -> reason, for the utterances this metric could not score."""
        return {s.utt: s.reasons[metric] for s in self.scores if s.condition == condition and metric in s.reasons}

    def mean(self, condition: str, metric: str) -> float:
        v = self.values(condition, metric)
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else math.nan

    def delta(self, metric: str, a: str = "target", b: str = "float") -> Delta:
        for d in self.deltas:
            if (d.metric, d.a, d.b) == (metric, a, b):
                return d
        raise MetricError(f"no delta {a} - {b} for {metric}; pass pairs=[({a!r}, {b!r})] to compare()")

    def summary(self) -> list[dict[str, Any]]:
        """One row per condition: the number of utterances and the mean of each metric."""
        rows = []
        for c in self.conditions:
            row: dict[str, Any] = {"condition": c}
            for m in self.metrics:
                v = self.values(c, m)
                row[m] = self.mean(c, m)
                row[f"{m}_n"] = int(np.count_nonzero(np.isfinite(v)))
            rows.append(row)
        return rows

    def to_records(self) -> list[dict[str, Any]]:
        """Flat per-(utterance, condition) records: metric values and a 'reasons' string."""
        out = []
        for s in self.scores:
            rec: dict[str, Any] = {"utt": s.utt, "condition": s.condition}
            rec.update({m: s.get(m) for m in self.metrics})
            rec["reasons"] = "; ".join(f"{m}: {r}" for m, r in s.reasons.items())
            out.append(rec)
        return out

    def format_text(self) -> str:
        """A plain-text report: condition means, then deltas with their intervals."""
        w = max(10, *(len(m) for m in self.metrics))
        lines = ["condition  " + " ".join(f"{m:>{w}}" for m in self.metrics)]
        for row in self.summary():
            lines.append(f"{row['condition']:<10} " + " ".join(f"{row[m]:>{w}.3f}" for m in self.metrics))
        if self.deltas:
            lines += ["", f"{'delta':<18} {'metric':<{w}} {'n':>4} {'mean':>8}  interval"]
            for d in self.deltas:
                lines.append(
                    f"{d.a + ' - ' + d.b:<18} {d.metric:<{w}} {d.n:>4} {d.mean:>8.3f}  "
                    f"[{d.ci_low:.3f}, {d.ci_high:.3f}] ({100 * d.confidence:g}%)"
                )
        return "\n".join(lines)


def _get(outputs: Mapping[str, npt.ArrayLike] | None, utt: str) -> np.ndarray | None:
    if outputs is None or utt not in outputs:
        return None
    return np.asarray(outputs[utt])


def _fit(name: str, utt: str, ref_len: int, x: np.ndarray | None, trim: bool) -> np.ndarray | None:
    if x is None:
        return None
    if x.ndim != 1:
        raise MetricError(f"{utt} ({name}): output has shape {x.shape}; pass 1-D mono audio")
    if x.size != ref_len and not trim:
        raise MetricError(
            f"{utt} ({name}): output has {x.size} samples, the input {ref_len}; compensate the "
            "model's latency and trim to the input length, or pass trim=True"
        )
    return x


def compare(
    utterances: Sequence[UtteranceLike],
    target: Mapping[str, npt.ArrayLike],
    float_ref: Mapping[str, npt.ArrayLike],
    golden: Mapping[str, npt.ArrayLike] | None = None,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    pairs: Sequence[tuple[str, str]] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    max_workers: int | None = None,
    trim: bool = False,
    target_masks: Mapping[str, npt.ArrayLike] | None = None,
    golden_masks: Mapping[str, npt.ArrayLike] | None = None,
    mask_tolerance: float = 0.0,
    cache: ScoreCache | None = None,
) -> Comparison:
    """Score noisy input, float reference, golden model (optional) and target output of
    every utterance against its clean signal; outputs are mappings utterance id -> audio.

    An utterance missing from an output mapping is scored as NaN ("no <condition>
    output"); an utterance without a clean signal is NaN for every quality metric.
    With ``trim=True`` signals of different lengths are cut to the shorter one.
    """
    names = check_metrics(metrics)
    if not utterances:
        raise MetricError("compare: no utterances; pass a non-empty test set")
    rates = {u.sample_rate for u in utterances}
    if len(rates) != 1:
        raise MetricError(f"compare: utterances at several sample rates {sorted(rates)}; load the set at one rate")
    sr = rates.pop()
    conditions = ("noisy", "float") + (("golden",) if golden is not None else ()) + ("target",)
    sources: dict[str, Mapping[str, npt.ArrayLike] | None] = {"float": float_ref, "golden": golden, "target": target}

    jobs: list[ScoreJob] = []
    fid_rows: list[FidelityRow] = []
    for u in utterances:
        noisy = np.asarray(u.noisy)
        outs: dict[str, np.ndarray | None] = {"noisy": noisy}
        for c in conditions[1:]:
            outs[c] = _fit(c, u.id, noisy.size, _get(sources[c], u.id), trim)
        for c in conditions:
            deg = outs[c]
            ref = None if u.clean is None else np.asarray(u.clean)
            missing = "" if deg is not None else f"no {c} output for this utterance"
            if ref is None:
                missing = "no clean reference in the test set"
            if ref is not None and deg is not None and ref.size != deg.size:
                n = min(ref.size, deg.size)
                ref, deg = ref[:n], deg[:n]
            jobs.append(ScoreJob(u.id, c, ref, deg, sr, missing))
        fid_pairs = [("target", "float")]
        if golden is not None:
            fid_pairs = [("target", "golden"), ("target", "float"), ("golden", "float")]
        for a, b in fid_pairs:
            xa, xb = outs[a], outs[b]
            if xa is None or xb is None:
                nan = Unscorable(f"no {a if xa is None else b} output for this utterance")
                fid_rows.append(FidelityRow(u.id, a, b, Fidelity(0, nan, nan, nan, nan)))
                continue
            n = min(xa.size, xb.size)
            mask = None
            if (a, b) == ("target", "golden") and target_masks is not None and golden_masks is not None:
                ma, mb = _get(target_masks, u.id), _get(golden_masks, u.id)
                if ma is not None and mb is not None:
                    mask = mask_agreement(mb, ma, tolerance=mask_tolerance)
            # reference first: fidelity of a (the implementation under test) against b
            fid_rows.append(FidelityRow(u.id, a, b, fidelity(xb[:n], xa[:n]), mask))

    scores = score_jobs(jobs, names, max_workers=max_workers, cache=cache)
    utts = tuple(u.id for u in utterances)

    if pairs is None:
        pairs = [("target", "float"), ("target", "noisy")]
        if golden is not None:
            pairs += [("target", "golden"), ("golden", "float")]
    partial = Comparison(sr, utts, conditions, names, tuple(scores), (), tuple(fid_rows))
    deltas = []
    for a, b in pairs:
        if a not in conditions or b not in conditions:
            raise MetricError(f"delta {a} - {b}: conditions must be among {conditions}")
        for m in names:
            d = partial.values(a, m) - partial.values(b, m)
            mean, lo, hi = bootstrap_mean_ci(d, n_boot, confidence, seed)
            deltas.append(Delta(m, a, b, int(np.count_nonzero(np.isfinite(d))), mean, lo, hi, confidence))
    return Comparison(sr, utts, conditions, names, tuple(scores), tuple(deltas), tuple(fid_rows))
