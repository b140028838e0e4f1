"""NSGA-II over the genomes of the mixed-precision GRU (pymoo 0.6.2, the `search` extra).

Genes (18, integers, rounding repair): six weight widths as an index into 2..8 (every width has a
kernel), ten activation widths 4..16 (pre-activations, sigmoid / tanh outputs, products, state), two
bias widths as an index into (8, 16, 32). Objectives, all minimised: ``size`` (model bits: every
weight and bias at its width), ``error`` (task error of the host golden model on the search half of
the test split), optionally ``instructions`` (QEMU instructions per GRU step, measured on target by
a callback; cached per genome: the count does not depend on weight values beyond data-dependent
branches, docs/mpgru.md).

Determinism and resume: generation g is one pymoo NSGA-II step started from the saved population
with the seed (seed, g); the population is checkpointed after every generation (JSON), so a killed
search resumes from its last checkpoint to the very result of an uninterrupted one (every evaluation
is deterministic and cached)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import ConfigError
from bench.models.common import gru_int as gi

WEIGHT_CHOICES = gi.KERNEL_WEIGHT_BITS  # 2..8
BIAS_CHOICES = (8, 16, 32)
ACT_RANGE = (4, 16)
OBJECTIVES = ("size", "error", "instructions")
N_W, N_A, N_B = 6, 10, 2


def bounds() -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([0] * N_W + [ACT_RANGE[0]] * N_A + [0] * N_B)
    hi = np.array([len(WEIGHT_CHOICES) - 1] * N_W + [ACT_RANGE[1]] * N_A + [len(BIAS_CHOICES) - 1] * N_B)
    return lo, hi


def decode(x: Sequence[float] | np.ndarray) -> gi.GruGenome:
    v = [int(round(float(a))) for a in x]
    lo, hi = bounds()
    v = [int(min(max(a, int(lo[i])), int(hi[i]))) for i, a in enumerate(v)]
    genes = [WEIGHT_CHOICES[a] for a in v[:N_W]] + v[N_W:N_W + N_A] + [BIAS_CHOICES[a] for a in v[N_W + N_A:]]
    return gi.GruGenome.from_genome(genes)


def encode(g: gi.GruBits) -> np.ndarray:
    gg = gi.as_genome(g).genome()
    w = [WEIGHT_CHOICES.index(b) for b in gg[:N_W]]
    b = [BIAS_CHOICES.index(b) for b in gg[N_W + N_A:]]
    return np.array(w + list(gg[N_W:N_W + N_A]) + b)


@dataclass
class EvalCache:
    """genome label -> figures, kept in a JSON file (written atomically after every change)."""

    path: Path | None
    data: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path | None) -> EvalCache:
        if path is not None and path.is_file():
            return cls(path, json.loads(path.read_text()))
        return cls(path)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = value
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
            os.replace(tmp, self.path)


@dataclass(frozen=True)
class SearchOptions:
    objectives: tuple[str, ...] = ("size", "error")
    pop: int = 24
    gens: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        bad = [o for o in self.objectives if o not in OBJECTIVES]
        if bad or len(self.objectives) < 2 or len(set(self.objectives)) != len(self.objectives):
            raise ConfigError(f"objectives must be two or three of {', '.join(OBJECTIVES)}, got {self.objectives}")
        if self.pop < 4 or self.gens < 1:
            raise ConfigError("need --pop >= 4 and --gens >= 1")


def _seed(seed: int, gen: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{gen}".encode()).digest()[:4], "little")


def initial_population(opts: SearchOptions) -> np.ndarray:
    """Homogeneous 8 / 6 / 4 / 2-bit genomes (activations 16 and 8) plus random ones."""
    lo, hi = bounds()
    seeds = [encode(gi.GruGenome.homogeneous(w, a, 32)) for w in (8, 6, 4, 2) for a in (16, 8)]
    rng = np.random.default_rng(_seed(opts.seed, -1))
    rand = [rng.integers(lo, hi + 1) for _ in range(max(0, opts.pop - len(seeds)))]
    return np.array((seeds + rand)[:opts.pop], dtype=float)


def run_search(opts: SearchOptions, evaluate: Callable[[gi.GruGenome], dict[str, float]],
               checkpoint: Path | None = None, progress: Callable[[int, int], None] | None = None,
               ) -> dict[str, Any]:
    """The search; ``evaluate(genome)`` returns the objectives (cached by the caller). Returns
    {"generations": [...], "population": [...], "front": [...]} with each genome's figures."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    lo, hi = bounds()
    n_obj = len(opts.objectives)

    class GenomeProblem(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=len(lo), n_obj=n_obj, xl=lo, xu=hi, vtype=int)

        def _evaluate(self, x: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            rows = []
            for row in x:
                figs = evaluate(decode(row))
                rows.append([float(figs[o]) for o in opts.objectives])
                if progress is not None:
                    progress(1, 0)
            out["F"] = np.array(rows)

    state: dict[str, Any] = {"gen": 0, "X": initial_population(opts).tolist(), "history": []}
    if checkpoint is not None and checkpoint.is_file():
        saved = json.loads(checkpoint.read_text())
        if saved.get("options") != _opts_doc(opts):
            raise ConfigError(f"{checkpoint} belongs to another search ({saved.get('options')}); "
                              "remove it or use the same options")
        state = saved
    problem = GenomeProblem()
    while state["gen"] < opts.gens:
        t_gen = time.monotonic()
        g = state["gen"]
        algo = NSGA2(pop_size=opts.pop, sampling=np.array(state["X"], dtype=float),
                     crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                     mutation=PM(eta=20, vtype=float, repair=RoundingRepair()), eliminate_duplicates=True)
        algo.setup(problem, termination=("n_gen", 2), seed=_seed(opts.seed, g), verbose=False)
        algo.next()   # the saved population: evaluated (cached) and ranked
        algo.next()   # one generation: mating, evaluation, survival
        x = np.asarray(algo.pop.get("X"), dtype=float)
        state = {"gen": g + 1, "X": x.round().tolist(),
                 "history": state["history"] + [{"gen": g + 1, "n_evals": int(algo.evaluator.n_eval)}],
                 "options": _opts_doc(opts),
                 "seconds": round(float(state.get("seconds", 0.0)) + time.monotonic() - t_gen, 1)}
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = checkpoint.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, checkpoint)
        if progress is not None:
            progress(0, 1)
    pop = [decode(x) for x in state["X"]]
    figs = [evaluate(gn) for gn in pop]
    f = np.array([[float(fg[o]) for o in opts.objectives] for fg in figs])
    front_idx = NonDominatedSorting().do(f, only_non_dominated_front=True)
    uniq: dict[str, dict[str, Any]] = {}
    for i in sorted(int(k) for k in front_idx):
        uniq.setdefault(pop[i].label(), {"genome": list(pop[i].genome()), **figs[i]})
    front = sorted(uniq.values(), key=lambda d: (d["size"], d["error"]))
    return {"options": _opts_doc(opts), "generations": state["history"], "search_seconds": state.get("seconds"),
            "population": [{"genome": list(gn.genome()), **fg} for gn, fg in zip(pop, figs, strict=True)],
            "front": front}


def _opts_doc(opts: SearchOptions) -> dict[str, Any]:
    return {"objectives": list(opts.objectives), "pop": opts.pop, "gens": opts.gens, "seed": opts.seed}
