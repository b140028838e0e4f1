"""dyncp_probes.c on the Cortex-M4F toolchain: warning-free with strict flags, the set-bit loop
uses RBIT + CLZ (count trailing zeros), no floating point, no calls into libc or libgcc."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bench.models.common.ckernels import M4F
from bench.paths import repo_root

ARM_CC = "arm-none-eabi-gcc"
FLAGS = [*M4F, "-O2", "-std=c99", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-Wconversion",
         "-Wsign-conversion", "-Wshadow", "-Wstrict-prototypes", "-Wdouble-promotion", "-Wcast-align", "-pedantic",
         "-ffreestanding"]

pytestmark = pytest.mark.skipif(shutil.which(ARM_CC) is None, reason=f"{ARM_CC} not installed")


@pytest.mark.parametrize("defines", [[], ["-U__GNUC__"]], ids=["builtin-ctz", "portable-ctz"])
def test_cortex_m4_build(tmp_path, defines):
    d = repo_root() / "firmware" / "models" / "dyncp"
    obj = tmp_path / "dyncp_probes.o"
    r = subprocess.run([ARM_CC, *FLAGS, *defines, f"-I{d}", "-c", str(d / "dyncp_probes.c"), "-o", str(obj)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(obj)], capture_output=True, text=True, check=True).stdout
    if not defines:
        assert "\trbit" in dis and "\tclz" in dis
    for bad in ("vmul", "vadd", "vcvt", "vldr", "__aeabi", "\tbl\t"):
        assert bad not in dis, bad
    syms = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout
    assert syms.strip() == "", f"undefined symbols: {syms}"
