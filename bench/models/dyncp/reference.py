"""Numpy float reference of (DynCP) Conv-FSENet, run frame by frame exactly as the target does.

Per hop of 256 samples (one in, one out, 256 samples of delay), float32 throughout:

1. frame = previous hop + this hop; ``X = rfft512(w * frame)`` (bench.models.dyncp.frontend);
2. features ``|X|^0.3``; front end ``relu(W_f f + b_f)`` (R);
3. every block: the gate's logits on the block input, keep set ``K = {c : logit_c > 0}``
   (all channels in an ungated model); only the channels in K are computed:
   ``h_K = norm1(act1(W1[K] x + b1[K]))`` (rows of W1 outside K are not read), the block's
   history ring gets ``h`` with zeros in the skipped channels, the causal depthwise conv
   ``dw_K = w[K,0] h[t-2d]_K + w[K,1] h[t-d]_K + w[K,2] h[t]_K + b[K]``, then
   ``z_K = norm2(act2(dw_K))`` and ``x += W2[:, K] z_K + b2``; MACs counted are the gate's
   plus ``|K| (2 R + 3)``; the history of a skipped channel holds zero for that frame,
   which is what the PyTorch model trains with (it multiplies h and z by the mask);
4. back end ``g = sigmoid(W_b x + b_b)`` (257); ``y = w * irfft512(g X)``, overlap-added.

Nothing here imports torch: weights come from ``weights.npz`` (PyTorch names and layout,
float32), the topology from ``config.json``.
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
from bench.models.dyncp import frontend
from bench.models.dyncp.config import HOP_LEN, KERNEL, BlockSpec, DyncpConfig

F32 = np.float32
CONFIG_FILE, WEIGHTS_FILE = weightsio.CONFIG_FILE, weightsio.WEIGHTS_FILE


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=F32, order="C", copy=True)  # never freeze the caller's array
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class DyncpModel:
    """A configuration with its float32 weights."""

    config: DyncpConfig
    params: Mapping[str, np.ndarray] = field(repr=False)

    def __post_init__(self) -> None:
        weightsio.check_params(self.config.name, self.config.parameter_shapes(), self.params)
        object.__setattr__(self, "params", {k: _readonly(v) for k, v in self.params.items()})

    @classmethod
    def load(cls, path: str | Path) -> DyncpModel:
        """Load ``<dir>/config.json`` and ``weights.npz`` (no pickle)."""
        d = Path(path)
        weightsio.require_files(d, (CONFIG_FILE, WEIGHTS_FILE), "dyncp")
        cfg = DyncpConfig.load(d / CONFIG_FILE)
        params = weightsio.load_weights(d / WEIGHTS_FILE)
        return cls(cfg, params)

    def save(self, path: str | Path, extra_config: Mapping[str, object] | None = None) -> None:
        """Write config.json and weights.npz into ``path``."""
        d = Path(path)
        weightsio.save_model(d, self.config.to_dict(), self.params, extra_config)

    def stream(self) -> DyncpStream:
        return DyncpStream(self)


# ---- layers ------------------------------------------------------------------------


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return (F32(1) / (F32(1) + np.exp(-v))).astype(F32)


def _pw(w: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """1x1 conv on the last axis: w (out, in, 1), x (..., in) -> (..., out)."""
    return (x @ w[:, :, 0].T + b).astype(F32)


class _BlockParams:
    """Per-block arrays in the shapes the frame loop wants (views of the weights)."""

    def __init__(self, p: Mapping[str, np.ndarray], spec: BlockSpec, act: str) -> None:
        q = spec.prefix
        self.spec = spec
        self.w1 = p[f"{q}.pw1.weight"][:, :, 0]  # (C, R)
        self.b1 = p[f"{q}.pw1.bias"]
        c = spec.conv
        ones = np.zeros(c, F32) if act == "relu" else None
        self.a1 = p[f"{q}.act1.weight"] if ones is None else ones  # PReLU slope (0: ReLU)
        self.a2 = p[f"{q}.act2.weight"] if ones is None else ones
        self.n1w, self.n1b = p[f"{q}.norm1.weight"], p[f"{q}.norm1.bias"]
        self.n2w, self.n2b = p[f"{q}.norm2.weight"], p[f"{q}.norm2.bias"]
        self.dw = p[f"{q}.dw.weight"][:, 0, :]  # (C, 3): taps on t-2d, t-d, t
        self.dwb = p[f"{q}.dw.bias"]
        self.w2 = p[f"{q}.pw2.weight"][:, :, 0]  # (R, C)
        self.b2 = p[f"{q}.pw2.bias"]
        self.gh: tuple[np.ndarray, np.ndarray] | None = None
        self.go: tuple[np.ndarray, np.ndarray] | None = None
        if spec.gated:
            if spec.gate_hidden:
                self.gh = (p[f"{q}.gate.hidden.weight"][:, :, 0], p[f"{q}.gate.hidden.bias"])
            self.go = (p[f"{q}.gate.out.weight"][:, :, 0], p[f"{q}.gate.out.bias"])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Gate logits (..., C) of block inputs x (..., R)."""
        assert self.go is not None
        if self.gh is not None:
            x = np.maximum((x @ self.gh[0].T + self.gh[1]).astype(F32), F32(0))
        return (x @ self.go[0].T + self.go[1]).astype(F32)


def _prelu(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.where(v >= 0, v, a * v).astype(F32)


@dataclass(frozen=True)
class FrameInfo:
    """What one frame did: keep-mask bits per gated block, kept channels per block, MACs."""

    masks: tuple[np.ndarray, ...]  # per gated block: (C,) bool
    kept: tuple[int, ...]  # per block (all blocks; C where ungated)
    macs: int
    gain: np.ndarray  # (257,) the output gain mask


class DyncpNet:
    """The network frame by frame, with one history ring per depthwise conv."""

    def __init__(self, model: DyncpModel) -> None:
        self.model = model
        cfg = model.config
        p = model.params
        self.fw, self.fb = p["frontend.weight"][:, :, 0], p["frontend.bias"]
        self.bw, self.bb = p["backend.weight"][:, :, 0], p["backend.bias"]
        self.blocks = [_BlockParams(p, b, cfg.act) for b in cfg.blocks()]
        self.reset()

    def reset(self) -> None:
        """Zero every history ring (the frames before the first are silence: h = 0)."""
        self.rings = [np.zeros((b.spec.history, b.spec.conv), F32) for b in self.blocks]
        self.pos = [0] * len(self.blocks)

    def step(self, feat: np.ndarray) -> FrameInfo:
        """One feature frame (257,) -> FrameInfo (gain, masks, MACs); advances the rings."""
        cfg = self.model.config
        x = np.maximum((self.fw @ feat + self.fb).astype(F32), F32(0))
        macs = cfg.io_macs()
        masks: list[np.ndarray] = []
        kept: list[int] = []
        for i, bp in enumerate(self.blocks):
            spec = bp.spec
            if spec.gated:
                keep = bp.logits(x) > 0
                masks.append(keep)
                idx = np.flatnonzero(keep)
            else:
                idx = np.arange(spec.conv)
            kept.append(int(idx.size))
            macs += spec.macs(int(idx.size))
            ring, pos, d = self.rings[i], self.pos[i], spec.dilation
            h = np.zeros(spec.conv, F32)
            if idx.size:
                hk = (bp.w1[idx] @ x + bp.b1[idx]).astype(F32)
                hk = (_prelu(hk, bp.a1[idx]) * bp.n1w[idx] + bp.n1b[idx]).astype(F32)
                h[idx] = hk
                old2, old1 = ring[pos, idx], ring[(pos + d) % spec.history, idx]  # h[t-2d], h[t-d]
                w = bp.dw[idx]
                y = (w[:, 0] * old2 + w[:, 1] * old1 + w[:, 2] * hk + bp.dwb[idx]).astype(F32)
                z = (_prelu(y, bp.a2[idx]) * bp.n2w[idx] + bp.n2b[idx]).astype(F32)
                x = (x + bp.w2[:, idx] @ z + bp.b2).astype(F32)
            else:
                x = (x + bp.b2).astype(F32)
            ring[pos] = h  # overwrites h[t-2d], no longer needed
            self.pos[i] = (pos + 1) % spec.history
        g = _sigmoid((self.bw @ x + self.bb).astype(F32))
        return FrameInfo(tuple(masks), tuple(kept), macs, g)


class DyncpStream:
    """Streaming enhancer: ``process(hop)`` takes 256 samples and returns 256 (one hop late)."""

    def __init__(self, model: DyncpModel) -> None:
        self.model = model
        self.config = model.config
        self.net = DyncpNet(model)
        self.reset()

    def reset(self) -> None:
        self.net.reset()
        self._prev = np.zeros(HOP_LEN, F32)
        self._tail = np.zeros(HOP_LEN, F32)

    def process(self, hop: npt.ArrayLike) -> tuple[np.ndarray, FrameInfo]:
        """One hop of 256 float samples in (full scale 1.0), one hop out, and the frame's info."""
        x = np.asarray(hop, dtype=F32).reshape(-1)
        if x.size != HOP_LEN:
            raise ConfigError(f"process() takes exactly {HOP_LEN} samples, got {x.size}")
        frame = np.concatenate([self._prev, x])
        self._prev = x.copy()
        spec = frontend.analysis(frame)
        info = self.net.step(frontend.features(spec, self.config.compress))
        seg = frontend.synthesis(spec * info.gain)
        out = self._tail + seg[:HOP_LEN]
        self._tail = seg[HOP_LEN:].copy()
        return out.astype(F32), info


@dataclass(frozen=True, eq=False)
class Enhanced:
    """One utterance enhanced: aligned audio, per-frame gains, mask bits, kept counts and MACs."""

    audio: np.ndarray  # float32, same length as the input, delay removed
    gains: np.ndarray  # (T, 257)
    masks: np.ndarray  # (T, n_gated_blocks, C) bool; (T, 0, C) for a static model
    kept: np.ndarray  # (T, n_blocks) int
    macs: np.ndarray  # (T,) int

    @property
    def mean_macs(self) -> float:
        return float(self.macs.mean()) if self.macs.size else 0.0

    def kept_fraction(self) -> np.ndarray:
        """Mean kept fraction per block (n_blocks,)."""
        return self.kept.mean(axis=0) / float(self.masks.shape[2]) if self.kept.size else np.zeros(0)


def enhance_streaming(model: DyncpModel, x: npt.ArrayLike) -> Enhanced:
    """Run the stream hop by hop over ``x`` (int16 or float) and undo the one-hop delay."""
    sig = to_float(x).astype(F32)
    n = sig.size
    padded = frontend.pad_hops(sig, extra=1)
    t = padded.size // HOP_LEN - 1
    s = model.stream()
    outs, infos = [], []
    for i in range(t + 1):
        y, info = s.process(padded[i * HOP_LEN : (i + 1) * HOP_LEN])
        outs.append(y)
        if i < t:  # the extra hop only flushes the overlap-add tail
            infos.append(info)
    cfg = model.config
    n_g = cfg.n_blocks if cfg.gated else 0
    masks = np.array([np.stack(i.masks) if i.masks else np.zeros((0, cfg.conv), bool) for i in infos], bool)
    return Enhanced(
        np.concatenate(outs)[HOP_LEN : HOP_LEN + n],
        np.array([i.gain for i in infos], F32).reshape(-1, cfg.n_bins),
        masks.reshape(len(infos), n_g, cfg.conv),
        np.array([i.kept for i in infos], int).reshape(len(infos), cfg.n_blocks),
        np.array([i.macs for i in infos], int),
    )


def network_offline(model: DyncpModel, feat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-utterance network on features (T, 257): gains (T, 257), masks (T, n_gated, C), logits.

    Dense over all channels, skipped ones multiplied by zero: the same arithmetic as the
    stream up to summation order (used by the evaluation and to check streaming == offline).
    """
    cfg = model.config
    net = DyncpNet(model)
    x = np.maximum((feat @ net.fw.T + net.fb).astype(F32), F32(0))
    t = feat.shape[0]
    masks, logits = [], []
    for bp in net.blocks:
        spec = bp.spec
        if spec.gated:
            lg = bp.logits(x)
            m = (lg > 0).astype(F32)
            masks.append(lg > 0)
            logits.append(lg)
        else:
            m = np.ones((t, spec.conv), F32)
        h = (x @ bp.w1.T + bp.b1).astype(F32)
        h = ((_prelu(h, bp.a1) * bp.n1w + bp.n1b) * m).astype(F32)
        d = spec.dilation
        hp = np.concatenate([np.zeros((2 * d, spec.conv), F32), h])
        y = (bp.dw[:, 0] * hp[:t] + bp.dw[:, 1] * hp[d : d + t] + bp.dw[:, 2] * h + bp.dwb).astype(F32)
        z = ((_prelu(y, bp.a2) * bp.n2w + bp.n2b) * m).astype(F32)
        x = (x + z @ bp.w2.T + bp.b2).astype(F32)
    g = _sigmoid((x @ net.bw.T + net.bb).astype(F32))
    n_g = len(masks)
    mk = np.stack(masks, axis=1) if n_g else np.zeros((t, 0, cfg.conv), bool)
    lgs = np.stack(logits, axis=1) if n_g else np.zeros((t, 0, cfg.conv), F32)
    return g, mk, lgs


def enhance_offline(model: DyncpModel, x: npt.ArrayLike) -> Enhanced:
    """Whole-utterance enhancement (vectorised over frames; equals :func:`enhance_streaming`)."""
    cfg = model.config
    sig = to_float(x).astype(F32)
    n = sig.size
    padded = frontend.pad_hops(sig, extra=1)
    spec = frontend.stft(padded)
    g, masks, _ = network_offline(model, frontend.features(spec, cfg.compress))
    audio = frontend.overlap_add(frontend.synthesis(spec * g))[HOP_LEN : HOP_LEN + n].astype(F32)
    t = spec.shape[0] - 1  # the last frame only flushes
    g, masks = g[:t], masks[:t]
    if cfg.gated:
        kept = masks.sum(axis=2).astype(int)
    else:
        kept = np.full((t, cfg.n_blocks), cfg.conv, int)
    macs = np.array([cfg.macs(k.tolist()) for k in kept], int)
    return Enhanced(audio, g, masks, kept, macs)


__all__ = [
    "KERNEL",
    "DyncpModel",
    "DyncpNet",
    "DyncpStream",
    "Enhanced",
    "FrameInfo",
    "enhance_offline",
    "enhance_streaming",
    "network_offline",
]
