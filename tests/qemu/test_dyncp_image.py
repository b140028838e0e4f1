"""The DynCP Conv-FSENet images on QEMU: output, keep-masks and MACs bit-exact with the integer
golden model (bench.models.dyncp.intnet) on the shipped test set; instruction counts repeat
exactly; frames that keep fewer channels cost fewer instructions, and the dynamic images cost
less than the static one; the run writes the DynCP view."""

import numpy as np
import pyarrow.compute as pc
import pytest

from bench.data.loader import load_set
from bench.families.dyncp.view import mask_bits
from bench.models.dyncp import intnet
from bench.models.dyncp.refs import model_dir, quant_model
from bench.runner import Runner, RunOptions

TARGET = "qemu-mps2-an386-sh"
R25, R50, R100 = "dyncp-small-r25-an386", "dyncp-small-r50-an386", "dyncp-small-r100-an386"
COLS = ["utt", "frame", "total", "stage_stft", "stage_network", "stage_istft", "macs"]


@pytest.fixture(scope="module")
def shipped():
    return list(load_set(None, sample_rate=16000))


def check_utterance(run, image, u, qm):
    """Audio, MACs and (gated) masks of one utterance bit-exact with the golden; (frames, golden)."""
    frames = run.frames(image)
    g = intnet.enhance(qm, u.noisy)
    assert np.array_equal(run.read_audio(image, u.id), g.audio), u.id
    f = frames.filter(pc.equal(frames["utt"], u.id)).sort_by("frame")
    t = g.macs.size  # the target runs more hops (the delay flush); the first t are the input frames
    assert np.array_equal(f["macs"].to_numpy()[:t], g.macs), u.id
    if qm.config.gated:
        assert np.array_equal(mask_bits(f, qm.config.n_blocks, qm.config.conv)[:t], g.masks), u.id
    return f, g


def _check_against_golden(run, image, utts):
    qm = quant_model(model_dir(f"models/dyncp/{image.removesuffix('-an386')}"))
    for u in utts:
        f, g = check_utterance(run, image, u, qm)
        if qm.config.gated:
            _check_probes(image, f, g.masks)


def _check_probes(image, f, masks):
    """The PROBE side information equals the integer probes on the golden masks (docs/probes.md)."""
    from bench.models.probes import quant as pq
    from bench.models.probes.golden import probe_scores

    _, qp = pq.load_npz(model_dir(f"models/dyncp/{image.removesuffix('-an386')}"))
    got = np.stack([f[f"probe_{p}"].to_numpy() for p in range(qp.n_probes)], axis=1)[: masks.shape[0]]
    want = np.stack([probe_scores(m.reshape(-1), qp) for m in masks])
    assert np.array_equal(got, want), image


@pytest.fixture(scope="module")
def r25_run(tmp_path_factory, shipped):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCH_RESULTS", str(tmp_path_factory.mktemp("r25") / "results"))
        run = Runner(RunOptions(target=TARGET, images=(R25,), metrics=False), utterances=shipped).start()
        assert run.read_meta()["status"] == "done", run.read_meta()
        yield run


def test_r25_bit_exact_on_shipped_set(r25_run, shipped):
    _check_against_golden(r25_run, R25, shipped)


def test_fewer_kept_channels_cost_fewer_instructions(r25_run):
    t = r25_run.frames(R25)
    net = t["stage_network"].to_numpy().astype(np.float64)
    macs = t["macs"].to_numpy().astype(np.float64)  # a linear function of the kept channel count
    assert np.ptp(macs) > 10_000  # the gates really vary the work from frame to frame
    assert np.corrcoef(macs, net)[0, 1] > 0.9
    lo, hi = np.quantile(macs, [0.25, 0.75])
    assert net[macs <= lo].max() < net[macs >= hi].min()  # every cheap-mask frame beats every dense one


def test_static_and_r50_bit_exact_and_ordered(results_dir, shipped, r25_run):
    utts = shipped[:3]
    run = Runner(RunOptions(target=TARGET, images=(R100, R50), metrics=False), utterances=utts).start()
    assert run.read_meta()["status"] == "done", run.read_meta()
    for image in (R100, R50):
        _check_against_golden(run, image, utts)
    ids = {u.id for u in utts}

    def mean_net(r, image):
        t = r.frames(image)
        keep = np.array([u in ids for u in t["utt"].to_pylist()])
        return float(t["stage_network"].to_numpy()[keep].mean())

    assert mean_net(r25_run, R25) < mean_net(run, R50) < mean_net(run, R100)


def test_counts_repeat_exactly_and_view_is_written(results_dir, shipped):
    utts = shipped[:1]
    a = Runner(RunOptions(target=TARGET, images=(R100, R25)), utterances=utts).start()
    b = Runner(RunOptions(target=TARGET, images=(R25,), metrics=False), utterances=utts).start()
    assert a.frames(R25).select(COLS).to_pylist() == b.frames(R25).select(COLS).to_pylist()
    v = a.read_view(R25)
    assert v is not None and v["static_image"] == R100
    assert v["vs_static"]["saving_network_pct"] > 10
    assert 0.2 < float(np.mean(v["kept_fraction"]["target"])) < 0.35
    assert v["mask_agreement_target_vs_float"] > 0.98
    assert (a.image_dir(R25) / "dyncp-instructions.png").is_file()
    # the probes of the run: F0 within voice (the utterance's voice) and gated by the probe's VAD
    pt, pf = v["probes"]["target"], v["probes"]["float_masks"]
    assert pt["f0"]["n_speakers"] == 1 and pt["f0"]["r2_within_voice"] is not None
    assert pt["f0_vad_gated"]["gate"] == "probe VAD" and 0 < pt["f0_vad_gated"]["n_voiced"] <= pt["f0"]["n_voiced"]
    assert abs(pt["f0"]["r2_within_voice"] - pf["f0"]["r2_within_voice"]) < 0.05
