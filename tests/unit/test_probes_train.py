"""Probe training on synthetic mask bits: the held-out split, the choice of the L2 weight,
that the probes learn what the bits encode, and the export figures."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from probes_synth import CLASSES, frameset

from bench.errors import ConfigError
from bench.models.probes.quant import quantize
from bench.models.probes.readout import run_probes
from bench.models.probes.train import export_info, fit_probes, split_utts


def test_split_is_disjoint_and_deterministic():
    tr, va = split_utts(23, 5)
    assert va.tolist() == [4, 9, 14, 19]
    assert sorted(tr.tolist() + va.tolist()) == list(range(23))
    with pytest.raises(ConfigError):
        split_utts(3, 5)


@pytest.fixture(scope="module")
def fitted():
    train = frameset(n_utts=24, frames=50, seed=11)
    lams = (1.0, 1e-2, 1e-3)
    fp, info = fit_probes(train, 3, 40, CLASSES, holdout_every=4, vad_lams=lams, class_lams=lams,
                          ridge_lams=(1e3, 1.0, 0.1))
    return train, fp, info


def test_lambda_is_the_held_out_best(fitted):
    _, _, info = fitted
    v = info["vad"]
    assert v["lam"] == min(v["grid"], key=lambda r: r["log_loss"])["lam"]
    assert v["lam"] != 1.0  # the strongly regularised fit underfits
    c = info["noise_class"]
    assert c["lam"] == min(c["grid"], key=lambda r: r["cross_entropy"])["lam"]
    f = info["f0"]
    assert f["lam"] == max(f["grid"], key=lambda r: r["r2"])["lam"] and f["lam"] != 1e3
    assert info["utterances"] == {"train": 18, "held_out": 6, "without_known_class": 0}


def test_probes_generalise(fitted):
    _, fp, _ = fitted
    test = frameset(n_utts=9, frames=50, seed=11, draw=1)  # new frames, same bit statistics
    assert not np.array_equal(test.bits, fitted[0].bits[: test.bits.shape[0]])
    out = [run_probes(test.bits[test.utt_index == u], quantize(fp)) for u in range(test.n_utts)]
    vad = np.concatenate([o.vad for o in out])
    assert np.mean(vad == test.vad) > 0.9
    assert [o.utt_class for o in out] == [CLASSES[c] for c in test.utt_class]
    f0 = np.concatenate([o.f0_hz for o in out])
    v = test.voiced
    r2 = 1 - np.sum((f0[v] - test.f0_hz[v]) ** 2) / np.sum((test.f0_hz[v] - test.f0_hz[v].mean()) ** 2)
    assert r2 > 0.7


def test_export_info(fitted):
    _, fp, _ = fitted
    q = quantize(fp)
    e = export_info(fp, q)
    assert e["probe_order"] == ["vad", "class:a", "class:b", "class:c", "f0_hz"]
    assert e["n_bits"] == 120 and all(h >= 0 for h in e["int32_headroom"])
    assert e["scale"] == [2.0 ** -s for s in e["shift"]]
    assert e["context"] == 0 and e["n_features"] == 120 and e["macs_per_frame"] == 120 * 5
    assert e["target"].startswith("C kernel")


def test_context_fit_sees_the_previous_frames():
    # the labels of frame t are coded in the bits of frame t - 1: a context-1 probe reads them
    # from the "previous frame" half of its features, a k = 0 probe only through correlation
    fs = frameset(n_utts=24, frames=50, seed=5)
    early = np.zeros_like(fs.bits)
    for u in range(fs.n_utts):
        idx = np.flatnonzero(fs.utt_index == u)
        early[idx[:-1]] = fs.bits[idx[1:]]
    delayed = replace(fs, bits=early)
    lams = (1e-2,)
    kw = dict(holdout_every=4, vad_lams=lams, class_lams=lams, ridge_lams=(1.0, 0.1), max_iter=50)
    fp0, info0 = fit_probes(delayed, 3, 40, CLASSES, **kw)
    fp1, info1 = fit_probes(delayed, 3, 40, CLASSES, context=1, **kw)
    assert fp0.context == 0 and fp0.weight.shape == (120, 5)
    assert fp1.context == 1 and fp1.weight.shape == (240, 5)
    assert info1["f0"]["held_out"]["r2"] > 0.7, (info0["f0"]["held_out"], info1["f0"]["held_out"])
    assert info1["f0"]["held_out"]["r2"] > info0["f0"]["held_out"]["r2"] + 0.1
    e = export_info(fp1, quantize(fp1))
    assert e["n_features"] == 240 and e["macs_per_frame"] == 2 * 120 * 5 and "host only" in e["target"]


def test_utterances_of_a_class_the_probes_do_not_know_train_vad_and_f0_only():
    # the diverse train sets' recorded-music: no class index (-1), frames still labelled for VAD / F0
    fs = frameset(n_utts=24, frames=50, seed=11)
    unknown = np.isin(fs.utt_index, [0, 3, 7])  # two fitted, one held out (every 4th: 3, 7, 11, ...)
    fs = replace(fs, frame_class=np.where(unknown, -1, fs.frame_class))
    lams = (1.0, 1e-2, 1e-3)
    fp, info = fit_probes(fs, 3, 40, CLASSES, holdout_every=4, vad_lams=lams, class_lams=lams,
                          ridge_lams=(1e3, 1.0, 0.1))
    assert info["utterances"] == {"train": 18, "held_out": 6, "without_known_class": 3}
    assert info["frames"]["all"] == fs.bits.shape[0]  # VAD and F0 saw every frame
    assert info["noise_class"]["held_out"]["utt_accuracy"] == 1.0  # scored on the 5 known held-out ones
    test = frameset(n_utts=9, frames=50, seed=11, draw=1)
    out = [run_probes(test.bits[test.utt_index == u], quantize(fp)) for u in range(test.n_utts)]
    assert [o.utt_class for o in out] == [CLASSES[c] for c in test.utt_class]


def test_no_utterance_of_a_known_class_is_refused_with_what_to_do():
    fs = frameset(n_utts=8, frames=20, seed=3)
    fs = replace(fs, frame_class=np.full_like(fs.frame_class, -1))
    with pytest.raises(ConfigError, match=r"0 of 8 training utterances have a noise class the probes know"):
        fit_probes(fs, 3, 40, CLASSES, holdout_every=4)
