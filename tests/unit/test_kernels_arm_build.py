"""The kernels on the Cortex-M4F toolchain: every file compiles warning-free with strict
flags on both paths, the DSP path really uses SMLAD / SXTB16 and the reference path does not,
and neither uses floating point. (Run on QEMU: tests/qemu/test_bench_kernels.py.)"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bench.models.common.ckernels import KERNEL_DIR, M4F, kernel_sources
from bench.paths import repo_root

ARM_CC = "arm-none-eabi-gcc"
FLAGS = [*M4F, "-O2", "-std=c99", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-Wconversion",
         "-Wsign-conversion", "-Wshadow", "-Wstrict-prototypes", "-Wdouble-promotion", "-Wcast-align"]

pytestmark = pytest.mark.skipif(shutil.which(ARM_CC) is None, reason=f"{ARM_CC} not installed")


def _disassemble(tmp_path, defines):
    root = repo_root()
    objs = []
    for src in kernel_sources(root):
        obj = tmp_path / f"{src.stem}.o"
        r = subprocess.run([ARM_CC, *FLAGS, *defines, f"-I{root / KERNEL_DIR}", "-c", str(src), "-o", str(obj)],
                           capture_output=True, text=True)
        assert r.returncode == 0 and not r.stderr.strip(), f"{src.name}:\n{r.stderr}"
        objs.append(str(obj))
    return subprocess.run(["arm-none-eabi-objdump", "-d", *objs], capture_output=True, text=True, check=True).stdout


def test_dsp_path(tmp_path):
    dis = _disassemble(tmp_path, [])
    for insn in ("smlad", "sxtb16", "sxtab16", "ldrd", "ssat"):
        assert f"\t{insn}" in dis, insn
    for bad in ("vmul", "vadd", "vcvt", "__aeabi_d", "__aeabi_f", "__aeabi_l"):
        assert bad not in dis, bad


def test_reference_path(tmp_path):
    dis = _disassemble(tmp_path, ["-DBK_FORCE_REF"])
    for insn in ("\tsmlad", "\tsxtb16", "\tsxtab16"):
        assert insn not in dis, insn
    for bad in ("vmul", "vadd", "vcvt", "__aeabi_d", "__aeabi_f", "__aeabi_l"):
        assert bad not in dis, bad


def test_one_public_function_per_file():
    """CMSIS-NN manner: bk_<op>_<dtype>.c defines the public function of its name."""
    root = repo_root()
    header = (root / KERNEL_DIR / "bk.h").read_text()
    for src in kernel_sources(root):
        if src.stem.startswith(("bk_support", "bk_sigmoid_lut")):
            continue
        text = src.read_text()
        assert f"{src.stem}(" in header, f"{src.stem} is not declared in bk.h"
        assert f" {src.stem}(" in text
