"""One directory per run: results/<run-id>/.

run.json          provenance, options, per-image status (rewritten atomically as the run goes)
<image>/hello.json   what the image said about itself
<image>/frames/<utt>.parquet   one row per frame (written when the utterance is complete)
<image>/audio/<utt>.wav        enhanced output as received from the target
<image>/summary.json           per-frame counter statistics
<image>/console.log, <image>/driver.log

run.json carries ``schema_version`` (SCHEMA_VERSION). A run without the field is version 1;
:func:`migrate_meta` brings an older document up to date when it is read (the file on disk is
rewritten only when the run itself is written again). Version 2 adds per image
``target_uid``: the physical board's probe unique id / serial when the driver knows it
(None on QEMU), so the index can tell two boards of one target apart.

results/index.parquet: one row per (run, image) over every run (bench.results.index).
results/baselines/: committed baselines for the CI gate (bench.results.baseline).

Every file is written to a temporary name and renamed, so a crash leaves only whole files:
what was measured before it stays readable, and --resume skips the utterances it finds.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.errors import ResultsError
from bench.targets import repo_root

SCHEMA_VERSION = 2


def _v1_to_v2(meta: dict[str, Any]) -> dict[str, Any]:
    for im in meta.get("images", {}).values():
        im.setdefault("target_uid", None)
    return meta


# version n -> n+1; each step is pure and idempotent on documents that already have the field
MIGRATIONS: dict[int, Any] = {1: _v1_to_v2}


def migrate_meta(meta: dict[str, Any], source: str = "run.json") -> dict[str, Any]:
    """Bring a run.json document to SCHEMA_VERSION (missing field: version 1)."""
    v = meta.get("schema_version", 1)
    if not isinstance(v, int) or v < 1:
        raise ResultsError(f"{source}: schema_version {v!r} is not a positive integer; the file is damaged")
    if v > SCHEMA_VERSION:
        raise ResultsError(f"{source}: schema_version {v} is newer than this bench understands ({SCHEMA_VERSION}); "
                           "upgrade bench (pip install -e .) to read it")
    while v < SCHEMA_VERSION:
        meta = MIGRATIONS[v](meta)
        v += 1
    meta["schema_version"] = v
    return meta


def results_root() -> Path:
    env = os.environ.get("BENCH_RESULTS")
    return Path(env) if env else repo_root() / "results"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, doc: Any) -> None:
    _atomic_write(path, (json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ResultsError(f"{path} not found") from e
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path} is not valid JSON: {e}") from e


class Run:
    """A run directory; creates it or opens an existing one."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, run_id: str, root: Path | None = None) -> "Run":
        p = (root or results_root()) / run_id
        if p.exists():
            raise ResultsError(f"run directory {p} already exists; use --resume {run_id} to finish it")
        p.mkdir(parents=True)
        return cls(p)

    @classmethod
    def open(cls, run_id: str, root: Path | None = None) -> "Run":
        base = root or results_root()
        p = Path(run_id) if Path(run_id).is_dir() else base / run_id
        if not (p / "run.json").is_file():
            known = sorted(q.name for q in base.glob("*") if (q / "run.json").is_file())[-5:]
            raise ResultsError(f"no run '{run_id}' under {base} (latest: {', '.join(known) or 'none'})")
        return cls(p)

    # run.json -----------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        return migrate_meta(read_json(self.path / "run.json"), str(self.path / "run.json"))

    def write_meta(self, meta: dict[str, Any]) -> None:
        meta["schema_version"] = SCHEMA_VERSION
        write_json(self.path / "run.json", meta)

    # per image ------------------------------------------------------------------
    def image_dir(self, image: str) -> Path:
        return self.path / image

    def done_utterances(self, image: str) -> set[str]:
        d = self.image_dir(image) / "frames"
        return {p.stem for p in d.glob("*.parquet")} if d.is_dir() else set()

    def write_frames(self, image: str, utt: str, table: pa.Table) -> None:
        d = self.image_dir(image) / "frames"
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{utt}.")
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, d / f"{utt}.parquet")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def write_audio(self, image: str, utt: str, pcm: np.ndarray, sample_rate: int) -> None:
        import io

        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, np.asarray(pcm, dtype=np.int16), sample_rate, subtype="PCM_16", format="WAV")
        _atomic_write(self.image_dir(image) / "audio" / f"{utt}.wav", buf.getvalue())

    def read_audio(self, image: str, utt: str) -> np.ndarray:
        import soundfile as sf

        data, _ = sf.read(self.image_dir(image) / "audio" / f"{utt}.wav", dtype="int16")
        return np.asarray(data)

    def frames(self, image: str) -> pa.Table:
        d = self.image_dir(image) / "frames"
        files = sorted(d.glob("*.parquet")) if d.is_dir() else []
        if not files:
            raise ResultsError(f"run {self.run_id} has no frames for image '{image}'")
        return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")

    def append_log(self, image: str, name: str, text: str) -> None:
        p = self.image_dir(image) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "a", errors="replace") as f:
            f.write(text)
