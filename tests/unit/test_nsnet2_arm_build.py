"""The nsNet2 runner on the Cortex-M4F toolchain: warning-free under strict flags, no fused
multiply-add (which would break bit-exactness with the golden model), no double precision."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bench.paths import repo_root

ROOT = repo_root()
SRC = ROOT / "firmware/models/nsnet2"
GEN = SRC / "gen" / "nsnet2-small"  # the shipped model's tables (nsnet2_params.h)
ARM_CC = "arm-none-eabi-gcc"
FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2", "-ffp-contract=off",
         "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion", "-Wshadow", "-Wstrict-prototypes"]

pytestmark = pytest.mark.skipif(shutil.which(ARM_CC) is None, reason=f"{ARM_CC} not installed")


@pytest.mark.parametrize("src", ["nsnet2.c", "nsnet2_model.c"])
def test_compiles_strictly_without_fma_or_double(tmp_path, src):
    obj = tmp_path / (src + ".o")
    inc = [f"-I{SRC}", f"-I{GEN}", f"-I{ROOT / 'firmware/kernels'}", f"-I{ROOT / 'firmware/agent'}"]
    r = subprocess.run([ARM_CC, *FLAGS, *inc, "-c", str(SRC / src), "-o", str(obj)], capture_output=True, text=True)
    assert r.returncode == 0 and (r.stdout + r.stderr).strip() == "", r.stderr
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(obj)], capture_output=True, text=True, check=True).stdout
    for bad in ("vfma", "vfms", "vfnma", "vfnms", ".f64", "__aeabi_d", "__aeabi_f", "bl\tlog", "bl\tsqrt"):
        assert bad not in dis, f"{src}: {bad} in the object code"


def test_fma_contraction_would_be_emitted_without_the_flag(tmp_path):
    """The check above can fail: with -ffp-contract=fast GCC fuses the FFT's multiply-adds."""
    obj = tmp_path / "nsnet2.o"
    flags = [f for f in FLAGS if f != "-ffp-contract=off"] + ["-ffp-contract=fast"]
    inc = [f"-I{SRC}", f"-I{GEN}", f"-I{ROOT / 'firmware/kernels'}"]
    subprocess.run([ARM_CC, *flags, *inc, "-c", str(SRC / "nsnet2.c"), "-o", str(obj)], check=True)
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(obj)], capture_output=True, text=True, check=True).stdout
    assert "vfma" in dis or "vfms" in dis or "vfnm" in dis
