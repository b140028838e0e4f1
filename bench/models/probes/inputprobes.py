"""Comparison probes on the model's input spectrum instead of its mask bits.

The same three probes, the same recipe (bench.models.probes.train.fit_probes), fitted on the
257 power-compressed magnitudes ``|X|^0.3`` of the noisy input that the network itself reads
(bench.models.probes.features.input_spectrum), float only (not exported). They answer how much
of what a linear read-out can find in the input survives in the 1,152 mask bits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bench.data.loader import Utterance
from bench.data.noises import NOISE_CLASSES
from bench.models.dyncp.reference import DyncpModel
from bench.models.probes.evaluate import frame_labels_of
from bench.models.probes.features import input_spectrum, stack, utterance_frames
from bench.models.probes.quant import FloatProbes
from bench.models.probes.readout import run_probes, score_set


def spectrum_frames(model: DyncpModel, utts: Sequence[Utterance]) -> list[Any]:
    return [utterance_frames(model, u, NOISE_CLASSES, bits=input_spectrum(model, u.noisy)) for u in utts]


def fit_and_score(
    model: DyncpModel,
    train: Sequence[Utterance],
    test: Sequence[Utterance],
    fit: Callable[..., tuple[FloatProbes, dict[str, Any]]],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Fit the probes on the train utterances' input spectra, score them on the test ones."""
    fs = stack(spectrum_frames(model, train))
    n = fs.bits.shape[1]
    mu = fs.bits.mean(axis=0)
    sd = np.maximum(fs.bits.std(axis=0), 1e-6)  # z-scored: dense float features, conditioning
    fs = replace(fs, bits=((fs.bits - mu) / sd).astype(np.float32))
    fp, info = fit(fs, 1, n, NOISE_CLASSES, log=log)
    frames = spectrum_frames(model, test)
    outs = [run_probes(((f.bits - mu) / sd).astype(np.float32), fp) for f in frames]
    rep = score_set(outs, [frame_labels_of(f) for f in frames], [u.noise_class for u in test])
    what = f"input |X|^{model.config.compress} ({n} bins, z-scored on the train split), float probes"
    return {"features": what, "train": info, "test": rep.to_dict()}
