"""cycles_est of the kernel benchmarks (the cm4cycles plugin through QemuDriver.run_to_exit):

* a region per case, matched by exact instruction counts, deterministic run to run;
* an instruction count flatters LDM / STM-heavy code and cycles_est does not: the transposed
  pointwise kernel's quad pass (accumulators in memory, LDM / STM every 16 MACs; what a frame
  with a skipped input channel runs) has FEWER instructions per MAC than its dense
  output-stationary path (accumulators in registers) at 256 -> 128, and MORE cycles_est per MAC;
  the plain kernel (bk_pw_conv_s8) is cheaper than both in cycles_est;
* the front-end image (the runners' FFT stages and features; CMSIS-DSP when BENCH_CMSIS_DSP is
  set) runs, and the DynCP feature table agrees with itself called both ways."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bench.harness import cmsis as C
from bench.harness import dyncp_kernels as dkb
from bench.harness import kernels as kb

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None or shutil.which("gcc") is None,
    reason="arm-none-eabi-gcc / qemu-system-arm / gcc not installed",
)


@pytest.fixture(scope="module")
def pw_cases():
    rng = np.random.default_rng(3)
    skip_one = np.ones(256, bool)
    skip_one[255] = False  # one skipped input: the quad pass
    return [
        dkb.nop_case(),
        dkb.pw_case("plain_256to128", 256, 128, None, rng),
        dkb.pwt_case("dense_256to128", 256, 128, None, rng),
        dkb.pwt_case("quads_256to128", 256, 128, None, rng, dkb.Edge(keep=skip_one)),
    ]


@pytest.fixture(scope="module")
def pw_elf(pw_cases, tmp_path_factory):
    return dkb.build_images(pw_cases, tmp_path_factory.mktemp("pwcycles"), paths=("dsp",))["dsp"]


def test_cycles_per_case_deterministic(pw_cases, pw_elf):
    a, text = kb.run_image(pw_elf, cycles_est=True)
    b, _ = kb.run_image(pw_elf, cycles_est=True)
    assert "KB_END path=dsp fails=0" in text, text[-2000:]
    assert all(r.cycles_est is not None and r.cycles_est >= kb.ticks_to_instructions(r.ticks) for r in a)
    assert [(r.name, r.ticks, r.cycles_est) for r in a] == [(r.name, r.ticks, r.cycles_est) for r in b]


def test_instructions_flatter_the_ldm_stm_pass(pw_cases, pw_elf):
    res = dkb.run(pw_cases, pw_elf.parent, paths=("dsp",))["paths"]["dsp"]["cases"]
    assert all(e["ok"] for e in res.values())
    dense, quads, plain = res["dense_256to128"], res["quads_256to128"], res["plain_256to128"]
    assert quads["instr_per_mac"] < dense["instr_per_mac"]
    assert quads["cycles_est_per_mac"] > 1.15 * dense["cycles_est_per_mac"]
    assert plain["cycles_est_per_mac"] < dense["cycles_est_per_mac"]


def test_front_end_image(tmp_path, monkeypatch):
    dsp = C.cmsis_dsp_dir()
    res = C.run_cases(C.build_fft_image(tmp_path, dsp))
    assert all(e["status"] == 0 and e["bad"] == 0 for e in res.values()), res
    assert res["dc_analysis"]["fnv"] == res["dc_features"]["fnv"]  # the in-line features = dc_feature
    assert res["dc_analysis"]["instructions"] < 45000  # the bucket table (57.7k with the binary search)
    assert ("cm_rfft512" in res) == (dsp is not None)


def test_fc_five_row_blocks(tmp_path):
    """The matrix-vector core's 5-row blocks (matrices of 64 rows or more, bk_support_matvec.c):
    bit-exact on both paths at row counts that split into 5-row and 4-row blocks in every way and
    at column counts with leftover groups and columns; at 400x400 under 1.385 instructions and
    1.665 cycles_est per MAC (4-row blocks alone: 1.392 / 1.680)."""
    rng = np.random.default_rng(5)
    cases = [kb.Case("nop", "NOP")]
    for kind in ("FC_S8", "FC_S8_S16", "FC_S16"):
        for n, k in ((64, 33), (65, 61), (66, 100), (67, 8), (99, 37)):
            cases.append(kb.fc_case(f"{kind.lower()}_{n}x{k}", kind, n, k, rng))
    cases.append(kb.fc_case("fc_s8_400to400", "FC_S8", 400, 400, rng))
    res = kb.run_benchmark(cases, tmp_path)["cases"]
    bad = [n for n, e in res.items() if n != "nop" and not (e["dsp"]["ok"] and e["ref"]["ok"])]
    assert not bad, {n: res[n] for n in bad}
    big = res["fc_s8_400to400"]["dsp"]
    assert big["instr_per_mac"] < 1.385 and big["cycles_est_per_mac"] < 1.665, big
