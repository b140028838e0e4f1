"""CMSIS-NN and CMSIS-DSP on the same QEMU setup as the bench kernels: the yardstick images.

Neither library is part of this repository. The benchmark takes their trees from the
environment and skips them with a message when a variable is unset:

* ``BENCH_CMSIS_NN``: a CMSIS-NN checkout (``Include/arm_nnfunctions.h``, ``Source/``);
  self-contained for GCC (its own ``arm_nn_compiler.h``).
* ``BENCH_CMSIS_DSP``: a CMSIS-DSP checkout (``Include/arm_math.h``, ``PrivateInclude/``,
  ``Source/``). Its headers include CMSIS-Core's ``cmsis_compiler.h``: from
  ``BENCH_CMSIS_CORE`` (a CMSIS-Core ``Include`` folder, e.g. CMSIS_6's ``CMSIS/Core/Include``)
  when set, else a minimal shim written into the build folder (the float FFT needs only the
  inline / alignment macros; checked to give the same object code as CMSIS_6's header).

Both are compiled with the bench kernels' compiler and flags (arm-none-eabi-gcc, ``-O2``,
Cortex-M4F hard float, ``-ffp-contract=off``), their warnings not made errors, into static
libraries cached in the build folder by the content of their sources.

Two images: ``kb_cmsis_main.c`` (CMSIS-NN: fully connected per tensor and per channel, 1x1
convolution, depthwise convolution, the int8 LSTM step) with generated vectors, outputs compared
with the golden model where the arithmetic is TFLM's; ``fftb_main.c`` (the runners' FFT stages and
feature front ends, with CMSIS-DSP's ``arm_rfft_fast_f32`` at 512 when it is given).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import ConfigError, ImageError
from bench.harness import kernels as kb
from bench.models.common import int8ops as q8

ENV_NN = "BENCH_CMSIS_NN"
ENV_DSP = "BENCH_CMSIS_DSP"
ENV_CORE = "BENCH_CMSIS_CORE"
CMSIS_MAIN = Path("firmware/kernels/bench/kb_cmsis_main.c")
FFT_MAIN = Path("firmware/kernels/bench/fftb_main.c")
DYNCP_DIR = Path("firmware/models/dyncp")
NSNET2_DIR = Path("firmware/models/nsnet2")
FFT_DYNCP_MODEL = "dyncp-small-r100"  # the tables the FFT image links (every DynCP model has the same STFT)
FFT_NSNET2_MODEL = "nsnet2-small"

# CMSIS-NN folders whose int8 / int16 sources the image may need (the archive gives the linker
# only what is referenced)
NN_DIRS = ("FullyConnectedFunctions", "ConvolutionFunctions", "LSTMFunctions", "NNSupportFunctions",
           "ActivationFunctions", "BasicMathFunctions")
DSP_SOURCES = ("TransformFunctions/arm_rfft_fast_f32.c", "TransformFunctions/arm_rfft_fast_init_f32.c",
               "TransformFunctions/arm_cfft_f32.c", "TransformFunctions/arm_cfft_init_f32.c",
               "TransformFunctions/arm_cfft_radix8_f32.c", "TransformFunctions/arm_bitreversal2.c",
               "CommonTables/arm_common_tables.c", "CommonTables/arm_const_structs.c",
               "BasicMathFunctions/arm_mult_f32.c")
CORE_SHIM = """/* Minimal CMSIS-Core cmsis_compiler.h for GCC, written by bench/harness/cmsis.py: what
 * CMSIS-DSP's float transforms need (set BENCH_CMSIS_CORE to use CMSIS-Core's own). */
#ifndef BENCH_CMSIS_COMPILER_SHIM_H
#define BENCH_CMSIS_COMPILER_SHIM_H
#include <stdint.h>
#define __ASM __asm
#define __INLINE inline
#define __STATIC_INLINE static inline
#define __STATIC_FORCEINLINE __attribute__((always_inline)) static inline
#define __ALIGNED(x) __attribute__((aligned(x)))
#define __PACKED __attribute__((packed, aligned(1)))
#define __WEAK __attribute__((weak))
#define __RESTRICT __restrict
#define __USED __attribute__((used))
#endif
"""


def _env_dir(var: str, marker: str) -> Path | None:
    v = os.environ.get(var)
    if not v:
        return None
    p = Path(v).expanduser()
    if not (p / marker).is_file():
        raise ConfigError(f"{var}={v}: {p / marker} not found; point {var} at the library's checkout "
                          "(the folder holding Include/ and Source/), or unset it to skip that column")
    return p


def cmsis_nn_dir() -> Path | None:
    """The CMSIS-NN tree from BENCH_CMSIS_NN, or None when unset."""
    return _env_dir(ENV_NN, "Include/arm_nnfunctions.h")


def cmsis_dsp_dir() -> Path | None:
    """The CMSIS-DSP tree from BENCH_CMSIS_DSP, or None when unset."""
    return _env_dir(ENV_DSP, "Include/arm_math.h")


def skip_message(var: str) -> str:
    lib = {ENV_NN: "CMSIS-NN", ENV_DSP: "CMSIS-DSP"}[var]
    return (f"{lib} column skipped: {var} is not set (e.g. {var}=/path/to/{lib}, a checkout of "
            f"github.com/ARM-software/{lib}; it is built here, never committed)")


def _git_revision(tree: Path) -> str:
    """The checkout's commit (12 hex digits), or a note when the tree is not a git checkout."""
    r = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip()[:12] if r.returncode == 0 else "(revision unknown: not a git checkout)"


# --------------------------------------------------------------------------------------------
# building the libraries
# --------------------------------------------------------------------------------------------

def _flags() -> list[str]:
    from bench.imagebuild import COMMON_CFLAGS

    # the kernels' flags without the warning policy (not our code)
    return [*kb.M4F, *[f for f in COMMON_CFLAGS if not f.startswith("-W")], "-w"]


def _compile_all(jobs: Sequence[tuple[list[str], Path]]) -> None:
    """Runs compiler commands two at a time (shared 2-core machines)."""
    pending = list(jobs)
    running: list[tuple[list[str], subprocess.Popen[str]]] = []
    while pending or running:
        while pending and len(running) < 2:
            cmd, cwd = pending.pop(0)
            running.append((cmd, subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                  text=True)))
        cmd, p = running.pop(0)
        _, err = p.communicate()
        if p.returncode != 0:
            raise ImageError(f"CMSIS library build failed:\n{' '.join(cmd)}\n{err[-4000:]}\n(the compiler's error "
                             f"is above: point {ENV_NN} / {ENV_DSP} at a CMSIS checkout this compiler builds, "
                             "or install the toolchain: scripts/bootstrap)")


def build_library(name: str, sources: Sequence[Path], includes: Sequence[Path], out_dir: Path) -> Path:
    """lib<name>.a of the sources, rebuilt only when a source, include path or flag changed."""
    from bench.imagebuild import CC

    h = hashlib.sha256(" ".join(_flags() + [str(i) for i in includes]).encode())
    for s in sources:
        h.update(str(s).encode() + b"\0" + s.read_bytes())
    lib = out_dir / f"lib{name}.a"
    stamp = out_dir / f"lib{name}.sha256"
    if lib.is_file() and stamp.is_file() and stamp.read_text() == h.hexdigest():
        return lib
    obj_dir = out_dir / f"{name}-obj"
    obj_dir.mkdir(parents=True, exist_ok=True)
    inc = [f"-I{i}" for i in includes]
    objs, jobs = [], []
    for i, s in enumerate(sources):
        o = obj_dir / f"{i:03d}_{s.stem}.o"
        objs.append(o)
        jobs.append(([CC, *_flags(), *inc, "-c", str(s), "-o", str(o)], out_dir))
    _compile_all(jobs)
    lib.unlink(missing_ok=True)
    r = subprocess.run(["arm-none-eabi-ar", "rcs", str(lib), *map(str, objs)], capture_output=True, text=True)
    if r.returncode != 0:
        raise ImageError(f"arm-none-eabi-ar failed: {r.stderr[-2000:]} (writing {lib}: check that its folder is "
                         "writable and binutils-arm-none-eabi is installed: scripts/bootstrap)")
    stamp.write_text(h.hexdigest())
    return lib


def nn_sources(nn: Path) -> list[Path]:
    out = []
    for d in NN_DIRS:
        for s in sorted((nn / "Source" / d).glob("*.c")):
            if any(t in s.name for t in ("f16", "f32", "_flt")):
                continue
            out.append(s)
    return out


def build_cmsis_nn(nn: Path, out_dir: Path) -> Path:
    return build_library("cmsisnn", nn_sources(nn), [nn / "Include"], out_dir)


def dsp_includes(dsp: Path, out_dir: Path) -> list[Path]:
    core = os.environ.get(ENV_CORE)
    if core:
        if not (Path(core) / "cmsis_compiler.h").is_file():
            raise ConfigError(f"{ENV_CORE}={core}: no cmsis_compiler.h there (give CMSIS-Core's Include folder)")
        core_dir = Path(core)
    else:
        core_dir = out_dir / "cmsis-core-shim"
        core_dir.mkdir(parents=True, exist_ok=True)
        if not (core_dir / "cmsis_compiler.h").is_file() or (core_dir / "cmsis_compiler.h").read_text() != CORE_SHIM:
            (core_dir / "cmsis_compiler.h").write_text(CORE_SHIM)
    return [dsp / "Include", dsp / "PrivateInclude", core_dir]


def build_cmsis_dsp(dsp: Path, out_dir: Path) -> Path:
    return build_library("cmsisdsp", [dsp / "Source" / s for s in DSP_SOURCES], dsp_includes(dsp, out_dir), out_dir)


# --------------------------------------------------------------------------------------------
# CMSIS-NN cases
# --------------------------------------------------------------------------------------------

KC_KINDS = ("NOP", "FC_PT", "FC_PC", "CONV1X1", "DW_OPT", "DW_GEN", "LSTM")
CMSIS_FN = {
    "FC_PT": "arm_fully_connected_s8",
    "FC_PC": "arm_fully_connected_per_channel_s8",
    "CONV1X1": "arm_convolve_1x1_s8_fast",
    "DW_OPT": "arm_depthwise_conv_wrapper_s8 (-> _s8_opt)",
    "DW_GEN": "arm_depthwise_conv_s8",
    "LSTM": "arm_lstm_unidirectional_s8",
}


@dataclass
class KCase:
    """One CMSIS-NN call: n outputs (channels for depthwise, hidden size for the LSTM), k inputs,
    h the dilation (depthwise)."""

    name: str
    kind: str
    n: int = 0
    k: int = 0
    h: int = 0
    params: list[int] = field(default_factory=list)  # in_off, out_off, act_min, act_max, mult, shift
    arrays: list[np.ndarray | None] = field(default_factory=list)  # x, w, bias, mult|w_hh, shift, h0
    expected: np.ndarray | None = None  # int8 output; None: not checked (the LSTM)
    out_bytes: int = 0
    macs: int = 0


def _fc_data(n: int, k: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    x = rng.integers(-128, 128, k).astype(np.int8)
    bias = rng.integers(-20000, 20000, n).astype(np.int32)
    acc_sd = float(np.std(w.astype(np.float64) @ x.astype(np.float64))) + 1.0
    mult, shift = q8.quantize_multiplier_array(rng.uniform(0.5, 2.0, n) * 127.0 / (3.0 * acc_sd))
    return {"w": w, "x": x, "bias": bias, "mult": mult, "shift": shift}


def fc_cases(tag: str, n: int, k: int, rng: np.random.Generator, kinds: Sequence[str]) -> list[KCase]:
    """The same layer through each of ``kinds`` (FC_PT, FC_PC, CONV1X1): shared weights."""
    d = _fc_data(n, k, rng)
    in_off, out_off = int(rng.integers(-20, 21)), int(rng.integers(-10, 11))
    out = []
    for kind in kinds:
        mult, shift = d["mult"], d["shift"]
        if kind == "FC_PT":
            mult = np.full(n, d["mult"][0], np.int32)
            shift = np.full(n, d["shift"][0], np.int32)
        exp = q8.fc_s8(d["x"], d["w"], d["bias"], in_off, mult, shift, out_off, -128, 127)
        params = [in_off, out_off, -128, 127, int(mult[0]), int(shift[0])]
        out.append(KCase(f"{kind.lower()}_{tag}", kind, n, k, 0, params, [d["x"], d["w"], d["bias"], mult, shift],
                         exp, n, n * k))
    return out


def dw_cases(c: int, d: int, rng: np.random.Generator) -> list[KCase]:
    """One causal k=3 frame over c channels: DW_OPT on the three taps gathered into a 3-row input
    (dilation 1), DW_GEN with dilation d on the 2d + 1 rows of history."""
    w = rng.integers(-127, 128, (3, c)).astype(np.int8)
    rows = rng.integers(-128, 128, (2 * d + 1, c)).astype(np.int8)
    bias = rng.integers(-20000, 20000, c).astype(np.int32)
    mult, shift = q8.quantize_multiplier_array(rng.uniform(2e-4, 4e-3, c))
    in_off, out_off = 9, -1
    taps = rows[[0, d, 2 * d]]
    acc = bias.astype(np.int64) + (w.astype(np.int64) * (taps.astype(np.int64) + in_off)).sum(axis=0)
    exp = q8.fc_s8(np.zeros(1, np.int8), np.zeros((c, 1), np.int8), q8.wrap_int32(acc).astype(np.int32), 0,
                   mult, shift, out_off, -128, 127)
    out = [KCase(f"dw_opt_{c}_d{d}", "DW_OPT", c, 3, 1, [in_off, out_off, -128, 127, 0, 0],
                 [np.ascontiguousarray(taps), w, bias, mult, shift], exp, c, 3 * c)]
    out.append(KCase(f"dw_gen_{c}_d{d}", "DW_GEN", c, 3, d, [in_off, out_off, -128, 127, 0, 0],
                     [rows, w, bias, mult, shift], exp, c, 3 * c))
    return out


def lstm_case(inp: int, hidden: int, rng: np.random.Generator) -> KCase:
    """One step of the int8 LSTM (4 gates sharing one set of random weights: the same work as
    four sets). Not checked against a golden model (there is none here): timed and hashed."""
    w_ih = rng.integers(-127, 128, (hidden, inp)).astype(np.int8)
    w_hh = rng.integers(-127, 128, (hidden, hidden)).astype(np.int8)
    bias = rng.integers(-20000, 20000, hidden).astype(np.int32)
    x = rng.integers(-128, 128, inp).astype(np.int8)
    h0 = rng.integers(-128, 128, hidden).astype(np.int8)
    m, s = q8.quantize_multiplier(1.0 / (200.0 * np.sqrt(inp + hidden)))
    return KCase(f"lstm_i{inp}_h{hidden}", "LSTM", hidden, inp, 0, [3, -2, -128, 127, m, s],
                 [x, w_ih, bias, w_hh, None, h0], None, hidden, 4 * hidden * (inp + hidden))


def cmsis_cases(quick: bool = False, seed: int = 0) -> list[KCase]:
    """The families' shapes: FC (nsNet2 full and small), pointwise conv (DynCP pw1 / pw2, small
    and full), depthwise k=3 (128 / 256 channels, dilations 1, 2, 4), the LSTM step next to the GRU."""
    rng = np.random.default_rng(seed + 77)
    cs = [KCase("nop", "NOP", out_bytes=1)]
    fc_shapes = [(128, 161), (128, 128), (161, 128)]
    if not quick:
        fc_shapes += [(400, 400), (400, 161), (600, 400), (600, 600), (161, 600)]
    for n, k in fc_shapes:
        cs += fc_cases(f"{k}to{n}", n, k, rng, ("FC_PT", "FC_PC"))
    for n, k in ((128, 64), (64, 128), (256, 128), (128, 256)):
        cs += fc_cases(f"pw_{k}to{n}", n, k, rng, ("CONV1X1", "FC_PC"))
    for c in (128, 256):
        for d in (1, 2, 4):
            cs += dw_cases(c, d, rng)
    cs.append(lstm_case(128, 128, rng))
    if not quick:
        cs.append(lstm_case(400, 400, rng))
    return cs


def write_kc_vectors(cs: Sequence[KCase], out_dir: Path) -> None:
    max_out = max([c.out_bytes for c in cs] + [4])
    max_h = max([c.n for c in cs if c.kind == "LSTM"] + [1])
    h = ["/* Generated by bench/harness/cmsis.py: do not edit. */", "#ifndef KC_CASES_H", "#define KC_CASES_H",
         "#include <stdint.h>",
         "enum { " + ", ".join(f"KC_{k} = {i}" for i, k in enumerate(KC_KINDS)) + " };",
         "typedef struct {", "    const char *name;", "    int32_t kind, n, k, h;", "    int32_t p[8];",
         "    const void *a[6];", "    const void *expected;", "    int32_t out_bytes, check;", "} kc_case_t;",
         f"#define KC_N_CASES {len(cs)}", f"#define KC_MAX_OUT_BYTES {max_out}u", f"#define KC_MAX_H {max_h}",
         "extern const kc_case_t kc_cases[KC_N_CASES];", "#endif", ""]
    (out_dir / "kc_cases.h").write_text("\n".join(h))
    parts = ['/* Generated by bench/harness/cmsis.py: do not edit. */\n#include "kc_cases.h"\n']
    names: dict[int, str] = {}  # arrays shared between cases are written once
    rows = []
    for i, c in enumerate(cs):
        an: list[str] = []
        for j, arr in enumerate(c.arrays):
            if arr is None:
                an.append("0")
                continue
            if id(arr) not in names:
                names[id(arr)] = f"k{i}_a{j}"
                parts.append(kb._c_array(names[id(arr)], arr))
            an.append(names[id(arr)])
        exp = "0"
        if c.expected is not None:
            exp = f"k{i}_exp"
            parts.append(kb._c_array(exp, c.expected))
        p = ",".join(str(int(v)) for v in (list(c.params) + [0] * 8)[:8]).replace("-2147483648", "(-2147483647-1)")
        a = ",".join((an + ["0"] * 6)[:6])
        rows.append(f'  {{"{c.name}", KC_{c.kind}, {c.n}, {c.k}, {c.h}, {{{p}}}, {{{a}}}, {exp}, {c.out_bytes}, '
                    f"{int(c.expected is not None)}}},")
    parts.append("const kc_case_t kc_cases[KC_N_CASES] = {\n" + "\n".join(rows) + "\n};\n")
    (out_dir / "kc_vectors.c").write_text("".join(parts))


def _link(elf: Path, objs: Sequence[str], libs: Sequence[Path]) -> None:
    from bench.imagebuild import CC, LDFLAGS

    root = kb.repo_root()
    kb._run([CC, *kb.M4F, *LDFLAGS, f"-T{root / kb.BOARD_DIR / 'link.ld'}", "-o", str(elf), *objs,
             *map(str, libs)], root)


def build_cmsis_image(cs: Sequence[KCase], nn: Path, out_dir: Path) -> Path:
    from bench.imagebuild import CC, COMMON_CFLAGS

    root = kb.repo_root()
    out_dir.mkdir(parents=True, exist_ok=True)
    lib = build_cmsis_nn(nn, out_dir)
    write_kc_vectors(cs, out_dir)
    inc = [f"-I{root / d}" for d in (kb.KERNEL_DIR, kb.BOARD_DIR, kb.AGENT_DIR)] + [f"-I{out_dir}",
                                                                                    f"-I{nn / 'Include'}"]
    objs = []
    for name, src in (("startup", root / kb.BOARD_DIR / "startup.c"), ("board", root / kb.BOARD_DIR / "board.c"),
                      ("kc_main", root / CMSIS_MAIN), ("kc_vectors", out_dir / "kc_vectors.c")):
        o = out_dir / f"kc_{name}.o"
        flags = [*kb.M4F, *COMMON_CFLAGS] if name != "kc_main" else _flags()  # CMSIS-NN's headers warn
        kb._run([CC, *flags, *inc, "-c", str(src), "-o", str(o)], root)
        objs.append(str(o))
    elf = out_dir / "cmsisnn-bench.elf"
    _link(elf, objs, [lib])
    return elf


# --------------------------------------------------------------------------------------------
# the FFT / front-end image
# --------------------------------------------------------------------------------------------

def fft_audio(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two frames' worth of speech-like int16 audio per model (a voiced tone complex in noise):
    512 samples for DynCP (two 256 hops), 320 for nsNet2 (two 160 hops)."""
    rng = np.random.default_rng(seed + 5)
    t = np.arange(512) / 16000.0
    f0 = 140.0
    v = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.28)) / h for h in range(1, 25))
    x = 2500.0 * v + rng.standard_normal(512) * 400.0
    a = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    return a, a[:320].copy()


def write_fb_vectors(out_dir: Path, seed: int = 0) -> None:
    dc, nn = fft_audio(seed)
    (out_dir / "fb_cases.h").write_text(
        "/* Generated by bench/harness/cmsis.py: do not edit. */\n#ifndef FB_CASES_H\n#define FB_CASES_H\n"
        "#include <stdint.h>\nextern const int16_t fb_audio_dc[512];\nextern const int16_t fb_audio_nn[320];\n"
        "#endif\n")
    (out_dir / "fb_vectors.c").write_text(
        '/* Generated by bench/harness/cmsis.py: do not edit. */\n#include "fb_cases.h"\n'
        + kb._c_array("fb_dc", dc).replace("static const int16_t fb_dc", "const int16_t fb_audio_dc")
        + kb._c_array("fb_nn", nn).replace("static const int16_t fb_nn", "const int16_t fb_audio_nn"))


def build_fft_image(out_dir: Path, dsp: Path | None, seed: int = 0) -> Path:
    """The front-end image: our DynCP and nsNet2 runners' FFT and feature code (their sources as the
    images build them, DSP path kernels) and, with ``dsp``, CMSIS-DSP's real FFT."""
    from bench.imagebuild import CC, COMMON_CFLAGS

    root = kb.repo_root()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_fb_vectors(out_dir, seed)
    libs: list[Path] = []
    dsp_inc: list[str] = []
    defs: list[str] = []
    if dsp is not None:
        libs.append(build_cmsis_dsp(dsp, out_dir))
        dsp_inc = [f"-I{d}" for d in dsp_includes(dsp, out_dir)]
        defs = ["-DFB_CMSIS_DSP"]
    base = [f"-I{root / d}" for d in (kb.KERNEL_DIR, kb.BOARD_DIR, kb.AGENT_DIR)]
    dc_inc = [f"-I{root / DYNCP_DIR}", f"-I{root / DYNCP_DIR / 'gen' / FFT_DYNCP_MODEL}"]
    nn_inc = [f"-I{root / NSNET2_DIR}", f"-I{root / NSNET2_DIR / 'gen' / FFT_NSNET2_MODEL}"]
    flags = [*kb.M4F, *COMMON_CFLAGS]
    units: list[tuple[str, Path, list[str]]] = [
        ("startup", root / kb.BOARD_DIR / "startup.c", base),
        ("board", root / kb.BOARD_DIR / "board.c", base),
        ("fb_vectors", out_dir / "fb_vectors.c", base),
        ("fb_main", root / FFT_MAIN, [*base, *dc_inc, *nn_inc, f"-I{out_dir}", *dsp_inc, *defs]),
    ]
    for src in sorted((root / DYNCP_DIR).glob("*.c")):
        if src.name != "dyncp_model.c":
            units.append((f"dc_{src.stem}", src, [*base, *dc_inc]))
    units.append(("dc_params", root / DYNCP_DIR / "gen" / FFT_DYNCP_MODEL / "dyncp_params.c", [*base, *dc_inc]))
    for src in sorted((root / NSNET2_DIR).glob("*.c")):
        if src.name != "nsnet2_model.c":
            units.append((f"nn_{src.stem}", src, [*base, *nn_inc]))
    units.append(("nn_params", root / NSNET2_DIR / "gen" / FFT_NSNET2_MODEL / "nsnet2_params.c", [*base, *nn_inc]))
    for src in kb.kernel_sources(root):
        units.append((f"k_{src.stem}", src, base))
    jobs, objs = [], []
    for name, src, inc in units:
        o = out_dir / f"fb_{name}.o"
        fl = _flags() if name == "fb_main" and dsp is not None else flags  # CMSIS-DSP's headers warn
        jobs.append(([CC, *fl, *inc, "-c", str(src), "-o", str(o)], root))
        objs.append(str(o))
    _compile_all(jobs)
    elf = out_dir / "fft-bench.elf"
    _link(elf, objs, libs)
    return elf


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------

def run_cases(elf: Path) -> dict[str, dict]:
    """Runs a yardstick image with the cycle-estimate plugin: per case status, bad, instructions
    and cycles_est net of the empty measurement (the ``nop`` case)."""
    res, text = kb.run_image(elf, timeout=300.0, cycles_est=True)
    by = {r.name: r for r in res}
    nop = by.get("nop")
    oi = kb.ticks_to_instructions(nop.ticks) if nop else 0
    oc = (nop.cycles_est or 0) if nop else 0
    out = {}
    for r in res:
        if r.name == "nop":
            continue
        out[r.name] = {"status": r.status, "bad": r.bad, "fnv": r.fnv,
                       "instructions": kb.ticks_to_instructions(r.ticks) - oi,
                       "cycles_est": (r.cycles_est or 0) - oc}
    return out


def run_cmsis_nn(cs: Sequence[KCase], nn: Path, out_dir: Path) -> dict[str, dict]:
    res = run_cases(build_cmsis_image(cs, nn, out_dir))
    for c in cs:
        if c.name in res:
            res[c.name].update(kind=c.kind, macs=c.macs, function=CMSIS_FN.get(c.kind, ""),
                               checked=c.expected is not None,
                               ok=res[c.name]["status"] == 0 and res[c.name]["bad"] == 0)
    return res


def revision_note(nn: Path | None, dsp: Path | None) -> str:
    parts = []
    if nn is not None:
        parts.append(f"CMSIS-NN {nn} {_git_revision(nn)}")
    if dsp is not None:
        parts.append(f"CMSIS-DSP {dsp} {_git_revision(dsp)}")
    return "; ".join(parts)
