"""Kernel-bench and CMSIS builds that fail (docs/errors.md): the compiler's or archiver's error is
quoted with the command and what to do. The CMSIS compile fails for real (arm-none-eabi-gcc on a
source with an error); the kernel bench's compile and link and the archiver fail through a fake
`arm-none-eabi-gcc` / `arm-none-eabi-ar` first on $PATH (the lowest layer: a broken toolchain)."""

from __future__ import annotations

import shutil
import stat
import sys
from pathlib import Path

import pytest

from bench.errors import ImageError
from bench.harness import cmsis, kernels

needs_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")


def fake_tool(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    p = bin_dir / name
    p.write_text(f"#!{sys.executable}\nimport sys\nargs = sys.argv[1:]\n"
                 "if '--version' in args:\n    print('arm-none-eabi-gcc (fake) 12.2')\n    sys.exit(0)\n" + body)
    p.chmod(p.stat().st_mode | stat.S_IEXEC)


def test_a_kernel_that_does_not_compile_quotes_the_compiler(fake_bin, tmp_path):
    fake_tool(fake_bin, "arm-none-eabi-gcc", "sys.stderr.write('kb_main.c:12: error: expected ; before }\\n')\n"
                                             "sys.exit(1)\n")
    with pytest.raises(ImageError) as e:
        kernels.build_images(kernels.quick_cases()[:1], tmp_path / "kb")
    msg = str(e.value)
    assert msg.startswith("kernel bench build failed:\narm-none-eabi-gcc ") and "expected ; before }" in msg
    assert "fix the source it names, or install the toolchain: scripts/bootstrap" in msg


def test_a_kernel_bench_that_does_not_link_quotes_the_linker(fake_bin, tmp_path):
    fake_tool(fake_bin, "arm-none-eabi-gcc",
              "if '-c' in args:\n    open(args[args.index('-o') + 1], 'wb').close()\n    sys.exit(0)\n"
              "sys.stderr.write('ld: region FLASH overflowed by 1024 bytes\\n')\nsys.exit(1)\n")
    with pytest.raises(ImageError) as e:
        kernels.build_images(kernels.quick_cases()[:1], tmp_path / "kb")
    msg = str(e.value)
    assert "kernel bench build failed:" in msg and "-nostartfiles" in msg and "FLASH overflowed" in msg
    assert "scripts/bootstrap" in msg


@needs_gcc
def test_a_cmsis_source_that_does_not_compile_names_the_checkout_variables(tmp_path):
    src = tmp_path / "arm_bad.c"
    src.write_text("int f(void) { return 1 }\n")
    with pytest.raises(ImageError) as e:
        cmsis.build_library("bad", [src], [], tmp_path / "out")
    msg = str(e.value)
    assert msg.startswith("CMSIS library build failed:") and "arm_bad.c" in msg and "error" in msg
    assert "BENCH_CMSIS_NN / BENCH_CMSIS_DSP" in msg


@needs_gcc
def test_an_archiver_that_fails_says_where_it_wrote(fake_bin, tmp_path):
    fake_tool(fake_bin, "arm-none-eabi-ar", "sys.stderr.write('ar: out of disk space\\n')\nsys.exit(1)\n")
    src = tmp_path / "arm_ok.c"
    src.write_text("int f(void) { return 1; }\n")
    with pytest.raises(ImageError) as e:
        cmsis.build_library("ok", [src], [], tmp_path / "out")
    msg = str(e.value)
    assert "arm-none-eabi-ar failed: ar: out of disk space" in msg and "libok.a" in msg
    assert "binutils-arm-none-eabi" in msg
