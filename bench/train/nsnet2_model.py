"""PyTorch twin of the numpy reference (bench.models.nsnet2.reference), for training.

Parameter names and layout are those of ``Nsnet2Config.parameter_shapes()``, so
``state_dict()`` exports to weights.npz unchanged. Imports torch: only the ``train``
commands and the tests import this module, never the runtime path.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bench.models.nsnet2.config import BLOCKS, LayerSpec, Nsnet2Config


def _layer(spec: LayerSpec) -> nn.Module:
    if spec.kind == "gru":
        return nn.GRU(spec.n_in, spec.n_out, num_layers=1, batch_first=True)
    return nn.Linear(spec.n_in, spec.n_out)


class _Exit(nn.Module):
    def __init__(self, branch: LayerSpec | None, head: LayerSpec) -> None:
        super().__init__()
        if branch is not None:
            self.branch = _layer(branch)
        self.head = _layer(head)


def _apply(spec: LayerSpec, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if spec.kind == "gru":
        y, _ = module(x)
        return y
    y = module(x)
    if spec.act == "relu":
        return torch.relu(y)
    if spec.act == "sigmoid":
        return torch.sigmoid(y)
    raise ValueError(f"unknown activation {spec.act!r}")


class EarlyExitNsnet2(nn.Module):
    """All exits at once: ``forward(feat (B, T, 161)) -> [mask_0, ..., mask_final]`` (B, T, 161)."""

    def __init__(self, config: Nsnet2Config) -> None:
        super().__init__()
        self.config = config
        self.trunk_specs = config.trunk()
        self.exit_specs = config.exit_specs()
        for spec in self.trunk_specs:
            self.add_module(spec.name, _layer(spec))
        for e in self.exit_specs:
            self.add_module(e.prefix, _Exit(e.branch, e.head))
        names = set(dict(self.named_parameters()))
        want = set(config.parameter_shapes())
        assert names == want, (sorted(names ^ want))[:6]

    def forward(self, feat: torch.Tensor) -> list[torch.Tensor]:
        acts = [feat]
        for spec in self.trunk_specs:
            acts.append(_apply(spec, getattr(self, spec.name), acts[-1]))
        masks = []
        for e in self.exit_specs:
            i = BLOCKS.index(e.after)
            mod = getattr(self, e.prefix)
            if self.config.exit_kind == "split":
                a = _apply(e.branch, mod.branch, acts[i])  # type: ignore[arg-type]
            elif e.branch is not None:
                a = _apply(e.branch, mod.branch, acts[i + 1])
            else:
                a = acts[i + 1]
            masks.append(_apply(e.head, mod.head, a))
        masks.append(acts[-1])
        return masks

    def numpy_params(self) -> dict[str, np.ndarray]:
        """float32 copies of every parameter, named as in weights.npz."""
        return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in self.state_dict().items()}

    def load_numpy_params(self, params: dict[str, np.ndarray]) -> None:
        self.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in params.items()})
