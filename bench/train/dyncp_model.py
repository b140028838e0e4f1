"""PyTorch twin of the numpy reference (bench.models.dyncp.reference), for training.

Parameter names and layout are those of ``DyncpConfig.parameter_shapes()``, so
``state_dict()`` exports to weights.npz unchanged. Imports torch: only the ``train``
commands and the tests import this module, never the runtime path.

The gates are binary in the forward pass (channel kept iff its logit > 0, exactly what
the reference and the target compute) and differentiable through a straight-through
estimator with the sigmoid as surrogate: ``m = hard + s - stop_grad(s)``, ``s = sigmoid(l)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from bench.models.dyncp.config import KERNEL, BlockSpec, DyncpConfig


class Affine(nn.Module):
    """Per-channel ``weight * x + bias`` on (B, C, T): the streamable norm (no statistics)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight[:, None] + self.bias[:, None]


class Gate(nn.Module):
    """Keep-logits over the C conv channels from the block input (B, R, T) -> (B, C, T)."""

    def __init__(self, r: int, c: int, hidden: int, init_bias: float) -> None:
        super().__init__()
        if hidden:
            self.hidden = nn.Conv1d(r, hidden, 1)
        self.out = nn.Conv1d(hidden or r, c, 1)
        assert self.out.bias is not None
        nn.init.constant_(self.out.bias, init_bias)
        self.has_hidden = bool(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.has_hidden:
            x = torch.relu(self.hidden(x))
        return self.out(x)


def straight_through(logits: torch.Tensor) -> torch.Tensor:
    """Binary keep-mask (logit > 0) forward, sigmoid gradient backward."""
    s = torch.sigmoid(logits)
    hard = (logits > 0).to(logits.dtype)
    return hard + (s - s.detach())  # exactly 0/1 forward: (s - s) is 0


def _act(kind: str, n: int) -> nn.Module:
    return nn.PReLU(n, init=0.25) if kind == "prelu" else nn.ReLU()


class Block(nn.Module):
    def __init__(self, spec: BlockSpec, act: str, gate_init_bias: float) -> None:
        super().__init__()
        r, c = spec.residual, spec.conv
        self.dilation = spec.dilation
        self.pw1 = nn.Conv1d(r, c, 1)
        self.act1 = _act(act, c)
        self.norm1 = Affine(c)
        self.dw = nn.Conv1d(c, c, KERNEL, dilation=spec.dilation, groups=c)
        self.act2 = _act(act, c)
        self.norm2 = Affine(c)
        self.pw2 = nn.Conv1d(c, r, 1)
        if spec.gated:
            self.gate = Gate(r, c, spec.gate_hidden, gate_init_bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """x (B, R, T) -> (x', keep-mask (B, C, T) or None, gate logits or None)."""
        logits = self.gate(x) if hasattr(self, "gate") else None
        m = straight_through(logits) if logits is not None else None
        h = self.norm1(self.act1(self.pw1(x)))
        if m is not None:
            h = h * m
        h = F.pad(h, ((KERNEL - 1) * self.dilation, 0))  # causal: only past frames
        z = self.norm2(self.act2(self.dw(h)))
        if m is not None:
            z = z * m
        return x + self.pw2(z), m, logits


class ConvFSENet(nn.Module):
    """``forward(feat (B, T, 257)) -> (gain mask (B, T, 257), keep-masks [(B, C, T)] per block)``."""

    def __init__(self, config: DyncpConfig, gate_init_bias: float = 2.0) -> None:
        super().__init__()
        self.config = config
        r, nb = config.residual, config.n_bins
        self.frontend = nn.Conv1d(nb, r, 1)
        self.blocks = nn.ModuleList(Block(b, config.act, gate_init_bias) for b in config.blocks())
        self.backend = nn.Conv1d(r, nb, 1)
        names = set(dict(self.named_parameters()))
        want = set(config.parameter_shapes())
        assert names == want, sorted(names ^ want)[:6]
        self.last_logits: list[torch.Tensor] = []

    def forward(self, feat: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = torch.relu(self.frontend(feat.transpose(1, 2)))
        masks, logits = [], []
        for blk in self.blocks:
            x, m, lg = blk(x)
            if m is not None and lg is not None:
                masks.append(m)
                logits.append(lg)
        self.last_logits = logits
        g = torch.sigmoid(self.backend(x)).transpose(1, 2)
        return g, masks

    def numpy_params(self) -> dict[str, np.ndarray]:
        """float32 copies of every parameter, named as in weights.npz."""
        return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in self.state_dict().items()}

    def load_numpy_params(self, params: dict[str, np.ndarray]) -> None:
        self.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in params.items()})
