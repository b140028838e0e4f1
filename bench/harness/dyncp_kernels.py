"""DynCP kernels on the Cortex-M4F (QEMU mps2-an386): bit-exactness of both code paths with the
golden ops and instructions per executed MAC, at the bench's shapes and keep fractions.

    python -m bench.harness.dyncp_kernels [--out DIR] [--json]

Builds two ELFs (DSP path: the default for this core; reference path: -DBK_FORCE_REF) from
firmware/kernels/*.c, the board support and firmware/kernels/bench/dkb_main.c with generated
vectors, runs them under qemu-system-arm through the QEMU driver (-icount shift=7:
instructions = ticks * 40 / 128, exact) and prints one row per case. MACs count the executed (kept) channels only. The
bench shapes come first; the ``edge_*`` rows (:func:`edge_cases`) are there for exactness of
every code path of the DSP path's assembly, not for their counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.harness import kernels as kb
from bench.models.common import int8ops as q8
from bench.models.dyncp import golden as g

MAIN = Path("firmware/kernels/bench/dkb_main.c")
KINDS = ("NOP", "PW", "PWT", "DW")


@dataclass(frozen=True, eq=False)
class DCase:
    name: str
    kind: str
    n_in: int
    n_out: int  # channels for DW
    dilation: int
    pos: int
    params: tuple[int, int, int, int]  # input_offset, output_offset, act_min, act_max
    x: np.ndarray
    w: np.ndarray
    bias: np.ndarray | None
    mult: np.ndarray
    shift: np.ndarray
    keep: np.ndarray | None
    ring: np.ndarray | None
    out_init: np.ndarray
    expected: np.ndarray  # uint8 result bytes
    macs: int
    scratch: int


def _common(rng: np.random.Generator, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = rng.integers(-20000, 20000, n_out).astype(np.int32)
    m, s = q8.quantize_multiplier_array(rng.uniform(2e-4, 4e-3, n_out))
    return b, m, s


# Edge values of the requantisation: multipliers 0, below 2^30 (the short path's other case),
# TFLM's [2^30, 2^31); shifts at both ends and around 0 (left shift, right shift 1).
EDGE_MULT = (0, 1, (1 << 30) - 1, 1 << 30, (1 << 31) - 1)
EDGE_SHIFT = (-31, -2, -1, 0, 1, 30)


@dataclass(frozen=True)
class Edge:
    """Options of an edge case: quant 'tflm' | 'extreme', bias 'small' | 'none' | 'full',
    params (input_offset, output_offset, act_min, act_max), an explicit keep-mask."""

    quant: str = "tflm"
    bias: str = "small"
    params: tuple[int, int, int, int] | None = None
    keep: np.ndarray | None = None


def _edge_common(rng: np.random.Generator, n: int, e: Edge) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    if e.bias == "none":
        b = None
    elif e.bias == "full":
        b = rng.integers(q8.INT32_MIN, q8.INT32_MAX, n, dtype=np.int64, endpoint=True).astype(np.int32)
    else:
        b = rng.integers(-20000, 20000, n).astype(np.int32)
    if e.quant == "extreme":
        m = rng.integers(0, q8.INT32_MAX, n, dtype=np.int64, endpoint=True).astype(np.int32)
        s = rng.integers(-31, 31, n).astype(np.int32)
        k = rng.random(n) < 0.3  # a share of the exact edge values
        m[k] = rng.choice(EDGE_MULT, int(k.sum()))
        k = rng.random(n) < 0.3
        s[k] = rng.choice(EDGE_SHIFT, int(k.sum()))
    else:
        m, s = q8.quantize_multiplier_array(rng.uniform(2e-4, 4e-3, n))
    return b, m, s


def pw_case(
    name: str, n_in: int, n_out: int, keep_p: float | None, rng: np.random.Generator, edge: Edge | None = None
) -> DCase:
    x = rng.integers(-128, 128, n_in).astype(np.int8)
    w = rng.integers(-127, 128, (n_out, n_in)).astype(np.int8)
    b, m, s = _common(rng, n_out) if edge is None else _edge_common(rng, n_out, edge)
    keep = None if keep_p is None else rng.random(n_out) < keep_p
    if edge is not None and edge.keep is not None:
        keep = edge.keep
    params = (-5, 3, -128, 127) if edge is None or edge.params is None else edge.params
    init = rng.integers(-128, 128, n_out).astype(np.int8)
    out = g.pw_conv_s8(x, w, b, params[0], m, s, params[1], keep, init, params[2], params[3])
    kept = n_out if keep is None else int(keep.sum())
    return DCase(
        name,
        "PW",
        n_in,
        n_out,
        0,
        0,
        params,
        x,
        w,
        b,
        m,
        s,
        keep,
        None,
        init,
        out.view(np.uint8),
        kept * n_in,
        kb.fc_scratch_bytes(n_in),
    )


def pwt_case(
    name: str, n_in: int, n_out: int, keep_p: float | None, rng: np.random.Generator, edge: Edge | None = None
) -> DCase:
    x = rng.integers(-128, 128, n_in).astype(np.int8)
    wt = rng.integers(-127, 128, (n_in, n_out)).astype(np.int8)
    b, m, s = _common(rng, n_out) if edge is None else _edge_common(rng, n_out, edge)
    keep = None if keep_p is None else rng.random(n_in) < keep_p
    if edge is not None and edge.keep is not None:
        keep = edge.keep
    params = (7, -2, -128, 127) if edge is None or edge.params is None else edge.params
    out = g.pw_conv_t_s8(x, wt, b, params[0], m, s, params[1], keep, params[2], params[3])
    kept = n_in if keep is None else int(keep.sum())
    return DCase(
        name,
        "PWT",
        n_in,
        n_out,
        0,
        0,
        params,
        x,
        wt,
        b,
        m,
        s,
        keep,
        None,
        np.zeros(n_out, np.int8),
        out.view(np.uint8),
        kept * n_out,
        4 * n_out,
    )


def dw_case(
    name: str, c: int, d: int, keep_p: float | None, rng: np.random.Generator, edge: Edge | None = None
) -> DCase:
    x = rng.integers(-128, 128, c).astype(np.int8)
    ring = rng.integers(-128, 128, (2 * d, c)).astype(np.int8)
    pos = int(rng.integers(0, 2 * d))
    w = rng.integers(-127, 128, (3, c)).astype(np.int8)
    b, m, s = _common(rng, c) if edge is None else _edge_common(rng, c, edge)
    keep = None if keep_p is None else rng.random(c) < keep_p
    if edge is not None and edge.keep is not None:
        keep = edge.keep
    params = (9, -1, -128, 127) if edge is None or edge.params is None else edge.params
    init = rng.integers(-128, 128, c).astype(np.int8)
    out, ring2, pos2 = g.dw_conv_s8(x, ring, pos, d, w, b, params[0], m, s, params[1], keep, init, params[2], params[3])
    res = np.concatenate([out.view(np.uint8), ring2.reshape(-1).view(np.uint8), np.array([pos2], "<i4").view(np.uint8)])
    kept = c if keep is None else int(keep.sum())
    return DCase(name, "DW", 0, c, d, pos, params, x, w, b, m, s, keep, ring, init, res, 3 * kept, 0)


def nop_case() -> DCase:
    z = np.zeros(1, np.int8)
    i = np.zeros(1, np.int32)
    return DCase("nop", "NOP", 1, 1, 0, 0, (0, 0, -128, 127), z, z, None, i, i, None, None, z, z.view(np.uint8), 0, 0)


def cases(seed: int = 0) -> list[DCase]:
    """Odd shapes and every mask kind, then the dyncp-small / dyncp-full frame shapes."""
    rng = np.random.default_rng(seed)
    out = [nop_case()]
    for kp in (None, 1.0, 0.0, 0.5, 0.1):
        tag = "none" if kp is None else f"k{round(100 * kp)}"
        out += [
            pw_case(f"pw_37x29_{tag}", 37, 29, kp, rng),
            pwt_case(f"pwt_29x37_{tag}", 29, 37, kp, rng),
            dw_case(f"dw_37_d2_{tag}", 37, 2, kp, rng),
        ]
    for r, c in ((64, 128), (128, 256)):
        for kp in (1.0, 0.5, 0.25):
            tag = f"k{round(100 * kp)}"
            out.append(pw_case(f"pw1_{r}x{c}_{tag}", r, c, kp, rng))
            out.append(pwt_case(f"pw2_{c}x{r}_{tag}", c, r, kp, rng))
            for d in (1, 4):
                out.append(dw_case(f"dw_{c}_d{d}_{tag}", c, d, kp, rng))
    return out + edge_cases(seed)


def _runs_mask(n: int, rng: np.random.Generator) -> np.ndarray:
    """Runs of kept and skipped channels of random lengths 1..40 (crossing mask words)."""
    keep = np.zeros(n, bool)
    i, on = 0, bool(rng.integers(0, 2))
    while i < n:
        k = int(rng.integers(1, 41))
        keep[i : i + k] = on
        i += k
        on = not on
    return keep


def edge_cases(seed: int = 0) -> list[DCase]:
    """Exactness of every code path, not timed: extreme multipliers (0, < 2^30) and shifts
    (-31..30: left shifts, right shift 1), full-range and NULL biases, a narrow activation
    range (the byte clamp), extreme offsets, sizes not multiples of 4 / 8 / 32, masks with
    long runs across mask words, whole words off, every nibble value."""
    rng = np.random.default_rng(seed + 1000)
    out: list[DCase] = []
    every_nibble = np.array([(i >> b) & 1 for i in range(16) for b in range(4)], bool)  # 64 channels
    combos = [
        ("xq", Edge(quant="extreme", bias="full")),
        ("xqs", Edge(quant="extreme", bias="small")),
        ("nob", Edge(bias="none", params=(-128, 127, -128, 127))),
        ("act", Edge(quant="extreme", bias="small", params=(128, -128, -20, 90))),
        ("relu", Edge(params=(5, -128, -128, -128))),
    ]
    for tag, e in combos:
        for kp in (None, 0.5, 0.85):
            kt = "none" if kp is None else f"k{round(100 * kp)}"
            out.append(pw_case(f"edge_pw_{tag}_67x45_{kt}", 67, 45, kp, rng, e))
            out.append(pwt_case(f"edge_pwt_{tag}_45x67_{kt}", 45, 67, kp, rng, e))
            p = None if e.params is None else (max(e.params[0], -127),) + e.params[1:]
            out.append(dw_case(f"edge_dw_{tag}_61_d3_{kt}", 61, 3, kp, rng, Edge(e.quant, e.bias, p)))
    for n in (1, 2, 3, 5, 7, 8, 9, 33):
        e = Edge(quant="extreme", bias="small")
        out.append(pw_case(f"edge_pw_{n}x{n + 3}", n, n + 3, 0.7, rng, e))
        out.append(pwt_case(f"edge_pwt_{n}x{n + 5}", n, n + 5, 0.7, rng, e))
        out.append(dw_case(f"edge_dw_{n}", n, 1, 0.7, rng, e))
    for i in range(3):
        e = Edge(quant="extreme", bias="small", keep=_runs_mask(150, rng))
        out.append(pw_case(f"edge_pw_runs{i}", 21, 150, None, rng, e))
        out.append(pwt_case(f"edge_pwt_runs{i}", 150, 22, None, rng, e))
        out.append(dw_case(f"edge_dw_runs{i}", 150, 2, None, rng, e))
    for tag, e in (
        ("nib", Edge(quant="extreme", keep=every_nibble)),
        ("nibc", Edge(quant="extreme", keep=every_nibble, params=(-3, 4, -100, 50))),
    ):
        out.append(dw_case(f"edge_dw_{tag}", 64, 1, None, rng, e))
        out.append(pw_case(f"edge_pw_{tag}", 13, 64, None, rng, e))
        out.append(pwt_case(f"edge_pwt_{tag}", 64, 13, None, rng, e))
    return out


_CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int32": "int32_t", "uint32": "uint32_t"}


def _c_array(name: str, a: np.ndarray) -> str:
    flat = np.ascontiguousarray(a).reshape(-1)
    if flat.size == 0:
        flat = np.zeros(1, a.dtype)
    ctype = _CTYPES[flat.dtype.name]
    body = ",".join(str(int(v)) + ("u" if ctype == "uint32_t" else "") for v in flat.tolist())
    body = body.replace("-2147483648", "(-2147483647-1)")
    return f"static const {ctype} {name}[{flat.size}] __attribute__((aligned(4))) = {{{body}}};\n"


def write_vectors(cs: Sequence[DCase], out_dir: Path) -> None:
    max_res = max(c.expected.size for c in cs) + 4
    max_scratch = max([c.scratch for c in cs] + [4])
    h = [
        "/* Generated by bench/harness/dyncp_kernels.py: do not edit. */",
        "#ifndef DKB_CASES_H",
        "#define DKB_CASES_H",
        "#include <stdint.h>",
        "enum { " + ", ".join(f"DKB_{k} = {i}" for i, k in enumerate(KINDS)) + " };",
        "typedef struct {",
        "    const char *name;",
        "    int32_t kind, n_in, n_out, dilation, pos;",
        "    int32_t p[4];",
        "    const int8_t *x, *w;",
        "    const int32_t *bias, *mult, *shift;",
        "    const uint32_t *mask;",
        "    const int8_t *ring, *out_init;",
        "    int32_t ring_bytes;",
        "    const uint8_t *expected;",
        "    int32_t res_bytes;",
        "} dkb_case_t;",
        f"#define DKB_N_CASES {len(cs)}",
        f"#define DKB_MAX_RES_BYTES {max_res}u",
        f"#define DKB_MAX_SCRATCH_BYTES {max_scratch}u",
        "extern const dkb_case_t dkb_cases[DKB_N_CASES];",
        "#endif",
        "",
    ]
    (out_dir / "dkb_cases.h").write_text("\n".join(h))
    parts = ['/* Generated by bench/harness/dyncp_kernels.py: do not edit. */\n#include "dkb_cases.h"\n']
    rows = []
    for i, c in enumerate(cs):
        names = {}
        arrays = {
            "x": c.x,
            "w": c.w,
            "bias": c.bias,
            "mult": c.mult,
            "shift": c.shift,
            "mask": None if c.keep is None else g.pack_mask(c.keep),
            "ring": c.ring,
            "init": c.out_init,
            "exp": c.expected,
        }
        for k, a in arrays.items():
            if a is None:
                names[k] = "0"
                continue
            names[k] = f"d{i}_{k}"
            parts.append(_c_array(names[k], a))
        ring_bytes = 0 if c.ring is None else c.ring.size
        p = ",".join(str(v) for v in c.params)
        rows.append(
            f'  {{"{c.name}", DKB_{c.kind}, {c.n_in}, {c.n_out}, {c.dilation}, {c.pos}, {{{p}}}, {names["x"]}, '
            f"{names['w']}, {names['bias']}, {names['mult']}, {names['shift']}, {names['mask']}, {names['ring']}, "
            f"{names['init']}, {ring_bytes}, {names['exp']}, {c.expected.size}}},"
        )
    parts.append("const dkb_case_t dkb_cases[DKB_N_CASES] = {\n" + "\n".join(rows) + "\n};\n")
    (out_dir / "dkb_vectors.c").write_text("".join(parts))


def build_images(cs: Sequence[DCase], out_dir: Path, paths: Sequence[str] = ("dsp", "ref")) -> dict[str, Path]:
    """ELFs from the same vectors: 'dsp' (__ARM_FEATURE_DSP) and 'ref' (-DBK_FORCE_REF), or the ``paths`` asked for."""
    from bench.imagebuild import CC, COMMON_CFLAGS, LDFLAGS, toolchain_version

    toolchain_version()
    root = kb.repo_root()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_vectors(cs, out_dir)
    inc = [f"-I{root / d}" for d in (kb.KERNEL_DIR, kb.BOARD_DIR, kb.AGENT_DIR)] + [f"-I{out_dir}"]
    flags = [*kb.M4F, *COMMON_CFLAGS, *inc]
    common = {
        "startup": root / kb.BOARD_DIR / "startup.c",
        "board": root / kb.BOARD_DIR / "board.c",
        "dkb_main": root / MAIN,
        "dkb_vectors": out_dir / "dkb_vectors.c",
    }
    for name, src in common.items():
        kb._run([CC, *flags, "-c", str(src), "-o", str(out_dir / f"{name}.o")], root)
    elves = {}
    for path, defs in (("dsp", []), ("ref", ["-DBK_FORCE_REF"])):
        if path not in paths:
            continue
        objs = [str(out_dir / f"{n}.o") for n in common]
        for src in kb.kernel_sources(root):
            o = out_dir / f"{path}_{src.stem}.o"
            kb._run([CC, *flags, *defs, "-c", str(src), "-o", str(o)], root)
            objs.append(str(o))
        elf = out_dir / f"dyncp-kernelbench-{path}.elf"
        kb._run([CC, *kb.M4F, *LDFLAGS, f"-T{root / kb.BOARD_DIR / 'link.ld'}", "-o", str(elf), *objs], root)
        elves[path] = elf
    return elves


def expected_fnv(c: DCase) -> int:
    return kb.fnv1a(c.expected.tobytes())


def run(cs: Sequence[DCase], out_dir: Path, paths: Sequence[str] = ("dsp", "ref"), cycles_est: bool = True) -> dict:
    """Builds and runs the images; per path and case: bit-exactness, instructions and (with the
    cm4cycles plugin, docs/cycles.md) cycles_est, both net of the empty call (the ``nop`` case)."""
    elves = build_images(cs, out_dir, paths)
    res: dict = {"paths": {}}
    for path, elf in elves.items():
        results, text = kb.run_image(elf, cycles_est=cycles_est)
        by = {r.name: r for r in results}
        over = kb.ticks_to_instructions(by["nop"].ticks) if "nop" in by else 0
        cover = (by["nop"].cycles_est or 0) if "nop" in by else 0
        rows = {}
        for c in cs:
            r = by.get(c.name)
            if r is None:  # an invariant, not a user error: kb.run_image saw KB_END, which the image prints
                # only after a line for every case it was built with (from these cases)
                raise RuntimeError(f"{elf.name}: no result line for case {c.name}; see its output:\n{text[-2000:]}")
            instr = kb.ticks_to_instructions(r.ticks) - (over if c.kind != "NOP" else 0)
            cyc = None if r.cycles_est is None else r.cycles_est - (cover if c.kind != "NOP" else 0)
            ok = r.status == 0 and r.bad == 0 and r.fnv == expected_fnv(c)
            rows[c.name] = {
                "macs": c.macs,
                "instructions": instr,
                "cycles_est": cyc,
                "ok": ok,
                "instr_per_mac": instr / c.macs if c.macs else None,
                "cycles_est_per_mac": cyc / c.macs if c.macs and cyc is not None else None,
            }
        res["paths"][path] = {
            "overhead_instructions": over,
            "overhead_cycles_est": cover,
            "cases": rows,
            "end_line_ok": f"KB_END path={path} fails=0" in text,
        }
    return res


def markdown(res: dict) -> str:
    d, r = res["paths"]["dsp"]["cases"], res["paths"]["ref"]["cases"]
    lines = [
        "| case | MACs executed | DSP instr | DSP instr/MAC | DSP cycles_est/MAC | ref instr | ref instr/MAC | "
        "ref cycles_est/MAC | bit-exact dsp/ref |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def pm(x: dict, key: str) -> str:
        return f"{x[key]:.2f}" if x.get(key) else "-"

    for name, e in d.items():
        if name == "nop":
            continue
        f = r[name]
        lines.append(
            f"| {name} | {e['macs']} | {e['instructions']} | {pm(e, 'instr_per_mac')} | "
            f"{pm(e, 'cycles_est_per_mac')} | {f['instructions']} | {pm(f, 'instr_per_mac')} | "
            f"{pm(f, 'cycles_est_per_mac')} | {e['ok']}/{f['ok']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.harness.dyncp_kernels", description=__doc__.split("\n")[0])
    p.add_argument("--out", help="build directory (default: a temporary one)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    ns = p.parse_args(argv)
    try:
        if ns.out:
            res = run(cases(), Path(ns.out))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                res = run(cases(), Path(tmp))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(res, indent=1) if ns.json else markdown(res))
    ok = all(e["ok"] for v in res["paths"].values() for e in v["cases"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
