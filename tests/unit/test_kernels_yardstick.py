"""The CMSIS-NN / CMSIS-DSP yardstick's host side (bench.harness.cmsis, bench.harness.yardstick):
the libraries come from the environment and are skipped with a message when unset; a wrong path
is refused with one that says what to do; the comparison rows pick the cheapest CMSIS-NN function
per shape and say ours / CMSIS-NN in cycles_est; the generated CMSIS-NN cases are bit-exact with
the golden model by construction (FC through int8ops, the depthwise frame spelled out)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.harness import cmsis as C
from bench.harness import yardstick as Y
from bench.models.common import int8ops as q8


def test_unset_means_skipped_with_a_message(monkeypatch):
    monkeypatch.delenv(C.ENV_NN, raising=False)
    monkeypatch.delenv(C.ENV_DSP, raising=False)
    assert C.cmsis_nn_dir() is None and C.cmsis_dsp_dir() is None
    msg = C.skip_message(C.ENV_NN)
    assert "skipped" in msg and C.ENV_NN in msg and "CMSIS-NN" in msg


def test_a_wrong_path_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv(C.ENV_NN, str(tmp_path))
    with pytest.raises(ConfigError, match="arm_nnfunctions.h"):
        C.cmsis_nn_dir()
    (tmp_path / "Include").mkdir()
    (tmp_path / "Include" / "arm_nnfunctions.h").write_text("")
    assert C.cmsis_nn_dir() == tmp_path


def test_core_shim_when_no_cmsis_core(monkeypatch, tmp_path):
    monkeypatch.delenv(C.ENV_CORE, raising=False)
    inc = C.dsp_includes(tmp_path / "dsp", tmp_path)
    assert (inc[-1] / "cmsis_compiler.h").read_text() == C.CORE_SHIM


def test_cases_have_golden_outputs():
    cs = C.cmsis_cases(quick=True)
    names = [c.name for c in cs]
    assert len(names) == len(set(names)) and names[0] == "nop"
    for c in cs:
        if c.kind in ("FC_PT", "FC_PC", "CONV1X1"):
            x, w, b, m, s = c.arrays
            want = q8.fc_s8(x, w, b, c.params[0], m, s, c.params[1], -128, 127)
            assert np.array_equal(c.expected, want), c.name
        elif c.kind in ("DW_OPT", "DW_GEN"):
            rows, w, b, m, s = c.arrays
            taps = rows if c.kind == "DW_OPT" else rows[[0, c.h, 2 * c.h]]
            acc = b.astype(np.int64) + (w.astype(np.int64) * (taps.astype(np.int64) + c.params[0])).sum(axis=0)
            got = [int(q8.multiply_by_quantized_multiplier(int(a), int(mm), int(ss))) + c.params[1]
                   for a, mm, ss in zip(acc, m, s)]
            assert np.array_equal(c.expected, np.clip(got, -128, 127).astype(np.int8)), c.name
        elif c.kind == "LSTM":
            assert c.expected is None and c.macs == 4 * c.n * (c.n + c.k)


def test_rows_pick_the_cheapest_cmsis_function():
    kb_res = {"cases": {"fc_s8_128to128": {"kind": "FC_S8", "n": 128, "k": 128, "macs": 16384, "steps": 1,
                                           "dsp": {"instructions": 24000, "cycles_est": 30000, "ok": True}}}}
    cm = {"fc_pc_128to128": {"function": "arm_fully_connected_per_channel_s8", "macs": 16384, "instructions": 38000,
                             "cycles_est": 47000, "ok": True, "checked": True, "status": 0},
          "fc_pt_128to128": {"function": "arm_fully_connected_s8", "macs": 16384, "instructions": 37000,
                             "cycles_est": 46000, "ok": True, "checked": True, "status": 0}}
    rows = Y.build_rows(kb_res, None, cm)
    fc = [r for r in rows if r["kernel"].startswith("FC")]
    assert len(fc) == 1 and fc[0]["cmsis_fn"] == "arm_fully_connected_s8"
    md = Y.markdown_rows(rows, None)
    assert "| 128 -> 128 | 16384 | bk_fc_s8 | 1.465 | 1.831 | arm_fully_connected_s8 | 2.258 | 2.808 | 0.65x |" in md
    assert "(skipped)" in Y.markdown_rows(Y.build_rows(kb_res, None, None), C.skip_message(C.ENV_NN))
