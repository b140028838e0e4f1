"""The probes of an exported DynCP model on a test set, next to classical baselines.

    python -m bench.models.probes.evaluate models/dyncp/dyncp-small-r25 models/dyncp/dyncp-small-r50

For every utterance of the set (the shipped one by default): the float reference's mask
bits on the noisy input, the float probes and the integer probes on them (the integer ones
exactly as the target computes them), scored against the set's labels at hop 256
(bench.models.probes.readout); the baselines WebRTC VAD (aggressiveness 2 and 3) and WORLD
Harvest F0, both on the noisy input and on the same frame grid; and how often float and
integer probes decide the same. F0 is scored on all reference-voiced frames, within voice
(each speaker's mean removed; bench.data.speakers.speaker_of: the ``voice`` of generated sets,
the source recording of the real split) and on the reference-voiced frames the probe's own VAD
calls speech. An utterance whose noise class the probes do not know (recorded-music of the
diverse and real sets) counts for VAD and F0 but not for the class accuracy. Updates the
``test`` section of ``<model>/probes.json`` and prints two Markdown tables (all probes; F0).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.data.labels import FrameLabels
from bench.data.loader import TestSet, Utterance, load_set
from bench.data.speakers import speakers_of
from bench.errors import BenchError
from bench.metrics.baselines import webrtc_vad_frames, world_f0_frames
from bench.models.dyncp.config import HOP_LEN
from bench.models.dyncp.reference import DyncpModel
from bench.models.probes.features import UttFrames, utterance_frames
from bench.models.probes.quant import JSON_FILE, FloatProbes, QuantProbes, load_npz, macs_per_frame
from bench.models.probes.readout import ProbeOutputs, agreement, run_probes, score_f0, score_set, score_vad

WEBRTC_MODES = (2, 3)


def frame_labels_of(f: UttFrames) -> FrameLabels:
    """The labels an UttFrames carries, as FrameLabels (hop 256, 16 kHz)."""
    return FrameLabels(HOP_LEN, 16000, f.vad, f.f0_hz, f.voiced)


def baselines(utts: Sequence[Utterance], labels: Sequence[FrameLabels],
              speakers: Sequence[str | None] | None = None) -> dict[str, Any]:
    """WebRTC VAD and WORLD Harvest F0 on the noisy inputs, on the hop-256 grid."""
    out: dict[str, Any] = {}
    for mode in WEBRTC_MODES:
        pred = [webrtc_vad_frames(u.noisy, u.sample_rate, HOP_LEN, mode)[: lab.n_frames] for u, lab in
                zip(utts, labels, strict=True)]
        out[f"webrtcvad_{mode}"] = asdict(score_vad(pred, labels))
    f0 = [world_f0_frames(u.noisy, u.sample_rate, HOP_LEN)[0][: lab.n_frames] for u, lab in
          zip(utts, labels, strict=True)]
    out["world_harvest_f0"] = asdict(score_f0(f0, labels, speakers))
    return out


def evaluate_probes(
    model: DyncpModel, fp: FloatProbes, q: QuantProbes, ts: TestSet | Sequence[Utterance], with_baselines: bool = True
) -> dict[str, Any]:
    """Scores of the float and integer probes on a set, baselines, agreement, per utterance."""
    utts = list(ts)
    if not utts:
        raise BenchError("no utterances to evaluate the probes on")
    # a noise class the probes do not know: the utterance is unlabelled for them
    frames = [utterance_frames(model, u if u.noise_class in (None, *fp.classes) else
                               dataclasses.replace(u, noise_class=None), fp.classes) for u in utts]
    labels = [frame_labels_of(f) for f in frames]
    classes = [u.noise_class for u in utts]
    speakers = speakers_of(utts)
    outs_f: list[ProbeOutputs] = [run_probes(f.bits, fp) for f in frames]
    outs_q: list[ProbeOutputs] = [run_probes(f.bits, q) for f in frames]
    res: dict[str, Any] = {
        "n_utts": len(utts),
        "n_frames": sum(f.n_frames for f in frames),
        "n_speakers": len({s for s in speakers if s is not None}),
        "context": fp.context,
        "macs_per_frame": macs_per_frame(fp),
        "float": score_set(outs_f, labels, classes, speakers).to_dict(),
        "integer": score_set(outs_q, labels, classes, speakers).to_dict(),
        "float_vs_integer": agreement(outs_f, outs_q),
        "per_utterance": [
            {
                "utt": u.id,
                "noise_class": u.noise_class,
                "snr_db": u.snr_db,
                "float_class": of.utt_class,
                "integer_class": oq.utt_class,
                "vad_accuracy": float((of.vad == f.vad).mean()),
            }
            for u, f, of, oq in zip(utts, frames, outs_f, outs_q, strict=True)
        ],
    }
    if with_baselines:
        res["baselines"] = baselines(utts, labels, speakers)
    return res


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def table(rows: Sequence[tuple[str, dict[str, Any]]], base: dict[str, Any] | None) -> str:
    """Markdown table of (name, evaluate_probes result) rows and the baselines."""
    head = ("| features / method | VAD acc | VAD bal. acc | noise class acc (utts) | noise class acc (frames) "
            "| F0 R2 | F0 RMSE Hz | F0 GPE |\n|---|---|---|---|---|---|---|---|")
    lines = [head]
    for name, r in rows:
        for kind in ("float", "integer"):
            s = r[kind]
            lines.append(
                f"| {name} {kind} | {_pct(s['vad']['accuracy'])} | {_pct(s['vad']['balanced_accuracy'])} | "
                f"{_pct(s['noise_class']['accuracy'])} | {_pct(s['noise_class']['frame_accuracy'])} | "
                f"{_num(s['f0']['r2'])} | {_num(s['f0']['rmse_hz'], '.1f')} | {_pct(s['f0']['gpe'])} |"
            )
    if base:
        for mode in WEBRTC_MODES:
            v = base[f"webrtcvad_{mode}"]
            lines.append(f"| WebRTC VAD mode {mode}, noisy | {_pct(v['accuracy'])} | {_pct(v['balanced_accuracy'])} "
                         "| - | - | - | - | - |")
        f = base["world_harvest_f0"]
        lines.append(f"| WORLD Harvest F0, noisy (unvoiced = 0 Hz) | - | - | - | - | {_num(f['r2'])} | "
                     f"{_num(f['rmse_hz'], '.1f')} | {_pct(f['gpe'])} |")
        lines.append(f"| WORLD Harvest F0, noisy, frames it calls voiced ({f['n_both']}/{f['n_voiced']}) | - | - | - "
                     f"| - | {_num(f['r2_both'])} | {_num(f['rmse_both_hz'], '.1f')} | - |")
    return "\n".join(lines)


def f0_table(rows: Sequence[tuple[str, dict[str, Any]]], base: dict[str, Any] | None) -> str:
    """Markdown table of the F0 figures: all reference-voiced frames, within voice, VAD-gated."""
    lines = ["| F0 probe | context k | MACs / frame | voiced frames | R2 | R2 within voice | speakers "
             "| VAD-gated frames (coverage) | R2 VAD-gated | R2 within voice VAD-gated | RMSE Hz | GPE |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows:
        for kind in ("float", "integer"):
            f, g = r[kind]["f0"], r[kind]["f0_vad_gated"]
            lines.append(
                f"| {name} {kind} | {r.get('context', 0)} | {r['macs_per_frame']:,} | {f['n_voiced']} | "
                f"{_num(f['r2'])} | {_num(f['r2_within_voice'])} | {f['n_speakers']} | "
                f"{g['n_voiced']} ({_pct(g['coverage'])}) | {_num(g['r2'])} | {_num(g['r2_within_voice'])} | "
                f"{_num(f['rmse_hz'], '.1f')} | {_pct(f['gpe'])} |")
    if base:
        f = base["world_harvest_f0"]
        lines.append(f"| WORLD Harvest, noisy (unvoiced = 0 Hz) | - | - | {f['n_voiced']} | {_num(f['r2'])} | "
                     f"{_num(f['r2_within_voice'])} | {f['n_speakers']} | - | - | - | {_num(f['rmse_hz'], '.1f')} | "
                     f"{_pct(f['gpe'])} |")
    return "\n".join(lines)


def update_json(model_dir: Path, test: dict[str, Any]) -> None:
    p = model_dir / JSON_FILE
    doc = json.loads(p.read_text()) if p.is_file() else {}
    doc["test"] = test
    p.write_text(json.dumps(doc, indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.models.probes.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="exported model directories holding probes.npz")
    ap.add_argument("--set", dest="set_path", default=None, help="test set (default: the shipped one)")
    ap.add_argument("--no-write", action="store_true", help="do not update probes.json")
    ns = ap.parse_args(argv)
    try:
        ts = load_set(ns.set_path, 16000)
        rows = []
        base = None
        for i, d in enumerate(ns.models):
            model = DyncpModel.load(d)
            fp, q = load_npz(d)
            r = evaluate_probes(model, fp, q, ts, with_baselines=i == 0)
            base = base or r.get("baselines")
            r.setdefault("baselines", base)
            if not ns.no_write:
                update_json(Path(d), r)
            rows.append((Path(d).name, r))
        print(table(rows, base))
        print()
        print(f0_table(rows, base))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
