"""The nsNet2 task of the mixed-precision GRU search (bench.models.mpgru.nsnet2task): the 8-bit
genome reproduces the shipped GRU tables, and the batched network is bit-exact with the shipped
golden model (bench.models.nsnet2.golden.enhance) utterance by utterance at a mixed genome."""

from __future__ import annotations

import numpy as np
import pytest

from bench.models.common import gru_int as gi


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    from bench.data.generate import make_set
    from bench.models.mpgru.nsnet2task import Nsnet2GruTask

    d = tmp_path_factory.mktemp("speech")
    make_set(d, 7, 2, "test", duration_range=(1.0, 1.6), overwrite=True)
    return Nsnet2GruTask(set_dir=d)


def test_the_8bit_genome_is_the_shipped_gru(task):
    qm = task.quant_model(gi.GruGenome())
    for name in ("gru1", "gru2"):
        a, b = task.qm.layers[name].gru, qm.layers[name].gru
        for k in ("w_ih", "w_hh", "b_ih", "b_hh", "mult_ih", "shift_ih", "mult_hh", "shift_hh"):
            assert np.array_equal(getattr(a, k), getattr(b, k)), (name, k)
    assert task.model_bits(gi.GruGenome()) == 2 * gi.GruGenome().model_bits(128, 128)


def test_batched_network_is_the_golden_model(task):
    from bench.data.loader import load_set
    from bench.models.nsnet2.golden import enhance

    utts = list(load_set(task.set_dir))
    g = gi.GruGenome.from_genome([3, 5, 6, 7, 4, 2] + [16, 12, 9, 16, 11, 16, 8, 16, 14, 13] + [16, 32])
    qm = task.quant_model(g)
    outs = task.enhance(qm, utts)
    assert len(outs) == 2
    for u, o in zip(utts, outs, strict=True):
        assert np.array_equal(o, enhance(qm, u.noisy, 4).audio)
    # and the genome changes the output (the GRUs are really requantised)
    assert not all(np.array_equal(o, enhance(task.qm, u.noisy, 4).audio) for u, o in zip(utts, outs, strict=True))
