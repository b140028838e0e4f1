"""The exit sweep's pure parts: points, the Markdown table, the plot, argument errors."""

from __future__ import annotations

import pytest

from bench.cli.views import sweep_table
from bench.errors import BenchError
from bench.families.nsnet2 import exit_points
from bench.runner import RunOptions
from bench.runner.sweep import markdown, plot, run_sweep


def _rows():
    rows = []
    for k in range(3):
        rows.append({"point": f"exit{k}", "kind": "static", "exit": k, "instr_mean": 1e5 * (k + 1),
                     "macs_mean": 4e4 * (k + 1), "pesq_wb_target": 1.5 + 0.2 * k, "pesq_wb_float": 1.52 + 0.2 * k,
                     "stoi_target": 0.8 + 0.02 * k, "stoi_float": 0.8 + 0.02 * k, "pesq_wb_noisy": 1.2,
                     "stoi_noisy": 0.75, "bit_exact_target_vs_golden": 1.0,
                     "exit_share": [float(i == k) for i in range(3)]})
    rows.append({"point": "dyn600", "kind": "dynamic", "thr_q15": 600, "instr_mean": 2.5e5, "macs_mean": 1e5,
                 "pesq_wb_target": 1.8, "pesq_wb_float": None, "stoi_target": 0.83, "exit_share": [0.0, 0.5, 0.5]})
    return rows


def test_points_cover_every_exit_and_threshold():
    pts = exit_points(5, (100, 2000))
    assert [p.label for p in pts] == ["exit0", "exit1", "exit2", "exit3", "exit4", "dyn100", "dyn2000"]
    assert pts[2].configure == (("exit", 2),)
    assert pts[-1].configure == (("policy", 1), ("thr_q15", 2000))
    with pytest.raises(BenchError, match="0..32768"):
        exit_points(5, (40000,))


def test_markdown_and_rich_table_hold_every_point():
    md = markdown(_rows(), "t")
    lines = [ln for ln in md.splitlines() if ln.startswith("| exit") or ln.startswith("| dyn")]
    assert len(lines) == 4
    assert "300,000" in md and "| - |" in md  # missing values print as '-'
    t = sweep_table({"image": "x", "target": "y", "points": _rows()})
    assert t.row_count == 4


def test_plot_writes_a_png(tmp_path):
    p = plot(_rows(), tmp_path / "s.png", "t")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_needs_one_early_exit_image():
    with pytest.raises(BenchError, match="exactly one --image"):
        run_sweep(RunOptions(images=()), "exit")
    with pytest.raises(BenchError, match="sweep axes are none"):
        run_sweep(RunOptions(images=("dsp-baseline-an386",)), "exit")
    with pytest.raises(BenchError, match="drop exit"):
        run_sweep(RunOptions(images=("nsnet2-small-an386",), configure=(("exit", 1),)), "exit")
