"""The nsnet2 task's instructions objective (issue #15, bench.models.mpgru.nsnet2meter): a genome's
count per network step is the sum of the two GRU layers' steps, each measured on the 128 x 128
mpgru image (built here from the current sources into a temporary manifest), bit-exact with the
golden network's layers and repeating exactly; without the image the objective is refused."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.models.common import gru_int as gi

pytestmark = pytest.mark.qemu
IMAGE = "mpgru-nsnet2-an386"
GENOMES = [gi.GruGenome.homogeneous(8, 16, 32),
           gi.GruGenome.from_genome([2, 4, 3, 2, 2, 2] + [16] * 10 + [32, 32]),
           gi.GruGenome.from_genome([6, 6, 7, 4, 8, 7, 9, 12, 7, 16, 14, 16, 9, 15, 15, 10, 8, 32])]


@pytest.fixture(scope="module")
def set_dir(tmp_path_factory):
    from bench.data.generate import make_set

    d = tmp_path_factory.mktemp("speech")
    make_set(d, 7, 2, "test", duration_range=(1.0, 1.6), overwrite=True)
    return d


@pytest.fixture(scope="module")
def meter(tmp_path_factory):
    from bench.families.mpgru import build_and_merge, nsnet2_meter

    d = tmp_path_factory.mktemp("mpgru-nsnet2-images")
    build_and_merge([IMAGE], d)
    m = nsnet2_meter(IMAGE, "qemu-mps2-an386-sh", d)
    yield m
    m.close()


@pytest.mark.parametrize("g", GENOMES, ids=lambda g: g.label())
def test_network_step_is_both_layers_and_repeats(meter, set_dir, tmp_path, g):
    from bench.models.mpgru import nsnet2meter
    from bench.models.mpgru.nsnet2task import GRU_LAYERS, Nsnet2Evaluator

    ev = Nsnet2Evaluator(meter=meter, instr_cache=tmp_path / "icache.json", set_dir=set_dir)
    assert ev.task.halves["search"], "the generated set needs an utterance of the search voices"
    got = ev.instructions(g)
    assert got["bit_exact"]
    probes = nsnet2meter.layer_probes(ev.task, g)
    assert [p["x"].shape for p in probes.values()] == [(nsnet2meter.PROBE_FRAMES, 128)] * 2
    layers = {}
    for name in GRU_LAYERS:
        r = meter.measure(probes[name]["blob"], probes[name]["x"])
        assert np.array_equal(np.asarray(r["pcm"], np.int16).reshape(len(probes[name]["x"]), -1), probes[name]["h"])
        layers[name] = float(np.mean(r["gru"]))
        assert got[f"instructions_{name}"] == layers[name]
    assert got["instructions"] == sum(layers.values()) > 0
    again = nsnet2meter.measure(meter, ev.task, g)   # measured afresh, not the cache
    assert again == got
    assert ev.instructions(g) == got                   # the cache, keyed by image and genome
    assert len(ev.icache.data) == 1


def test_genomes_differ_on_target(meter, set_dir):
    """The count follows the genome (the meter loads what it is given, not the flash tables)."""
    from bench.models.mpgru import nsnet2meter
    from bench.models.mpgru.nsnet2task import Nsnet2GruTask

    task = Nsnet2GruTask(set_dir=set_dir)
    counts = [nsnet2meter.measure(meter, task, g)["instructions"] for g in GENOMES]
    assert len(set(counts)) == len(counts)


def test_objective_refused_without_its_image(set_dir, tmp_path):
    from bench.families.mpgru import search_main
    from bench.models.mpgru.nsnet2task import Nsnet2Evaluator

    ev = Nsnet2Evaluator(set_dir=set_dir)
    with pytest.raises(ConfigError, match=f"needs its meter image {IMAGE}.*--build-images {IMAGE}"):
        ev.instructions(GENOMES[0])
    (tmp_path / "images").mkdir()
    with pytest.raises(ConfigError, match=f"needs the image {IMAGE}.*no image manifest.*--build-images {IMAGE}"):
        search_main(["--task", "nsnet2", "--objectives", "size,error,instructions", "--pop", "4", "--gens", "1",
                     "--images-dir", str(tmp_path / "images"), "--out", str(tmp_path / "out"), "--no-progress"])
    assert not (tmp_path / "out" / "cache.json").exists()
