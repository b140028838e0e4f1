"""The mixed-precision GRU kernels on QEMU (issue #15): random genomes (every operator at its own
width: weights 2..8, activations 2..16, biases 8/16/32) run bit-exact with the golden model on the
DSP path (real SXTB16 / SMLAD) and on the reference path; and the benchmark of instructions per MAC
of the GRU step per weight width beside the int8 GRU (printed; with --benchmark-enable)."""

from __future__ import annotations

import pytest

from bench.harness import mpgru_kernels as mk

pytestmark = pytest.mark.qemu


def test_random_genomes_are_bit_exact_on_both_paths(tmp_path):
    res = mk.run_benchmark((), work=tmp_path, seed=3, genomes=12)
    gen = [e for e in res["cases"].values() if e["bits"] == 0]
    assert len(gen) == 12
    # every weight width appears, so each kernel ran at least once
    assert {b for e in gen for b in e["genome"][:6]} == set(range(2, 9))
    bad = [e for e in gen if not (e["dsp"]["ok"] and e["ref"]["ok"])]
    assert not bad, bad


def test_benchmark_instructions_per_mac_per_width(request, tmp_path):
    if not request.config.getoption("benchmark_enable"):
        pytest.skip("benchmark: run with --benchmark-enable")
    res = mk.run_benchmark(mk.SHAPES_FULL, work=tmp_path, genomes=8)
    print("\n" + mk.format_table(res))
    assert all(e[p]["ok"] for e in res["cases"].values() for p in ("dsp", "ref"))
    per = {(e["i"], e["h"], e["kind"], e["bits"]): e["dsp"]["instr_per_mac"] for e in res["cases"].values()}
    for i, h in mk.SHAPES_FULL:
        # a split-plane width costs more than its top plane alone (the price of the smaller model)
        assert per[(i, h, "MP", 6)] > per[(i, h, "MP", 4)] and per[(i, h, "MP", 3)] > per[(i, h, "MP", 2)]
