"""The run: image + target + test set -> per-frame records in the results store.

For each image: verify it against the manifest and the target, start it, handshake (the
image must name itself as the manifest does), then per utterance RESET_STATE, CONFIGURE
and stream hops with a window in flight (bench.runner.stream); each finished utterance is
written at once (frames Parquet + WAV), so a crash loses nothing already measured and
--resume finishes. Scoring (bench.runner.score) and the families' views follow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.errors import BenchError, DeviceError, LinkError, TargetError
from bench.families import family_for
from bench.images import ImageEntry, find_image, images_for_target, verify_image
from bench.link import messages as m
from bench.link.faults import parse_faults
from bench.link.faulty import FaultyTransport
from bench.link.session import Session
from bench.metrics.blas import single_threaded_blas
from bench.results.store import Run, now_iso
from bench.results.summary import summarize_frames
from bench.runner.guards import RunInterrupted, sigterm_as_interrupt, verified_copy
from bench.runner.options import RunOptions, make_run_id, options_for_resume
from bench.runner.provenance import provenance
from bench.runner.score import score_image, write_context
from bench.runner.stream import (
    CycleEstimate,
    ResetAgain,
    ResetInjector,
    check_counter,
    check_hello,
    frames_table,
    hops_for,
    stream_retrying,
    with_energy,
)
from bench.targets import load_target
from bench.targets.drivers import make_driver
from bench.targets.meters import Meter, measure_utterance, utterance_meter


class Utterance(Protocol):
    id: str
    noisy: np.ndarray
    clean: np.ndarray | None
    sample_rate: int


class Progress(Protocol):
    def image_started(self, image: str, utterances: int, frames: int) -> None: ...
    def advance(self, frames: int, image: str = "") -> None: ...
    def image_finished(self, image: str, summary: dict[str, Any] | None, error: str | None) -> None: ...


def _enhances_speech(entry: ImageEntry) -> bool:
    """Whether a plain `bench run` (no --image) takes the image: its family enhances speech."""
    fam = family_for(entry.model_family, required=False)
    return fam is None or fam.speech_enhancer


def with_probe(target: Any, probe_uid: str | None) -> Any:
    """The target with --probe UID as its [pyocd] probe_uid (one of several probes)."""
    if not probe_uid:
        return target
    if target.driver != "pyocd":
        raise BenchError(f"--probe picks a debug probe; target {target.name} has driver '{target.driver}'")
    return dataclasses.replace(target, driver_options={**target.driver_options, "probe_uid": probe_uid})


def post_mortem(driver: Any, e: Exception) -> str:
    """The error, with the board's own account where the driver can read the core (pyOCD:
    `inspect()`: the board, the active exception, the decoded fault registers)."""
    inspect = getattr(driver, "inspect", None)
    if not callable(inspect):
        return str(e)
    try:
        return f"{e} -- {inspect().describe()}"
    except BenchError as pe:
        return f"{e} -- (the board could not be read: {pe})"


class NullProgress:
    def image_started(self, image: str, utterances: int, frames: int) -> None:
        pass

    def advance(self, frames: int, image: str = "") -> None:
        pass

    def image_finished(self, image: str, summary: dict[str, Any] | None, error: str | None) -> None:
        pass


class Runner:
    def __init__(self, options: RunOptions, progress: Progress | None = None,
                 utterances: Sequence[Utterance] | None = None):
        self.options = options
        self.progress = progress or NullProgress()
        self.target = with_probe(load_target(options.target), options.probe_uid)
        self._utterances = utterances
        self._lock = threading.RLock()  # run.json and the utterance list, shared by the image workers
        self._abort = threading.Event()
        self._active: set[Any] = set()  # drivers of images in flight (stopped on an interrupt)

    # ---- inputs --------------------------------------------------------------
    def utterances(self, sample_rate: int) -> list[Utterance]:
        with self._lock:
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
        found = [e for e in images_for_target(self.target, self.manifest_dir) if _enhances_speech(e)]
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
        """Finish a run with the options it was started with (its run.json); an option given
        now that differs from the record is refused rather than mixed in."""
        run = Run.open(run_id)
        meta = run.read_meta()
        self.options = options_for_resume(meta.get("options", {}), self.options, run_id)
        self.target = with_probe(load_target(self.options.target), self.options.probe_uid)
        images = [find_image(n, self.manifest_dir) for n in meta["images"]]
        for e in images:
            if e.sha256 != meta["images"][e.name]["sha256"]:
                raise BenchError(f"cannot resume {run_id}: image '{e.name}' changed since the run started "
                                 f"(sha256 {e.sha256[:12]} != {meta['images'][e.name]['sha256'][:12]}); "
                                 "start a new run")
        self._check(images)
        with run.lock():
            meta = run.read_meta()
            meta["status"] = "running"
            meta.setdefault("resumed", []).append(now_iso())
            run.write_meta(meta)
            return self._execute_locked(run, images)

    def _execute(self, run: Run, images: list[ImageEntry]) -> Run:
        with run.lock():
            return self._execute_locked(run, images)

    def _execute_locked(self, run: Run, images: list[ImageEntry]) -> Run:
        """Every image, then the context and the views. However it ends, run.json says so: done,
        failed, or interrupted (Ctrl-C, SIGTERM) with the reason; never "running"."""
        failed = False
        try:
            # One BLAS thread for the whole run: the image threads compute float references side by
            # side while QEMU takes the cores, and OpenBLAS's spinning pool then made a cold-cache
            # default run take over 10 minutes instead of about one (bench.metrics.blas).
            with sigterm_as_interrupt(), single_threaded_blas():
                failed = not all(self._run_images(run, images))
                if self.options.metrics:
                    if self._utterances:
                        write_context(run, self.utterances(self._utterances[0].sample_rate))
                    self._views(run, images)
        except KeyboardInterrupt:
            self._end(run, "interrupted", "interrupted (Ctrl-C or SIGTERM); what was measured is kept: "
                                          f"bench run --resume {run.run_id}")
            raise RunInterrupted(run.run_id) from None
        except BaseException as e:
            self._end(run, "failed", f"{type(e).__name__}: {e}")
            raise
        self._end(run, "failed" if failed else "done", None)
        return run

    @staticmethod
    def _end(run: Run, status: str, reason: str | None) -> None:
        meta = run.read_meta()
        meta["status"] = status
        meta["finished"] = now_iso()
        meta["reason"] = reason
        run.write_meta(meta)

    def jobs(self, n_images: int) -> int:
        """Images at once: --jobs, or one emulator per CPU core (QEMU), one at a time on a board."""
        if self.options.jobs:
            return min(self.options.jobs, n_images)
        return min(os.cpu_count() or 1, n_images) if self.target.driver == "qemu" else 1

    def _run_images(self, run: Run, images: list[ImageEntry]) -> list[bool]:
        jobs = self.jobs(len(images))
        if jobs <= 1:
            return [self._run_image(run, e) for e in images]
        with ThreadPoolExecutor(jobs, thread_name_prefix="bench-image") as ex:
            futures = [ex.submit(self._run_image, run, e) for e in images]
            try:
                return [f.result() for f in futures]
            except BaseException:
                self._abort.set()  # the workers stop at their next utterance; their links are cut now
                for f in futures:
                    f.cancel()
                with self._lock:
                    for d in list(self._active):
                        d.stop()
                raise

    def _views(self, run: Run, images: list[ImageEntry]) -> None:
        """Each family's view of its finished images, after all images (so that an image later in
        the run, e.g. a static reference, is there to compare with)."""
        for name in dict.fromkeys(e.model_family for e in images):
            fam = family_for(name, required=False)
            if fam is None:
                continue
            try:
                fam.write_views(run, images, self.utterances(16000))
            except Exception as e:  # noqa: BLE001 -- a view that cannot score the input must not end the run
                for img in (x for x in images if x.model_family == name):
                    run.write_view(img.name, name, {"unscorable": f"{type(e).__name__}: {e}"})

    def _set_image_meta(self, run: Run, image: str, **kw: Any) -> None:
        with self._lock:
            meta = run.read_meta()
            meta["images"][image].update(kw)
            run.write_meta(meta)

    def _run_image(self, run: Run, entry: ImageEntry) -> bool:
        opts = self.options
        done = run.done_utterances(entry.name)
        driver = make_driver(self.target, run.workdir(entry.name))
        with self._lock:
            self._active.add(driver)
        session: Session | None = None
        faulty: FaultyTransport | None = None
        utt_errors: dict[str, str] = dict(run.read_meta()["images"][entry.name].get("utterance_errors", {}))
        summary = None
        error = None
        self._set_image_meta(run, entry.name, status="running")
        stack = contextlib.ExitStack()
        try:
            driver.start(stack.enter_context(verified_copy(entry)))
            # the physical board (probe unique id / serial), when the driver knows it; None on QEMU
            self._set_image_meta(run, entry.name, target_uid=getattr(driver, "probe_uid", None))
            link = driver.open_link()
            inject = None
            if opts.link_faults:  # injected faults (a user's test of the link): recorded with the run
                faults = parse_faults(opts.link_faults)
                link = faulty = FaultyTransport(link, faults)
                if faults.reset_frame is not None:  # a real device reset at that frame (bench.runner.stream)
                    inject = ResetInjector(driver.reset, faults.reset_frame)
            session = Session(link, window=opts.window, timeout=opts.timeout, retries=opts.link_retries,
                              dead_after=opts.link_timeout)
            hello = session.hello()
            check_hello(hello, entry)
            check_counter(hello, self.target)
            if opts.window > hello.reply_cache:
                raise LinkError(f"--window {opts.window} exceeds the image's reply cache ({hello.reply_cache}); "
                                f"run with --window {hello.reply_cache} or less")
            run.write_hello(entry.name, {**asdict(hello), "delay": hello.frame_len - hello.hop_len})
            estimate = CycleEstimate.for_driver(driver)
            meter = utterance_meter(self.target)  # None: the datasheet model, derived from the counts
            if meter is not None:
                stack.callback(getattr(meter, "close", lambda: None))
            utts = self.utterances(hello.sample_rate)
            todo = [u for u in utts if u.id not in done]
            n_frames = sum(len(hops_for(u.noisy, hello.hop_len, hello.frame_len)) for u in todo)
            self.progress.image_started(entry.name, len(todo), n_frames)
            for u in todo:
                if self._abort.is_set():
                    raise BenchError("stopped: another image of the run was interrupted")
                try:
                    self._run_utterance(run, entry, session, hello, u, estimate, meter, inject)
                except (DeviceError, ResetAgain) as e:  # the device refused this utterance; the link is fine
                    utt_errors[u.id] = post_mortem(driver, e)
                    self._set_image_meta(run, entry.name, utterance_errors=utt_errors)
            stats = session.stats()
            with self._lock:
                before = run.read_meta()["images"][entry.name].get("link_counters") or {}
                counters = {k: int(before.get(k, 0)) + v for k, v in asdict(session.counters).items()}
                self._set_image_meta(run, entry.name, device_stats=asdict(stats), link_counters=counters)
                if faulty is not None:
                    self._set_image_meta(run, entry.name, link_faults={
                        "query": faulty.faults.query(), "tx": asdict(faulty.tx.counts), "rx": asdict(faulty.rx.counts)})
            if opts.metrics:
                score_image(run, entry, utts, opts.configure)
            frames = run.frames(entry.name)
            summary = summarize_frames(frames, list(hello.stage_names), self.target, hello.hop_len,
                                       hello.sample_rate)
            run.write_summary(entry.name, summary)
        except (LinkError, TargetError, BenchError) as e:
            error = post_mortem(driver, e) if isinstance(e, LinkError) else str(e)
        finally:
            if session is not None:
                run.append_log(entry.name, "console.log", session.decoder.console_text(1 << 16))
            driver.stop()
            with self._lock:
                self._active.discard(driver)
            stack.close()
            run.append_log(entry.name, "driver.log", driver.logs())
        status = "failed" if error or utt_errors else "done"
        self._set_image_meta(run, entry.name, status=status, error=error, utterance_errors=utt_errors)
        self.progress.image_finished(entry.name, summary, error)
        return status == "done"

    def _run_utterance(self, run: Run, entry: ImageEntry, session: Session, hello: m.Hello, u: Utterance,
                       estimate: CycleEstimate | None, meter: Meter | None = None,
                       inject: ResetInjector | None = None) -> None:
        if meter is not None:
            meter.start()  # capture on, marker armed (an instrument meter; docs/energy.md)

        def on_reset(note: str) -> None:  # recorded with the image: device_resets
            with self._lock:
                resets = run.read_meta()["images"][entry.name].get("device_resets", [])
                self._set_image_meta(run, entry.name, device_resets=[*resets, note])
            if meter is not None:  # the capture starts again with the retried utterance
                meter.stop()
                meter.start()

        aligned, results = stream_retrying(session, hello, entry, self.target, u.id, np.asarray(u.noisy),
                                           self.options.configure, lambda n: self.progress.advance(n, entry.name),
                                           on_reset, inject)
        frames = frames_table(u.id, results, hello, self.target, estimate)
        if meter is not None:
            frames = with_energy(frames, measure_utterance(meter, frames))
        run.write_audio(entry.name, u.id, aligned, hello.sample_rate)
        run.write_frames(entry.name, u.id, frames)
