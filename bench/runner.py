"""The runner: image + target + test set -> per-frame records in the results store.

For each image: verify it against the manifest and the target, start it, handshake (the
image must name itself as the manifest does), then per utterance RESET_STATE, CONFIGURE
and stream hops with a window in flight; each finished utterance is written at once
(frames Parquet + WAV), so a crash loses nothing already measured and --resume finishes.
"""

from __future__ import annotations

import getpass
import platform
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from bench import __version__
from bench.drivers import make_driver
from bench.errors import BenchError, ConfigError, DeviceError, HandshakeError, LinkError, TargetError
from bench.imagebuild import toolchain_version
from bench.images import ImageEntry, find_image, images_dir, images_for_target, verify_image
from bench.link import messages as m
from bench.link.session import Session
from bench.results.store import Run, now_iso, write_json
from bench.results.summary import summarize_frames
from bench.targets import TargetSpec, load_target, repo_root


class Utterance(Protocol):
    id: str
    noisy: np.ndarray
    clean: np.ndarray | None
    sample_rate: int


CONTEXT_HOP = 160  # 10 ms: WebRTC VAD's own frame; labels exist for it in every generated set


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


def git_revision() -> str:
    try:
        r = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo_root(), capture_output=True,
                           text=True, timeout=5)
        rev = r.stdout.strip() or "unknown"
        d = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_root(),
                           capture_output=True, text=True, timeout=5)
        return rev + ("-dirty" if d.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(target: TargetSpec) -> dict[str, Any]:
    from bench.drivers.qemu import qemu_version

    try:
        tc = toolchain_version()
    except BenchError:
        tc = "not installed"
    return {
        "bench_version": __version__,
        "git_revision": git_revision(),
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "qemu_version": qemu_version() if target.driver == "qemu" else None,
        "toolchain": tc,
    }


def make_run_id(target: str) -> str:
    """<UTC time>-<target>, with -2, -3, ... when runs start within the same second."""
    from bench.results.store import results_root

    base = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{target}"
    rid, k = base, 1
    while (results_root() / rid).exists():
        k += 1
        rid = f"{base}-{k}"
    return rid


def check_hello(hello: m.Hello, entry: ImageEntry) -> None:
    """The image must name itself as the manifest does; list every field that differs."""
    expected = {
        "protocol_version": entry.protocol_version,
        "image_name": entry.name,
        "model_family": entry.model_family,
        "build_id": entry.build_id,
        "target_board": entry.board,
    }
    diffs = [f"{k}: image says {getattr(hello, k)!r}, manifest says {v!r}"
             for k, v in expected.items() if getattr(hello, k) != v]
    if diffs:
        raise HandshakeError(
            f"the running image does not match manifest entry '{entry.name}' ({'; '.join(diffs)}). "
            "The ELF was replaced or the manifest is stale: run `bench images build`."
        )


def hops_for(noisy: np.ndarray, hop: int, frame_len: int) -> np.ndarray:
    """The utterance padded with zeros to whole hops, plus the hops that flush the delay."""
    delay = frame_len - hop
    n = len(noisy) + delay
    n_hops = -(-n // hop)
    x = np.zeros(n_hops * hop, dtype=np.int16)
    x[: len(noisy)] = noisy
    return x.reshape(n_hops, hop)


def frames_table(utt: str, results: Sequence[m.Result], hello: m.Hello, target: TargetSpec) -> pa.Table:
    conv = target.counter.ticks_to_unit
    n = len(results)
    cols: dict[str, Any] = {
        "utt": pa.array([utt] * n, pa.string()),
        "frame": pa.array(np.arange(n, dtype=np.int32)),
        "total_ticks": pa.array(np.array([r.total_ticks for r in results], dtype=np.int64)),
    }
    cols["total"] = pa.array(conv(cols["total_ticks"].to_numpy()))
    for i, s in enumerate(hello.stage_names):
        ticks = np.array([r.stage_ticks[i] for r in results], dtype=np.int64)
        cols[f"stage_{s}"] = pa.array(conv(ticks))
    if any(r.side.exit is not None for r in results):
        cols["exit"] = pa.array([r.side.exit for r in results], pa.int16())
    if any(r.side.macs is not None for r in results):
        cols["macs"] = pa.array([r.side.macs for r in results], pa.int64())
    blocks = sorted({b for r in results for b in r.side.masks})
    for b in blocks:
        cols[f"mask_{b}"] = pa.array([r.side.masks.get(b) for r in results], pa.binary())
    probes = sorted({p for r in results for p in r.side.probes})
    for p in probes:
        cols[f"probe_{p}"] = pa.array([r.side.probes.get(p) for r in results], pa.int32())
    return pa.table(cols)


def write_metrics(run: Run, image: str, cmp: Any, golden_source: str | None = None) -> None:
    """metrics.parquet (per utterance and condition), fidelity.parquet, comparison.json."""
    import pyarrow.parquet as pq

    d = run.image_dir(image)
    pq.write_table(pa.Table.from_pylist(cmp.to_records()), d / "metrics.parquet")
    fid = [{"utt": f.utt, "a": f.a, "b": f.b, **asdict(f.fidelity),
            **({"mask_" + k: v for k, v in asdict(f.mask).items()} if getattr(f, "mask", None) else {})}
           for f in cmp.fidelity]
    pq.write_table(pa.Table.from_pylist(fid), d / "fidelity.parquet")
    fid_summary: dict[str, dict[str, float]] = {}
    for f in cmp.fidelity:
        key = f"{f.a}_vs_{f.b}"
        agg = fid_summary.setdefault(key, {"bit_exact_min": 1.0, "max_abs_lsb": 0.0, "utterances": 0})
        agg["bit_exact_min"] = min(agg["bit_exact_min"], float(f.fidelity.bit_exact))
        agg["max_abs_lsb"] = max(agg["max_abs_lsb"], float(f.fidelity.max_abs_lsb))
        agg["utterances"] += 1
    write_json(d / "comparison.json", {
        "conditions": list(cmp.conditions),
        "metrics": list(cmp.metrics),
        "means": cmp.summary(),
        "deltas": [asdict(x) for x in cmp.deltas],
        "fidelity": fid_summary,
        "golden_source": golden_source,
    })


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

    def images(self) -> list[ImageEntry]:
        if self.options.images:
            return [find_image(n) for n in self.options.images]
        found = images_for_target(self.target)
        if not found:
            raise BenchError(f"no bench image for target {self.target.name} (board {self.target.board}) in "
                             "firmware_images/manifest.json; build them with `bench images build`")
        return found

    # ---- the run -------------------------------------------------------------
    def start(self) -> Run:
        run = Run.create(self.options.run_id or make_run_id(self.target.name))
        images = self.images()
        for e in images:  # refuse a corrupt or foreign image before starting anything
            verify_image(e, self.target)
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
        images = [find_image(n) for n in meta["images"]]
        for e in images:
            if e.sha256 != meta["images"][e.name]["sha256"]:
                raise BenchError(f"cannot resume {run_id}: image '{e.name}' changed since the run started "
                                 f"(sha256 {e.sha256[:12]} != {meta['images'][e.name]['sha256'][:12]}); "
                                 "start a new run")
            verify_image(e, self.target)
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
            self._context(run)
            self._dyncp_views(run, images)
        meta = run.read_meta()
        meta["status"] = "failed" if failed else "done"
        meta["finished"] = now_iso()
        run.write_meta(meta)
        return run

    def _set_image_meta(self, run: Run, image: str, **kw: Any) -> None:
        meta = run.read_meta()
        meta["images"][image].update(kw)
        run.write_meta(meta)

    def _run_image(self, run: Run, entry: ImageEntry) -> bool:
        opts = self.options
        done = run.done_utterances(entry.name)
        workdir = run.image_dir(entry.name)
        workdir.mkdir(parents=True, exist_ok=True)
        driver = make_driver(self.target, workdir)
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
            write_json(workdir / "hello.json", {**asdict(hello), "delay": hello.frame_len - hello.hop_len})
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
                self._score(run, entry, utts)
            frames = run.frames(entry.name)
            summary = summarize_frames(frames, list(hello.stage_names), self.target, hello.hop_len,
                                       hello.sample_rate)
            write_json(workdir / "summary.json", summary)
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

    def _score(self, run: Run, entry: ImageEntry, utts: Sequence[Utterance]) -> None:
        """The three-way comparison: noisy input, host reference(s) and target output."""
        from bench.metrics.compare import compare
        from bench.models.registry import refs_for

        refs = refs_for(entry.model_family, entry.model_dir)
        done = run.done_utterances(entry.name)
        scored = [u for u in utts if u.id in done]
        if refs is None or not scored:
            return
        config = dict(self.options.configure)
        target = {u.id: run.read_audio(entry.name, u.id) for u in scored}
        float_out = {u.id: refs.float_ref(np.asarray(u.noisy), config) for u in scored}
        golden, source = self._integer_reference(entry, refs, scored, config)
        cmp = compare(scored, target, float_out, golden)  # type: ignore[arg-type]
        write_metrics(run, entry.name, cmp, golden_source=source)

    @staticmethod
    def _integer_reference(entry: ImageEntry, refs: Any, utts: Sequence[Utterance],
                           config: dict[str, int]) -> tuple[dict[str, np.ndarray] | None, str | None]:
        """The "golden" condition: TFLM's interpreter on the .tflite the manifest names beside
        the image (a lab's TFLM image), else the family's numpy integer golden model."""
        note = ""
        if entry.tflite and refs.tflm is not None:
            path = (entry.base_dir or images_dir()) / entry.tflite
            try:
                return ({u.id: refs.tflm(np.asarray(u.noisy), config, path) for u in utts},
                        f"TFLM interpreter on {entry.tflite}")
            except ConfigError as e:  # e.g. the run configures an exit the graph does not hold
                note = f" (TFLM reference not used: {e})"
        if refs.golden is None:
            return None, None
        return {u.id: refs.golden(np.asarray(u.noisy), config) for u in utts}, "numpy golden model" + note

    def _dyncp_views(self, run: Run, images: list[ImageEntry]) -> None:
        """dyncp.json and plots of every finished DynCP image (bench.results.dyncp_view); after
        all images, so that a static image later in the run still serves as the reference."""
        from bench.results.dyncp_view import write_view

        status = {n: im["status"] for n, im in run.read_meta()["images"].items()}
        for e in images:
            if e.model_family == "dyncp" and status.get(e.name) == "done" and e.model_dir:
                write_view(run, e, self.utterances(16000), images)

    def _context(self, run: Run) -> None:
        """context.json: WebRTC VAD, WORLD F0 and the classic DSP enhancer on the run's audio."""
        from bench.metrics.context import reference_context
        from bench.models.registry import refs_for

        path = run.path / "context.json"
        if path.is_file() or not self._utterances:
            return
        utts = self.utterances(self._utterances[0].sample_rate)
        dsp = refs_for("dsp-baseline")
        enhancer = None
        if dsp is not None and utts[0].sample_rate == 16000:  # the classic enhancer is a 16 kHz design
            enhancer = ("dsp-baseline (host model)", {u.id: dsp.float_ref(np.asarray(u.noisy), {}) for u in utts})
        write_json(path, reference_context(utts, CONTEXT_HOP, enhancer))

    def _run_utterance(self, run: Run, entry: ImageEntry, session: Session, hello: m.Hello, u: Utterance) -> None:
        session.reset_state()
        if self.options.configure:
            session.configure(dict(self.options.configure))
        hops = hops_for(u.noisy, hello.hop_len, hello.frame_len)
        results: list[m.Result] = []
        for r in session.process_stream(hops):
            results.append(r)
            self.progress.advance(1)
        out = np.concatenate([r.pcm for r in results])
        delay = hello.frame_len - hello.hop_len
        aligned = out[delay: delay + len(u.noisy)]
        run.write_audio(entry.name, u.id, aligned, hello.sample_rate)
        run.write_frames(entry.name, u.id, frames_table(u.id, results, hello, self.target))
