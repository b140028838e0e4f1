"""The CI gate catches a deliberate slowdown: a variant of dsp-baseline-an386 built with extra work
inside the measured region (firmware/tests/slowdown_baseline.c, never a committed image) is run
by `bench gate` against the committed baselines, which must fail with the regression exit code
naming that image and the metrics that grew (total and the stft stage), and no others."""

import json
import tomllib
from pathlib import Path

import pytest

import bench.images
from bench import imagebuild as ib
from bench.cli import main
from bench.images import ImageEntry
from bench.results.baseline import baselines_dir, read_baseline
from bench.results.compare import EXIT_REGRESSION
from bench.paths import repo_root

IMAGE = "dsp-baseline-an386"


def build_slow_variant(out: Path, iters: int) -> ImageEntry:
    root = repo_root()
    spec = tomllib.loads((root / "firmware/images.toml").read_text())
    img = next(i for i in spec["image"] if i["name"] == IMAGE)
    board = spec["boards"][img["board"]]
    model = [s for s in ib._expand(root, img["sources"], "firmware/images.toml") if not s.endswith("baseline_model.c")]
    sources = list(board["sources"]) + ib.AGENT_SOURCES + model + ["firmware/tests/slowdown_baseline.c"]
    include = list(dict.fromkeys(list(board["include"]) + ib.AGENT_INCLUDE + ["firmware/models/baseline"]))
    flags = (list(board["cflags"]) + ib.COMMON_CFLAGS + [f"-I{d}" for d in include]
             + [f"-DBENCH_SLOWDOWN_ITERS={iters}"])
    bid = "slow" + ib._build_id(root, sources, flags)[:8]
    elf = out / f"{IMAGE}.elf"
    cmd = [ib.CC, *flags, f'-DBENCH_IMAGE_NAME="{IMAGE}"', f'-DBENCH_BUILD_ID="{bid}"', *ib.LDFLAGS,
           f"-T{board['ldscript']}", "-o", str(elf), *sources, "-lm"]
    import subprocess

    r = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    flash, ram = ib._elf_sizes(elf)
    entry = ImageEntry(name=IMAGE, file=elf.name, board=img["board"], model_family=img["model_family"],
                       sha256=bench.images.sha256_file(elf), protocol_version=bench.images.PROTOCOL_VERSION,
                       build_id=bid, app="agent", flash_bytes=flash, ram_bytes=ram, toolchain=ib.toolchain_version(),
                       build_command="tests/qemu/test_gate_slowdown.py", base_dir=out)
    ib.write_manifest([ib.BuiltImage(entry, cmd)], out)
    return entry


def test_gate_fails_on_deliberate_slowdown(tmp_path, results_dir, monkeypatch, capsys):
    try:
        base = read_baseline("qemu-mps2-an386", IMAGE)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"the committed baseline is missing ({e}); run `bench baseline update`")
    try:
        ib.toolchain_version()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"arm-none-eabi-gcc not installed: {e}")
    images = tmp_path / "images"
    images.mkdir()
    slow = build_slow_variant(images, iters=500)
    assert slow.sha256 != base.sha256
    monkeypatch.setattr(bench.images, "images_dir", lambda: images)

    rc = main(["gate", "--image", IMAGE, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == EXIT_REGRESSION, doc
    assert doc["regression"] is True and doc["exit_code"] == EXIT_REGRESSION
    assert doc["images"][IMAGE]["image_changed"] is True
    regressed = {(c["image"], c["metric"]) for c in doc["changes"] if c["status"] == "regression"}
    assert (IMAGE, "total_mean") in regressed
    assert (IMAGE, "stage_stft_mean") in regressed
    # the work was added before the stft stage ends: the other stages are untouched, exactly
    same = {c["metric"] for c in doc["changes"] if c["status"] == "same"}
    assert {"stage_gain_mean", "stage_istft_mean", "stage_gain_p99", "stage_istft_p99"} <= same
    tot = next(c for c in doc["changes"] if c["metric"] == "total_mean")
    assert 0.01 < tot["rel"] < 0.05  # ~500 x 4-5 instructions on ~110k per frame
    assert tot["changed_frames"] == tot["n_b"]  # every frame is slower
    assert doc["update_commands"][IMAGE].startswith(f"bench baseline update --run {doc['run_path']}")

    # the human form names the image, the metric and the threshold; the same run, no new QEMU run
    rc2 = main(["gate", "--run", doc["run_path"], "--image", IMAGE])
    text = capsys.readouterr().out
    assert rc2 == EXIT_REGRESSION
    assert f"gate: {IMAGE} total_mean regressed" in text.replace("\n", " ")
    assert baselines_dir() == repo_root() / "results" / "baselines"
