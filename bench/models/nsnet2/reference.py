"""Numpy float reference of early-exit nsNet2, run frame by frame exactly as the target does.

Per hop of 160 samples (one in, one out, 160 samples of delay), float32 throughout:

1. frame = previous hop + this hop; ``X = rfft320(w * frame)`` (bench.models.nsnet2.frontend);
2. ``f = (log10(|X|^2 + eps) - mean) / std`` with the train-split statistics (norm.npz);
3. the network up to the chosen exit (GRU states carried from frame to frame), giving a
   161-bin gain ``g``;
4. ``y = w * irfft320(g X)``, overlap-added with the previous frame's tail.

Exit selection (:class:`ExitPolicy`):

* static ``k``: the layers of ``config.layers_for_exit(k)`` only, every frame;
* dynamic (``threshold``): exits are evaluated in network order; after exit ``j >= 1`` the
  frame stops when ``mean_b |g_j[b] - g_{j-1}[b]| < threshold`` (161 subtractions, a sum and
  one compare on target), else the trunk goes on; the final exit always stops. ``min_exit``
  and ``max_exit`` bound the exits that may be output; exits before ``min_exit - 1`` are
  not evaluated at all (nothing compares them). Layers not evaluated in a frame keep
  their GRU state unchanged ("hold"); a later frame that evaluates them resumes from it.

Nothing here imports torch: weights come from ``weights.npz`` (PyTorch names and layout,
float32), the normalisation from ``norm.npz`` and the topology from ``config.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.data.audio import to_float
from bench.errors import ConfigError
from bench.models.common import weightsio
from bench.models.nsnet2 import frontend
from bench.models.nsnet2.config import BLOCKS, HOP_LEN, LayerSpec, Nsnet2Config

F32 = np.float32
CONFIG_FILE, WEIGHTS_FILE = weightsio.CONFIG_FILE, weightsio.WEIGHTS_FILE
NORM_FILE = "norm.npz"


@dataclass(frozen=True)
class ExitPolicy:
    """Which exit a frame outputs: a static exit, or the dynamic mask-change rule."""

    exit: int | None = None  # static exit index; None = dynamic
    threshold: float = 0.0  # dynamic: stop when the mean |mask change| is below this
    min_exit: int = 1  # dynamic: earliest exit that may be output (>= 1: needs two masks)
    max_exit: int | None = None  # dynamic: latest exit evaluated (None = the final output)

    def __post_init__(self) -> None:
        if self.exit is not None and (not isinstance(self.exit, int) or self.exit < 0):
            raise ConfigError(f"exit must be a non-negative integer, got {self.exit!r}")
        if not np.isfinite(self.threshold) and self.threshold != np.inf:
            raise ConfigError(f"threshold must be a number or inf, got {self.threshold!r}")
        if self.min_exit < 1:
            raise ConfigError(f"min_exit must be >= 1 (the rule compares two exits), got {self.min_exit}")

    @classmethod
    def static(cls, k: int) -> ExitPolicy:
        return cls(exit=k)

    @classmethod
    def dynamic(cls, threshold: float, min_exit: int = 1, max_exit: int | None = None) -> ExitPolicy:
        return cls(exit=None, threshold=float(threshold), min_exit=min_exit, max_exit=max_exit)

    @property
    def is_static(self) -> bool:
        return self.exit is not None

    def describe(self) -> str:
        if self.exit is not None:
            return f"static exit {self.exit}"
        return f"dynamic threshold {self.threshold:g} (exits {self.min_exit}..{self.max_exit or 'final'})"


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=F32)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Nsnet2Model:
    """A configuration with its float32 weights and normalisation statistics."""

    config: Nsnet2Config
    params: Mapping[str, np.ndarray] = field(repr=False)
    norm_mean: np.ndarray = field(repr=False)
    norm_std: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        weightsio.check_params(self.config.name, self.config.parameter_shapes(), self.params)
        nb = self.config.n_bins
        if self.norm_mean.shape != (nb,) or self.norm_std.shape != (nb,):
            raise ConfigError(f"{self.config.name}: norm mean/std must have shape ({nb},)")
        if not np.all(self.norm_std > 0):
            raise ConfigError(f"{self.config.name}: norm std must be positive in every bin")
        object.__setattr__(self, "params", {k: _readonly(v) for k, v in self.params.items()})
        object.__setattr__(self, "norm_mean", _readonly(self.norm_mean))
        object.__setattr__(self, "norm_std", _readonly(self.norm_std))

    @classmethod
    def load(cls, path: str | Path) -> Nsnet2Model:
        """Load ``<dir>/config.json``, ``weights.npz`` and ``norm.npz`` (no pickle)."""
        d = Path(path)
        weightsio.require_files(d, (CONFIG_FILE, WEIGHTS_FILE, NORM_FILE), "nsnet2")
        cfg = Nsnet2Config.load(d / CONFIG_FILE)
        params = weightsio.load_weights(d / WEIGHTS_FILE)
        with np.load(d / NORM_FILE, allow_pickle=False) as z:
            if "mean" not in z.files or "std" not in z.files:
                raise ConfigError(f"{d / NORM_FILE}: needs arrays 'mean' and 'std'")
            mean, std = np.asarray(z["mean"], F32), np.asarray(z["std"], F32)
        return cls(cfg, params, mean, std)

    def save(self, path: str | Path, extra_config: Mapping[str, object] | None = None) -> None:
        """Write config.json, weights.npz and norm.npz into ``path``."""
        d = Path(path)
        weightsio.save_model(d, self.config.to_dict(), self.params, extra_config)
        np.savez(d / NORM_FILE, mean=np.asarray(self.norm_mean, F32), std=np.asarray(self.norm_std, F32))

    def normalise(self, logpow: np.ndarray) -> np.ndarray:
        return ((logpow - self.norm_mean) / self.norm_std).astype(F32)

    def stream(self, policy: ExitPolicy | int) -> Nsnet2Stream:
        return Nsnet2Stream(self, policy)


# ---- layers ------------------------------------------------------------------------


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return (F32(1) / (F32(1) + np.exp(-v))).astype(F32)


def _fc(p: Mapping[str, np.ndarray], spec: LayerSpec, x: np.ndarray) -> np.ndarray:
    y = (x @ p[f"{spec.name}.weight"].T + p[f"{spec.name}.bias"]).astype(F32)
    if spec.act == "relu":
        return np.maximum(y, F32(0))
    if spec.act == "sigmoid":
        return _sigmoid(y)
    raise ValueError(f"unknown activation {spec.act!r} of {spec.name}")  # LayerSpecs come from config.py only


def gru_cell(p: Mapping[str, np.ndarray], name: str, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """PyTorch GRU cell (gate order r, z, n) in float32; x (..., I), h (..., H)."""
    gi = x @ p[f"{name}.weight_ih_l0"].T + p[f"{name}.bias_ih_l0"]
    gh = h @ p[f"{name}.weight_hh_l0"].T + p[f"{name}.bias_hh_l0"]
    n_h = h.shape[-1]
    r = _sigmoid(gi[..., :n_h] + gh[..., :n_h])
    z = _sigmoid(gi[..., n_h : 2 * n_h] + gh[..., n_h : 2 * n_h])
    n = np.tanh(gi[..., 2 * n_h :] + r * gh[..., 2 * n_h :]).astype(F32)
    return ((F32(1) - z) * n + z * h).astype(F32)


class _Net:
    """Layer evaluation with the GRU states of one stream."""

    def __init__(self, model: Nsnet2Model) -> None:
        self.p = model.params
        cfg = model.config
        layers = list(cfg.trunk())
        for e in cfg.exit_specs():
            layers += [x for x in (e.branch, e.head) if x is not None]
        self.state = {x.name: np.zeros(x.n_out, F32) for x in layers if x.kind == "gru"}
        self.macs = 0

    def __call__(self, spec: LayerSpec, x: np.ndarray) -> np.ndarray:
        self.macs += spec.macs
        if spec.kind == "gru":
            h = gru_cell(self.p, spec.name, x, self.state[spec.name])
            self.state[spec.name] = h
            return h
        return _fc(self.p, spec, x)


@dataclass(frozen=True)
class FrameInfo:
    """What one frame did: the exit output, network MACs, and the exit masks evaluated.

    ``masks`` holds the masks of exits ``first .. exit`` in order; the last one is the output.
    """

    exit: int
    macs: int
    masks: tuple[np.ndarray, ...]
    first: int = 0


class Nsnet2Stream:
    """Streaming enhancer: ``process(hop)`` takes 160 samples and returns 160 (one hop late)."""

    def __init__(self, model: Nsnet2Model, policy: ExitPolicy | int) -> None:
        self.model = model
        self.config = model.config
        self.policy = ExitPolicy.static(policy) if isinstance(policy, int) else policy
        cfg = self.config
        if self.policy.exit is not None and not 0 <= self.policy.exit < cfg.n_exits:
            raise ConfigError(f"{cfg.name}: exit {self.policy.exit} out of range 0..{cfg.n_exits - 1}")
        last = cfg.n_exits - 1
        self._max_exit = last if self.policy.max_exit is None else self.policy.max_exit
        if not self.policy.is_static and not 1 <= self.policy.min_exit <= self._max_exit <= last:
            raise ConfigError(
                f"{cfg.name}: dynamic policy needs 1 <= min_exit <= max_exit <= {last}, got "
                f"{self.policy.min_exit}..{self._max_exit}"
            )
        self._trunk = cfg.trunk()
        self._exits = cfg.exit_specs()
        self._chain = cfg.layers_for_exit(self.policy.exit) if self.policy.exit is not None else ()
        self._inv_std = (F32(1) / model.norm_std).astype(F32)
        self.reset()

    def reset(self) -> None:
        """Zero the GRU states, the input history and the overlap-add tail."""
        self._net = _Net(self.model)
        self._prev = np.zeros(HOP_LEN, F32)
        self._tail = np.zeros(HOP_LEN, F32)

    def features(self, spec: np.ndarray) -> np.ndarray:
        f = frontend.log_power(spec, self.config.log_eps)
        return ((f - self.model.norm_mean) * self._inv_std).astype(F32)

    def mask(self, feat: np.ndarray) -> FrameInfo:
        """The network on one normalised feature frame (161,): gain mask and what was done."""
        net = self._net
        net.macs = 0
        if self.policy.exit is not None:
            a = feat
            for layer in self._chain:
                a = net(layer, a)
            return FrameInfo(self.policy.exit, net.macs, (a,), self.policy.exit)
        return self._dynamic(feat)

    def _exit_mask(self, k: int, a_in: np.ndarray, a_out: np.ndarray | None) -> np.ndarray:
        e = self._exits[k]
        net = self._net
        if self.config.exit_kind == "split":
            x = net(e.branch, a_in)  # type: ignore[arg-type]
        else:
            assert a_out is not None
            x = net(e.branch, a_out) if e.branch is not None else a_out
        return net(e.head, x)

    def _dynamic(self, feat: np.ndarray) -> FrameInfo:
        net, cfg, pol = self._net, self.config, self.policy
        first = pol.min_exit - 1  # exits before this one are never compared: not evaluated at all
        masks: list[np.ndarray] = []
        a = feat
        thr = F32(pol.threshold) * F32(cfg.n_bins)  # compare the sum, not the mean: no division
        for i, block in enumerate(BLOCKS):
            k = cfg.exits.index(block) if block in cfg.exits else None
            if k is not None and k >= first and cfg.exit_kind == "split":
                masks.append(self._exit_mask(k, a, None))  # before trunk block i: it may be skipped
                if self._stop(k, masks, thr):
                    return FrameInfo(k, net.macs, tuple(masks), first)
            a_out = net(self._trunk[i], a)
            if k is not None and k >= first and cfg.exit_kind != "split":
                masks.append(self._exit_mask(k, a, a_out))
                if self._stop(k, masks, thr):
                    return FrameInfo(k, net.macs, tuple(masks), first)
            a = a_out
        masks.append(net(self._trunk[-1], a))
        return FrameInfo(cfg.n_exits - 1, net.macs, tuple(masks), first)

    def _stop(self, k: int, masks: list[np.ndarray], thr: np.float32) -> bool:
        if k >= self._max_exit:
            return True
        if k < self.policy.min_exit:
            return False
        change = np.sum(np.abs(masks[-1] - masks[-2]), dtype=F32)
        return bool(change < thr)

    def process(self, hop: npt.ArrayLike) -> tuple[np.ndarray, FrameInfo]:
        """One hop of 160 float samples in (full scale 1.0), one hop out, and the frame's info."""
        x = np.asarray(hop, dtype=F32).reshape(-1)
        if x.size != HOP_LEN:
            raise ConfigError(f"process() takes exactly {HOP_LEN} samples, got {x.size}")
        frame = np.concatenate([self._prev, x])
        self._prev = x.copy()
        spec = frontend.analysis(frame)
        info = self.mask(self.features(spec))
        seg = frontend.synthesis(spec * info.masks[-1])
        out = self._tail + seg[:HOP_LEN]
        self._tail = seg[HOP_LEN:].copy()
        return out.astype(F32), info


@dataclass(frozen=True, eq=False)
class Enhanced:
    """Result of enhancing one utterance: aligned output, per-frame exits, MACs and masks."""

    audio: np.ndarray  # float32, same length as the input, delay removed
    exits: np.ndarray  # (T,) int
    macs: np.ndarray  # (T,) int
    masks: np.ndarray  # (T, 161) the output masks

    @property
    def mean_macs(self) -> float:
        return float(self.macs.mean()) if self.macs.size else 0.0


def enhance_streaming(model: Nsnet2Model, x: npt.ArrayLike, policy: ExitPolicy | int) -> Enhanced:
    """Run the stream hop by hop over ``x`` (int16 or float) and undo the one-hop delay."""
    sig = to_float(x).astype(F32)
    n = sig.size
    t = -(-n // HOP_LEN)
    padded = np.zeros((t + 1) * HOP_LEN, F32)
    padded[:n] = sig
    s = model.stream(policy)
    outs, exits, macs, masks = [], [], [], []
    for i in range(t + 1):
        y, info = s.process(padded[i * HOP_LEN : (i + 1) * HOP_LEN])
        outs.append(y)
        if i < t:  # the extra hop only flushes the overlap-add tail
            exits.append(info.exit)
            macs.append(info.macs)
            masks.append(info.masks[-1])
    audio = np.concatenate(outs)[HOP_LEN : HOP_LEN + n]
    return Enhanced(audio, np.array(exits), np.array(macs), np.array(masks, dtype=F32).reshape(-1, model.config.n_bins))


def masks_offline(model: Nsnet2Model, x: npt.ArrayLike) -> list[np.ndarray]:
    """Whole-utterance computation of every exit's mask (T, 161), all exits at once.

    Frames are batched through the FFT and the FC layers; GRUs run over time. This is
    the offline twin of the stream (used to check streaming == offline, and fast for
    static exits).
    """
    cfg, p = model.config, model.params
    spec = frontend.stft(to_float(x).astype(F32))
    feat = model.normalise(frontend.log_power(spec, cfg.log_eps))

    def run(layer: LayerSpec, a: np.ndarray) -> np.ndarray:
        if layer.kind == "fc":
            return _fc(p, layer, a)
        h = np.zeros(layer.n_out, F32)
        out = np.empty((a.shape[0], layer.n_out), F32)
        for t in range(a.shape[0]):
            h = gru_cell(p, layer.name, a[t], h)
            out[t] = h
        return out

    trunk = cfg.trunk()
    acts = [feat]
    for layer in trunk:
        acts.append(run(layer, acts[-1]))
    masks = []
    for e in cfg.exit_specs():
        i = BLOCKS.index(e.after)
        if cfg.exit_kind == "split":
            a = run(e.branch, acts[i])  # type: ignore[arg-type]
        else:
            a = run(e.branch, acts[i + 1]) if e.branch is not None else acts[i + 1]
        masks.append(run(e.head, a))
    masks.append(acts[-1])
    return masks


def enhance_offline(model: Nsnet2Model, x: npt.ArrayLike, k: int) -> np.ndarray:
    """Whole-utterance enhancement with static exit ``k`` (float32, delay removed).

    Like the stream fed one extra hop of zeros: the signal is padded to whole hops plus
    one, so the last input hop gets both of its overlap-add halves.
    """
    sig = to_float(x).astype(F32)
    n = sig.size
    padded = np.zeros((-(-n // HOP_LEN) + 1) * HOP_LEN, F32)
    padded[:n] = sig
    spec = frontend.stft(padded)
    g = masks_offline(model, padded)[k]
    y = frontend.overlap_add(frontend.synthesis(spec * g))
    return y[HOP_LEN : HOP_LEN + n].astype(F32)
