"""What `bench run` shows for a DynCP image (family ``dyncp``), written as the image's view
(``Run.write_view``) plus two plots, after the quality comparison:

* instructions (or cycles) per frame, total and network stage, against the static model's
  image in the same run (an ungated dyncp image of the same widths), saving in %;
* MACs executed per frame (the target's MACS side information, from its masks) against the
  static model's MACs;
* kept fraction per gated block, on target and in the float reference;
* mask agreement target vs float reference (fraction of equal keep bits);
* the mask probes (when the image returns PROBE TLVs and its model has probes.npz): VAD,
  noise class and F0 read out of the target's scores, and the same probes on the float
  reference's masks, against the test set's labels; F0 also within voice (each speaker's mean
  removed, bench.data.speakers) and on the voiced frames the probe's own VAD calls speech;
  the reference baselines (webrtcvad, pyworld) are the run's context.json;
* ``dyncp-instructions.png`` (per-frame instructions over the first utterance beside its
  voice-activity label) and ``dyncp-kept.png`` (kept fraction per block).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench.data.loader import Utterance
from bench.data.speakers import speakers_of
from bench.images import ImageEntry
from bench.results.store import Run


def mask_bits(t: pa.Table, n_blocks: int, conv: int) -> np.ndarray:
    """(T, n_blocks, C) bool from the frames table's mask_<b> columns (LSB first)."""
    out = np.zeros((t.num_rows, n_blocks, conv), bool)
    for b in range(n_blocks):
        col = f"mask_{b}"
        if col not in t.column_names:
            continue
        for i, v in enumerate(t[col].to_pylist()):
            if v is not None:
                out[i, b] = np.unpackbits(np.frombuffer(v, np.uint8), bitorder="little")[:conv].astype(bool)
    return out


def _static_image(run: Run, entry: ImageEntry, cfg: Any, others: Sequence[ImageEntry]) -> str | None:
    """An ungated dyncp image of the same widths among the run's finished images."""
    from bench.models.dyncp.refs import float_model, model_dir

    status = {n: im.get("status") for n, im in run.read_meta()["images"].items()}
    for e in others:
        if e.name == entry.name or e.model_family != "dyncp" or status.get(e.name) != "done" or not e.model_dir:
            continue
        c = float_model(model_dir(e.model_dir)).config
        if not c.gated and (c.residual, c.conv, c.n_blocks) == (cfg.residual, cfg.conv, cfg.n_blocks):
            return e.name
    return None


def _means(run: Run, image: str, utts: Sequence[str], cols: Sequence[str]) -> dict[str, float | None]:
    """Per-frame means of ``cols`` over the frames of ``utts`` (one read of the image's frames)."""
    t = run.frames(image)
    keep = np.isin(np.asarray(t["utt"].to_pylist(), dtype=object), list(utts))
    return {c: float(t[c].to_numpy()[keep].astype(np.float64).mean()) if c in t.column_names and keep.any()
            else None for c in cols}


def _saving(dyn: float | None, static: float | None) -> float | None:
    return None if dyn is None or not static else 100.0 * (1.0 - dyn / static)


def build_view(run: Run, entry: ImageEntry, utts: Sequence[Utterance],
               others: Sequence[ImageEntry] = ()) -> dict[str, Any]:
    """The DynCP figures of one image over the run's finished utterances (see the module doc)."""
    from bench.models.dyncp.refs import float_model, float_result, model_dir

    model = float_model(model_dir(entry.model_dir))
    cfg = model.config
    done = run.done_utterances(entry.name)
    us = [u for u in utts if u.id in done]
    ids = [u.id for u in us]
    doc: dict[str, Any] = {"image": entry.name, "model": cfg.name, "gated": cfg.gated, "utterances": len(us)}
    if not us:
        return doc
    static = _static_image(run, entry, cfg, others)
    cols = ("total", "stage_network", "macs")
    m = _means(run, entry.name, ids, cols)
    doc["per_frame"] = {"total": m["total"], "network": m["stage_network"], "macs": m["macs"],
                        "macs_static_model": cfg.static_macs()}
    doc["per_frame"]["mac_saving_pct"] = _saving(m["macs"], cfg.static_macs())
    doc["static_image"] = static
    if static is not None:
        s_ids = [u for u in ids if u in run.done_utterances(static)]
        st, dy = _means(run, static, s_ids, cols), _means(run, entry.name, s_ids, cols)
        doc["vs_static"] = {"utterances": len(s_ids), "static_total": st["total"],
                            "static_network": st["stage_network"],
                            "saving_total_pct": _saving(dy["total"], st["total"]),
                            "saving_network_pct": _saving(dy["stage_network"], st["stage_network"])}
    if not cfg.gated:
        return doc
    tgt_bits, ref_bits, labels = [], [], []
    for u in us:
        t = run.frames_of(entry.name, u.id)
        ref = float_result(u.noisy, entry.model_dir)
        n = ref.masks.shape[0]
        tgt_bits.append(mask_bits(t, cfg.n_blocks, cfg.conv)[:n])
        ref_bits.append(ref.masks)
        labels.append(u.frame_labels(cfg.hop_len))
    tb, rb = np.concatenate(tgt_bits), np.concatenate(ref_bits)
    doc["kept_fraction"] = {"target": tb.mean(axis=(0, 2)).tolist(), "float": rb.mean(axis=(0, 2)).tolist()}
    doc["mask_agreement_target_vs_float"] = float((tb == rb).mean())
    doc["probes"] = _probes(run, entry, us, tgt_bits, ref_bits, labels, model_dir(entry.model_dir))
    _plots(run, entry, us[0], labels[0], doc)
    return doc


def _probes(run: Run, entry: ImageEntry, us: Sequence[Utterance], tgt_bits: list[np.ndarray],
            ref_bits: list[np.ndarray], labels: list[Any], mdir: str) -> dict[str, Any] | None:
    """Probe scores on target (its PROBE TLVs) and on the float masks, against the labels; and
    the target's scores against the integer golden on the target's own masks (bit-exactness)."""
    if not (Path(mdir) / "probes.npz").is_file():
        return None
    from bench.models.probes import quant as pq_
    from bench.models.probes import readout
    from bench.models.probes.features import context_bits
    from bench.models.probes.golden import probe_scores

    fp, qp = pq_.load_npz(Path(mdir) / "probes.npz")
    outs_t, outs_f = [], []
    equal = frames = 0
    for u, tb, rb in zip(us, tgt_bits, ref_bits, strict=True):
        t = run.frames_of(entry.name, u.id)
        cols = [f"probe_{p}" for p in range(qp.n_probes)]
        if all(c in t.column_names for c in cols):
            scores = np.stack([t[c].to_numpy() for c in cols], axis=1)[: rb.shape[0]]
            outs_t.append(readout.decode_scores(scores, qp))
            gold = probe_scores(context_bits(tb.reshape(tb.shape[0], -1), qp.context), qp)[: scores.shape[0]]
            equal += int(np.all(scores == gold, axis=1).sum())
            frames += scores.shape[0]
        outs_f.append(readout.run_probes(rb.reshape(rb.shape[0], -1), fp))
    classes = [u.noise_class for u in us]
    speakers = speakers_of(us)
    res: dict[str, Any] = {"float_masks": readout.score_set(outs_f, labels, classes, speakers).to_dict()}
    if len(outs_t) == len(us):
        res["target"] = readout.score_set(outs_t, labels, classes, speakers).to_dict()
        res["target_vs_float_probes"] = readout.agreement(outs_t, outs_f)
        res["target_vs_golden_probes"] = {"frames": frames, "frames_equal": equal / frames if frames else None}
    else:
        res["target"] = None
        res["note"] = "the image returned no PROBE side information for some utterances"
    return res


def _plots(run: Run, entry: ImageEntry, u: Utterance, lab: Any, doc: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = run.frames_of(entry.name, u.id)
    y = t["total"].to_numpy()
    n = min(y.size, lab.vad.size)
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.plot(np.arange(n) * 0.016, y[:n], lw=0.8, label="instructions / frame (target)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(doc.get("unit", "instructions"))
    top = float(y[:n].max()) if n else 1.0
    ax.fill_between(np.arange(n) * 0.016, 0, top, where=lab.vad[:n], color="tab:green", alpha=0.15,
                    step="mid", label="speech (VAD label)")
    ax.set_title(f"{entry.name}: {u.id}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(run.plot_path(entry.name, "dyncp-instructions.png"), dpi=110)
    plt.close(fig)
    kf = doc["kept_fraction"]
    fig, ax = plt.subplots(figsize=(6, 3))
    i = np.arange(len(kf["target"]))
    ax.bar(i - 0.2, kf["target"], 0.4, label="target")
    ax.bar(i + 0.2, kf["float"], 0.4, label="float reference")
    ax.set_xticks(i, [f"B{k}" for k in i])
    ax.set_ylabel("kept fraction")
    ax.set_title(f"{entry.name}: kept channels per block")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run.plot_path(entry.name, "dyncp-kept.png"), dpi=110)
    plt.close(fig)
