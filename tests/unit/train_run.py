"""A tiny training run of a family trainer (bench.train.<family>.main) on the shipped test set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

TESTSET = Path(__file__).resolve().parents[2] / "bench" / "data" / "testset"


def tiny_run(
    main: Callable[[Sequence[str]], int], tmp_path: Path, name: str, head: Sequence[str], crop: int, *extra: str
) -> int:
    """``main(head + ...)``: 4 steps of batch 2, ``crop``-frame crops, checkpoint every 2, into tmp_path/name."""
    return main(
        [
            *head,
            "--data",
            str(TESTSET),
            "--out",
            str(tmp_path / name / "out"),
            "--work",
            str(tmp_path / name / "work"),
            "--steps",
            "4",
            "--batch",
            "2",
            "--crop-frames",
            str(crop),
            "--val-utts",
            "2",
            "--n-utts",
            "16",
            "--ckpt-every",
            "2",
            "--log-every",
            "1",
            *extra,
        ]
    )
