"""The DynCP channel-masked kernels on the Cortex-M4F (QEMU mps2-an386), both code paths -- the
DSP path (SMLAD / SXTB16 / PKH / SMLABB, the default for this core) and the reference path
(-DBK_FORCE_REF) -- are bit-exact with the golden ops (bench.models.dyncp.golden) on every
case of bench.harness.dyncp_kernels.cases: odd shapes, all-off / all-on / random masks, the
dyncp-small and dyncp-full frame shapes, and the edge cases of the DSP path's assembly
(kernelbench.edge_cases: multipliers 0 / below 2^30, shifts -31..30, NULL and full-range
biases, narrow activation ranges, every nibble value, mask runs across words, sizes 1..150);
output, history ring and ring position compared.
Instruction counts are printed by `python -m bench.harness.dyncp_kernels`, not asserted."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bench.harness import kernels as kb
from bench.harness import dyncp_kernels as dkb

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="arm-none-eabi-gcc / qemu-system-arm not installed",
)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    cases = dkb.cases(seed=0)
    return cases, dkb.build_images(cases, tmp_path_factory.mktemp("dyncp-kernelbench"))


@pytest.mark.parametrize("path", ["dsp", "ref"])
def test_bit_exact_on_cortex_m4f(images, path):
    cases, elves = images
    results, text = kb.run_image(elves[path])
    assert f"KB_END path={path} fails=0" in text, text[-3000:]
    by = {r.name: r for r in results}
    assert set(by) == {c.name for c in cases}
    bad = [(r.name, r.status, r.bad, r.first) for r in results if r.status != 0 or r.bad != 0]
    assert not bad, bad
    want = {c.name: dkb.expected_fnv(c) for c in cases}  # the host's own hash of the golden bytes
    assert [(r.name, r.fnv) for r in results] == [(r.name, want[r.name]) for r in results]


def test_skipped_channels_cost_less(images):
    """Fewer kept channels, fewer instructions (same shape), on the DSP path."""
    _, elves = images
    results, _ = kb.run_image(elves["dsp"])
    t = {r.name: r.ticks for r in results}
    for stem in ("pw1_128x256", "pw2_256x128", "dw_256_d1"):
        assert t[f"{stem}_k25"] < t[f"{stem}_k50"] < t[f"{stem}_k100"], stem
    assert t["pw_37x29_k0"] < t["pw_37x29_k50"]


def test_dsp_image_runs_the_assembly_routines(images):
    """The DSP image links the three kernels' assembly routines, the reference image none."""
    _, elves = images
    want = {"bk__dw_dsp_frame", "bk__pw_dsp_rows", "bk__pwt_passes", "bk__pwt_dense", "bk__rq_run4"}

    def syms(elf):
        out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
        return {line.split()[-1] for line in out.splitlines() if line.strip()}

    assert want <= syms(elves["dsp"])
    assert not want & syms(elves["ref"])
    assert any(c.name.startswith("edge_dw_nib") for c in dkb.cases(seed=0))
