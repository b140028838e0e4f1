"""Scoring a finished image: the three-way comparison (noisy input, host references, target
output) through the image's family references, and the run's reference baselines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from bench.errors import ConfigError
from bench.families import References, context_enhancer, refs_for
from bench.images import ImageEntry, sha256_file
from bench.paths import images_dir
from bench.results.store import Run
from bench.runner.refcache import cached, score_cache

CONTEXT_HOP = 160  # 10 ms: WebRTC VAD's own frame; labels exist for it in every generated set


def comparison_records(cmp: Any, golden_source: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                                       dict[str, Any]]:
    """The comparison as the store's three artefacts: metric rows, fidelity rows, summary doc."""
    fid = [{"utt": f.utt, "a": f.a, "b": f.b, **asdict(f.fidelity),
            **({"mask_" + k: v for k, v in asdict(f.mask).items()} if getattr(f, "mask", None) else {})}
           for f in cmp.fidelity]
    fid_summary: dict[str, dict[str, float]] = {}
    for f in cmp.fidelity:
        key = f"{f.a}_vs_{f.b}"
        agg = fid_summary.setdefault(key, {"bit_exact_min": 1.0, "max_abs_lsb": 0.0, "utterances": 0})
        agg["bit_exact_min"] = min(agg["bit_exact_min"], float(f.fidelity.bit_exact))
        agg["max_abs_lsb"] = max(agg["max_abs_lsb"], float(f.fidelity.max_abs_lsb))
        agg["utterances"] += 1
    doc = {
        "conditions": list(cmp.conditions),
        "metrics": list(cmp.metrics),
        "means": cmp.summary(),
        "deltas": [asdict(x) for x in cmp.deltas],
        "fidelity": fid_summary,
        "golden_source": golden_source,
    }
    return cmp.to_records(), fid, doc


def integer_reference(entry: ImageEntry, refs: References, utts: Sequence[Any],
                      config: dict[str, int]) -> tuple[dict[str, np.ndarray] | None, str | None]:
    """The "golden" condition: TFLM's interpreter on the .tflite the manifest names beside
    the image (a lab's TFLM image), else the family's numpy integer golden model."""
    note = ""
    if entry.tflite and refs.tflm is not None:
        path = (entry.base_dir or images_dir()) / entry.tflite
        try:
            fn = cached("tflm", refs.family, entry.model_dir,
                        lambda x, c: refs.tflm(x, c, path), extra=sha256_file(path))  # type: ignore[misc]
            return ({u.id: fn(np.asarray(u.noisy), config) for u in utts}, f"TFLM interpreter on {entry.tflite}")
        except ConfigError as e:  # e.g. the run configures an exit the graph does not hold
            note = f" (TFLM reference not used: {e})"
    if refs.golden is None:
        return None, None
    golden = cached("golden", refs.family, entry.model_dir, refs.golden)
    return {u.id: golden(np.asarray(u.noisy), config) for u in utts}, "numpy golden model" + note


def score_image(run: Run, entry: ImageEntry, utts: Sequence[Any], configure: Sequence[tuple[str, int]]) -> None:
    """The three-way comparison of one image over its finished utterances, into the store."""
    from bench.metrics.compare import compare

    refs = refs_for(entry.model_family, entry.model_dir)
    done = run.done_utterances(entry.name)
    scored = [u for u in utts if u.id in done]
    if refs is None or not scored:
        return
    config = dict(configure)
    target = {u.id: run.read_audio(entry.name, u.id) for u in scored}
    float_ref = cached("float", refs.family, entry.model_dir, refs.float_ref)
    float_out = {u.id: float_ref(np.asarray(u.noisy), config) for u in scored}
    golden, source = integer_reference(entry, refs, scored, config)
    cmp = compare(scored, target, float_out, golden, cache=score_cache())  # type: ignore[arg-type]
    run.write_comparison(entry.name, *comparison_records(cmp, source))


def write_context(run: Run, utts: Sequence[Any]) -> None:
    """context.json: WebRTC VAD, WORLD F0 and the classic enhancer (the family that says it is the
    context enhancer) on the run's audio."""
    from bench.metrics.context import reference_context

    if run.has_context() or not utts:
        return
    enhancer = None
    fam = context_enhancer()
    refs = fam.references(None) if fam is not None else None
    if fam is not None and refs is not None and utts[0].sample_rate == 16000:  # a 16 kHz design
        fn = cached("float", fam.name, None, refs.float_ref)
        enhancer = (f"{fam.name} (host model)", {u.id: fn(np.asarray(u.noisy), {}) for u in utts})
    run.write_context(reference_context(utts, CONTEXT_HOP, enhancer))
