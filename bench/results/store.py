"""One directory per run: results/<run-id>/.

run.json          provenance, options, per-image status (rewritten atomically as the run goes)
<image>/hello.json   what the image said about itself
<image>/frames/<utt>.parquet   one row per frame (written when the utterance is complete)
<image>/audio/<utt>.wav        enhanced output as received from the target
<image>/summary.json           per-frame counter statistics
<image>/metrics.parquet, fidelity.parquet, comparison.json   the three-way quality comparison
<image>/view.json (+ <family>-*.png)   the image's family view (bench.families), when it has one
<image>/console.log, <image>/driver.log
context.json         reference baselines on the run's audio (WebRTC VAD, WORLD F0, DSP enhancer)
<sweep-id>/sweep.json, sweep.md, sweep.png   a sweep; its points are runs <sweep-id>/<point>/

This module owns every one of these names: the rest of the bench reads and writes them through
:class:`Run` and :class:`Sweep`, never by path.

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

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.errors import ResultsError
from bench.paths import repo_root

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


def _file_mode() -> int:
    """0666 minus the umask: what open() would give (mkstemp's temporary files are 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, doc: Any) -> None:
    _atomic_write(path, (json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ResultsError(f"{path} not found") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path} is not valid JSON: {e}") from e
    except OSError as e:
        raise ResultsError(f"{path} cannot be read: {e}") from e


def _new_dir(root: Path | None, name: str, hint: str) -> Path:
    p = (root or results_root()) / name
    if p.exists():
        raise ResultsError(f"{p} already exists; {hint}")
    p.mkdir(parents=True)
    return p


class Run:
    """A run directory; creates it or opens an existing one."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, run_id: str, root: Path | None = None) -> "Run":
        return cls(_new_dir(root, run_id, f"use --resume {run_id} to finish it"))

    @classmethod
    def open(cls, run_id: str, root: Path | None = None) -> "Run":
        base = root or results_root()
        p = Path(run_id) if Path(run_id).is_dir() else base / run_id
        if not (p / "run.json").is_file():
            known = sorted(q.name for q in base.glob("*") if (q / "run.json").is_file())[-5:]
            raise ResultsError(f"no run '{run_id}' under {base} (latest: {', '.join(known) or 'none'})")
        return cls(p)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run for this process (a second `bench run --resume` of it is refused)."""
        import fcntl

        path = self.path / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
                raise ResultsError(f"run {self.run_id} is in use by {holder}; wait for it to finish "
                                   "(or stop it) before resuming") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
            yield
        finally:
            os.close(fd)

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
        _atomic_parquet(d / f"{utt}.parquet", table)

    def write_audio(self, image: str, utt: str, pcm: np.ndarray, sample_rate: int) -> None:
        import io

        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, np.asarray(pcm, dtype=np.int16), sample_rate, subtype="PCM_16", format="WAV")
        _atomic_write(self.image_dir(image) / "audio" / f"{utt}.wav", buf.getvalue())

    def read_audio(self, image: str, utt: str) -> np.ndarray:
        import soundfile as sf

        p = self.image_dir(image) / "audio" / f"{utt}.wav"
        try:
            data, _ = sf.read(p, dtype="int16")
        except Exception as e:  # noqa: BLE001 -- soundfile raises LibsndfileError / RuntimeError / OSError
            raise ResultsError(f"{p} cannot be read ({e}); the file is missing or damaged: delete the image's "
                               f"frames/{utt}.parquet too and finish the run with `bench run --resume "
                               f"{self.run_id}`") from e
        return np.asarray(data)

    def frames(self, image: str) -> pa.Table:
        d = self.image_dir(image) / "frames"
        files = sorted(d.glob("*.parquet")) if d.is_dir() else []
        if not files:
            raise ResultsError(f"run {self.run_id} has no frames for image '{image}'")
        tables = [_read_parquet(f) for f in files]
        try:
            return pa.concat_tables(tables, promote_options="default")
        except pa.ArrowException as e:
            raise ResultsError(f"run {self.run_id}, image '{image}': the frames files disagree on their columns "
                               f"({e}); one of them is from another build or damaged: delete it and finish the "
                               f"run with `bench run --resume {self.run_id}`") from e

    def frames_of(self, image: str, utt: str) -> pa.Table:
        """The frames of one utterance."""
        p = self.image_dir(image) / "frames" / f"{utt}.parquet"
        if not p.is_file():
            raise ResultsError(f"run {self.run_id} has no frames for image '{image}', utterance '{utt}'")
        return _read_parquet(p)

    LOGS = ("console.log", "driver.log")

    def append_log(self, image: str, name: str, text: str) -> None:
        if name not in self.LOGS:
            raise ValueError(f"unknown log {name!r}; logs are {self.LOGS}")
        p = self.image_dir(image) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "a", errors="replace") as f:
            f.write(text)

    def workdir(self, image: str) -> Path:
        """The image's folder, for a driver's own files (emulator logs, link FIFOs)."""
        d = self.image_dir(image)
        d.mkdir(parents=True, exist_ok=True)
        return d

    # per-image JSON documents -----------------------------------------------------
    def _doc(self, image: str | None, name: str) -> Path:
        return (self.path if image is None else self.image_dir(image)) / name

    def _read_opt(self, path: Path) -> Any:
        return read_json(path) if path.is_file() else None

    def write_hello(self, image: str, doc: dict[str, Any]) -> None:
        write_json(self._doc(image, "hello.json"), doc)

    def read_hello(self, image: str) -> dict[str, Any] | None:
        return self._read_opt(self._doc(image, "hello.json"))

    def write_summary(self, image: str, doc: dict[str, Any]) -> None:
        write_json(self._doc(image, "summary.json"), doc)

    def read_summary(self, image: str) -> dict[str, Any] | None:
        return self._read_opt(self._doc(image, "summary.json"))

    def write_comparison(self, image: str, metrics: list[dict[str, Any]], fidelity: list[dict[str, Any]],
                         doc: dict[str, Any]) -> None:
        """metrics.parquet (per utterance and condition), fidelity.parquet, comparison.json."""
        d = self.image_dir(image)
        d.mkdir(parents=True, exist_ok=True)
        for name, rows in (("metrics.parquet", metrics), ("fidelity.parquet", fidelity)):
            _atomic_parquet(d / name, pa.Table.from_pylist(rows))
        write_json(d / "comparison.json", doc)

    def read_comparison(self, image: str) -> dict[str, Any] | None:
        return self._read_opt(self._doc(image, "comparison.json"))

    def read_fidelity(self, image: str) -> list[dict[str, Any]] | None:
        p = self._doc(image, "fidelity.parquet")
        return _read_parquet(p).to_pylist() if p.is_file() else None

    def read_metrics(self, image: str) -> list[dict[str, Any]] | None:
        """metrics.parquet of the image (one row per utterance and condition), when it was scored."""
        p = self._doc(image, "metrics.parquet")
        return _read_parquet(p).to_pylist() if p.is_file() else None

    def write_view(self, image: str, family: str, doc: dict[str, Any]) -> None:
        """The image's family view (bench.families): {"family": ..., **doc}."""
        write_json(self._doc(image, "view.json"), {"family": family, **doc})

    def read_view(self, image: str) -> dict[str, Any] | None:
        doc = self._read_opt(self._doc(image, "view.json"))
        if doc is None and self._doc(image, "dyncp.json").is_file():  # runs before the family seam
            doc = {"family": "dyncp", **read_json(self._doc(image, "dyncp.json"))}
        return doc

    def plot_path(self, image: str | None, name: str) -> Path:
        """Where a plot of the run (image None) or of an image goes: a file name ending in .png."""
        if not name.endswith(".png") or "/" in name:
            raise ValueError(f"plot names are plain .png file names, not {name!r}")
        p = self._doc(image, name)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_context(self, doc: dict[str, Any]) -> None:
        write_json(self._doc(None, "context.json"), doc)

    def read_context(self) -> dict[str, Any] | None:
        return self._read_opt(self._doc(None, "context.json"))

    def has_context(self) -> bool:
        return self._doc(None, "context.json").is_file()


def _atomic_parquet(path: Path, table: pa.Table) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_parquet(path: Path, hint: str | None = None) -> pa.Table:
    """A Parquet file of the store; a damaged or unreadable one is a ResultsError naming it (with `hint`,
    what to do, when the default, re-running the image, does not fit)."""
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise ResultsError(f"{path} cannot be read ({e}); the file is damaged: "
                           + (hint or "delete it and re-run the image (bench run --resume keeps the rest)")) from e


def read_parquet(path: Path, hint: str | None = None) -> pa.Table:
    """_read_parquet for the other modules of bench.results (index, baselines)."""
    return _read_parquet(path, hint)


class Sweep:
    """A sweep directory: results/<sweep-id>/ with sweep.json, sweep.md, sweep.png; each point is
    an ordinary run <sweep-id>/<point>/ (Run.create with that id)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def sweep_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, sweep_id: str, root: Path | None = None) -> "Sweep":
        return cls(_new_dir(root, sweep_id, "choose another --run-id"))

    def point_run_id(self, label: str) -> str:
        return f"{self.sweep_id}/{label}"

    def write(self, doc: dict[str, Any], markdown: str | None = None) -> None:
        write_json(self.path / "sweep.json", doc)
        if markdown is not None:
            _atomic_write(self.path / "sweep.md", markdown.encode())

    def read(self) -> dict[str, Any]:
        return read_json(self.path / "sweep.json")

    def plot_path(self) -> Path:
        return self.path / "sweep.png"
