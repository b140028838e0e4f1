"""Reference baselines on a run's own audio: the context every report shows beside a model.

For the utterances of a run (noisy input, clean reference, frame labels):

vad       WebRTC VAD (webrtcvad-wheels, aggressiveness 2) on the noisy input against the
          VAD labels: accuracy and F1 over all frames of the set (one hop grid);
f0        WORLD (pyworld DIO + StoneMask) F0 on the noisy input against the F0 labels:
          R2 and gross pitch error on the frames voiced in both, voicing-decision error;
enhancer  a classic DSP enhancer's output (given by the caller: the runner passes the
          dsp-baseline family's host model): mean PESQ WB/NB, STOI, ESTOI against clean.

Pure functions of audio and labels, like the rest of bench.metrics; a part the set cannot
support (no labels, no clean files) is reported with the reason instead of a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from bench.data.labels import FrameLabels
from bench.errors import BenchError
from bench.metrics.baselines import webrtc_vad_frames, world_f0_frames
from bench.metrics.compare import UtteranceLike
from bench.metrics.pool import ScoreJob, score_jobs
from bench.metrics.probes import f0_scores, vad_scores

ENHANCER_METRICS = ("pesq_wb", "pesq_nb", "stoi", "estoi")


class LabelledUtterance(UtteranceLike, Protocol):
    def frame_labels(self, hop: int) -> FrameLabels: ...


def _finite(x: float) -> float | None:
    return float(x) if isinstance(x, float | int) and math.isfinite(x) else None


def _labels(utts: Sequence[LabelledUtterance], hop: int) -> tuple[list[LabelledUtterance], list[FrameLabels], str]:
    ok, labs, why = [], [], ""
    for u in utts:
        get = getattr(u, "frame_labels", None)
        if get is None:  # e.g. audio handed to the runner directly, not loaded as a test set
            why = f"{u.id}: no labels (not loaded from a test set)"
            continue
        try:
            labs.append(get(hop))
            ok.append(u)
        except BenchError as exc:
            why = str(exc)
    return ok, labs, why


def vad_context(utts: Sequence[LabelledUtterance], hop: int) -> dict[str, Any]:
    ok, labs, why = _labels(utts, hop)
    if not ok:
        return {"unscorable": why or "no utterances"}
    ref = np.concatenate([lab.vad for lab in labs])
    est = np.concatenate([webrtc_vad_frames(u.noisy, u.sample_rate, hop)[: lab.n_frames]
                          for u, lab in zip(ok, labs, strict=True)])
    s = vad_scores(ref, est)
    return {"method": "webrtcvad aggressiveness 2 on the noisy input", "frames": int(ref.size),
            "accuracy": _finite(s.accuracy), "f1": _finite(s.f1)}


def f0_context(utts: Sequence[LabelledUtterance], hop: int) -> dict[str, Any]:
    ok, labs, why = _labels(utts, hop)
    if not ok:
        return {"unscorable": why or "no utterances"}
    ref = np.concatenate([lab.f0_hz for lab in labs]).astype(np.float64)
    voiced = np.concatenate([lab.voiced for lab in labs])
    est = np.concatenate([world_f0_frames(u.noisy, u.sample_rate, hop, method="dio")[0][: lab.n_frames]
                          for u, lab in zip(ok, labs, strict=True)])
    s = f0_scores(np.where(voiced, ref, 0.0), est, voiced)
    # a pitch tracker is judged the classical way, on the frames voiced in both (r2_both,
    # gpe_both), plus its voicing-decision error; r2/gpe count its unvoiced frames as 0 Hz
    # (the probe definition, bench.metrics.probes.f0_scores), kept for a like-for-like table
    return {"method": "pyworld DIO + StoneMask on the noisy input", "voiced_frames": int(s.n_voiced),
            "r2_both": _finite(s.r2_both), "gpe_both": _finite(s.gpe_both),
            "voicing_error": _finite(s.voicing_error), "r2": _finite(s.r2), "gpe": _finite(s.gpe)}


def enhancer_context(utts: Sequence[LabelledUtterance], outputs: Mapping[str, np.ndarray],
                     name: str) -> dict[str, Any]:
    jobs = [ScoreJob(u.id, name, u.clean, np.asarray(outputs[u.id]), u.sample_rate)
            for u in utts if u.clean is not None and u.id in outputs]
    if not jobs:
        return {"unscorable": "no utterance with a clean reference"}
    rows = score_jobs(jobs, ENHANCER_METRICS)
    means: dict[str, Any] = {"method": name, "utterances": len(jobs)}
    for m in ENHANCER_METRICS:
        v = [r.values[m] for r in rows if math.isfinite(r.values[m])]
        means[m] = float(np.mean(v)) if v else None
    return means


def reference_context(utts: Sequence[LabelledUtterance], hop: int,
                      enhancer: tuple[str, Mapping[str, np.ndarray]] | None = None) -> dict[str, Any]:
    """The whole context block: VAD and F0 baselines on ``hop``, and the enhancer if given."""
    doc: dict[str, Any] = {"hop": hop, "utterances": len(utts), "vad": vad_context(utts, hop),
                           "f0": f0_context(utts, hop)}
    if enhancer is not None:
        doc["enhancer"] = enhancer_context(utts, enhancer[1], enhancer[0])
    return doc
