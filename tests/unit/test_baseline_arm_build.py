"""The DSP baseline on the Cortex-M4F toolchain: every file compiles warning-free with the
image flags, the object code has no fused multiply-add and no double precision, and -- under
(the image on QEMU is checked in tests/qemu/test_baseline_image.py)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bench.paths import repo_root

ROOT = repo_root()
SRC = ROOT / "firmware/models/baseline"
AGENT = ROOT / "firmware/agent"
BOARD = ROOT / "firmware/boards/mps2-an386"
ARM_CC = "arm-none-eabi-gcc"
M4F = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
FLAGS = [*M4F, "-O2", "-ffp-contract=off", "-std=c99", "-Wall", "-Wextra"]

needs_arm = pytest.mark.skipif(shutil.which(ARM_CC) is None, reason=f"{ARM_CC} not installed")


def _cc(args, cwd=None):
    r = subprocess.run([ARM_CC, *args], check=False, capture_output=True, text=True, cwd=cwd)
    return r.returncode, r.stdout + r.stderr


@needs_arm
@pytest.mark.parametrize("src", ["spectral_gate.c", "baseline_model.c"])
def test_compiles_warning_free_for_cortex_m4f(tmp_path, src):
    obj = tmp_path / (src + ".o")
    extra = ["-Wdouble-promotion", "-Wconversion", "-Wshadow", "-Wstrict-prototypes"]
    rc, out = _cc([*FLAGS, *extra, f"-I{SRC}", f"-I{AGENT}", "-c", str(SRC / src), "-o", str(obj)])
    assert rc == 0 and out.strip() == "", out
    dis = subprocess.run(
        ["arm-none-eabi-objdump", "-d", str(obj)], check=False, capture_output=True, text=True
    ).stdout
    for bad in ("vfma", "vfms", "vfnma", "vfnms", ".f64", "__aeabi_d", "__aeabi_f"):
        assert bad not in dis, f"{bad} in {src}: fused or double-precision / soft-float code"


@needs_arm
def test_links_with_stub_bench_mark(tmp_path):
    """The glue needs only bench_mark from the agent; sqrtf & co. are not used at all."""
    stub = tmp_path / "stub.c"
    stub.write_text(
        '#include "bench_model.h"\n'
        "void bench_mark(bench_frame_ctx_t *ctx, unsigned stage) { (void)ctx; (void)stage; }\n"
        "extern const bench_model_t bench_model;\n"
        "int main(void) { return bench_model.n_stages == 3 ? 0 : 1; }\n"
    )
    elf = tmp_path / "a.elf"
    rc, out = _cc(
        [
            *FLAGS,
            "-Werror",
            f"-I{SRC}",
            f"-I{AGENT}",
            "--specs=nosys.specs",
            str(SRC / "spectral_gate.c"),
            str(SRC / "baseline_model.c"),
            str(stub),
            "-o",
            str(elf),
        ]
    )
    assert rc == 0, out
    nm = subprocess.run(
        ["arm-none-eabi-nm", str(elf)], check=False, capture_output=True, text=True
    ).stdout
    for fn in ("sqrtf", "expf", "logf", "powf", "cosf", "sinf"):
        assert f" {fn}\n" not in nm


