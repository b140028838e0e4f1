"""The nsNet2 denoiser as a task of the mixed-precision GRU search (docs/mpgru.md).

nsnet2-small's two GRU layers (gru1, gru2: 128 -> 128) are quantised again at a genome (the same
genome for both layers) from the float weights, each at its stored input quantisation; everything
else (front end, int8 FC layers, sigmoid head, back end) is the shipped integer model unchanged
(bench.models.nsnet2), final exit. A genome's figures: ``size`` = both GRU layers' weights and
biases in bits, ``error`` = 4.644 - mean PESQ-WB of the enhanced speech (4.644: PESQ-WB's ceiling,
so that lower is better), ``pesq_wb`` and ``stoi`` themselves.

Speech: the mpgru speech test set (build/mpgru/speech-test-v2) split by voice as the other speech
tasks (bench.data.speechsplit), ``UTTS`` utterances per half. Caveat: nsnet2-small was trained on
generated speech of all twelve voices, so here only the sentences are unseen, not the voices.

The network runs batched over the utterances (frame t of every utterance at once, the GRU states
as (N, H) arrays): the same integer arithmetic as bench.models.nsnet2.golden.enhance per utterance."""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import ConfigError
from bench.models.common import fft32
from bench.models.common import gru_int as gi

MODEL = "models/nsnet2/nsnet2-small"
GRU_LAYERS = ("gru1", "gru2")
PESQ_WB_MAX = 4.644
UTTS = 12
FINAL_EXIT = 4


class Nsnet2GruTask:
    """Figures of a genome on the nsNet2 denoiser (``__call__``), on the search or the report half."""

    def __init__(self, model_dir: str | Path = MODEL, utts: int = UTTS, set_dir: Path | None = None):
        from bench.models.mpgru.tasks import speech_set_dir
        from bench.models.nsnet2.quantize import QuantModel
        from bench.models.nsnet2.reference import Nsnet2Model
        from bench.paths import repo_root

        d = Path(model_dir) if Path(model_dir).is_absolute() else repo_root() / model_dir
        self.model_dir = d
        self.qm = QuantModel.load(d / "int8.npz")
        self.params = Nsnet2Model.load(d).params
        self.utts = utts
        self.set_dir = set_dir or speech_set_dir("test")

    @cached_property
    def halves(self) -> dict[str, list[Any]]:
        from bench.data.loader import load_set
        from bench.data.speakers import speaker_of
        from bench.data.speechsplit import voices_for

        out: dict[str, list[Any]] = {"search": [], "report": []}
        for u in load_set(self.set_dir):
            voice = speaker_of(u) or ""
            for half in out:
                if voice in voices_for(half) and len(out[half]) < self.utts and u.clean is not None:
                    out[half].append(u)
        return out

    def quant_model(self, g: gi.GruBits) -> Any:
        """The shipped integer model with both GRU layers at genome ``g`` (kernel widths checked)."""
        layers = dict(self.qm.layers)
        for name in GRU_LAYERS:
            L = layers[name]
            gq = L.gru
            if gq is None:
                raise ConfigError(f"{self.model_dir}: layer {name} is not a GRU")
            gi.check_genome(g, gq.input_size, gq.hidden_size)
            p = self.params
            new = gi.quantize_gru(p[f"{name}.weight_ih_l0"], p[f"{name}.weight_hh_l0"], p[f"{name}.bias_ih_l0"],
                                  p[f"{name}.bias_hh_l0"], bits=gi.as_genome(g), x_scale=gq.x_scale,
                                  x_zero_point=gq.x_zero_point)
            layers[name] = dataclasses.replace(L, gru=new)
        return dataclasses.replace(self.qm, layers=layers)

    def model_bits(self, g: gi.GruBits) -> int:
        gg = gi.as_genome(g)
        return sum(gg.model_bits(self.qm.layers[n].n_in, self.qm.layers[n].n_out) for n in GRU_LAYERS)

    def table_bytes(self, g: gi.GruBits) -> int:
        return sum(gi.mp_table_bytes(self.qm.layers[n].n_in, self.qm.layers[n].n_out, g) for n in GRU_LAYERS)

    def enhance(self, qm: Any, utts: list[Any]) -> list[np.ndarray]:
        """int16 outputs of the utterances (aligned with the inputs), batched golden model."""
        from bench.models.nsnet2 import golden as ng

        fronts = [_front(qm, u.noisy) for u in utts]
        t_max = max(f[0].shape[0] for f in fronts)
        feats = np.zeros((len(utts), t_max, ng.N_BINS), np.int8)
        for i, (f, _, _, _) in enumerate(fronts):
            feats[i, :len(f)] = f
        net = ng.GoldenNet(qm, FINAL_EXIT)
        net.state = {n: np.zeros((len(utts), s.shape[0]), np.int16) for n, s in net.state.items()}
        masks = np.zeros((len(utts), t_max, ng.N_BINS), np.int16)
        for t in range(t_max):
            a = feats[:, t]
            for spec in net.chain:
                a = net.layer(spec.name, a)
            masks[:, t] = a
        outs = []
        for i, (f, xr, xi, n) in enumerate(fronts):
            gf = masks[i, :len(f)].astype(ng.F32) * ng.Q15
            y = ng.irfft320(xr * gf, xi * gf) * ng.tables()["NN_WIN_SYN"]
            raw = fft32.f2i16(fft32.overlap_add_hops(y, ng.HOP_LEN))
            outs.append(raw[ng.HOP_LEN:ng.HOP_LEN + n])
        return outs

    def scores(self, g: gi.GruBits, half: str = "search") -> dict[str, float]:
        from bench.metrics.quality import pesq_wb, stoi

        utts = self.halves[half]
        outs = self.enhance(self.quant_model(g), utts)
        pw = [float(pesq_wb(u.clean, o, u.sample_rate)) for u, o in zip(utts, outs, strict=True)]
        st = [float(stoi(u.clean, o, u.sample_rate)) for u, o in zip(utts, outs, strict=True)]
        pesq = float(np.mean([v for v in pw if math.isfinite(v)]))
        return {"pesq_wb": pesq, "stoi": float(np.mean(st)), "error": PESQ_WB_MAX - pesq}


def _front(qm: Any, noisy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(int8 features (T + 1, 161), spectra xr, xi, samples) of one utterance, as golden.enhance."""
    from bench.models.nsnet2 import golden as ng

    x = np.asarray(noisy, np.int16).reshape(-1)
    t = -(-x.size // ng.HOP_LEN) + 1
    frames = ng.int_frames(x, t)
    xr, xi = ng.rfft320(frames)
    return ng.features_int8(xr, xi, qm.feat_a, qm.feat_b), xr, xi, x.size


class Nsnet2Evaluator:
    """The search's evaluator (bench.models.mpgru.evaluate.Evaluator's calls) for the nsNet2 task:
    figures cached by genome; with a ``meter`` (a TargetMeter on the mpgru-nsnet2-an386 image) also
    instructions per network step on target (both GRU layers, bench.models.mpgru.nsnet2meter)."""

    def __init__(self, cache_path: Path | None = None, model_dir: str | Path = MODEL, utts: int = UTTS,
                 meter: Any = None, instr_cache: Path | None = None, set_dir: Path | None = None):
        from bench.models.mpgru.search import EvalCache

        self.task = Nsnet2GruTask(model_dir, utts, set_dir)
        self.model_name = self.task.model_dir.name
        self.cache = EvalCache.open(cache_path)
        self.icache = EvalCache.open(instr_cache)
        self.meter = meter

    def instructions(self, g: gi.GruBits) -> dict[str, Any]:
        """Instructions per network step (gru1 + gru2) measured on target, cached per image and genome."""
        from bench.models.mpgru import nsnet2meter

        if self.meter is None:
            raise ConfigError("the nsnet2 task's instructions objective needs its meter image "
                              f"{nsnet2meter.METER_IMAGE} (nsNet2's 128 x 128 GRUs on mps2-an386): build it with "
                              f"`bench search mpgru --task nsnet2 --build-images {nsnet2meter.METER_IMAGE} "
                              "--images-dir DIR` and pass --images-dir DIR to the search")
        e = self.meter.entry
        key = f"{e.name}:{e.sha256[:12]}:{self.model_name}:{gi.as_genome(g).label()}"
        hit = self.icache.get(key)
        if hit is not None:
            return hit
        out = nsnet2meter.measure(self.meter, self.task, g)
        self.icache.put(key, out)
        return out

    def __call__(self, g: gi.GruBits) -> dict[str, Any]:
        key = gi.as_genome(g).label()
        hit = self.cache.get(key)
        image = None if self.meter is None else self.meter.entry.sha256
        if hit is not None and (image is None or hit.get("image_sha256") == image):
            return hit
        if hit is not None:  # host figures cached (the slow part): kept, the counts measured
            figs: dict[str, Any] = dict(hit)
        else:
            figs = {"size": self.task.model_bits(g), "table_bytes": self.task.table_bytes(g),
                    **self.task.scores(g, "search")}
        if self.meter is not None:
            figs.update(self.instructions(g), image_sha256=image)
        self.cache.put(key, figs)
        return figs

    def report_error(self, genome: list[int] | tuple[int, ...]) -> float:
        return self.task.scores(gi.GruGenome.from_genome(genome), "report")["error"]

    def baselines(self) -> list[dict[str, Any]]:
        from bench.models.mpgru.evaluate import HOMOGENEOUS

        out = []
        for w in HOMOGENEOUS:
            g = gi.GruGenome.homogeneous(w, 16, 32)
            rep = self.task.scores(g, "report")
            out.append({"label": f"homogeneous {w}-bit", "weight_bits": w, "genome": list(g.genome()),
                        **self(g), "report_error": rep["error"], "report_pesq_wb": rep["pesq_wb"],
                        "report_stoi": rep["stoi"]})
        return out
