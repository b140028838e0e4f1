"""Reference baselines on a run's audio (bench.metrics.context)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from bench.data import load_set
from bench.data.labels import FrameLabels
from bench.errors import DataError
from bench.metrics.context import reference_context


@pytest.fixture(scope="module")
def utts():
    return list(load_set())[:3]


@dataclass(frozen=True)
class _NoLabels:
    id: str
    noisy: np.ndarray
    clean: np.ndarray | None
    sample_rate: int

    def frame_labels(self, hop: int) -> FrameLabels:
        raise DataError(f"{self.id}: no frame labels for hop {hop}")


def test_context_scores_the_noisy_input_and_the_enhancer(utts):
    enh = {u.id: u.noisy for u in utts}  # "enhancer" = identity: must score like the noisy input
    doc = reference_context(utts, 160, ("identity", enh))
    assert doc["utterances"] == 3 and doc["hop"] == 160
    assert 0.5 < doc["vad"]["accuracy"] <= 1.0 and doc["vad"]["frames"] == sum(u.frame_labels(160).n_frames
                                                                                 for u in utts)
    assert doc["f0"]["voiced_frames"] > 0 and doc["f0"]["r2_both"] is not None
    assert doc["enhancer"]["utterances"] == 3 and 1.0 <= doc["enhancer"]["pesq_wb"] <= 4.65


def test_clean_input_gives_better_baselines_than_noisy(utts):
    clean_as_noisy = [replace(u, noisy=u.clean) for u in utts]
    noisy = reference_context(utts, 160)
    clean = reference_context(clean_as_noisy, 160)
    assert clean["vad"]["accuracy"] > noisy["vad"]["accuracy"]
    assert clean["f0"]["voicing_error"] < noisy["f0"]["voicing_error"]
    assert "enhancer" not in noisy


def test_unlabelled_set_is_reported_not_raised(utts):
    bare = [_NoLabels(u.id, u.noisy, None, u.sample_rate) for u in utts]
    doc = reference_context(bare, 160, ("identity", {u.id: u.noisy for u in bare}))
    assert "no frame labels" in doc["vad"]["unscorable"]
    assert "no frame labels" in doc["f0"]["unscorable"]
    assert doc["enhancer"]["unscorable"] == "no utterance with a clean reference"
