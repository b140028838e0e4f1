"""The ``dyncp`` family (DynCP Conv-FSENet with mask probes): host references, the ``keep`` sweep
axis (the family's images at their keep ratios), the DynCP view of a run (bench.families.dyncp.view)
and the model steps (quantize, export to C / TFLM, evaluate, train). The images take no CONFIGURE
keys: the gates decide per frame."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.families.base import Family, References, SweepAxis, SweepPoint, TableSpec, loads_as
from bench.models.dyncp.refs import (
    DEFAULT_MODEL,
    FAMILY,
    check_no_options,
    float_model,
    float_ref,
    golden_ref,
    model_dir,
)


def _tflm_ref(noisy: Any, config: Mapping[str, int], tflite: Path) -> Any:
    from bench.tflm.dyncp import tflm_reference

    return tflm_reference(noisy, config, tflite)


def _num(v: Any, fmt: str = ",.0f", suffix: str = "") -> str:
    return "-" if v is None else f"{v:{fmt}}{suffix}"


def keep_ratio(entry: Any) -> float | None:
    """The trained keep ratio of an image's model (train.keep_ratio in config.json; 1.0 when ungated)."""
    path = Path(model_dir(entry.model_dir)) / "config.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not doc.get("model", {}).get("gated", True):
        return 1.0
    v = doc.get("train", {}).get("keep_ratio")
    return float(v) if isinstance(v, int | float) else None


class Dyncp(Family):
    name = FAMILY
    description = "DynCP Conv-FSENet: per-frame channel gates, MACs saved vs static, mask probes"
    models_subdir = "dyncp"
    default_model = DEFAULT_MODEL

    def references(self, model_dir_: str | None) -> References:
        return References(
            FAMILY, functools.partial(float_ref, path=model_dir_), functools.partial(golden_ref, path=model_dir_),
            tflm=_tflm_ref,
            note=f"float: numpy float model ({model_dir_ or DEFAULT_MODEL}); "
                 "golden: integer model (bench.models.dyncp.intnet), bit-exact spec of the C")

    def check_config(self, config: Sequence[tuple[str, int]], model_dir_: str | None) -> None:
        check_no_options(dict(config))

    def sweep_axes(self) -> Mapping[str, SweepAxis]:
        def points(entry: Any, values: str | None, images: Sequence[Any]) -> list[SweepPoint]:
            same = [e for e in images if e.model_family == FAMILY and e.board == entry.board]
            if values:
                names = [v.strip() for v in values.split(",") if v.strip()]
                unknown = [n for n in names if n not in {e.name for e in same}]
                if unknown:
                    raise ConfigError(f"--sweep keep: no dyncp image {', '.join(unknown)} for board {entry.board}")
                same = [e for e in same if e.name in names]
            pts = [SweepPoint(e.name, (), image=e.name, attrs={"kind": "static" if keep_ratio(e) == 1.0 else "dynamic",
                                                               "keep": keep_ratio(e)}) for e in same]
            return sorted(pts, key=lambda p: -(p.attrs["keep"] or 0.0))

        return {"keep": SweepAxis("keep", "the family's images for the board at their trained keep ratios "
                                  "(--sweep-values: image names, default all)", points)}

    # ---- the DynCP view ----------------------------------------------------------------
    def write_views(self, run: Any, images: Sequence[Any], utterances: Sequence[Any]) -> None:
        from bench.families.dyncp.view import build_view

        status = {n: im["status"] for n, im in run.read_meta()["images"].items()}
        for e in images:
            if e.model_family == FAMILY and status.get(e.name) == "done" and e.model_dir:
                run.write_view(e.name, FAMILY, build_view(run, e, utterances, images))

    def view_tables(self, image: str, v: Mapping[str, Any], unit: str) -> list[TableSpec]:
        rows: list[tuple[str, str, str]] = []
        pf = v.get("per_frame", {})
        vs = v.get("vs_static")
        ref = f"static image {v['static_image']}" if v.get("static_image") else "no static image in this run"
        rows.append((f"{unit} / frame (total)", _num(pf.get("total")), _num(vs and vs["static_total"])))
        rows.append((f"{unit} / frame (network)", _num(pf.get("network")), _num(vs and vs["static_network"])))
        if vs:
            rows.append(("saving vs static (total / network)",
                         f"{_num(vs['saving_total_pct'], '.1f', ' %')} / {_num(vs['saving_network_pct'], '.1f', ' %')}",
                         ref))
        rows.append(("MACs / frame (executed)", _num(pf.get("macs")), f"static {_num(pf.get('macs_static_model'))}"))
        rows.append(("MAC saving", _num(pf.get("mac_saving_pct"), ".1f", " %"), ""))
        if "kept_fraction" in v:
            kf = v["kept_fraction"]
            rows.append(("kept fraction per block (target)", " ".join(f"{x:.2f}" for x in kf["target"]),
                         "float " + " ".join(f"{x:.2f}" for x in kf["float"])))
            rows.append(("mask agreement target vs float", _num(v.get("mask_agreement_target_vs_float"), ".4f"), ""))
        pr = v.get("probes")
        if pr:
            def cell(d: Any, *path: str) -> str:
                for k in path:
                    d = None if d is None else d.get(k)
                return _num(d, ".3f")

            for label, path in (("VAD accuracy", ("vad", "accuracy")),
                                ("noise class accuracy (utt.)", ("noise_class", "accuracy")),
                                ("F0 R2 (voiced)", ("f0", "r2")),
                                ("F0 R2 within voice", ("f0", "r2_within_voice")),
                                ("F0 R2 (voiced, probe VAD-gated)", ("f0_vad_gated", "r2"))):
                rows.append((f"probe {label}: target", cell(pr.get("target"), *path),
                             f"float masks {cell(pr.get('float_masks'), *path)}"))
            gp = pr.get("target_vs_golden_probes")
            if gp:
                rows.append(("probe scores target vs golden (frames equal)", _num(gp.get("frames_equal"), ".4f"),
                             f"{_num(gp.get('frames'))} frames, golden on the target's masks"))
        return [TableSpec(f"{image}: dynamic channel pruning ({v['model']}, {v['utterances']} utterances)",
                          ("figure", "value", "reference"), tuple(rows),
                          "saving: 1 - dynamic / static on the same utterances; MACs from the target's masks; "
                          "probe baselines: the reference table below")]

    def summary_figures(self, view: Mapping[str, Any]) -> dict[str, str]:
        vs = view.get("vs_static")
        if not vs or vs.get("saving_total_pct") is None:
            return {}
        return {"saving": f"{vs['saving_total_pct']:.1f} %"}

    # ---- model steps -------------------------------------------------------------------
    def owns_model(self, model_dir_: Path) -> bool:
        from bench.models.dyncp.config import DyncpConfig

        return loads_as(DyncpConfig, model_dir_)

    def quantize(self, model_dir_: Path, calib: Sequence[Any], meta: dict[str, Any], out: Path | None) -> str:
        from bench.models.dyncp.quantize import QUANT_FILE, quantize_model

        qm = quantize_model(float_model(str(model_dir_)), [u.noisy for u in calib], meta)
        path = qm.save(out or model_dir_ / QUANT_FILE)
        return (f"{path}: {len(qm.blocks)} blocks, {qm.weight_bytes():,} bytes of weights and parameters, "
                f"{qm.meta['calibration_frames']} calibration frames")

    def export_c(self, model_dir_: Path, out_dir: Path | None) -> list[Path]:
        from bench.models.dyncp.export import write

        return write(model_dir_, out_dir)

    def export_tflite(self, model_dir_: Path, exit_: int | None) -> tuple[bytes, dict[str, Any], str]:
        from bench.models.dyncp.quantize import DyncpQuant
        from bench.tflm.dyncp import describe, export

        qm = DyncpQuant.load(model_dir_)
        if exit_ is not None:
            raise ConfigError(f"{qm.config.name}: a Conv-FSENet has no exits; drop --exit")
        data = export(qm)
        doc = describe(data)
        doc["default_name"] = f"{qm.config.name}.tflite"
        n_masks = sum(1 for b in doc["blocks"] if b["gated"])
        return data, doc, (f"{qm.config.name}, {len(doc['blocks'])} blocks, history inputs "
                           f"{' '.join(doc['inputs'][1:])}, {n_masks} mask outputs; "
                           f"{qm.weight_bytes()} bytes of int8 weights and parameters")

    def evaluate(self, model_dirs: Sequence[Path], set_path: str | None, limit: int | None,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        from bench.models.dyncp.evaluate import evaluate, markdown

        res = evaluate([str(d) for d in model_dirs], set_path, options.get("static"), limit)
        if options.get("write", True):
            for r in res["rows"]:
                if r["kind"] == "noisy":
                    continue
                doc = {k: v for k, v in res.items() if k != "rows"}
                doc["rows"] = [x for x in res["rows"] if x["kind"] == "noisy" or x["name"] == r["name"]]
                if res["static"] and r["name"] != res["static"]:
                    doc["rows"] += [x for x in res["rows"] if x["name"] == res["static"]]
                (Path(r["model"]) / "eval.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        return res, markdown(res)

    def train(self, argv: Sequence[str]) -> int:
        from bench.train.dyncp import main

        return int(main(list(argv)) or 0)
