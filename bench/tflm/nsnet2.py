"""Early-exit nsNet2 as a standard int8/int16 TFLite-Micro graph, and TFLM as its integer reference.

`export(qm, exit_k)` writes the network of one static exit (features in, gain mask out) as a
.tflite of TFLM builtin operators only, with the arithmetic of our golden model
(bench.models.nsnet2.golden.GoldenNet) operator for operator:

* fc layers: FULLY_CONNECTED int8 per channel, fused ReLU (act_min = output zero point);
* GRU layers: the cell as a graph (QUANTIZE int8 -> int16, 6 x FULLY_CONNECTED 16x8, ADD,
  LOGISTIC, TANH, MUL, SUB from 1.0), then QUANTIZE int16 Q0.15 -> int8 for the next layer;
* heads / fc4: QUANTIZE int8 -> int16 (same scale: exact), FULLY_CONNECTED 16x8 to Q3.12,
  LOGISTIC int16 -> Q0.15 gains.

The front end (STFT, log2, per-bin affine map to int8) and the back end (gain x spectrum,
inverse STFT, overlap-add) stay outside the graph, in float32, as on our target: a lab's
TFLM firmware runs them around `Invoke()`.

**Streaming state is explicit.** Inputs: ``features`` (1, 161) int8, then one (1, H) int16
Q0.15 state per GRU of the exit's chain; outputs: ``gains`` (1, 161) int16 Q0.15, then the
new states in the same order. The caller copies each new state to its input before the next
frame (zeros at the start of an utterance). TFLM's resource variables could hold them inside
the graph, but explicit state keeps the graph to plain builtin operators that every TFLM
build and converter has, and lets the host reset it between utterances. The model's
description is a JSON document naming the exit and the state order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import ConfigError
from bench.models.common import gru_int as gi
from bench.models.common import int8ops as q8
from bench.models.nsnet2.golden import GoldenFrame, GoldenOut, enhance
from bench.models.nsnet2.quantize import Q_PRE, QuantLayer, QuantModel
from bench.tflm.graph import Graph, Interpreter, T, read_description

FORMAT = "bench-nsnet2-tflite/1"
S_ACT = 2.0**-15


def add_gru_cell(g: Graph, x: T, h: T, q: gi.GruQuant) -> T:
    """One integer GRU step (gru_int.gru_cell_int, default GruBits) as TFLM operators; x int8
    (1, I) at (q.x_scale, q.x_zero_point), h int16 (1, H) Q0.15. Returns h' (1, H) Q0.15."""
    hs = q.hidden_size
    x16 = g.quantize(x, "int16", q.x_scale, 0)
    gates: dict[str, T] = {}
    for side, inp, w_all, b_all, s_w_all in (("x", x16, q.w_ih, q.b_ih, q.s_wih), ("h", h, q.w_hh, q.b_hh, q.s_whh)):
        for i, gate in enumerate(gi.GATES):
            rows = slice(i * hs, (i + 1) * hs)
            gates[side + gate] = g.fully_connected(inp, w_all[rows], b_all[rows], s_w_all[rows], Q_PRE, 0)
    r = g.logistic(g.add(gates["xr"], gates["hr"], Q_PRE), S_ACT)
    z = g.logistic(g.add(gates["xz"], gates["hz"], Q_PRE), S_ACT)
    n = g.tanh(g.add(gates["xn"], g.mul(r, gates["hn"], Q_PRE), Q_PRE), S_ACT)
    one = g.const(np.full((1, hs), 32767, np.int16), "int16", S_ACT)
    zn = g.mul(g.sub(one, z, S_ACT), n, S_ACT)
    return g.add(zn, g.mul(z, h, S_ACT), S_ACT)


def _layer(g: Graph, L: QuantLayer, x: T, states_in: list[T], states_out: list[T]) -> T:
    if L.kind == "fc":
        return g.fully_connected(x, L.w, L.b, _w_scales(L), L.out_scale, L.out_zero_point,
                                 fused_relu=L.act_min == max(-128, L.out_zero_point))
    if L.kind == "gru":
        assert L.gru is not None
        h = g.input((1, L.n_out), "int16", S_ACT, 0, name=f"{L.name}.h")
        h_new = add_gru_cell(g, x, h, L.gru)
        states_in.append(h)
        states_out.append(h_new)
        return g.quantize(h_new, "int8", L.out_scale, L.out_zero_point)
    x16 = g.quantize(x, "int16", L.in_scale, 0)
    return g.logistic(g.fully_connected(x16, L.w, L.b, _w_scales(L), Q_PRE, 0), S_ACT)


def _w_scales(L: QuantLayer) -> np.ndarray:
    """Per-channel float32 weight scales that make TFLM's Prepare compute exactly the layer's
    stored (multiplier, shift): int8.npz keeps the integer multipliers, not the scales. The
    scale is solved from ``M 2^(shift-31) = s_in s_w / s_out`` and rounded to float32 (the
    multiplier's 31 bits pin it far below a float32 ulp); neighbours are tried if needed, and
    every channel is verified with TFLM's own formula (int8ops.fc_multipliers)."""
    s_out = Q_PRE if L.kind == "head" else L.out_scale
    real = L.mult.astype(np.float64) * np.exp2(L.shift.astype(np.float64) - 31)
    est = (real * float(np.float32(s_out)) / float(np.float32(L.in_scale))).astype(np.float32)
    out = est.copy()
    for c in range(est.size):
        want = (int(L.mult[c]), int(L.shift[c]))
        for k in (0, 1, -1, 2, -2, 3, -3):
            cand = _ulps(est[c], k)
            m, sh = q8.fc_multipliers(L.in_scale, np.array([cand], np.float32), s_out)
            if (int(m[0]), int(sh[0])) == want:
                out[c] = cand
                break
        else:
            raise ConfigError(f"{L.name}[{c}]: no float32 weight scale reproduces multiplier {want}")
    return out


def _ulps(x: np.float32, k: int) -> np.float32:
    """x moved by k float32 ulps (k < 0: towards zero)."""
    for _ in range(abs(k)):
        x = np.nextafter(x, np.float32(np.inf) if k > 0 else np.float32(0), dtype=np.float32)
    return np.float32(x)


def export(qm: QuantModel, exit_k: int) -> bytes:
    """The .tflite of static exit ``exit_k`` (see the module doc)."""
    cfg = qm.config
    chain = cfg.layers_for_exit(exit_k)
    desc = {"format": FORMAT, "model": cfg.name, "exit": int(exit_k), "exit_name": cfg.exit_name(exit_k),
            "layers": [s.name for s in chain], "state": [s.name for s in chain if s.kind == "gru"],
            "features": {"scale": qm.feat_scale, "zero_point": qm.feat_zero_point}}
    g = Graph(description=json.dumps(desc, sort_keys=True))
    a = g.input((1, cfg.n_bins), "int8", qm.feat_scale, qm.feat_zero_point, name="features")
    states_in: list[T] = []
    states_out: list[T] = []
    for spec in chain:
        a = _layer(g, qm.layers[spec.name], a, states_in, states_out)
    g.output(a, *states_out)
    return g.build()


def describe(tflite: bytes) -> dict[str, Any]:
    """The export's JSON description (refuses a .tflite that is not one of ours)."""
    return read_description(tflite, FORMAT, "an nsNet2")


class TflmNet:
    """An exported exit in TFLM's interpreter, with GoldenNet's frame()/reset() interface."""

    def __init__(self, qm: QuantModel, tflite: bytes) -> None:
        self.doc = describe(tflite)
        self.qm = qm
        self.exit = int(self.doc["exit"])
        self.chain: Sequence[str] = self.doc["layers"]
        self.macs_per_frame = sum(qm.layers[n].macs for n in self.chain)
        self.it = Interpreter(tflite)
        self.reset()

    def reset(self) -> None:
        self.state = [np.zeros((1, self.qm.layers[n].n_out), np.int16) for n in self.doc["state"]]

    def frame(self, feat: np.ndarray) -> tuple[np.ndarray, GoldenFrame]:
        outs = self.it([np.asarray(feat, np.int8).reshape(1, -1), *self.state])
        self.state = [o.reshape(1, -1).astype(np.int16) for o in outs[1:]]
        return outs[0].reshape(-1).astype(np.int16), GoldenFrame(self.exit, self.macs_per_frame)


def enhance_tflm(qm: QuantModel, tflite: bytes, noisy: np.ndarray) -> GoldenOut:
    """The golden model's front and back end around TFLM running the exported network."""
    return enhance(qm, noisy, int(describe(tflite)["exit"]), net=TflmNet(qm, tflite))


def tflm_reference(noisy: np.ndarray, config: Mapping[str, int], tflite_path: Path) -> np.ndarray:
    """The runner's integer reference for an nsnet2-ee image whose manifest names a .tflite:
    the exported network in TFLM between the golden front and back end. Refused (ConfigError)
    when the run's CONFIGURE selects another exit or the dynamic policy, which the static graph
    does not represent."""
    from bench.models.nsnet2.refs import policy_from_config
    from bench.models.nsnet2.refs import quant_model as _quant_model
    from bench.paths import repo_root

    data = Path(tflite_path).read_bytes()
    doc = describe(data)
    qm = _quant_model(str(repo_root() / "models" / "nsnet2" / str(doc["model"])))  # cached: called per utterance
    policy = policy_from_config(config, qm.config.n_exits)
    if policy.exit != doc["exit"]:
        raise ConfigError(f"{Path(tflite_path).name} is static exit {doc['exit']}; this run uses "
                          f"{'exit ' + str(policy.exit) if policy.exit is not None else 'the dynamic policy'}")
    return enhance_tflm(qm, data, np.asarray(noisy, np.int16)).audio
