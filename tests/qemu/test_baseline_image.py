"""The classic DSP baseline image on QEMU: bit-exact with its numpy mirror, through the runner."""

import numpy as np

from bench.models.baseline import SpectralGate
from bench.runner import Runner, RunOptions

IMAGE = "dsp-baseline-an386"


def golden(noisy: np.ndarray, **config: int) -> np.ndarray:
    """What the image must return, aligned as the runner stores it (the 256-sample delay removed)."""
    sg = SpectralGate()
    for k, v in config.items():
        sg.configure(k, v)
    padded = np.concatenate([noisy, np.zeros(256, np.int16)])
    return sg.enhance(padded)[256: 256 + len(noisy)]


def test_baseline_image_is_bit_exact_with_numpy(results_dir, synth_utts):
    run = Runner(RunOptions(images=(IMAGE,)), utterances=synth_utts).start()
    assert run.read_meta()["status"] == "done", run.read_meta()
    for u in synth_utts:
        assert np.array_equal(run.read_audio(IMAGE, u.id), golden(u.noisy)), u.id
    frames = run.frames(IMAGE)
    assert {"stage_stft", "stage_gain", "stage_istft"} <= set(frames.column_names)


def test_run_on_shipped_set_scores_three_ways(results_dir):
    """Two utterances of the shipped test set: noisy, float reference and target scored; the
    target is bit-exact with the reference, and the enhancer improves SI-SDR over the input."""
    from bench.results.store import read_json

    run = Runner(RunOptions(target="qemu-mps2-an386-sh", images=(IMAGE,), limit=2)).start()
    comp = read_json(run.image_dir(IMAGE) / "comparison.json")
    assert comp["conditions"] == ["noisy", "float", "target"]
    assert comp["fidelity"]["target_vs_float"] == {"bit_exact_min": 1.0, "max_abs_lsb": 0.0, "utterances": 2}
    means = {r["condition"]: r for r in comp["means"]}
    assert means["target"]["pesq_wb"] == means["float"]["pesq_wb"]
    assert means["target"]["si_sdr"] > means["noisy"]["si_sdr"]


def test_baseline_configure_changes_output_bit_exactly(results_dir, synth_utts):
    run = Runner(RunOptions(images=(IMAGE,), configure=(("gain_floor_db", -30), ("over_q8", 384))),
                 utterances=synth_utts[1:]).start()
    u = synth_utts[1]
    got = run.read_audio(IMAGE, u.id)
    assert np.array_equal(got, golden(u.noisy, gain_floor_db=-30, over_q8=384))
    assert not np.array_equal(got, golden(u.noisy))


def test_baseline_counts_repeat_exactly(results_dir, synth_utts):
    cols = ["utt", "frame", "total", "stage_stft", "stage_gain", "stage_istft"]
    a = Runner(RunOptions(target="qemu-mps2-an386-sh", images=(IMAGE,)), utterances=synth_utts).start()
    b = Runner(RunOptions(target="qemu-mps2-an386-sh", images=(IMAGE,)), utterances=synth_utts).start()
    assert a.frames(IMAGE).select(cols).to_pylist() == b.frames(IMAGE).select(cols).to_pylist()
