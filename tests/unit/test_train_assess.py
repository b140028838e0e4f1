"""bench.train.assess: per-utterance scores, bootstrap deltas, the cache."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent))

from train_run import TESTSET, tiny_run  # noqa: E402

import bench.train.dyncp as tr  # noqa: E402
from bench.errors import ConfigError  # noqa: E402
from bench.train.assess import assess, fidelity_markdown, main, markdown  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("assess")
    assert tiny_run(tr.main, tmp, "m", ["--config", "dyncp-tiny", "--keep-ratio", "1.0"], 20) == 0
    small = tmp / "set"
    for sub in ("clean", "noisy"):
        (small / sub).mkdir(parents=True)
        for utt in ("test_0000", "test_0003", "test_0005"):
            shutil.copy(TESTSET / sub / f"{utt}.wav", small / sub / f"{utt}.wav")
    return tmp / "m" / "out", small


def test_deltas_against_noisy_and_the_reference(setup: tuple[Path, Path], tmp_path: Path) -> None:
    model, small = setup
    res = assess("dyncp", {"old": model, "new": model}, [str(small)], "old", cache=tmp_path / "c")
    b = res["sets"][0]
    assert b["utterances"] == 3
    new = b["models"]["new"]
    assert new["pesq_wb_vs_old"]["mean"] == 0.0  # the same model: no change, paired
    d = new["pesq_wb_vs_noisy"]
    assert d["ci_low"] <= d["mean"] <= d["ci_high"]
    assert abs(new["pesq_wb"] - b["noisy"]["pesq_wb"] - d["mean"]) < 1e-9
    assert "pesq_wb_vs_old" not in b["models"]["old"]
    cached = sorted((tmp_path / "c").glob("*.json"))
    assert len(cached) == 2  # noisy + one model (both labels are the same weights)
    again = assess("dyncp", {"old": model, "new": model}, [str(small)], "old", cache=tmp_path / "c")
    assert again == res
    assert "| | new |" in markdown(res)
    full = fidelity_markdown(res)
    assert full.splitlines()[0] == "| set | model | PESQ-WB | PESQ-NB | STOI | ESTOI | SI-SDR (dB) |"
    n = b["noisy"]
    assert f"| noisy | {n['pesq_wb']:.3f} | {n['pesq_nb']:.3f} | {n['stoi']:.3f} | {n['estoi']:.3f} |" in full
    e = new["estoi_vs_noisy"]
    assert f"{new['estoi']:.3f} ({e['mean']:+.3f} [{e['ci_low']:+.3f}, {e['ci_high']:+.3f}])" in full


def test_bad_arguments(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    model, small = setup
    with pytest.raises(ConfigError, match="reference"):
        assess("dyncp", {"a": model}, [str(small)], "b")
    with pytest.raises(ConfigError, match="family"):
        assess("mpgru", {"a": model}, [str(small)], "a")
    assert main(["--family", "dyncp", "--shipped", str(model), "--set", str(small / "nowhere")]) == 1
    assert "error:" in capsys.readouterr().err
