"""The run: image + target + test set -> per-frame records in the results store.

For each image: verify it against the manifest and the target, start it, handshake (the
image must name itself as the manifest does), then per utterance RESET_STATE, CONFIGURE
and stream hops with a window in flight (bench.runner.stream); each finished utterance is
written at once (frames Parquet + WAV), so a crash loses nothing already measured and
--resume finishes. Scoring (bench.runner.score) and the families' views follow.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.errors import BenchError, DeviceError, LinkError, TargetError
from bench.families import family_for
from bench.images import ImageEntry, find_image, images_for_target, verify_image
from bench.link import messages as m
from bench.link.session import Session
from bench.results.store import Run, now_iso, results_root
from bench.results.summary import summarize_frames
from bench.runner.provenance import provenance
from bench.runner.score import score_image, write_context
from bench.runner.stream import check_hello, frames_table, hops_for, stream_utterance
from bench.targets import load_target
from bench.targets.drivers import make_driver


class Utterance(Protocol):
    id: str
    noisy: np.ndarray
    clean: np.ndarray | None
    sample_rate: int


@dataclass(frozen=True)
class RunOptions:
    target: str = "qemu-mps2-an386"
    images: tuple[str, ...] = ()
    set_path: str | None = None
    limit: int | None = None
    window: int = 4
    timeout: float = 5.0
    configure: tuple[tuple[str, int], ...] = ()
    run_id: str | None = None
    metrics: bool = True
    manifest_dir: str | None = None  # another folder holding manifest.json (default firmware_images/)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise BenchError("--window must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise BenchError("--limit must be at least 1")
        if self.timeout <= 0:
            raise BenchError("--timeout must be positive")


class Progress(Protocol):
    def image_started(self, image: str, utterances: int, frames: int) -> None: ...
    def advance(self, frames: int) -> None: ...
    def image_finished(self, image: str, summary: dict[str, Any] | None, error: str | None) -> None: ...


class NullProgress:
    def image_started(self, image: str, utterances: int, frames: int) -> None:
        pass

    def advance(self, frames: int) -> None:
        pass

    def image_finished(self, image: str, summary: dict[str, Any] | None, error: str | None) -> None:
        pass


@dataclass
class ImageOutcome:
    name: str
    status: str = "pending"  # pending | running | done | failed
    error: str | None = None
    utterance_errors: dict[str, str] = field(default_factory=dict)


def make_run_id(target: str) -> str:
    """<UTC time>-<target>, with -2, -3, ... when runs start within the same second."""
    base = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{target}"
    rid, k = base, 1
    while (results_root() / rid).exists():
        k += 1
        rid = f"{base}-{k}"
    return rid


class Runner:
    def __init__(self, options: RunOptions, progress: Progress | None = None,
                 utterances: Sequence[Utterance] | None = None):
        self.options = options
        self.progress = progress or NullProgress()
        self.target = load_target(options.target)
        self._utterances = utterances

    # ---- inputs --------------------------------------------------------------
    def utterances(self, sample_rate: int) -> list[Utterance]:
        if self._utterances is None:
            from bench.data.loader import load_set

            self._utterances = list(load_set(self.options.set_path, sample_rate=sample_rate))
        utts = list(self._utterances)
        return utts[: self.options.limit] if self.options.limit else utts

    @property
    def manifest_dir(self) -> Path | None:
        return Path(self.options.manifest_dir) if self.options.manifest_dir else None

    def images(self) -> list[ImageEntry]:
        if self.options.images:
            return [find_image(n, self.manifest_dir) for n in self.options.images]
        found = images_for_target(self.target, self.manifest_dir)
        if not found:
            raise BenchError(f"no bench image for target {self.target.name} (board {self.target.board}) in "
                             "firmware_images/manifest.json; build them with `bench images build`")
        return found

    def _check(self, images: Sequence[ImageEntry]) -> None:
        """Refuse a corrupt or foreign image, or an option its family refuses, before starting anything."""
        for e in images:
            verify_image(e, self.target)
            fam = family_for(e.model_family, required=False)
            if fam is not None:
                fam.check_config(self.options.configure, e.model_dir)

    # ---- the run -------------------------------------------------------------
    def start(self) -> Run:
        images = self.images()
        self._check(images)
        run = Run.create(self.options.run_id or make_run_id(self.target.name))
        meta: dict[str, Any] = {
            "run_id": run.run_id,
            "status": "running",
            "started": now_iso(),
            "finished": None,
            "options": asdict(self.options),
            "target": {k: v for k, v in asdict(self.target).items() if k != "path"},
            "provenance": provenance(self.target),
            "images": {e.name: {"sha256": e.sha256, "build_id": e.build_id, "model_family": e.model_family,
                                "status": "pending", "error": None, "utterance_errors": {},
                                "target_uid": None}
                       for e in images},
        }
        run.write_meta(meta)
        return self._execute(run, images)

    def resume(self, run_id: str) -> Run:
        run = Run.open(run_id)
        meta = run.read_meta()
        images = [find_image(n, self.manifest_dir) for n in meta["images"]]
        for e in images:
            if e.sha256 != meta["images"][e.name]["sha256"]:
                raise BenchError(f"cannot resume {run_id}: image '{e.name}' changed since the run started "
                                 f"(sha256 {e.sha256[:12]} != {meta['images'][e.name]['sha256'][:12]}); "
                                 "start a new run")
        self._check(images)
        meta["status"] = "running"
        meta.setdefault("resumed", []).append(now_iso())
        run.write_meta(meta)
        return self._execute(run, images)

    def _execute(self, run: Run, images: list[ImageEntry]) -> Run:
        failed = False
        try:
            for entry in images:
                ok = self._run_image(run, entry)
                failed = failed or not ok
        except KeyboardInterrupt:
            meta = run.read_meta()
            meta["status"] = "interrupted"
            run.write_meta(meta)
            raise
        if self.options.metrics:
            if self._utterances:
                write_context(run, self.utterances(self._utterances[0].sample_rate))
            self._views(run, images)
        meta = run.read_meta()
        meta["status"] = "failed" if failed else "done"
        meta["finished"] = now_iso()
        run.write_meta(meta)
        return run

    def _views(self, run: Run, images: list[ImageEntry]) -> None:
        """Each family's view of its finished images, after all images (so that an image later in
        the run, e.g. a static reference, is there to compare with)."""
        for name in dict.fromkeys(e.model_family for e in images):
            fam = family_for(name, required=False)
            if fam is not None:
                fam.write_views(run, images, self.utterances(16000))

    def _set_image_meta(self, run: Run, image: str, **kw: Any) -> None:
        meta = run.read_meta()
        meta["images"][image].update(kw)
        run.write_meta(meta)

    def _run_image(self, run: Run, entry: ImageEntry) -> bool:
        opts = self.options
        done = run.done_utterances(entry.name)
        driver = make_driver(self.target, run.workdir(entry.name))
        session: Session | None = None
        utt_errors: dict[str, str] = dict(run.read_meta()["images"][entry.name].get("utterance_errors", {}))
        summary = None
        error = None
        self._set_image_meta(run, entry.name, status="running")
        try:
            driver.start(entry.path)
            # the physical board (probe unique id / serial), when the driver knows it; None on QEMU
            self._set_image_meta(run, entry.name, target_uid=getattr(driver, "probe_uid", None))
            session = Session(driver.open_link(), window=opts.window, timeout=opts.timeout)
            hello = session.hello()
            check_hello(hello, entry)
            if opts.window > hello.reply_cache:
                raise LinkError(f"--window {opts.window} exceeds the image's reply cache ({hello.reply_cache})")
            run.write_hello(entry.name, {**asdict(hello), "delay": hello.frame_len - hello.hop_len})
            utts = self.utterances(hello.sample_rate)
            todo = [u for u in utts if u.id not in done]
            n_frames = sum(len(hops_for(u.noisy, hello.hop_len, hello.frame_len)) for u in todo)
            self.progress.image_started(entry.name, len(todo), n_frames)
            for u in todo:
                try:
                    self._run_utterance(run, entry, session, hello, u)
                except DeviceError as e:  # the device refused this utterance; the link is fine
                    utt_errors[u.id] = str(e)
                    self._set_image_meta(run, entry.name, utterance_errors=utt_errors)
            stats = session.stats()
            self._set_image_meta(run, entry.name, device_stats=asdict(stats),
                                 link_counters=asdict(session.counters))
            if opts.metrics:
                score_image(run, entry, utts, opts.configure)
            frames = run.frames(entry.name)
            summary = summarize_frames(frames, list(hello.stage_names), self.target, hello.hop_len,
                                       hello.sample_rate)
            run.write_summary(entry.name, summary)
        except (LinkError, TargetError, BenchError) as e:
            error = str(e)
        finally:
            if session is not None:
                run.append_log(entry.name, "console.log", session.decoder.console_text(1 << 16))
            driver.stop()
            run.append_log(entry.name, "driver.log", driver.logs())
        status = "failed" if error or utt_errors else "done"
        self._set_image_meta(run, entry.name, status=status, error=error, utterance_errors=utt_errors)
        self.progress.image_finished(entry.name, summary, error)
        return status == "done"

    def _run_utterance(self, run: Run, entry: ImageEntry, session: Session, hello: m.Hello, u: Utterance) -> None:
        aligned, results = stream_utterance(session, hello, np.asarray(u.noisy), self.options.configure,
                                            self.progress.advance)
        run.write_audio(entry.name, u.id, aligned, hello.sample_rate)
        run.write_frames(entry.name, u.id, frames_table(u.id, results, hello, self.target))
