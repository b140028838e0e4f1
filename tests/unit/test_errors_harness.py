"""The error catalogue (#16, docs/errors.md), the bench's own benchmarks (bench/harness) and what they run
on: a kernel bench image that faults before its end, a kernel bench build that fails, a case whose
cycle estimate has no region, a QEMU sandbox that cannot start, a cycle-estimate file that cannot be
read and an echo image that never echoes. Each through the public function (kernels.run_image,
mpgru_kernels.build, QemuDriver.run_to_exit, link.raw_echo_rate, MarksTail.read), with only the lowest
layer replaced where the fault cannot be made for real: a fake toolchain or `bwrap` first on $PATH."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from test_errors_config import _set, _target_data, _write_target
from test_errors_kbuild import fake_tool

from bench.cyclest.errors import CyclestError
from bench.errors import ImageError, LinkError, TargetError
from bench.harness import kernels as kb
from bench.paths import repo_root

needs_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="needs qemu-system-arm")
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bwrap")


# ---- kernel bench images ------------------------------------------------------------------------------

FAULTING_MAIN = r"""
#include "board.h"
int main(void)
{
    board_puts("KB_BEGIN\r\n");
    board_puts("KB nop st=0 ticks=10 bad=0 first=-1 fnv=0\r\n");
    __builtin_trap(); /* the next kernel faults: UsageFault, escalated to the board's hard fault handler */
    return 0;
}
"""


@needs_gcc
@needs_qemu
@needs_bwrap
def test_kernel_bench_image_that_faults_before_its_end(tmp_path):
    """A kernel bench whose kernel faults (here an undefined instruction after the first case): the
    image exits through the board's fault handler without KB_END; run_image says which image, its exit
    status and its last output."""
    from bench.imagebuild import CC, COMMON_CFLAGS, LDFLAGS
    from bench.models.common.ckernels import M4F

    root = repo_root()
    main = tmp_path / "kb_fault.c"
    main.write_text(FAULTING_MAIN)
    elf = tmp_path / "kernelbench-fault.elf"
    inc = [f"-I{root / d}" for d in (kb.BOARD_DIR, kb.AGENT_DIR)]
    cmd = [CC, *M4F, *COMMON_CFLAGS, *inc, *LDFLAGS, f"-T{root / kb.BOARD_DIR / 'link.ld'}", "-o", str(elf),
           str(root / kb.BOARD_DIR / "startup.c"), str(root / kb.BOARD_DIR / "board.c"), str(main)]
    r = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with pytest.raises(TargetError) as e:
        kb.run_image(elf, timeout=60)
    msg = str(e.value)
    assert msg.startswith("kernel bench kernelbench-fault.elf stopped early (exit 4):")
    assert "KB nop st=0" in msg and "[board] hard fault" in msg


def test_mpgru_kernel_bench_that_does_not_build_quotes_the_compiler(fake_bin, tmp_path):
    from bench.harness import mpgru_kernels as mk

    fake_tool(fake_bin, "arm-none-eabi-gcc", "sys.stderr.write('mkb_main.c:40: error: unknown type mkb_case_t\\n')\n"
                                             "sys.exit(1)\n")
    with pytest.raises(ImageError, match=r"mpgru kernel bench build failed:\nmkb_main\.c:40: error: unknown type "
                                          r"mkb_case_t"):
        mk.build(mk.cases([(8, 8)])[:2], tmp_path / "mkb")


def test_case_whose_instruction_count_has_no_cycle_region():
    """The plugin's regions are matched to the cases by their exact instruction counts: a case with no
    region of its count (an image whose timer reads do not pair with its cases) is named."""
    from bench.cyclest.regions import Regions

    conv = kb.bench_target().counter
    ticks = 128  # -icount shift 7: 40 instructions
    want = int(conv.ticks_to_unit(ticks))
    ok = kb.CaseResult("fc", 0, ticks, 0, -1, 0)
    regs = Regions(model=None, cycles_est=np.array([55, 70]), instructions=np.array([want, want + 3]),  # type: ignore[arg-type]
                   start_pc=np.zeros(2, np.uint64), end_pc=np.zeros(2, np.uint64))
    assert kb.attach_cycles([ok], regs)[0].cycles_est == 55
    other = kb.CaseResult("gru", 0, ticks * 2, 0, -1, 0)
    with pytest.raises(TargetError, match=rf"case gru: no cycles_est region with its {2 * want} instructions "
                                          rf"\(regions from 1: \[{want + 3}\]\)"):
        kb.attach_cycles([ok, other], regs)


# ---- QEMU's sandbox -------------------------------------------------------------------------------------

@needs_qemu
def test_run_to_exit_when_the_sandbox_cannot_start(fake_bin, tmp_path):
    """A host where bubblewrap cannot create its namespaces (a container without user namespaces): no
    image ran, and the error quotes bwrap and says what to change."""
    from bench.images import find_image
    from bench.targets import load_target
    from bench.targets.drivers.qemu import QemuDriver

    fake_tool(fake_bin, "bwrap", "sys.stderr.write('bwrap: No permissions to creating new namespace, likely "
                                 "because the kernel does not allow non-privileged user namespaces\\n')\n"
                                 "sys.exit(1)\n")
    data = _set(_target_data("qemu-mps2-an386"), "qemu.sandbox", "bwrap")
    d = QemuDriver(load_target(_write_target(tmp_path, data)), tmp_path / "w")
    with pytest.raises(TargetError) as e:
        d.run_to_exit(find_image("passthrough-an386").path, timeout=30)
    msg = str(e.value)
    assert msg.startswith("QEMU stopped while running passthrough-an386.elf: ")
    assert "unprivileged user namespaces" in msg and "bwrap: No permissions to creating new namespace" in msg


# ---- the cycle-estimate file -----------------------------------------------------------------------------

def test_cycle_estimate_file_that_cannot_be_read(tmp_path):
    from bench.cyclest.tail import MarksTail

    assert MarksTail(tmp_path / "absent.marks").read() is None  # not written yet: nothing, no error
    where = tmp_path / "cycles.marks"
    where.mkdir()  # a directory where the plugin's file should be
    with pytest.raises(CyclestError, match=rf"cannot read the cycle-estimate file {where}: "):
        MarksTail(where).read()


# ---- the link benchmark ------------------------------------------------------------------------------------

@needs_qemu
def test_echo_benchmark_on_an_image_that_never_echoes(tmp_path):
    """QEMU started with its CPU stopped (-S in the target's extra_args): the echo image never runs, the
    bytes never come back, and the benchmark gives up after stall_s with what it got."""
    from bench.harness.link import raw_echo_rate
    from bench.targets import load_target

    data = _set(_target_data("qemu-mps2-an386"), "qemu.extra_args", ["-S"])
    t = load_target(_write_target(tmp_path, data))
    with pytest.raises(LinkError, match=r"echo benchmark stalled: 0 of 4096 bytes came back, then nothing for 2 s; "
                                        r"check that echo-an386 runs on target "):
        raw_echo_rate(t, n_bytes=4096, stall_s=2.0)
