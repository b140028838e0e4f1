"""The whole-utterance integer network (bench.models.dyncp.intbatch) equals the streaming golden
model (bench.models.dyncp.intnet, the C's specification) bit for bit: gains, masks, kept counts,
MACs and audio, on shipped utterances for the static and both gated models."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.loader import load_set
from bench.models.dyncp import intnet
from bench.models.dyncp.refs import model_dir, quant_model


@pytest.fixture(scope="module")
def utts():
    return list(load_set(None, sample_rate=16000))


@pytest.mark.parametrize("model,utt", [("dyncp-small-r25", 0), ("dyncp-small-r25", 7), ("dyncp-small-r50", 3),
                                       ("dyncp-small-r100", 11)])
def test_batched_equals_streaming(utts, model, utt):
    qm = quant_model(model_dir(f"models/dyncp/{model}"))
    x = np.asarray(utts[utt].noisy, np.int16)
    a, b = intnet.enhance(qm, x), intnet.enhance(qm, x, batched=True)
    for name in ("audio", "gains", "masks", "kept", "macs", "raw"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_batched_sees_the_gates_move(utts):
    """Not vacuous: the gated model's masks change from frame to frame in the batched result too."""
    qm = quant_model(model_dir("models/dyncp/dyncp-small-r25"))
    b = intnet.enhance(qm, np.asarray(utts[0].noisy, np.int16), batched=True)
    assert b.masks.shape[1] > 0 and (b.masks[1:] != b.masks[:-1]).any() and len(set(b.macs.tolist())) > 1
