"""A genome's figures for the search: model bits, task error of the golden model (search half of the
test split), GRU table bytes, and (with a target meter) instructions / cycles_est per GRU step on
target, checked bit-exact against the golden model's logits. Everything is cached by genome."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.errors import ConfigError
from bench.models.common import gru_int as gi
from bench.models.mpgru.model import QModel, int_error, load_model, quantize_model
from bench.models.mpgru.search import EvalCache
from bench.models.mpgru.tasks import halves, load_split

PROBE_FRAMES = 64  # frames of the first search sequence(s) run on target per genome
HOMOGENEOUS = (8, 6, 5, 4, 2)


class Evaluator:
    def __init__(self, model: str, task: str, cache_path: Any = None, meter: Any = None,
                 instr_cache: Any = None):
        self.m = load_model(model)
        self.model_name = self.m.cfg.name
        self.search_split, self.report_split = halves(load_split(task, "test"))
        self.qm8 = quantize_model(self.m, gi.GruGenome.homogeneous(8, 16, 32))
        self.cache = EvalCache.open(cache_path)
        self.icache = EvalCache.open(instr_cache)
        self.meter = meter
        xs = [self.qm8.quantize_input(x) for x in self.search_split.xs]
        probe = np.concatenate(xs)[:PROBE_FRAMES] if len(xs[0]) < PROBE_FRAMES else xs[0][:PROBE_FRAMES]
        self.probe = probe.astype(np.int8)

    def quantize(self, g: gi.GruBits) -> QModel:
        return quantize_model(self.m, g)

    def instructions(self, qm: QModel) -> dict[str, Any]:
        if self.meter is None:
            raise ConfigError("instructions need a target meter (an mpgru image on a target)")
        e = self.meter.entry
        key = f"{e.name}:{e.sha256[:12]}:{self.model_name}:{qm.genome.label()}"
        hit = self.icache.get(key)
        if hit is not None:
            return hit
        r = self.meter.measure(gi.mp_blob(qm.gru), self.probe)
        _, logits = qm.run(self.probe)
        out = {"instructions": float(np.mean(r["gru"])), "instructions_head": float(np.mean(r["head"])),
               "bit_exact": bool(np.array_equal(np.asarray(r["logits"]), logits.astype(np.int64)))}
        if "cycles_est_gru" in r:
            out["cycles_est"] = float(np.mean(r["cycles_est_gru"]))
        self.icache.put(key, out)
        return out

    def __call__(self, g: gi.GruBits) -> dict[str, Any]:
        key = gi.as_genome(g).label()
        hit = self.cache.get(key)
        image = None if self.meter is None else self.meter.entry.sha256
        if hit is not None and (image is None or hit.get("image_sha256") == image):
            return hit
        qm = self.quantize(g)
        if hit is not None:  # host figures cached; counts from another image build are measured again
            figs: dict[str, Any] = {k: hit[k] for k in ("size", "error", "table_bytes")}
        else:
            figs = {"size": qm.model_bits(), "error": int_error(qm, self.search_split),
                    "table_bytes": qm.table_bytes()}
        if self.meter is not None:
            figs.update(self.instructions(qm), image_sha256=image)
        self.cache.put(key, figs)
        return figs

    def report_error(self, genome: list[int] | tuple[int, ...]) -> float:
        return int_error(self.quantize(gi.GruGenome.from_genome(genome)), self.report_split)

    def baselines(self) -> list[dict[str, Any]]:
        """Homogeneous points: weights 8 / 6 / 5 / 4 / 2 bits, activations 16, biases 32 (every width
        runs on the kernels: their instructions are measured too when there is a meter)."""
        out = []
        for w in HOMOGENEOUS:
            g = gi.GruGenome.homogeneous(w, 16, 32)
            qm = quantize_model(self.m, g)
            d: dict[str, Any] = {"label": f"homogeneous {w}-bit", "weight_bits": w, "genome": list(g.genome()),
                                 "size": qm.model_bits(), "table_bytes": qm.table_bytes(),
                                 "error": int_error(qm, self.search_split),
                                 "report_error": int_error(qm, self.report_split)}
            if self.meter is not None:
                d.update(self.instructions(qm))
            out.append(d)
        return out
