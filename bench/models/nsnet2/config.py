"""Configurations of the early-exit nsNet2 family (frozen, validated) and their cost model.

Topology (nsNet2, the DNS-challenge baseline, with configurable widths)::

    161 log-power bins -> fc1 (ReLU) -> gru1 -> gru2 -> fc2 (ReLU) -> fc3 (ReLU) -> fc4 (sigmoid, 161)

Blocks are named ``fc1 gru1 gru2 fc2 fc3``; ``fc4`` is the final output layer. An *early
exit* may sit after any of the five blocks; every exit ends in a linear head to 161 bins
with a sigmoid (a gain mask), exactly like fc4. ``exit_kind`` picks how an exit gets its
features (see docs/nsnet2.md, "split-layer interpretation"):

``linear``      the head reads the trunk block's output directly.
``split``       the block the exit sits after is duplicated: a copy with its own weights reads
                the same input as the trunk block and feeds only the head, so the exit loss
                never reaches the trunk block's output (the features the next block needs).
``split_next``  the block *after* the exit is duplicated: a copy of the next trunk layer
                reads the trunk block's output and feeds the head (for the exit before fc4
                the copy of fc4 *is* the head, so it equals ``linear`` there).

Exit ``k`` (0-based) of a configuration with E early exits is early exit ``k`` for
``k < E`` and the final fc4 output for ``k == E``; there are ``n_exits = E + 1`` outputs.

Parameter names follow PyTorch's layout (``weight`` (out, in), GRU ``weight_ih_l0`` (3H, I),
gate order r, z, n); :func:`parameter_shapes` lists them, and weights.npz holds exactly these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from bench.errors import ConfigError
from bench.models.common import configio

SAMPLE_RATE = 16000
FRAME_LEN = 320  # 20 ms analysis window
HOP_LEN = 160  # 10 ms hop
N_FFT = 320
N_BINS = N_FFT // 2 + 1  # 161
BLOCKS = ("fc1", "gru1", "gru2", "fc2", "fc3")
EXIT_KINDS = ("linear", "split", "split_next")
FINAL = "fc4"
# No exit after fc3 by default: its head would be a second fc4, the same cost as the final output.
DEFAULT_EXITS = ("fc1", "gru1", "gru2", "fc2")


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the trunk or of an exit branch."""

    name: str  # parameter prefix, e.g. "fc1" or "exit1.branch"
    kind: str  # "fc" or "gru"
    n_in: int
    n_out: int
    act: str  # "relu", "sigmoid", or "gru"

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one frame (matrix products only; GRU: both matmuls)."""
        if self.kind == "gru":
            return 3 * self.n_out * (self.n_in + self.n_out)
        return self.n_in * self.n_out

    @property
    def params(self) -> int:
        if self.kind == "gru":
            return 3 * self.n_out * (self.n_in + self.n_out) + 6 * self.n_out
        return self.n_in * self.n_out + self.n_out

    @property
    def elementwise(self) -> int:
        """Nonlinear activations per frame (sigmoid/tanh/ReLU evaluations)."""
        return 3 * self.n_out if self.kind == "gru" else self.n_out

    def shapes(self) -> dict[str, tuple[int, ...]]:
        if self.kind == "gru":
            h, i = self.n_out, self.n_in
            return {
                f"{self.name}.weight_ih_l0": (3 * h, i),
                f"{self.name}.weight_hh_l0": (3 * h, h),
                f"{self.name}.bias_ih_l0": (3 * h,),
                f"{self.name}.bias_hh_l0": (3 * h,),
            }
        return {f"{self.name}.weight": (self.n_out, self.n_in), f"{self.name}.bias": (self.n_out,)}


@dataclass(frozen=True)
class ExitSpec:
    """Early exit ``index``: after trunk block ``after``; optional branch layer, then head."""

    index: int
    after: str  # trunk block name
    branch: LayerSpec | None
    head: LayerSpec

    @property
    def prefix(self) -> str:
        return f"exit{self.index}"


@dataclass(frozen=True)
class Nsnet2Config(configio.ConfigIO):
    """An early-exit nsNet2 configuration. Widths are unit counts of fc1, gru1, gru2, fc2, fc3."""

    LABEL: ClassVar[str] = "nsNet2"
    TUPLES: ClassVar[tuple[str, ...]] = ("exits",)

    name: str
    fc1: int = 400
    gru1: int = 400
    gru2: int = 400
    fc2: int = 600
    fc3: int = 600
    exits: tuple[str, ...] = DEFAULT_EXITS
    exit_kind: str = "split"
    log_eps: float = 1e-9
    sample_rate: int = SAMPLE_RATE
    frame_len: int = FRAME_LEN
    hop_len: int = HOP_LEN
    n_fft: int = N_FFT

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise ConfigError(f"config name {self.name!r} must be non-empty letters, digits, '-', '_' or '.'")
        for b in BLOCKS:
            w = getattr(self, b)
            if not isinstance(w, int) or not 1 <= w <= 4096:
                raise ConfigError(f"{self.name}: width {b}={w!r} must be an integer in 1..4096")
        if len(set(self.exits)) != len(self.exits) or any(e not in BLOCKS for e in self.exits):
            raise ConfigError(f"{self.name}: exits {self.exits} must be distinct block names from {BLOCKS}")
        if list(self.exits) != sorted(self.exits, key=BLOCKS.index):
            raise ConfigError(f"{self.name}: exits {self.exits} must be in network order {BLOCKS}")
        if self.exit_kind not in EXIT_KINDS:
            raise ConfigError(f"{self.name}: exit_kind {self.exit_kind!r} must be one of {EXIT_KINDS}")
        if not 0.0 < self.log_eps < 1e-3:
            raise ConfigError(f"{self.name}: log_eps {self.log_eps} must be in (0, 1e-3)")
        configio.check_stft(self, "nsNet2", (SAMPLE_RATE, FRAME_LEN, HOP_LEN, N_FFT))

    # ---- topology -------------------------------------------------------------------

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def n_exits(self) -> int:
        """Outputs: the early exits plus the final fc4 output."""
        return len(self.exits) + 1

    def trunk(self) -> tuple[LayerSpec, ...]:
        """The six trunk layers fc1 .. fc4."""
        w = {b: getattr(self, b) for b in BLOCKS}
        return (
            LayerSpec("fc1", "fc", self.n_bins, w["fc1"], "relu"),
            LayerSpec("gru1", "gru", w["fc1"], w["gru1"], "gru"),
            LayerSpec("gru2", "gru", w["gru1"], w["gru2"], "gru"),
            LayerSpec("fc2", "fc", w["gru2"], w["fc2"], "relu"),
            LayerSpec("fc3", "fc", w["fc2"], w["fc3"], "relu"),
            LayerSpec(FINAL, "fc", w["fc3"], self.n_bins, "sigmoid"),
        )

    def exit_specs(self) -> tuple[ExitSpec, ...]:
        trunk = self.trunk()
        out = []
        for k, after in enumerate(self.exits):
            i = BLOCKS.index(after)
            p = f"exit{k}"
            branch: LayerSpec | None = None
            if self.exit_kind == "split":
                t = trunk[i]
                branch = LayerSpec(f"{p}.branch", t.kind, t.n_in, t.n_out, t.act)
            elif self.exit_kind == "split_next" and trunk[i + 1].name != FINAL:
                t = trunk[i + 1]
                branch = LayerSpec(f"{p}.branch", t.kind, t.n_in, t.n_out, t.act)
            feat = branch.n_out if branch is not None else trunk[i].n_out
            out.append(ExitSpec(k, after, branch, LayerSpec(f"{p}.head", "fc", feat, self.n_bins, "sigmoid")))
        return tuple(out)

    def exit_name(self, k: int) -> str:
        """Human name of output ``k``: 'exit0 (after fc1)' ... 'final (fc4)'."""
        self._check_exit(k)
        if k == len(self.exits):
            return f"final ({FINAL})"
        return f"exit{k} (after {self.exits[k]})"

    def _check_exit(self, k: int) -> None:
        if not isinstance(k, int) or not 0 <= k < self.n_exits:
            raise ConfigError(f"{self.name}: exit {k!r} out of range; this config has exits 0..{self.n_exits - 1}")

    def layers_for_exit(self, k: int) -> tuple[LayerSpec, ...]:
        """Layers evaluated per frame when exit ``k`` is taken statically (in order)."""
        self._check_exit(k)
        trunk = self.trunk()
        if k == len(self.exits):
            return trunk
        e = self.exit_specs()[k]
        i = BLOCKS.index(e.after)
        layers: list[LayerSpec] = list(trunk[:i]) if self.exit_kind == "split" else list(trunk[: i + 1])
        if e.branch is not None:  # split: the branch replaces trunk block i
            layers.append(e.branch)
        return (*layers, e.head)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter array: name -> shape (PyTorch layout)."""
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in self.trunk():
            shapes.update(layer.shapes())
        for e in self.exit_specs():
            if e.branch is not None:
                shapes.update(e.branch.shapes())
            shapes.update(e.head.shapes())
        return shapes

    # ---- cost ---------------------------------------------------------------------

    def n_params(self) -> int:
        return sum(configio.prod(s) for s in self.parameter_shapes().values())

    def macs_for_exit(self, k: int) -> int:
        """Network MACs of one frame when exit ``k`` is taken statically."""
        return sum(layer.macs for layer in self.layers_for_exit(k))

    def params_for_exit(self, k: int) -> int:
        """Parameters a firmware that only ever takes exit ``k`` must store."""
        return sum(layer.params for layer in self.layers_for_exit(k))

    def cost_table(self) -> list[dict[str, Any]]:
        """One row per exit: name, MACs per frame, parameters needed."""
        return [
            {"exit": k, "name": self.exit_name(k), "macs": self.macs_for_exit(k), "params": self.params_for_exit(k)}
            for k in range(self.n_exits)
        ]


CONFIGS: Mapping[str, Nsnet2Config] = MappingProxyType(
    {
        # As published (DNS-challenge nsNet2 baseline widths), exits after every block.
        "nsnet2-full": Nsnet2Config("nsnet2-full"),
        # CPU-trainable default: 128 units everywhere (~1/10 of the full MACs).
        "nsnet2-small": Nsnet2Config("nsnet2-small", fc1=128, gru1=128, gru2=128, fc2=128, fc3=128),
        # Same widths, plain linear heads on the trunk (no duplicated layers).
        "nsnet2-small-linear": Nsnet2Config(
            "nsnet2-small-linear", fc1=128, gru1=128, gru2=128, fc2=128, fc3=128, exit_kind="linear"
        ),
        # Tiny, for tests and smoke runs.
        "nsnet2-tiny": Nsnet2Config("nsnet2-tiny", fc1=16, gru1=12, gru2=12, fc2=20, fc3=20),
    }
)
DEFAULT_CONFIG = "nsnet2-small"


def get_config(name: str) -> Nsnet2Config:
    """A named configuration (see CONFIGS), or a config.json path."""
    return configio.get_named(name, CONFIGS, Nsnet2Config.load, "nsNet2")
