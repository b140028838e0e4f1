"""The bench kernels' bare-metal benchmark on QEMU mps2-an386 (bit-exactness on the Cortex-M4F
and instructions per MAC, DSP path vs reference path).

    python -m bench.harness.kernels            # full table (FC 400x400, GRU 400, small configs)
    python -m bench.harness.kernels --quick    # small shapes only
    BENCH_CMSIS_NN=... BENCH_CMSIS_DSP=... python -m bench.harness.kernels   # with the CMSIS columns

Every case also gets its cycles_est (the cm4cycles plugin's Cortex-M4 estimate, docs/cycles.md),
and, unless --no-compare, bench.harness.yardstick puts ours beside CMSIS-NN (every kernel and shape
the families use) and the FFT stages beside CMSIS-DSP's arm_rfft_fast_f32.

The QEMU image runs every case once with interrupts masked, reads bench_port_counter()
(CMSDK timer0 under -icount shift=7: instructions = ticks * 40 / 128, exact) around the
kernel call, compares the output with the golden model's (embedded in a generated header)
and prints one line per case on the UART. It is started through the QEMU driver
(bench.targets.drivers.qemu, target qemu-mps2-an386) and runs to its semihosting exit.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import ImageError, TargetError
from bench.models.common import gru_int as gi
from bench.models.common import int8ops as q8
from bench.models.common.ckernels import KERNEL_DIR, M4F, fc_scratch_bytes, gru_scratch_bytes, kernel_sources
from bench.paths import repo_root
from bench.targets.spec import TargetSpec

BENCH_MAIN = Path("firmware/kernels/bench/kb_main.c")
BOARD_DIR = Path("firmware/boards/mps2-an386")
AGENT_DIR = Path("firmware/agent")


# --------------------------------------------------------------------------------------------
# QEMU benchmark: cases, generated vectors, build, run
# --------------------------------------------------------------------------------------------

KINDS = ("NOP", "FC_S8", "FC_S8_S16", "FC_S16", "SIGMOID", "TANH", "MUL", "ADD", "REQ32", "REQ16_8", "GRU")


@dataclass
class Case:
    """One kernel call on the target with its inputs and the golden model's output."""

    name: str
    kind: str
    n: int = 0
    k: int = 0
    params: list[int] = field(default_factory=list)
    arrays: Sequence[np.ndarray | None] = field(default_factory=list)
    expected: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    macs: int = 0        # multiply-accumulates of one call (GRU: of all timesteps)
    steps: int = 1       # GRU timesteps in the call
    scratch: int = 0     # bytes


def _ctype(a: np.ndarray) -> str:
    return {np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t",
            np.dtype(np.int32): "int32_t"}[a.dtype]


def fc_case(name: str, kind: str, n: int, k: int, rng: np.random.Generator) -> Case:
    """A fully connected case with random int8 weights, realistic per-channel multipliers
    (outputs spread over the int8 / int16 range) and a random zero point."""
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    bias = rng.integers(-20000, 20000, n).astype(np.int32)
    if kind == "FC_S16":
        x = rng.integers(-32768, 32768, k).astype(np.int16)
        xf = x.astype(np.float64)
        in_off = 0
    else:
        x = rng.integers(-128, 128, k).astype(np.int8)
        in_off = int(rng.integers(-20, 21))
        xf = x.astype(np.float64) + in_off
    acc_sd = float(np.std(w.astype(np.float64) @ xf)) + 1.0
    out_range = 127.0 if kind == "FC_S8" else 32767.0
    real = rng.uniform(0.5, 2.0, n) * out_range / (3.0 * acc_sd)
    mult, shift = q8.quantize_multiplier_array(real)
    if kind == "FC_S8":
        out_off, lo, hi = int(rng.integers(-10, 11)), -128, 127
        exp = q8.fc_s8(x, w, bias, in_off, mult, shift, out_off, lo, hi)
    elif kind == "FC_S8_S16":
        out_off, lo, hi = 0, -32768, 32767
        exp = q8.fc_s8_s16(x, w, bias, in_off, mult, shift, out_off, lo, hi)
    else:
        out_off, lo, hi = 0, -32768, 32767
        exp = q8.fc_s16(x, w, bias, mult, shift, lo, hi)
    return Case(name, kind, n, k, [in_off, out_off, lo, hi], [x, w, bias, mult, shift], exp,
                macs=n * k, scratch=fc_scratch_bytes(k))


def gru_case(name: str, input_size: int, hidden: int, steps: int, rng: np.random.Generator) -> Case:
    """A GRU layer quantised from random PyTorch-like float weights (U(-1/sqrt(H), 1/sqrt(H))
    scaled up for lively gates), run for ``steps`` timesteps from h0 = 0."""
    a = 2.0 / np.sqrt(hidden)
    wi = rng.uniform(-a, a, (3 * hidden, input_size))
    wh = rng.uniform(-a, a, (3 * hidden, hidden))
    bi = rng.uniform(-a, a, 3 * hidden)
    bh = rng.uniform(-a, a, 3 * hidden)
    xs = np.clip(rng.standard_normal((steps, input_size)), -3, 3)
    q = gi.quantize_gru(wi, wh, bi, bh, xs)
    xq = q.quantize_input(xs)
    h0 = np.zeros(hidden, np.int16)
    hs = gi.gru_sequence_int(q, xq, h0)
    c = q.c_arrays()
    arrays = [xq.reshape(-1), c["w_ih"], c["w_hh"], c["b_ih"], c["b_hh"], c["mult_ih"], c["shift_ih"],
              c["mult_hh"], c["shift_hh"], h0]
    return Case(name, "GRU", hidden, input_size, [input_size, hidden, q.input_offset, steps], arrays,
                hs[-1], macs=3 * hidden * (input_size + hidden) * steps, steps=steps,
                scratch=gru_scratch_bytes(input_size, hidden))


def elementwise_cases(rng: np.random.Generator, size: int = 403) -> list[Case]:
    x16 = rng.integers(-32768, 32768, size).astype(np.int16)
    y16 = rng.integers(-32768, 32768, size).astype(np.int16)
    cases = [
        Case("sigmoid_q312", "SIGMOID", size, 0, [0, 0], [x16], q8.sigmoid_s16(x16)),
        Case("tanh_q312", "TANH", size, 0, [0, 0], [x16], q8.tanh_s16(x16)),
    ]
    m, s = q8.sigmoid_s16_params(1.0 / 3000.0)
    cases.append(Case("sigmoid_general", "SIGMOID", size, 0, [m, s], [x16], q8.sigmoid_s16(x16, m, s)))
    m, s = q8.tanh_s16_params(2.0 ** -11)
    cases.append(Case("tanh_q411", "TANH", size, 0, [m, s], [x16], q8.tanh_s16(x16, m, s)))
    mp = q8.mul_params(2.0 ** -15, 0, 2.0 ** -12, 0, 2.0 ** -12, 0)
    cases.append(Case("mul_q15_q312", "MUL", size, 0,
                      [mp.in1_offset, mp.in2_offset, mp.out_offset, mp.multiplier, mp.shift, mp.act_min, mp.act_max],
                      [x16, y16], q8.mul_elementwise(x16, y16, mp)))
    ap = q8.add_params(3e-4, 0, 1e-4, 0, 4e-4, 0)
    cases.append(Case("add_general", "ADD", size, 0,
                      [ap.in1_offset, ap.in1_multiplier, ap.in1_shift, ap.in2_offset, ap.in2_multiplier,
                       ap.in2_shift, ap.left_shift, ap.out_multiplier, ap.out_shift, ap.out_offset,
                       ap.act_min, ap.act_max],
                      [x16, y16], q8.add_elementwise(x16, y16, ap)))
    x32 = np.concatenate([np.array([q8.INT32_MIN, q8.INT32_MAX, -1, 0, 1], np.int64),
                          rng.integers(q8.INT32_MIN, q8.INT32_MAX, size - 5, dtype=np.int64)]).astype(np.int32)
    for i, (mm, ss) in enumerate([(q8.INT32_MAX, 30), (1 << 30, -31), (1518500250, -7), (q8.INT32_MIN, 0)]):
        cases.append(Case(f"requant32_{i}", "REQ32", size, 0, [mm, ss], [x32],
                          q8.multiply_by_quantized_multiplier(x32, mm, ss).astype(np.int32)))
    m, s = q8.quantize_multiplier(1.0 / 200.0)
    cases.append(Case("requant16_8", "REQ16_8", size, 0, [3, m, s, -7], [x16],
                      q8.requantize_s16_s8(x16, m, s, 3, -7)))
    return cases


def quick_cases(seed: int = 0) -> list[Case]:
    """Every kernel at small and odd shapes, the small-configuration FC shapes and a small GRU:
    what the QEMU test checks bit for bit on both paths."""
    rng = np.random.default_rng(seed)
    cases = [Case("nop", "NOP")]
    for kind in ("FC_S8", "FC_S8_S16", "FC_S16"):
        for n, k in ((1, 1), (3, 5), (5, 7), (6, 13), (4, 8), (9, 30)):
            cases.append(fc_case(f"{kind.lower()}_{n}x{k}", kind, n, k, rng))
    for n, k in ((128, 161), (128, 128), (161, 128)):
        cases.append(fc_case(f"fc_s8_{k}to{n}", "FC_S8", n, k, rng))
    cases += elementwise_cases(rng)
    cases.append(gru_case("gru_i13_h7", 13, 7, 3, rng))
    cases.append(gru_case("gru_i161_h64", 161, 64, 2, rng))
    cases.append(gru_case("gru_i128_h128", 128, 128, 2, rng))
    return cases


def full_cases(seed: int = 0) -> list[Case]:
    """quick_cases plus the full-size nsNet2 shapes: FC 400x400, 161->400, 400->600, 600->600,
    600->161 and the GRU 400 (input 400)."""
    rng = np.random.default_rng(seed + 1)
    cases = quick_cases(seed)
    for n, k in ((400, 400), (400, 161), (600, 400), (600, 600), (161, 600)):
        cases.append(fc_case(f"fc_s8_{k}to{n}", "FC_S8", n, k, rng))
    cases.append(gru_case("gru_i400_h400", 400, 400, 2, rng))
    return cases


def _c_array(name: str, a: np.ndarray) -> str:
    flat = np.ascontiguousarray(a).reshape(-1)
    if flat.size == 0:
        flat = np.zeros(1, a.dtype)
    body = ",".join(str(int(v)) for v in flat.tolist())
    align = " __attribute__((aligned(4)))"
    # INT32_MIN cannot be written as a literal: spell it
    body = body.replace("-2147483648", "(-2147483647-1)")
    return f"static const {_ctype(flat)} {name}[{flat.size}]{align} = {{{body}}};\n"


def write_vectors(cases: Sequence[Case], out_dir: Path) -> None:
    """kb_cases.h (case table type and limits) and kb_vectors.c (all data) into out_dir."""
    max_out = max([c.expected.nbytes for c in cases] + [4])
    max_state = max([c.n for c in cases if c.kind == "GRU"] + [1])
    max_scratch = max([c.scratch for c in cases] + [4])
    h = [
        "/* Generated by bench/harness/kernels.py: do not edit. */",
        "#ifndef KB_CASES_H", "#define KB_CASES_H", "#include <stdint.h>",
        "enum { " + ", ".join(f"KB_{k} = {i}" for i, k in enumerate(KINDS)) + " };",
        "typedef struct {",
        "    const char *name;", "    int32_t kind, n, k;", "    int32_t p[12];",
        "    const void *a[10];", "    const void *expected;", "    int32_t out_elems, out_size;",
        "} kb_case_t;",
        f"#define KB_N_CASES {len(cases)}",
        f"#define KB_MAX_OUT_BYTES {max_out}u",
        f"#define KB_MAX_STATE {max_state}",
        f"#define KB_MAX_SCRATCH_BYTES {max_scratch}u",
        "extern const kb_case_t kb_cases[KB_N_CASES];",
        "#endif", "",
    ]
    (out_dir / "kb_cases.h").write_text("\n".join(h))
    parts = ["/* Generated by bench/harness/kernels.py: do not edit. */\n#include \"kb_cases.h\"\n"]
    rows = []
    for i, c in enumerate(cases):
        names: list[str] = []
        for j, arr in enumerate(c.arrays):
            if arr is None:
                names.append("0")
                continue
            nm = f"c{i}_a{j}"
            parts.append(_c_array(nm, arr))
            names.append(nm)
        exp_name = f"c{i}_exp"
        parts.append(_c_array(exp_name, c.expected if c.expected.size else np.zeros(1, np.int8)))
        p = ",".join(str(int(v)) for v in (list(c.params) + [0] * 12)[:12]).replace("-2147483648", "(-2147483647-1)")
        a = ",".join((names + ["0"] * 10)[:10])
        rows.append(f'  {{"{c.name}", KB_{c.kind}, {c.n}, {c.k}, {{{p}}}, {{{a}}}, {exp_name}, '
                    f"{c.expected.size}, {c.expected.itemsize}}},")
    parts.append("const kb_case_t kb_cases[KB_N_CASES] = {\n" + "\n".join(rows) + "\n};\n")
    (out_dir / "kb_vectors.c").write_text("".join(parts))


BUILD_HINT = ("\n(the compiler's error is above: fix the source it names, or install the toolchain: "
              "scripts/bootstrap)")


def _run(cmd: list[str], cwd: Path) -> None:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise ImageError(f"kernel bench build failed:\n{' '.join(cmd)}\n{r.stderr[-4000:]}{BUILD_HINT}")


def build_images(cases: Sequence[Case], out_dir: Path) -> dict[str, Path]:
    """Two ELFs from the same vectors: path 'dsp' (default flags: __ARM_FEATURE_DSP) and
    'ref' (-DBK_FORCE_REF)."""
    from bench.imagebuild import CC, COMMON_CFLAGS, LDFLAGS, toolchain_version

    toolchain_version()  # a clear error if the toolchain is missing
    root = repo_root()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_vectors(cases, out_dir)
    inc = [f"-I{root / d}" for d in (KERNEL_DIR, BOARD_DIR, AGENT_DIR)] + [f"-I{out_dir}"]
    flags = [*M4F, *COMMON_CFLAGS, *inc]
    common = {"startup": root / BOARD_DIR / "startup.c", "board": root / BOARD_DIR / "board.c",
              "kb_main": root / BENCH_MAIN, "kb_vectors": out_dir / "kb_vectors.c"}
    procs = []
    for name, src in common.items():
        procs.append([CC, *flags, "-c", str(src), "-o", str(out_dir / f"{name}.o")])
    for path, defs in (("dsp", []), ("ref", ["-DBK_FORCE_REF"])):
        for src in kernel_sources(root):
            procs.append([CC, *flags, *defs, "-c", str(src), "-o", str(out_dir / f"{path}_{src.stem}.o")])
    # at most two compilers at a time (shared 2-core machines)
    pending = list(procs)
    running: list[tuple[list[str], subprocess.Popen[str]]] = []
    while pending or running:
        while pending and len(running) < 2:
            cmd = pending.pop(0)
            running.append((cmd, subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE, text=True)))
        cmd, p = running.pop(0)
        _, err = p.communicate()
        if p.returncode != 0:
            raise ImageError(f"kernel bench build failed:\n{' '.join(cmd)}\n{err[-4000:]}{BUILD_HINT}")
    elves = {}
    for path in ("dsp", "ref"):
        objs = [str(out_dir / f"{n}.o") for n in common] + \
               [str(out_dir / f"{path}_{s.stem}.o") for s in kernel_sources(root)]
        elf = out_dir / f"kernelbench-{path}.elf"
        _run([CC, *M4F, *LDFLAGS, f"-T{root / BOARD_DIR / 'link.ld'}", "-o", str(elf), *objs], root)
        elves[path] = elf
    return elves


@dataclass(frozen=True)
class CaseResult:
    name: str
    status: int
    ticks: int
    bad: int
    first: int
    fnv: int  # FNV-1a 32 of the target's output bytes
    cycles_est: int | None = None  # the cm4cycles plugin's estimate of the measured region (run_image(cycles_est=True))


def fnv1a(data: bytes) -> int:
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def expected_fnv(case: Case) -> int:
    """What the target's fnv= must be when its output equals the golden model's."""
    return fnv1a(np.ascontiguousarray(case.expected).astype(case.expected.dtype.newbyteorder("<")).tobytes())


def bench_target(icount_shift: int = 7) -> TargetSpec:
    """The QEMU target the kernel benches run on: targets/qemu-mps2-an386.toml (its -icount shift
    replaced when another is asked for)."""
    from bench.targets import load_target

    t = load_target("qemu-mps2-an386")
    if t.counter.icount_shift != icount_shift:
        t = dataclasses.replace(t, counter=dataclasses.replace(t.counter, icount_shift=icount_shift))
    return t


def run_image(elf: Path, timeout: float = 120.0, icount_shift: int = 7,
              cycles_est: bool = False) -> tuple[list[CaseResult], str]:
    """Runs a kernel bench ELF to its semihosting exit through the QEMU driver (UART text back)
    and parses its lines. cycles_est=True loads the cm4cycles plugin (docs/cycles.md) and gives
    every case its region's cycles_est (:func:`attach_cycles`)."""
    from bench.cyclest import read_marks, regions
    from bench.targets.drivers.qemu import QemuDriver

    regs = None
    with tempfile.TemporaryDirectory() as workdir:  # no bench.link.* FIFOs here: UART output
        driver = QemuDriver(bench_target(icount_shift), Path(workdir))
        code, text = driver.run_to_exit(Path(elf), timeout, cycles_est=cycles_est)
        stderr = driver.logs()
        if cycles_est and driver.marks_path.is_file():
            regs = regions(read_marks(driver.marks_path))
    results = []
    for line in text.splitlines():
        if line.startswith("KB ") and " st=" in line:
            name, rest = line[3:].split(" ", 1)
            kv = dict(item.split("=", 1) for item in rest.split())
            results.append(CaseResult(name, int(kv["st"]), int(kv["ticks"]), int(kv["bad"]), int(kv["first"]),
                                      int(kv["fnv"])))
    if "KB_END" not in text:
        raise TargetError(f"kernel bench {elf.name} stopped early (exit {code}):\n{text[-2000:]}\n"
                          f"{stderr[-2000:]}")
    if cycles_est:
        if regs is None:  # an invariant, not a user error: the plugin creates its file when QEMU loads it, and
            # QEMU does not start (no KB_END, the error above) when it cannot load the plugin
            raise RuntimeError(f"kernel bench {elf.name}: the cm4cycles plugin wrote no marks\n{stderr[-2000:]}")
        results = attach_cycles(results, regs, icount_shift)
    return results, text


def attach_cycles(results: Sequence[CaseResult], regs: Any, icount_shift: int = 7) -> list[CaseResult]:
    """Each case's cycles_est: the plugin's regions (bench.cyclest.Regions, one per pair of timer
    reads) matched to the cases in order by their exact instruction counts, as the runner matches
    frames (bench/cyclest/frames.py): the case's region is the next one whose instruction count
    equals the one its ticks give. Other timer reads (none in the bench images) are skipped."""
    conv = bench_target(icount_shift).counter
    ins, cyc = regs.instructions, regs.cycles_est
    out, k = [], 0
    for r in results:
        want = int(conv.ticks_to_unit(r.ticks))
        j = k
        while j < len(ins) and int(ins[j]) != want:
            j += 1
        if j == len(ins):
            raise TargetError(f"case {r.name}: no cycles_est region with its {want} instructions "
                              f"(regions from {k}: {ins[k:k + 8].tolist()})")
        out.append(dataclasses.replace(r, cycles_est=int(cyc[j])))
        k = j + 1
    return out


def ticks_to_instructions(ticks: int) -> int:
    return int(bench_target().counter.ticks_to_unit(ticks))


def run_benchmark(cases: Sequence[Case], work_dir: Path | None = None, cycles_est: bool = True) -> dict[str, Any]:
    """Builds both paths, runs them on QEMU, returns per-case results (bit-exactness, instructions
    and, with cycles_est, the plugin's cycles_est, both net of the measurement overhead (the
    ``nop`` case), per MAC)."""
    work = Path(work_dir) if work_dir else repo_root() / "build" / "kernelbench"
    elves = build_images(cases, work)
    out: dict[str, Any] = {"cases": {}, "paths": {}}
    for path, elf in elves.items():
        res, _ = run_image(elf, cycles_est=cycles_est)
        by = {r.name: r for r in res}
        overhead = ticks_to_instructions(by["nop"].ticks) if "nop" in by else 0
        cyc_over = (by["nop"].cycles_est or 0) if "nop" in by else 0
        out["paths"][path] = {"overhead_instructions": overhead, "overhead_cycles_est": cyc_over,
                              "elf_sha256": hashlib.sha256(elf.read_bytes()).hexdigest()}
        for c in cases:
            r = by.get(c.name)
            e = out["cases"].setdefault(c.name, {"kind": c.kind, "n": c.n, "k": c.k, "macs": c.macs,
                                                 "steps": c.steps})
            if r is None:
                e[path] = {"missing": True}
                continue
            instr = ticks_to_instructions(r.ticks) - overhead if c.kind != "NOP" else ticks_to_instructions(r.ticks)
            cyc = None if r.cycles_est is None else r.cycles_est - (cyc_over if c.kind != "NOP" else 0)
            ok = r.status == 0 and r.bad == 0 and r.fnv == expected_fnv(c)
            e[path] = {"status": r.status, "bad": r.bad, "first_bad": r.first, "ticks": r.ticks,
                       "instructions": instr, "ok": ok,
                       "instr_per_mac": (instr / c.macs) if c.macs else None,
                       "cycles_est": cyc,
                       "cycles_est_per_mac": (cyc / c.macs) if c.macs and cyc is not None else None}
    return out


def _per_mac(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def format_table(res: dict[str, Any]) -> str:
    """Per case (GRU: per timestep): instructions and cycles_est (the plugin's estimate, docs/cycles.md)
    per MAC on both paths, and bit-exactness."""
    lines = ["| case | MACs/call | DSP instr | DSP instr/MAC | DSP cycles_est/MAC | ref instr/MAC | "
             "ref cycles_est/MAC | bit-exact (dsp/ref) |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, e in res["cases"].items():
        if not e["macs"]:
            continue
        d, r = e.get("dsp", {}), e.get("ref", {})
        macs = e["macs"] // max(1, e["steps"])
        di = d.get("instructions", 0) // max(1, e["steps"])
        lines.append(f"| {name} | {macs} | {di} | {_per_mac(d.get('instr_per_mac'))} | "
                     f"{_per_mac(d.get('cycles_est_per_mac'))} | {_per_mac(r.get('instr_per_mac'))} | "
                     f"{_per_mac(r.get('cycles_est_per_mac'))} | {d.get('ok')}/{r.get('ok')} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.harness.kernels", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small shapes only (no 400x400 / GRU 400)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-compare", action="store_true",
                    help="only our kernels' table (no side-by-side with CMSIS-NN / CMSIS-DSP, no FFT stages)")
    args = ap.parse_args(argv)
    cases = quick_cases(args.seed) if args.quick else full_cases(args.seed)
    res = run_benchmark(cases)
    y = None
    if not args.no_compare:
        from bench.harness import yardstick

        y = yardstick.run(res, quick=args.quick, seed=args.seed)
    if args.json:
        print(json.dumps({**res, "yardstick": y} if y is not None else res, indent=2))
    else:
        print(format_table(res))
        for p, v in res["paths"].items():
            print(f"{p}: measurement overhead {v['overhead_instructions']} instructions, "
                  f"{v['overhead_cycles_est']} cycles_est (subtracted)")
        if y is not None:
            print()
            print(yardstick.markdown(y))
    ok = all(e.get(p, {}).get("ok", False) for e in res["cases"].values() for p in ("dsp", "ref"))
    if y is not None:
        ok = ok and all(r.get("ours_ok", True) and r.get("cmsis_ok", True) for r in y["rows"])
        ok = ok and all(e["status"] == 0 and e["bad"] == 0 for e in y["fft"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
