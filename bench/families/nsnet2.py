"""The ``nsnet2-ee`` family (early-exit nsNet2): the host references (numpy float model, integer
golden model, TFLM), its CONFIGURE keys (their meaning: bench.models.nsnet2.refs), the ``exit``
sweep axis and the model steps (quantize, export to C / TFLM, evaluate, train).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError, ConfigError
from bench.families.base import ConfigKey, Family, References, SweepAxis, SweepPoint, loads_as
from bench.models.nsnet2.refs import (
    DEFAULT_MODEL,
    FAMILY,
    float_model,
    float_ref,
    golden_ref,
    model_dir,
    policy_from_config,
    quant_model,
)

DEFAULT_THRESHOLDS = (600, 1200, 2400, 4800)  # thr_q15: mean |mask change| in Q0.15 (1/32768)


def _tflm_ref(noisy: np.ndarray, config: Mapping[str, int], tflite: Path) -> np.ndarray:
    from bench.tflm.nsnet2 import tflm_reference

    return tflm_reference(noisy, config, tflite)


def exit_points(n_exits: int, thresholds: Sequence[int]) -> list[SweepPoint]:
    """Every static exit, then the dynamic policy at each threshold (thr_q15)."""
    pts = [SweepPoint(f"exit{k}", (("exit", k),), attrs={"kind": "static", "exit": k, "thr_q15": None})
           for k in range(n_exits)]
    for t in thresholds:
        if not 0 <= int(t) <= 32768:
            raise BenchError(f"--sweep-values: {t} is outside 0..32768 (thr_q15, the mean |mask change| x 32768)")
        pts.append(SweepPoint(f"dyn{int(t)}", (("policy", 1), ("thr_q15", int(t))),
                              attrs={"kind": "dynamic", "exit": None, "thr_q15": int(t)}))
    return pts


class Nsnet2(Family):
    name = FAMILY
    description = "early-exit nsNet2: static exits and a dynamic mask-change policy"
    models_subdir = "nsnet2"
    default_model = DEFAULT_MODEL

    def references(self, model_dir_: str | None) -> References:
        return References(
            FAMILY, functools.partial(float_ref, path=model_dir_), functools.partial(golden_ref, path=model_dir_),
            tflm=_tflm_ref,
            note=f"float: numpy float model ({model_dir_ or DEFAULT_MODEL}); "
                 "golden: integer model, bit-exact spec of the C")

    def n_exits(self, model_dir_: str | None) -> int:
        return int(quant_model(model_dir(model_dir_)).config.n_exits)

    def config_keys(self, model_dir_: str | None) -> Sequence[ConfigKey]:
        last = self.n_exits(model_dir_) - 1
        return (ConfigKey("exit", 0, last, "static exit"), ConfigKey("policy", 0, 1, "0 static, 1 dynamic"),
                ConfigKey("thr_q15", 0, 32768, "dynamic: mean |mask change| threshold, Q0.15"),
                ConfigKey("min_exit", 1, last, "dynamic: first exit considered (<= max_exit)"),
                ConfigKey("max_exit", 1, last, "dynamic: last exit (>= min_exit)"))

    def check_config(self, config: Sequence[tuple[str, int]], model_dir_: str | None) -> None:
        policy_from_config(config, self.n_exits(model_dir_))  # order-dependent ranges: the one check

    def sweep_axes(self) -> Mapping[str, SweepAxis]:
        def points(entry: Any, values: str | None, images: Sequence[Any]) -> list[SweepPoint]:
            try:
                thr = tuple(int(x) for x in values.split(",")) if values else DEFAULT_THRESHOLDS
            except ValueError:
                raise BenchError(f"--sweep-values expects comma-separated integers thr_q15, got '{values}'") from None
            return exit_points(self.n_exits(entry.model_dir), thr)

        return {"exit": SweepAxis("exit", "every static exit and the dynamic policy at thresholds thr_q15 "
                                  "(--sweep-values, default 600,1200,2400,4800)", points,
                                  sets_keys=("exit", "policy", "thr_q15"))}

    # ---- model steps -------------------------------------------------------------------
    def owns_model(self, model_dir_: Path) -> bool:
        from bench.models.nsnet2.config import Nsnet2Config

        return loads_as(Nsnet2Config, model_dir_)

    def quantize(self, model_dir_: Path, calib: Sequence[Any], meta: dict[str, Any], out: Path | None) -> str:
        from bench.models.nsnet2.quantize import QUANT_FILE, quantize_model

        qm = quantize_model(float_model(str(model_dir_)), [u.noisy for u in calib], meta)
        path = qm.save(out or model_dir_ / QUANT_FILE)
        return (f"{path}: {len(qm.layers)} layers, {qm.weight_bytes():,} bytes of weights+biases, "
                f"{qm.meta['calibration_frames']} calibration frames")

    def export_c(self, model_dir_: Path, out_dir: Path | None) -> list[Path]:
        from bench.models.nsnet2.export import out_dir_for, source_name, write
        from bench.models.nsnet2.quantize import QuantModel

        qm = QuantModel.load(model_dir_)
        return write(qm, source_name(model_dir_), out_dir or out_dir_for(qm.config.name))

    def export_tflite(self, model_dir_: Path, exit_: int | None) -> tuple[bytes, dict[str, Any], str]:
        from bench.models.nsnet2.quantize import QuantModel
        from bench.tflm.nsnet2 import describe, export

        qm = QuantModel.load(model_dir_)
        last = qm.config.n_exits - 1
        k = last if exit_ is None else exit_
        if not 0 <= k <= last:
            raise ConfigError(f"{qm.config.name}: --exit {k} out of range 0..{last}")
        data = export(qm, k)
        doc = describe(data)
        doc["default_name"] = f"{qm.config.name}-exit{k}.tflite"
        return data, doc, (f"{qm.config.name} exit {k} ({doc['exit_name']}), layers {' '.join(doc['layers'])}, "
                           f"state inputs {doc['state'] or 'none'}")

    def evaluate(self, model_dirs: Sequence[Path], set_path: str | None, limit: int | None,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        from bench.models.nsnet2.evaluate import DEFAULT_THRESHOLDS as EVAL_THRESHOLDS
        from bench.models.nsnet2.evaluate import evaluate, markdown

        if len(model_dirs) != 1:
            raise ConfigError("nsnet2-ee: evaluate takes one model directory; run `bench evaluate` once per "
                              "nsnet2 model folder")
        res = evaluate(str(model_dirs[0]), set_path, options.get("thresholds") or EVAL_THRESHOLDS, limit)
        if options.get("write", True):
            import json

            (Path(model_dirs[0]) / "eval.json").write_text(json.dumps(res, indent=1, sort_keys=True) + "\n",
                                                           encoding="utf-8")
        return res, markdown(res)

    def train(self, argv: Sequence[str]) -> int:
        from bench.train.nsnet2 import main

        return int(main(list(argv)) or 0)
