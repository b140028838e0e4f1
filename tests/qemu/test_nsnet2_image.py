"""The early-exit nsNet2 images on QEMU: output, exits and MACs bit-exact with the golden model on
the shipped test set, instruction counts repeatable, later exits cost more, CONFIGURE works; the
linear-exit image bit-exact with its own golden model and cheaper when the dynamic policy stops early."""

import numpy as np
import pyarrow.compute as pc
import pytest

from bench.data.loader import load_set
from bench.errors import DeviceError
from bench.images import find_image
from bench.models.nsnet2 import golden as G
from bench.models.nsnet2.refs import model_dir
from bench.models.nsnet2.refs import quant_model as _quant_model
from bench.models.nsnet2.reference import ExitPolicy
from bench.runner import Runner, RunOptions

IMAGE = "nsnet2-small-an386"
TARGET = "qemu-mps2-an386-sh"
COLS = ["utt", "frame", "total", "stage_stft", "stage_network", "stage_istft", "exit", "macs"]


@pytest.fixture(scope="module")
def shipped():
    return list(load_set(None, sample_rate=16000))


@pytest.fixture(scope="module")
def qm():
    return _quant_model(model_dir())


def _check_against_golden(run, utts, qm, policy, image=IMAGE):
    frames = run.frames(image)
    for u in utts:
        g = G.enhance(qm, u.noisy, policy)
        assert np.array_equal(run.read_audio(image, u.id), g.audio), u.id
        f = frames.filter(pc.equal(frames["utt"], u.id)).sort_by("frame")
        # the target runs ceil((n + delay) / hop) hops; the first len(g.exits) are the input frames
        exits = f["exit"].to_numpy()[: g.exits.size]
        macs = f["macs"].to_numpy()[: g.macs.size]
        assert np.array_equal(exits, g.exits), u.id
        assert np.array_equal(macs, g.macs), u.id


@pytest.mark.parametrize("k", [0, 4])
def test_static_exit_bit_exact_on_shipped_set(results_dir, shipped, qm, k):
    run = Runner(RunOptions(target=TARGET, images=(IMAGE,), configure=(("exit", k),), metrics=False),
                 utterances=shipped).start()
    assert run.read_meta()["status"] == "done", run.read_meta()
    _check_against_golden(run, shipped, qm, ExitPolicy.static(k))


def test_dynamic_policy_bit_exact(results_dir, shipped, qm):
    utts = shipped[:4]
    cfg = (("policy", 1), ("thr_q15", 600))
    run = Runner(RunOptions(target=TARGET, images=(IMAGE,), configure=cfg, metrics=False), utterances=utts).start()
    assert run.read_meta()["status"] == "done", run.read_meta()
    _check_against_golden(run, utts, qm, ExitPolicy.dynamic(600 / 32768))
    exits = run.frames(IMAGE)["exit"].to_numpy()
    assert len(set(exits.tolist())) >= 2  # the policy really varies the exit per frame


def test_counts_repeat_exactly_and_later_exits_cost_more(results_dir, shipped):
    utts = shipped[:2]
    totals = {}
    for k in range(5):
        run = Runner(RunOptions(target=TARGET, images=(IMAGE,), configure=(("exit", k),), metrics=False),
                     utterances=utts).start()
        t = run.frames(IMAGE)
        totals[k] = float(np.mean(t["stage_network"].to_numpy()))
        if k == 2:
            again = Runner(RunOptions(target=TARGET, images=(IMAGE,), configure=(("exit", k),), metrics=False),
                           utterances=utts).start()
            assert t.select(COLS).to_pylist() == again.frames(IMAGE).select(COLS).to_pylist()
    assert all(totals[k] < totals[k + 1] for k in range(4)), totals


def test_shipped_subset_scores_three_ways(results_dir):
    from bench.results.store import read_json

    run = Runner(RunOptions(target=TARGET, images=(IMAGE,), limit=2, configure=(("exit", 1),))).start()
    comp = read_json(run.image_dir(IMAGE) / "comparison.json")
    assert comp["conditions"] == ["noisy", "float", "golden", "target"]
    assert comp["fidelity"]["target_vs_golden"]["bit_exact_min"] == 1.0
    means = {r["condition"]: r for r in comp["means"]}
    assert abs(means["target"]["pesq_wb"] - means["float"]["pesq_wb"]) < 0.1
    assert means["target"]["si_sdr"] > means["noisy"]["si_sdr"]


def test_bad_configure_is_refused(results_dir, synth_utts):
    """The family refuses the option on the host before anything starts (no run directory); the
    image's own range check stays as the device-side guard."""
    from bench.errors import ConfigError

    with pytest.raises(ConfigError, match="exit=9 out of range"):
        Runner(RunOptions(target=TARGET, images=(IMAGE,), configure=(("exit", 9),), metrics=False),
               utterances=synth_utts).start()
    assert not results_dir.exists() or not any(results_dir.iterdir())
    from bench.link.session import Session
    from bench.targets import load_target
    from bench.targets.drivers import make_driver

    with make_driver(load_target(TARGET), results_dir.parent / "dev") as drv:
        drv.start(find_image(IMAGE).path)
        s = Session(drv.open_link(), window=1, timeout=5.0)
        s.hello()
        with pytest.raises(DeviceError):
            s.configure({"exit": 9})


def test_exit_sweep_writes_table_and_plot(results_dir):
    import json

    from bench.families.nsnet2 import exit_points
    from bench.runner.sweep import run_sweep

    pts = [p for p in exit_points(5, (4800,)) if p.label in ("exit0", "exit3", "dyn4800")]
    sdir = run_sweep(RunOptions(target=TARGET, images=(IMAGE,), limit=1, run_id="sw"), "exit", points=pts).path
    doc = json.loads((sdir / "sweep.json").read_text())
    rows = {r["point"]: r for r in doc["points"]}
    assert set(rows) == {"exit0", "exit3", "dyn4800"} and not doc["failed"]
    assert rows["exit0"]["instr_mean"] < rows["exit3"]["instr_mean"]
    assert rows["exit0"]["macs_mean"] == 41216
    assert all(r["bit_exact_target_vs_golden"] == 1.0 for r in rows.values())
    assert rows["dyn4800"]["exit_share"][0] == 0.0 and abs(sum(rows["dyn4800"]["exit_share"]) - 1) < 1e-9
    assert "| exit3 |" in (sdir / "sweep.md").read_text()
    assert (sdir / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert (sdir / "exit0" / "run.json").is_file()


# --- nsnet2-small-linear-an386: the same runner on the linear-exit model's tables

LINEAR_IMAGE = "nsnet2-small-linear-an386"


@pytest.fixture(scope="module")
def linear_qm():
    from bench.images import find_image

    entry = find_image(LINEAR_IMAGE)
    assert entry.model_dir == "models/nsnet2/nsnet2-small-linear"
    q = _quant_model(model_dir(entry.model_dir))
    assert q.config.exit_kind == "linear"
    return q


def _linear_run(utts, cfg, metrics=False):
    run = Runner(RunOptions(target=TARGET, images=(LINEAR_IMAGE,), configure=cfg, metrics=metrics),
                 utterances=utts).start()
    assert run.read_meta()["status"] == "done", run.read_meta()
    return run


def test_linear_image_bit_exact_and_early_stops_cost_less(results_dir, shipped, linear_qm):
    utts = shipped[:2]
    last = linear_qm.config.n_exits - 1
    final = _linear_run(utts, (("exit", last),))
    _check_against_golden(final, utts, linear_qm, ExitPolicy.static(last), LINEAR_IMAGE)
    every = _linear_run(utts, (("policy", 1), ("thr_q15", 0)))  # never converged: every exit evaluated
    _check_against_golden(every, utts, linear_qm, ExitPolicy.dynamic(0.0), LINEAR_IMAGE)
    dyn = _linear_run(utts, (("policy", 1), ("thr_q15", 2400)))
    _check_against_golden(dyn, utts, linear_qm, ExitPolicy.dynamic(2400 / 32768), LINEAR_IMAGE)
    net_final = final.frames(LINEAR_IMAGE)["stage_network"].to_numpy()
    net_every = every.frames(LINEAR_IMAGE)["stage_network"].to_numpy()
    assert set(every.frames(LINEAR_IMAGE)["exit"].to_numpy().tolist()) == {last}
    f = dyn.frames(LINEAR_IMAGE)
    exits, net = f["exit"].to_numpy(), f["stage_network"].to_numpy()
    assert (exits < last).any() and len(set(exits.tolist())) >= 2
    # a frame that stops early costs fewer instructions than one that runs all exits ...
    assert net[exits < last].max() < net_every.min()
    # ... and (linear exits: only the heads are extra) one that stops at exit1 less than the static final exit
    assert (exits == 1).any() and net[exits == 1].max() < net_final.min()


def test_linear_image_scored_against_its_own_model(results_dir, shipped):
    from bench.results.store import read_json

    run = _linear_run(shipped[:1], (("exit", 1),), metrics=True)
    comp = read_json(run.image_dir(LINEAR_IMAGE) / "comparison.json")
    assert comp["fidelity"]["target_vs_golden"]["bit_exact_min"] == 1.0  # the linear model's golden, not the split's
    means = {r["condition"]: r for r in comp["means"]}
    assert abs(means["target"]["pesq_wb"] - means["float"]["pesq_wb"]) < 0.1
