"""The error catalogue (#16, docs/errors.md), `bench run --sweep` refused before any run: an axis whose
--sweep-values leave no point (bench.cli.main: exit 2 and the message, and no run started)."""

from __future__ import annotations

import pytest

from bench.cli import main


@pytest.mark.parametrize("values", [",", " , "])
def test_sweep_values_that_name_no_point(tmp_path, monkeypatch, capsys, values):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    rc = main(["run", "--sweep", "keep", "--sweep-values", values, "--image", "dyncp-small-r25-an386",
               "--limit", "1"])
    out = capsys.readouterr()
    assert rc == 2, (out.out[-2000:], out.err[-2000:])
    said = " ".join((out.out + out.err).split())
    assert "--sweep keep: the axis has no points for image 'dyncp-small-r25-an386'" in said
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
