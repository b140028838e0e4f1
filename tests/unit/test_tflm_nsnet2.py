"""nsNet2 exported to .tflite (bench export tflite) runs in TFLM's host interpreter and equals
our integer golden model on the shipped test set; the runner takes TFLM as the integer
reference for an image whose manifest names a .tflite. Needs the `tflm` extra."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("tflite_micro")

from bench.cli import main as bench_main  # noqa: E402
from bench.data import load_set  # noqa: E402
from bench.errors import ConfigError, ImageError  # noqa: E402
from bench.images import find_image, verify_image  # noqa: E402
from bench.models.nsnet2.golden import enhance  # noqa: E402
from bench.models.nsnet2.quantize import QuantModel  # noqa: E402
from bench.families import refs_for  # noqa: E402
from bench.runner.score import integer_reference  # noqa: E402
from bench.paths import repo_root  # noqa: E402
from bench.targets import load_target  # noqa: E402
from bench.tflm.conformance import assert_bit_exact  # noqa: E402
from bench.tflm.nsnet2 import describe, enhance_tflm, export  # noqa: E402

MODEL = repo_root() / "models" / "nsnet2" / "nsnet2-small"
SHIPPED = repo_root() / "firmware_images" / "nsnet2-small-exit4.tflite"


@pytest.fixture(scope="module")
def qm():
    return QuantModel.load(MODEL)


@pytest.fixture(scope="module")
def utts():
    return list(load_set())


@pytest.fixture(scope="module")
def exported(qm):
    return {k: export(qm, k) for k in range(qm.config.n_exits)}


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_every_exit_matches_the_golden_model(qm, utts, exported, k):
    subset = utts if k in (1, 4) else utts[:3]  # the whole shipped set for two exits, 3 utterances for the rest
    for u in subset:
        t, g = enhance_tflm(qm, exported[k], u.noisy), enhance(qm, u.noisy, k)
        assert_bit_exact(f"{u.id} exit {k} masks", t.masks, g.masks, {"features": g.features})
        assert np.array_equal(t.audio, g.audio) and np.array_equal(t.raw, g.raw)
    assert np.abs(g.masks).max() > 1000  # a real mask, not zeros


def test_exports_are_described_and_reproducible(qm, exported):
    doc = describe(exported[1])
    # split exits: exit 1 runs fc1 and gru1's duplicate (its branch) before its head
    assert doc["exit"] == 1 and doc["state"] == ["exit1.branch"] and doc["model"] == "nsnet2-small"
    assert describe(exported[4])["state"] == ["gru1", "gru2"]
    assert export(qm, 4) == exported[4]
    assert SHIPPED.read_bytes() == exported[4], (
        "firmware_images/nsnet2-small-exit4.tflite is stale: "
        "bench export tflite nsnet2-small --out firmware_images/nsnet2-small-exit4.tflite")
    sizes = [len(exported[k]) for k in sorted(exported)]
    assert sizes == sorted(sizes)  # later exits hold more layers


def test_export_cli(tmp_path):
    out = tmp_path / "e1.tflite"
    assert bench_main(["export", "tflite", str(MODEL), "--exit", "1", "--out", str(out), "--json"]) == 0
    assert describe(out.read_bytes())["exit"] == 1
    assert bench_main(["export", "tflite", "nsnet2-small", "--exit", "7", "--out", str(out)]) == 2
    assert bench_main(["export", "tflite", str(tmp_path), "--out", str(out)]) == 2
    from bench.cli.export import quantised_model

    with pytest.raises(ConfigError, match="no quantised model"):
        quantised_model(str(tmp_path))


def test_foreign_tflite_is_refused():
    from bench.tflm.graph import Graph

    g = Graph()
    g.output(g.tanh(g.input((1, 4), "int16", 2.0**-12), 2.0**-15))
    with pytest.raises(ConfigError, match="not an nsNet2 export"):
        describe(g.build())


def test_runner_uses_tflm_for_the_image_and_falls_back_for_other_exits(utts):
    entry = find_image("nsnet2-small-an386")
    assert entry.tflite == "nsnet2-small-exit4.tflite"
    refs = refs_for(entry.model_family)
    u = utts[:1]
    got, src = integer_reference(entry, refs, u, {})
    assert src == "TFLM interpreter on nsnet2-small-exit4.tflite"
    assert np.array_equal(got[u[0].id], refs.golden(u[0].noisy, {}))
    got, src = integer_reference(entry, refs, u, {"exit": 1})
    assert src.startswith("numpy golden model (TFLM reference not used: nsnet2-small-exit4.tflite is static exit 4")
    assert np.array_equal(got[u[0].id], refs.golden(u[0].noisy, {"exit": 1}))


def test_missing_tflite_is_refused_before_flashing(tmp_path):
    entry = dataclasses.replace(find_image("nsnet2-small-an386"), tflite="nope.tflite")
    with pytest.raises(ImageError, match="nope.tflite is missing"):
        verify_image(entry, load_target("qemu-mps2-an386"))
