"""The probe set (float and integer), its int16 export and its files.

Probe order (P = K + 2 scores per frame): 0 = VAD logit, 1..K = noise-class logits in the
order of ``classes`` (bench.data.noises.NOISE_CLASSES for the shipped probes), K + 1 = F0 in Hz.

Integer export: per probe group (VAD; all K class logits together, so that the target could
take the argmax of the integer scores; F0) one power-of-two scale ``2^-shift``:
``weights = round(w 2^shift)`` int16, ``bias = round(b 2^shift)`` int32, with the largest
shift for which every weight fits int16 and ``|bias| + sum |weights| < 2^31`` (so the score,
an exact int32 sum, cannot overflow for any mask). A probe's value is ``score * 2^-shift``.

``probes.npz`` holds both (``weights`` int16 (n_features, P), ``bias`` int32 (P,), ``shift``
int32 (P,), ``float_weight`` / ``float_bias`` float64, ``classes``, ``n_blocks``,
``n_channels``, ``context``; a file without ``context`` has k = 0); no pickle.

Temporal context (``context`` = k, default 0): the features of a frame are its n_bits mask bits
and those of the previous k frames (features.context_bits), n_features = (k + 1) n_bits, rows
``j * n_bits + i`` = bit i of frame t - j. ``c_source`` writes all of them; the firmware adds
the earlier frames' rows with dyncp_probes_add_lag from the masks it keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.errors import ConfigError

NPZ_FILE, JSON_FILE, COMMAND_FILE = "probes.npz", "probes.json", "PROBES_COMMAND.txt"
INT16_MAX = 32767
INT32_MAX = 2**31 - 1
SHIFT_RANGE = (-16, 30)


def probe_names(classes: Sequence[str]) -> tuple[str, ...]:
    return ("vad", *(f"class:{c}" for c in classes), "f0_hz")


def groups(n_classes: int) -> tuple[tuple[int, ...], ...]:
    """Index groups that share one scale: VAD, the class logits, F0."""
    return ((0,), tuple(range(1, n_classes + 1)), (n_classes + 1,))


@dataclass(frozen=True, eq=False)
class FloatProbes:
    """All probes as one float linear map on the mask bits: scores = bits @ weight + bias."""

    weight: npt.NDArray[np.float64]  # (n_features, P)
    bias: npt.NDArray[np.float64]  # (P,)
    classes: tuple[str, ...]
    n_blocks: int
    n_channels: int
    context: int = 0  # previous frames in the features (see the module doc)

    def __post_init__(self) -> None:
        p = len(self.classes) + 2
        _check_context(self.context)
        if self.weight.shape != (self.n_features, p) or self.bias.shape != (p,):
            raise ConfigError(
                f"probe weights {self.weight.shape} / bias {self.bias.shape} do not fit "
                f"{self.n_blocks} x {self.n_channels} bits{_frames(self.context)} and {p} probes"
            )

    @property
    def n_bits(self) -> int:
        """Mask bits of one frame."""
        return self.n_blocks * self.n_channels

    @property
    def n_features(self) -> int:
        """Features of one frame: its mask bits and the previous ``context`` frames'."""
        return (self.context + 1) * self.n_bits

    @property
    def n_probes(self) -> int:
        return len(self.classes) + 2

    def scores(self, bits: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Float scores (..., P) of features (..., n_features): VAD logit, class logits, F0 Hz."""
        return np.asarray(bits, dtype=np.float64) @ self.weight + self.bias


@dataclass(frozen=True, eq=False)
class QuantProbes:
    """The integer probes: score = bias + sum of the weight rows of the set bits (int32)."""

    weights: npt.NDArray[np.int16]  # (n_features, P)
    bias: npt.NDArray[np.int32]  # (P,)
    shift: npt.NDArray[np.int32]  # (P,): value = score * 2^-shift
    classes: tuple[str, ...]
    n_blocks: int
    n_channels: int
    context: int = 0  # previous frames in the features (see the module doc)

    def __post_init__(self) -> None:
        p = len(self.classes) + 2
        _check_context(self.context)
        if self.weights.dtype != np.int16 or self.bias.dtype != np.int32 or self.shift.dtype != np.int32:
            raise ConfigError("integer probes need int16 weights, int32 bias and int32 shifts")
        if self.weights.shape != (self.n_features, p) or self.bias.shape != (p,):
            raise ConfigError(f"integer probe shapes {self.weights.shape} / {self.bias.shape} do not fit")
        if self.shift.shape != (p,):
            raise ConfigError(f"shift must be ({p},), got {self.shift.shape}")
        if not np.all(headroom(self.weights, self.bias) >= 0):
            raise ConfigError("|bias| + sum |weights| exceeds int32 for some probe: the score could overflow")

    @property
    def n_bits(self) -> int:
        """Mask bits of one frame."""
        return self.n_blocks * self.n_channels

    @property
    def n_features(self) -> int:
        return (self.context + 1) * self.n_bits

    @property
    def n_probes(self) -> int:
        return len(self.classes) + 2

    @property
    def scale(self) -> npt.NDArray[np.float64]:
        """Value of one score unit per probe (2^-shift)."""
        return np.ldexp(1.0, -self.shift.astype(np.int64))


def _frames(k: int) -> str:
    return f" x {k + 1} frames (context {k})" if k else ""


def _check_context(k: int) -> None:
    if not isinstance(k, int | np.integer) or k < 0:
        raise ConfigError(f"probe context must be a whole number of frames >= 0, got {k!r}")


def macs_per_frame(p: FloatProbes | QuantProbes) -> int:
    """The probes' multiply-accumulates per frame as a dense product: n_features x P, i.e.
    (context + 1) x the k = 0 cost (the C kernel adds only the rows of the set bits)."""
    return p.n_features * p.n_probes


def headroom(weights: np.ndarray, bias: np.ndarray) -> npt.NDArray[np.int64]:
    """INT32_MAX - (|bias| + sum |weights|) per probe (negative: can overflow)."""
    worst = np.abs(bias.astype(np.int64)) + np.abs(weights.astype(np.int64)).sum(axis=0)
    return INT32_MAX - worst


def _fits(w: np.ndarray, b: np.ndarray, shift: int, wmax: int) -> bool:
    wq = np.round(np.ldexp(w, shift))
    bq = np.round(np.ldexp(b, shift))
    if wq.size and float(np.max(np.abs(wq))) > wmax:
        return False
    return bool(np.all(np.abs(bq) + np.abs(wq).sum(axis=0) <= INT32_MAX))


def choose_shift(w: np.ndarray, b: np.ndarray, wmax: int = INT16_MAX) -> int:
    """Largest shift in SHIFT_RANGE at which the group's weights round to within +-wmax and
    the score cannot overflow int32 (see the module doc)."""
    for s in range(SHIFT_RANGE[1], SHIFT_RANGE[0] - 1, -1):
        if _fits(w, b, s, wmax):
            return s
    raise ConfigError("probe weights too large to export even at the smallest scale")


def quantize(fp: FloatProbes, weight_bits: int = 16) -> QuantProbes:
    """Export the float probes (see the module doc). ``weight_bits`` < 16 restricts the weights
    to that many bits (still stored as int16): only for testing how the decisions degrade."""
    if not 2 <= weight_bits <= 16:
        raise ConfigError(f"weight_bits must be 2..16, got {weight_bits}")
    p = fp.n_probes
    wq = np.zeros((fp.n_features, p), np.int16)
    bq = np.zeros(p, np.int32)
    sh = np.zeros(p, np.int32)
    wmax = 2 ** (weight_bits - 1) - 1
    for g in groups(len(fp.classes)):
        idx = list(g)
        s = choose_shift(fp.weight[:, idx], fp.bias[idx], wmax)
        wq[:, idx] = np.round(np.ldexp(fp.weight[:, idx], s)).astype(np.int16)
        bq[idx] = np.round(np.ldexp(fp.bias[idx], s)).astype(np.int32)
        sh[idx] = s
    return QuantProbes(wq, bq, sh, fp.classes, fp.n_blocks, fp.n_channels, fp.context)


def dequantized(q: QuantProbes) -> FloatProbes:
    """The float map the integer probes compute (weights * 2^-shift)."""
    sc = q.scale
    return FloatProbes(q.weights.astype(np.float64) * sc, q.bias.astype(np.float64) * sc, q.classes, q.n_blocks,
                       q.n_channels, q.context)


def save_npz(path: str | Path, fp: FloatProbes, q: QuantProbes) -> None:
    np.savez_compressed(
        path,
        weights=q.weights,
        bias=q.bias,
        shift=q.shift,
        float_weight=fp.weight,
        float_bias=fp.bias,
        classes=np.array(fp.classes),
        probe_names=np.array(probe_names(fp.classes)),
        n_blocks=np.int64(fp.n_blocks),
        n_channels=np.int64(fp.n_channels),
        context=np.int64(fp.context),
    )


def load_npz(path: str | Path) -> tuple[FloatProbes, QuantProbes]:
    p = Path(path)
    if p.is_dir():
        p = p / NPZ_FILE
    if not p.is_file():
        raise ConfigError(f"{p}: no probes; train them with `bench probes train <model dir>`")
    with np.load(p, allow_pickle=False) as z:
        classes = tuple(str(c) for c in z["classes"])
        nb, nc = int(z["n_blocks"]), int(z["n_channels"])
        k = int(z["context"]) if "context" in z.files else 0
        fp = FloatProbes(z["float_weight"].astype(np.float64), z["float_bias"].astype(np.float64), classes, nb, nc, k)
        q = QuantProbes(z["weights"].astype(np.int16), z["bias"].astype(np.int32), z["shift"].astype(np.int32),
                        classes, nb, nc, k)
    return fp, q


def c_source(q: QuantProbes, prefix: str = "dyncp_probes") -> str:
    """C definitions of the integer probes for firmware/models/dyncp/dyncp_probes.h's struct
    (``const dyncp_probes_t <prefix>_params``), for a generated params file. Probes with a
    temporal context k write (k + 1) blocks of weight rows (the current frame's, then one per
    earlier frame); the firmware adds the earlier frames with dyncp_probes_add_lag."""
    rows = []
    for i in range(q.n_features):
        rows.append("    " + ", ".join(str(int(v)) for v in q.weights[i]) + ",")
    names = ", ".join(probe_names(q.classes))
    shifts = ", ".join(str(int(s)) for s in q.shift)
    return "\n".join(
        [
            f"/* probes: {names}; value = score * 2^-shift, shifts {shifts} */",
            f"static const int16_t {prefix}_weights[{q.n_features} * {q.n_probes}] = {{",
            *rows,
            "};",
            f"static const int32_t {prefix}_bias[{q.n_probes}] = {{"
            + ", ".join(str(int(v)) for v in q.bias)
            + "};",
            f"const dyncp_probes_t {prefix}_params = {{{q.n_blocks}, {q.n_channels}, {q.n_probes}, "
            f"{prefix}_weights, {prefix}_bias}};",
            "",
        ]
    )
