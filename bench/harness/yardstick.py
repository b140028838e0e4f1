"""Our kernels against CMSIS-NN (and the FFT stages against CMSIS-DSP), side by side: instructions
and cycles_est per MAC, at every kernel and shape the model families use.

Part of ``bench kernels bench`` (bench.harness.kernels.main). Ours: the FC / GRU rows of the
kernel bench (its DSP path) and the DynCP kernels at full keep (no mask, as the static blocks
call them); CMSIS-NN: bench.harness.cmsis (skipped with a message when BENCH_CMSIS_NN is unset).
Both sides run on QEMU mps2-an386 under ``-icount`` with the cm4cycles plugin (docs/cycles.md):
instructions exact, ``cycles_est`` the plugin's Cortex-M4 TRM estimate (an estimate, not cycles),
both net of the empty measurement. The CMSIS-NN column is the cheapest of the functions measured
for that shape (all of them in the second table).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import cmsis as C
from bench.harness import dyncp_kernels as dkb

PW_SHAPES = ((64, 128), (128, 256))  # (R, C): pw1 R -> C, pw2 C -> R (dyncp-small, dyncp-full)
DW_CHANNELS = (128, 256)
DILATIONS = (1, 2, 4)


def ours_dyncp_cases(seed: int = 0) -> list[dkb.DCase]:
    """The DynCP kernels at the comparison shapes, every channel kept (mask NULL): both pointwise
    kernels at both directions (the runner uses the plain one for pw1, the transposed one for pw2)."""
    rng = np.random.default_rng(seed + 31)
    out = [dkb.nop_case()]
    for r, c in PW_SHAPES:
        for n_in, n_out in ((r, c), (c, r)):
            out.append(dkb.pw_case(f"pw_{n_in}to{n_out}", n_in, n_out, None, rng))
            out.append(dkb.pwt_case(f"pwt_{n_in}to{n_out}", n_in, n_out, None, rng))
    for ch in DW_CHANNELS:
        for d in DILATIONS:
            out.append(dkb.dw_case(f"dw_{ch}_d{d}", ch, d, None, rng))
    return out


def _row(kernel: str, shape: str, macs: int, ours_fn: str, ours: dict[str, Any] | None,
         cm: Sequence[tuple[str, dict[str, Any] | None]], note: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {"kernel": kernel, "shape": shape, "macs": macs, "ours_fn": ours_fn, "note": note}
    if ours is not None:
        row["ours_instr"], row["ours_cycles_est"] = ours["instructions"], ours["cycles_est"]
        row["ours_ok"] = ours.get("ok", True)
    cands: list[tuple[str, dict[str, Any]]] = [(fn, e) for fn, e in cm if e is not None]
    if cands:
        fn, e = min(cands, key=lambda t: t[1]["cycles_est"] / t[1]["macs"])
        row["cmsis_fn"], row["cmsis_macs"] = fn, e["macs"]
        row["cmsis_instr"], row["cmsis_cycles_est"], row["cmsis_ok"] = e["instructions"], e["cycles_est"], e["ok"]
        row["cmsis_checked"] = e.get("checked", True)
    return row


def build_rows(kb_res: dict[str, Any], dc_res: dict[str, Any] | None, cm: dict[str, Any] | None) -> list[dict]:
    """The comparison rows from the kernel bench result (bench.harness.kernels.run_benchmark), our
    DynCP kernels (dyncp_kernels.run over :func:`ours_dyncp_cases`, DSP path) and CMSIS-NN's
    (cmsis.run_cmsis_nn), or None for a side not measured."""
    cm = cm or {}

    def c(name: str) -> tuple[str, dict[str, Any] | None]:
        e = cm.get(name)
        return (e["function"] if e else name), e

    def k(name: str) -> dict[str, Any] | None:
        e = kb_res["cases"].get(name, {}).get("dsp")
        return None if e is None or e.get("missing") else e

    rows = []
    for name, e in kb_res["cases"].items():
        if e["kind"] == "FC_S8" and "to" in name and name.startswith("fc_s8_"):
            kk, nn = name.removeprefix("fc_s8_").split("to")
            rows.append(_row("FC int8 (per channel)", f"{kk} -> {nn}", e["macs"], "bk_fc_s8", k(name),
                             [c(f"fc_pc_{kk}to{nn}"), c(f"fc_pt_{kk}to{nn}")]))
    for name, e in kb_res["cases"].items():
        if e["kind"] == "GRU" and e["k"] == e["n"] and e["n"] in (128, 400):
            h = e["n"]
            rows.append(_row("GRU cell vs LSTM cell", f"I = H = {h}", e["macs"], "bk_gru_cell_s8", k(name),
                             [c(f"lstm_i{h}_h{h}")], "MACs: GRU 3H(I+H), LSTM 4H(I+H); per MAC"))
    dc = (dc_res or {}).get("paths", {}).get("dsp", {}).get("cases", {})
    for r, ch in PW_SHAPES:
        for n_in, n_out, which in ((r, ch, "pw1"), (ch, r, "pw2")):
            cms = [c(f"fc_pc_pw_{n_in}to{n_out}"), c(f"conv1x1_pw_{n_in}to{n_out}")]
            runner = "bk_pw_conv_s8" if which == "pw1" else "bk_pw_conv_t_s8"
            for fn, case in (("bk_pw_conv_s8", f"pw_{n_in}to{n_out}"), ("bk_pw_conv_t_s8", f"pwt_{n_in}to{n_out}")):
                e = dc.get(case)
                note = "the runner's" if fn == runner else "alternative"
                rows.append(_row(f"pointwise {which}", f"{n_in} -> {n_out}", n_in * n_out, fn, e, cms, note))
    for ch in DW_CHANNELS:
        for d in DILATIONS:
            e = dc.get(f"dw_{ch}_d{d}")
            rows.append(_row("depthwise causal k=3", f"{ch} ch, d = {d}", 3 * ch, "bk_dw_conv_s8", e,
                             [c(f"dw_opt_{ch}_d{d}"), c(f"dw_gen_{ch}_d{d}")],
                             "ours includes the history ring update; CMSIS-NN's opt kernel reads the 3 taps "
                             "gathered into a 3-row input"))
    return rows


def _pm(v: int | None, macs: int) -> str:
    return "-" if v is None else f"{v / macs:.3f}"


def markdown_rows(rows: Sequence[dict], cmsis_note: str | None) -> str:
    lines = ["| kernel | shape | MACs | ours | instr/MAC | cycles_est/MAC | CMSIS-NN (cheapest) | instr/MAC | "
             "cycles_est/MAC | ours / CMSIS-NN cycles_est | bit-exact (ours/CMSIS-NN) |",
             "|---|---|---:|---|---:|---:|---|---:|---:|---:|---|"]
    for r in rows:
        macs = r["macs"]
        ours_c = r.get("ours_cycles_est")
        fn = r["ours_fn"] + (f" ({r['note']})" if r["note"] in ("the runner's", "alternative") else "")
        if "cmsis_fn" in r:
            cm = (r["cmsis_fn"], _pm(r["cmsis_instr"], r["cmsis_macs"]), _pm(r["cmsis_cycles_est"], r["cmsis_macs"]))
            ratio = "-" if ours_c is None else f"{(ours_c / macs) / (r['cmsis_cycles_est'] / r['cmsis_macs']):.2f}x"
            ok = f"{r.get('ours_ok', '-')}/{r['cmsis_ok'] if r.get('cmsis_checked', True) else 'not checked'}"
        else:
            cm, ratio, ok = ("(skipped)", "-", "-"), "-", f"{r.get('ours_ok', '-')}/-"
        lines.append(f"| {r['kernel']} | {r['shape']} | {macs} | {fn} | {_pm(r.get('ours_instr'), macs)} | "
                     f"{_pm(ours_c, macs)} | {cm[0]} | {cm[1]} | {cm[2]} | {ratio} | {ok} |")
    out = "\n".join(lines) + "\n"
    if cmsis_note:
        out += f"\n{cmsis_note}\n"
    return out


def markdown_cmsis(cm: dict[str, Any]) -> str:
    lines = ["| CMSIS-NN case | function | MACs | instructions | instr/MAC | cycles_est | cycles_est/MAC | "
             "bit-exact with our golden |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for name, e in cm.items():
        ok = ("yes" if e["ok"] else "NO") if e["checked"] else f"not checked (status {e['status']})"
        lines.append(f"| {name} | {e['function']} | {e['macs']} | {e['instructions']} | "
                     f"{_pm(e['instructions'], e['macs'])} | {e['cycles_est']} | {_pm(e['cycles_est'], e['macs'])} | "
                     f"{ok} |")
    return "\n".join(lines) + "\n"


FFT_ROWS = (
    ("DynCP STFT forward, 512 (window + real FFT)", "dc_rfft512", "cm_rfft512",
     "arm_mult_f32 (window) + arm_rfft_fast_f32"),
    ("DynCP inverse, 512 (real IFFT, x 512, no window)", "dc_irfft512", "cm_irfft512",
     "arm_rfft_fast_f32 (ifftFlag 1; scaled 1/512)"),
    ("nsNet2 STFT forward, 320", "nn_rfft320", None, "none: 320 is not a CMSIS-DSP length (powers of two only)"),
    ("nsNet2 inverse, 320", "nn_irfft320", None, "none: 320 is not a CMSIS-DSP length"),
)
FRONT_ROWS = (
    ("DynCP stage stft (framing, FFT, power, 257 features)", "dc_analysis"),
    ("DynCP 257 x dc_feature (calls)", "dc_features"),
    ("nsNet2 stage stft (framing, FFT, power, 161 features)", "nn_analysis"),
    ("nsNet2 161 x nn_log2f (calls)", "nn_log2f"),
)


def markdown_fft(fb: dict[str, Any], dsp_note: str | None) -> str:
    lines = ["| transform | ours | instructions | cycles_est | CMSIS-DSP | instructions | cycles_est | "
             "ours / CMSIS-DSP cycles_est |", "|---|---|---:|---:|---|---:|---:|---:|"]
    for label, ours, cm, fn in FFT_ROWS:
        o = fb[ours]
        e = fb.get(cm) if cm else None
        if e is None:
            cmcols = f"{fn if cm is None else '(skipped)'} | - | - | -"
        else:
            cmcols = f"{fn} | {e['instructions']} | {e['cycles_est']} | {o['cycles_est'] / e['cycles_est']:.2f}x"
        lines.append(f"| {label} | {ours} | {o['instructions']} | {o['cycles_est']} | {cmcols} |")
    lines += ["", "| front end (one frame) | instructions | cycles_est |", "|---|---:|---:|"]
    for label, name in FRONT_ROWS:
        lines.append(f"| {label} | {fb[name]['instructions']} | {fb[name]['cycles_est']} |")
    out = "\n".join(lines) + "\n"
    if dsp_note:
        out += f"\n{dsp_note}\n"
    return out


def run(kb_res: dict[str, Any], quick: bool = False, seed: int = 0,
        work_dir: Path | None = None) -> dict[str, Any]:
    """Measures the other sides (our DynCP kernels at the comparison shapes, CMSIS-NN, the FFT image)
    and returns rows, raw results and notes."""
    nn, dsp = C.cmsis_nn_dir(), C.cmsis_dsp_dir()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(work_dir) if work_dir else Path(tmp)
        dc_res = dkb.run(ours_dyncp_cases(seed), base / "dyncp", paths=("dsp",))
        cm = C.run_cmsis_nn(C.cmsis_cases(quick, seed), nn, base / "cmsis-nn") if nn is not None else None
        fb = C.run_cases(C.build_fft_image(base / "fft", dsp, seed))
    return {
        "rows": build_rows(kb_res, dc_res, cm),
        "cmsis_nn": cm,
        "fft": fb,
        "dyncp": dc_res,
        "cmsis_nn_note": None if nn is not None else C.skip_message(C.ENV_NN),
        "cmsis_dsp_note": None if dsp is not None else C.skip_message(C.ENV_DSP),
        "revisions": C.revision_note(nn, dsp),
    }


def markdown(y: dict[str, Any]) -> str:
    out = ["## Ours vs CMSIS-NN (QEMU mps2-an386, -icount; cycles_est: the cm4cycles estimate, docs/cycles.md)",
           "", markdown_rows(y["rows"], y["cmsis_nn_note"])]
    if y["cmsis_nn"]:
        out += ["### Every CMSIS-NN case", "", markdown_cmsis(y["cmsis_nn"])]
    out += ["## FFT stages vs CMSIS-DSP, front ends", "", markdown_fft(y["fft"], y["cmsis_dsp_note"])]
    if y["revisions"]:
        out.append(f"Built from {y['revisions']} with the bench kernels' compiler and flags (-O2).")
    return "\n".join(out)
