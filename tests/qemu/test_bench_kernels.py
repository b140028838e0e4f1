"""The bench kernels on the Cortex-M4F (QEMU mps2-an386), both code paths -- the DSP path
(SMLAD / SXTB16, the default for this core) and the reference path (-DBK_FORCE_REF) -- are
bit-exact with the golden model on every case of bench.harness.kernels.quick_cases: all kernels
at odd shapes, the small-configuration FC shapes, GRU cells over several timesteps.
Timings are printed by `python -m bench.harness.kernels`, not asserted here."""

from __future__ import annotations

import shutil

import pytest

from bench.harness import kernels as kb

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    cases = kb.quick_cases(seed=0)
    return cases, kb.build_images(cases, tmp_path_factory.mktemp("kernelbench"))


@pytest.mark.parametrize("path", ["dsp", "ref"])
def test_bit_exact_on_cortex_m4f(images, path):
    cases, elves = images
    results, text = kb.run_image(elves[path])
    assert f"KB_END path={path} fails=0" in text, text[-3000:]
    by = {r.name: r for r in results}
    assert set(by) == {c.name for c in cases}
    bad = [(r.name, r.status, r.bad, r.first) for r in results if r.status != 0 or r.bad != 0]
    assert not bad, bad
    # independent of the target's own comparison: a hash of its output bytes
    want = {c.name: kb.expected_fnv(c) for c in cases}
    assert all(c.expected.size > 0 for c in cases if c.kind != "NOP")
    assert [(r.name, r.fnv) for r in results] == [(r.name, want[r.name]) for r in results]


def test_counts_are_deterministic(images):
    """Same image, same input: the same instruction counts, run after run (-icount)."""
    _, elves = images
    a, _ = kb.run_image(elves["dsp"])
    b, _ = kb.run_image(elves["dsp"])
    assert [(r.name, r.ticks) for r in a] == [(r.name, r.ticks) for r in b]
