"""Compare two sets of measurements (run vs run, run vs baseline): per image and metric, the
change and whether it is real. Pure functions of :class:`ImageMeasures`.

* Deterministic counters (unit "instructions", QEMU -icount) compare exactly on the frames
  both sides measured (same utterance, same frame index): any difference is reported
  ("changed"), and the relative change of the statistic against ``threshold`` decides
  "regression" / "improvement".
* Noisy quantities (unit "cycles" on boards, an instrument's energy per frame and stage and its mean
  and peak current, quality scores over a set)
  compare medians with a two-sided Mann-Whitney U test; a change is real when
  p < ``alpha`` and the relative median shift is at least ``min_effect``; with fewer than
  ``min_samples`` on either side the verdict is "inconclusive". A bootstrap 95 % interval
  of the relative median shift is reported beside it.

Counters: lower is better. Quality (PESQ, STOI, ESTOI, SI-SDR): higher is better. Energy figures
carry their kind in their unit ("J (measured)", "J (simulated)"); two sides of different kinds are
not compared (a note says so). Frames whose window the meter excluded are NaN and left out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bench.errors import ResultsError
from bench.results.measures import ImageMeasures

EXIT_REGRESSION = 3  # bench compare / bench gate: a regression was found (1: run failures, 2: usage errors)
STATUSES = ("same", "changed", "improvement", "regression", "inconclusive")


@dataclass(frozen=True)
class CompareOptions:
    threshold: float = 0.005  # relative change of an exact counter statistic that fails (0.5 %)
    alpha: float = 0.01  # significance level of the Mann-Whitney U test
    min_effect: float = 0.01  # smallest relative median shift of a noisy quantity that counts (1 %)
    min_samples: int = 20  # fewer samples on a side: "inconclusive"
    n_boot: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.threshold < 10:
            raise ResultsError(f"--threshold {self.threshold} must be a fraction (0.005 = 0.5 %)")
        if not 0 < self.alpha < 1:
            raise ResultsError(f"--alpha {self.alpha} must lie in (0, 1)")
        if self.min_effect < 0 or self.min_samples < 2:
            raise ResultsError("--min-effect must be >= 0 and --min-samples >= 2")


@dataclass(frozen=True)
class MetricChange:
    image: str
    metric: str  # e.g. total_mean, stage_stft_p99, q_pesq_wb
    unit: str
    kind: str  # "exact" | "noisy"
    better: str  # "lower" | "higher"
    a: float
    b: float
    delta: float
    rel: float  # delta / |a| (nan when a == 0)
    status: str  # one of STATUSES
    n_a: int = 0
    n_b: int = 0
    changed_frames: int | None = None  # exact: aligned frames whose value differs
    p_value: float | None = None
    ci_low: float | None = None  # noisy: bootstrap 95 % interval of the relative median shift
    ci_high: float | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


@dataclass
class Comparison:
    a: str  # what the "before" side is (run id, baseline path)
    b: str
    options: CompareOptions
    changes: list[MetricChange] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sha: dict[str, tuple[str, str]] = field(default_factory=dict)  # image -> (sha a, sha b)

    @property
    def regressions(self) -> list[MetricChange]:
        return [c for c in self.changes if c.status == "regression"]

    @property
    def improvements(self) -> list[MetricChange]:
        return [c for c in self.changes if c.status == "improvement"]

    @property
    def exit_code(self) -> int:
        return EXIT_REGRESSION if self.regressions else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b, "options": asdict(self.options),
            "regression": bool(self.regressions), "exit_code": self.exit_code,
            "images": {im: {"sha256_a": sa, "sha256_b": sb, "image_changed": sa != sb}
                       for im, (sa, sb) in self.sha.items()},
            "only_in_a": self.only_a, "only_in_b": self.only_b, "notes": self.notes,
            "changes": [c.to_json() for c in self.changes],
        }


def _rel(a: float, b: float) -> float:
    return (b - a) / abs(a) if a != 0 else (0.0 if b == a else float("nan"))


def _direction(rel: float, better: str) -> str:
    worse = rel > 0 if better == "lower" else rel < 0
    return "regression" if worse else "improvement"


def exact_change(image: str, metric: str, unit: str, a: float, b: float, threshold: float,
                 changed_frames: int | None = None, n: int = 0) -> MetricChange:
    """A deterministic statistic: any difference is a change; beyond threshold it is a verdict."""
    rel = _rel(a, b)
    if a == b and not changed_frames:
        status = "same"
    elif not np.isfinite(rel) or abs(rel) > threshold:
        status = _direction(rel if np.isfinite(rel) else b - a, "lower")
    else:
        status = "changed"
    return MetricChange(image, metric, unit, "exact", "lower", float(a), float(b), float(b - a), float(rel), status,
                        n, n, changed_frames)


def noisy_change(image: str, metric: str, unit: str, xa: np.ndarray, xb: np.ndarray, better: str,
                 opts: CompareOptions) -> MetricChange:
    """Medians, a two-sided Mann-Whitney U test, a minimum effect size and a bootstrap interval."""
    xa = np.asarray(xa, dtype=np.float64)
    xb = np.asarray(xb, dtype=np.float64)
    xa, xb = xa[np.isfinite(xa)], xb[np.isfinite(xb)]
    if xa.size == 0 or xb.size == 0:
        return MetricChange(image, metric, unit, "noisy", better, float("nan"), float("nan"), float("nan"),
                            float("nan"), "inconclusive", int(xa.size), int(xb.size))
    ma, mb = float(np.median(xa)), float(np.median(xb))
    rel = _rel(ma, mb)
    # identical up to float rounding (a metric recomputed in another process on the same audio)
    if xa.size == xb.size and np.allclose(np.sort(xa), np.sort(xb), rtol=1e-9, atol=0.0):
        return MetricChange(image, metric, unit, "noisy", better, ma, mb, 0.0, 0.0, "same", int(xa.size),
                            int(xb.size), p_value=1.0, ci_low=0.0, ci_high=0.0)
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(xa, xb, alternative="two-sided").pvalue)
    rng = np.random.default_rng(opts.seed)
    ba = np.median(xa[rng.integers(0, xa.size, (opts.n_boot, xa.size))], axis=1)
    bb = np.median(xb[rng.integers(0, xb.size, (opts.n_boot, xb.size))], axis=1)
    denom = np.where(ba != 0, np.abs(ba), np.nan)
    boot = (bb - ba) / denom
    boot = boot[np.isfinite(boot)]
    lo, hi = (float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))) if boot.size else (np.nan, np.nan)
    if min(xa.size, xb.size) < opts.min_samples:
        status = "inconclusive"
    elif p < opts.alpha and np.isfinite(rel) and abs(rel) >= opts.min_effect:
        status = _direction(rel, better)
    elif p < opts.alpha:
        status = "changed"
    else:
        status = "same"
    return MetricChange(image, metric, unit, "noisy", better, ma, mb, mb - ma, float(rel), status, int(xa.size),
                        int(xb.size), p_value=p, ci_low=lo, ci_high=hi)


def align(a: ImageMeasures, b: ImageMeasures) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Row indices of the frames both sides measured (same utterance, same frame index), and notes."""
    notes: list[str] = []
    ia: list[np.ndarray] = []
    ib: list[np.ndarray] = []
    ua, ub = set(a.utterances), set(b.utterances)
    common = sorted(ua & ub)
    if not common:
        raise ResultsError(f"image {a.image}: {a.source} and {b.source} share no utterance "
                           f"({len(ua)} vs {len(ub)}); compare runs over the same test set")
    if ua != ub:
        notes.append(f"{a.image}: compared on the {len(common)} utterances both measured "
                     f"({len(ua - ub)} only in {a.source}, {len(ub - ua)} only in {b.source})")

    def rows(m: ImageMeasures) -> dict[str, np.ndarray]:
        utt = m.frames["utt"]
        order = np.lexsort((m.frames.get("frame", np.arange(len(utt))), utt.astype(str)))
        su = utt[order].astype(str)
        out: dict[str, np.ndarray] = {}
        bounds = np.flatnonzero(np.r_[True, su[1:] != su[:-1], True])
        for s, e in zip(bounds[:-1], bounds[1:], strict=True):
            out[str(su[s])] = order[s:e]
        return out

    ra, rb = rows(a), rows(b)
    for u in common:
        n = min(len(ra[u]), len(rb[u]))
        if len(ra[u]) != len(rb[u]):
            notes.append(f"{a.image}/{u}: {len(ra[u])} frames in {a.source}, {len(rb[u])} in {b.source}; "
                         f"compared the first {n}")
        ia.append(ra[u][:n])
        ib.append(rb[u][:n])
    return np.concatenate(ia), np.concatenate(ib), notes


def _stat(v: np.ndarray, s: str) -> float:
    if s == "mean":
        return float(np.mean(v))
    return float(np.percentile(v, {"p50": 50, "p99": 99}[s]))


def energy_unit(col: str, kind: str) -> str:
    """The unit of an instrument figure with its kind, e.g. "J (simulated)": every energy figure
    carries its kind wherever it is shown (docs/measurement.md)."""
    base = "A" if col in ("energy_mean_a", "energy_peak_a") else "J"
    return f"{base} ({kind or 'unlabelled'})"


def compare_image(a: ImageMeasures, b: ImageMeasures, opts: CompareOptions) -> tuple[list[MetricChange], list[str]]:
    if a.unit != b.unit:
        raise ResultsError(f"image {a.image}: {a.source} counts {a.unit}, {b.source} counts {b.unit}; "
                           "instructions (QEMU) and cycles (boards) cannot be compared")
    ia, ib, notes = align(a, b)
    changes: list[MetricChange] = []
    energy = set(a.energy_columns)
    if energy and b.energy_columns and a.energy_kind != b.energy_kind:
        notes.append(f"{a.image}: energy is {a.energy_kind or 'unlabelled'} in {a.source} but "
                     f"{b.energy_kind or 'unlabelled'} in {b.source}; figures of different kinds are not compared")
        energy_ok = False
    else:
        energy_ok = True
    one_side = sorted(set(a.counter_columns) ^ set(b.counter_columns))
    if one_side:
        why = (" (a QEMU run loses cycles_est when a frame's instruction counts and the plugin's regions "
               "disagree: see docs/cycles.md)") if any(c.startswith("cycles_est") for c in one_side) else ""
        notes.append(f"{a.image}: {', '.join(one_side)} measured in only one of {a.source} and {b.source}; "
                     f"not compared{why}")
    for col in [c for c in a.counter_columns if c in b.frames]:
        if col in energy and not energy_ok:
            continue
        va = np.asarray(a.frames[col], dtype=np.float64)[ia]
        vb = np.asarray(b.frames[col], dtype=np.float64)[ib]
        stats = ("mean", "p50", "p99") if col == "total" else ("mean", "p99")
        if a.deterministic and col not in energy:
            diff = int(np.count_nonzero(va != vb))
            unit = "cycles (estimate)" if col.startswith("cycles_est") else a.unit
            for s in stats:
                changes.append(exact_change(a.image, f"{col}_{s}", unit, _stat(va, s), _stat(vb, s),
                                            opts.threshold, diff, int(va.size)))
        else:  # boards' cycles and every instrument figure: noisy, medians and a Mann-Whitney U test
            unit = energy_unit(col, a.energy_kind) if col in energy else a.unit
            changes.append(noisy_change(a.image, f"{col}_median", unit, va, vb, "lower", opts))
    for m in QUALITY_ORDER:
        qa, qb = a.quality.get(m, {}), b.quality.get(m, {})
        utts = sorted(set(qa) & set(qb))
        if utts:
            changes.append(noisy_change(a.image, f"q_{m}", m, np.array([qa[u] for u in utts]),
                                        np.array([qb[u] for u in utts]), "higher", opts))
    return changes, notes


QUALITY_ORDER = ("pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr")


def compare_sets(a: dict[str, ImageMeasures], b: dict[str, ImageMeasures], opts: CompareOptions | None = None,
                 label_a: str = "A", label_b: str = "B") -> Comparison:
    opts = opts or CompareOptions()
    cmp = Comparison(label_a, label_b, opts, only_a=sorted(set(a) - set(b)), only_b=sorted(set(b) - set(a)))
    for name in sorted(set(a) & set(b)):
        ch, notes = compare_image(a[name], b[name], opts)
        cmp.changes.extend(ch)
        cmp.notes.extend(notes)
        cmp.sha[name] = (a[name].sha256, b[name].sha256)
        if a[name].sha256 != b[name].sha256 and all(c.status == "same" for c in ch):
            cmp.notes.append(f"{name}: the image changed ({a[name].sha256[:12]} -> {b[name].sha256[:12]}) "
                             "but every compared figure is identical")
    if not cmp.sha:
        raise ResultsError(f"{label_a} and {label_b} have no image in common ({', '.join(cmp.only_a) or 'none'} vs "
                           f"{', '.join(cmp.only_b) or 'none'})")
    return cmp
