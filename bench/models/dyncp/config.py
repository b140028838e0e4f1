"""Configurations of the DynCP Conv-FSENet family (frozen, validated) and their cost model.

Topology (causal Conv-FSENet; every convolution is a per-frame operation except the
depthwise one, which reads its own history)::

    |X|^0.3 (257 bins) -> frontend 1x1 257->R, ReLU
      -> S stacks x B blocks, block i (dilation 2^(i mod B)):
             m   = gate(x)                      binary keep-mask over the C conv channels
             h   = m * norm1(act1(pw1 x))       pw1: 1x1 R->C
             z   = m * norm2(act2(dw h))        dw: depthwise causal k=3, dilation d
             x   = x + pw2 z                    pw2: 1x1 C->R
      -> backend 1x1 R->257, sigmoid -> gain mask g,  Y = g X

``act`` is a per-channel PReLU; ``norm`` is a per-channel affine map (``weight * v + bias``,
no statistics: streamable and foldable, see docs/dyncp.md). The gate is a 1x1 R->C
(``gate_hidden == 0``) or a bottleneck 1x1 R->G, ReLU, 1x1 G->C (``gate_hidden == G``)
on the block input; channel c is kept when its logit is > 0. An ungated config
(``gated=False``) is the static Conv-FSENet.

Parameter names follow PyTorch's layout (Conv1d weights (out, in, k)); see
:meth:`DyncpConfig.parameter_shapes`, and weights.npz holds exactly these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from bench.errors import ConfigError
from bench.models.common import configio

SAMPLE_RATE = 16000
FRAME_LEN = 512  # 32 ms window
HOP_LEN = 256  # 16 ms hop
N_FFT = 512
N_BINS = N_FFT // 2 + 1  # 257
KERNEL = 3
ACTS = ("prelu", "relu")


@dataclass(frozen=True)
class BlockSpec:
    """One TCN block: its index, parameter prefix, dilation and widths."""

    index: int
    dilation: int
    residual: int
    conv: int
    gated: bool
    gate_hidden: int

    @property
    def prefix(self) -> str:
        return f"blocks.{self.index}"

    @property
    def history(self) -> int:
        """Past frames the causal depthwise conv reads: (k - 1) * dilation."""
        return (KERNEL - 1) * self.dilation

    def gate_macs(self) -> int:
        if not self.gated:
            return 0
        if self.gate_hidden:
            return self.gate_hidden * (self.residual + self.conv)
        return self.residual * self.conv

    def channel_macs(self) -> int:
        """MACs of one kept conv channel: its pw1 row, its depthwise taps, its pw2 column."""
        return 2 * self.residual + KERNEL

    def macs(self, kept: int | None = None) -> int:
        """MACs of one frame with ``kept`` conv channels evaluated (all when None)."""
        k = self.conv if kept is None else kept
        return self.gate_macs() + k * self.channel_macs()


@dataclass(frozen=True)
class DyncpConfig(configio.ConfigIO):
    """A (DynCP) Conv-FSENet configuration."""

    LABEL: ClassVar[str] = "DynCP"

    name: str
    residual: int = 128  # R
    conv: int = 256  # C
    stacks: int = 3  # S
    blocks_per_stack: int = 3  # B; dilations 1, 2, 4, ... per stack
    gated: bool = True
    gate_hidden: int = 32  # 0: gate is a 1x1 R->C; G > 0: 1x1 R->G, ReLU, 1x1 G->C
    act: str = "prelu"
    compress: float = 0.3  # features |X|^compress
    sample_rate: int = SAMPLE_RATE
    frame_len: int = FRAME_LEN
    hop_len: int = HOP_LEN
    n_fft: int = N_FFT

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise ConfigError(f"config name {self.name!r} must be non-empty letters, digits, '-', '_' or '.'")
        for f in ("residual", "conv"):
            w = getattr(self, f)
            if not isinstance(w, int) or isinstance(w, bool) or not 1 <= w <= 4096:
                raise ConfigError(f"{self.name}: {f}={w!r} must be an integer in 1..4096")
        for f in ("stacks", "blocks_per_stack"):
            w = getattr(self, f)
            if not isinstance(w, int) or isinstance(w, bool) or not 1 <= w <= 8:
                raise ConfigError(f"{self.name}: {f}={w!r} must be an integer in 1..8")
        if not isinstance(self.gate_hidden, int) or not 0 <= self.gate_hidden <= 4096:
            raise ConfigError(f"{self.name}: gate_hidden={self.gate_hidden!r} must be an integer in 0..4096")
        if not isinstance(self.gated, bool):
            raise ConfigError(f"{self.name}: gated must be true or false, got {self.gated!r}")
        if self.act not in ACTS:
            raise ConfigError(f"{self.name}: act {self.act!r} must be one of {ACTS}")
        if not 0.0 < self.compress <= 1.0:
            raise ConfigError(f"{self.name}: compress {self.compress} must be in (0, 1]")
        configio.check_stft(self, "Conv-FSENet", (SAMPLE_RATE, FRAME_LEN, HOP_LEN, N_FFT))

    # ---- topology -------------------------------------------------------------------

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def n_blocks(self) -> int:
        return self.stacks * self.blocks_per_stack

    def blocks(self) -> tuple[BlockSpec, ...]:
        return tuple(
            BlockSpec(
                i,
                2 ** (i % self.blocks_per_stack),
                self.residual,
                self.conv,
                self.gated,
                self.gate_hidden,
            )
            for i in range(self.n_blocks)
        )

    def static(self) -> DyncpConfig:
        """The same network without gates (the static Conv-FSENet)."""
        return dataclasses.replace(self, gated=False)

    def receptive_field(self) -> int:
        """Frames the output of one frame depends on (the current one included)."""
        return 1 + sum(b.history for b in self.blocks())

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter array: name -> shape (PyTorch layout)."""
        r, c, nb = self.residual, self.conv, self.n_bins
        s: dict[str, tuple[int, ...]] = {"frontend.weight": (r, nb, 1), "frontend.bias": (r,)}
        for b in self.blocks():
            p = b.prefix
            s[f"{p}.pw1.weight"] = (c, r, 1)
            s[f"{p}.pw1.bias"] = (c,)
            if self.act == "prelu":
                s[f"{p}.act1.weight"] = (c,)
            s[f"{p}.norm1.weight"] = (c,)
            s[f"{p}.norm1.bias"] = (c,)
            s[f"{p}.dw.weight"] = (c, 1, KERNEL)
            s[f"{p}.dw.bias"] = (c,)
            if self.act == "prelu":
                s[f"{p}.act2.weight"] = (c,)
            s[f"{p}.norm2.weight"] = (c,)
            s[f"{p}.norm2.bias"] = (c,)
            s[f"{p}.pw2.weight"] = (r, c, 1)
            s[f"{p}.pw2.bias"] = (r,)
            if self.gated:
                if self.gate_hidden:
                    g = self.gate_hidden
                    s[f"{p}.gate.hidden.weight"] = (g, r, 1)
                    s[f"{p}.gate.hidden.bias"] = (g,)
                    s[f"{p}.gate.out.weight"] = (c, g, 1)
                else:
                    s[f"{p}.gate.out.weight"] = (c, r, 1)
                s[f"{p}.gate.out.bias"] = (c,)
        s["backend.weight"] = (nb, r, 1)
        s["backend.bias"] = (nb,)
        return s

    # ---- cost ---------------------------------------------------------------------

    def n_params(self) -> int:
        return sum(configio.prod(v) for v in self.parameter_shapes().values())

    def io_macs(self) -> int:
        """Front end + back end MACs of one frame (never skipped)."""
        return 2 * self.n_bins * self.residual

    def macs(self, kept: list[int] | tuple[int, ...] | None = None) -> int:
        """Network MACs of one frame, ``kept[i]`` conv channels evaluated in block i (all when None)."""
        bl = self.blocks()
        if kept is not None and len(kept) != len(bl):
            raise ConfigError(f"{self.name}: kept needs {len(bl)} entries, one per block, got {len(kept)}")
        return self.io_macs() + sum(b.macs(None if kept is None else int(kept[i])) for i, b in enumerate(bl))

    def static_macs(self) -> int:
        """MACs of one frame of the ungated network (the static baseline)."""
        return self.static().macs()

    def cost(self) -> dict[str, Any]:
        return {
            "params": self.n_params(),
            "macs_all_kept": self.macs(),
            "macs_static": self.static_macs(),
            "macs_io": self.io_macs(),
            "macs_gates": sum(b.gate_macs() for b in self.blocks()),
            "macs_per_kept_channel": self.blocks()[0].channel_macs(),
            "receptive_field_frames": self.receptive_field(),
        }


CONFIGS: Mapping[str, DyncpConfig] = MappingProxyType(
    {
        # As published: R=128, C=256, 3 stacks x 3 blocks (B0-B8). A GPU configuration.
        "dyncp-full": DyncpConfig("dyncp-full"),
        # CPU-trainable default: same depth (9 gated blocks), a quarter of the width product.
        "dyncp-small": DyncpConfig("dyncp-small", residual=64, conv=128, gate_hidden=16),
        # Tiny, for tests and smoke runs.
        "dyncp-tiny": DyncpConfig("dyncp-tiny", residual=12, conv=16, stacks=2, blocks_per_stack=3, gate_hidden=4),
    }
)
DEFAULT_CONFIG = "dyncp-small"


def get_config(name: str) -> DyncpConfig:
    """A named configuration (see CONFIGS), or a config.json path."""
    return configio.get_named(name, CONFIGS, DyncpConfig.load, "DynCP")
