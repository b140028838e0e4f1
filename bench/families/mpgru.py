"""The ``mpgru`` family: mixed-precision GRU classifiers (issue #15, docs/mpgru.md).

An image holds one task's GRU (tables in flash for one genome, plus a RAM table any genome can be
loaded into over CONFIGURE). Its frames are the task's int8 input vectors (as int16 samples), its
output the first state values, its side information the int16 logits (PROBE TLVs, id = class).

* references: the host golden model of the image's genome (bit-exact) and the float model;
* ``search``: `bench search mpgru --task T --objectives size,error[,instructions]` (NSGA-II over the
  genomes; instructions per GRU step measured on QEMU through the loader, cached per genome);
* the view: task accuracy from the target's logits, bit-exactness against the golden model, and
  instructions / cycles_est per GRU step.

A model folder is models/mpgru/<model>/ (genome: 8-bit weights, 16-bit activations, 32-bit biases);
a genome folder models/mpgru/<model>/genomes/<label>/genome.json names its model and its genome
(the model_dir of a rebuilt Pareto image)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.errors import BenchError, ConfigError, ImageError, TargetError
from bench.families.base import ConfigKey, Family, References, TableSpec
from bench.paths import repo_root

if TYPE_CHECKING:
    from bench.images import ImageEntry
    from bench.models.mpgru.model import QModel

FAMILY = "mpgru"
LOAD_KEYS = 200  # t0 .. t199 per CONFIGURE
DEFAULT_TARGET = "qemu-mps2-an386-sh"


# --------------------------------------------------------------------------------------------
# models and genomes behind an image
# --------------------------------------------------------------------------------------------

def _resolve(model_dir: str | None) -> tuple[Path, tuple[int, ...] | None]:
    """(model folder, genome or None for the default) of an image's model_dir."""
    d = Path(model_dir or "models/mpgru/digits-h32")
    d = d if d.is_absolute() else repo_root() / d
    gj = d / "genome.json"
    if gj.is_file():
        doc = json.loads(gj.read_text())
        m = Path(doc["model"])
        return (m if m.is_absolute() else repo_root() / m), tuple(int(v) for v in doc["genome"])
    return d, None


@lru_cache(maxsize=16)
def qmodel_for(model_dir: str | None) -> QModel:
    from bench.models.common import gru_int as gi
    from bench.models.mpgru.model import load_model, quantize_model

    d, genes = _resolve(model_dir)
    m = load_model(d)
    g = gi.GruGenome.from_genome(genes) if genes else gi.GruGenome.homogeneous(8, 16, 32)
    return quantize_model(m, g)


def gru_shape(model_dir: str | None) -> tuple[int, int]:
    """(input size, hidden size) of an image's GRU: the mpgru model's, or, for the nsnet2 task's meter
    image (model_dir = the nsNet2 model), its GRU layers' (bench.models.mpgru.nsnet2meter)."""
    d, _ = _resolve(model_dir)
    if (d / "int8.npz").is_file() and not Mpgru().owns_model(d):
        from bench.models.mpgru.nsnet2task import GRU_LAYERS
        from bench.models.nsnet2.quantize import QuantModel

        L = QuantModel.load(d / "int8.npz").layers[GRU_LAYERS[0]]
        return L.n_in, L.n_out
    cfg = qmodel_for(model_dir).cfg
    return cfg.input_size, cfg.hidden


def frames_of(stream: np.ndarray, input_size: int) -> np.ndarray:
    """An int16 feature stream -> (T, I) int8 inputs (the image clamps the same way)."""
    x = np.asarray(stream, np.int64)
    n = -(-x.size // input_size) * input_size
    pad = np.zeros(n, np.int64)
    pad[: x.size] = x
    return np.clip(pad, -128, 127).astype(np.int8).reshape(-1, input_size)


def golden_stream(qm: QModel, stream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(output samples aligned with the input, logits (T, C)) of the golden model on a stream."""
    x = frames_of(stream, qm.cfg.input_size)
    hs, logits = qm.run(x)
    out = np.zeros((len(x), qm.cfg.input_size), np.int16)
    k = min(qm.cfg.input_size, qm.cfg.hidden)
    out[:, :k] = hs[:, :k]
    return out.reshape(-1)[: len(stream)], logits


class Mpgru(Family):
    name = FAMILY
    description = "mixed-precision GRU classifiers (sub-byte weights, per-operator widths; bench search)"
    models_subdir = "mpgru"
    default_model = "models/mpgru/digits-h32"
    speech_enhancer = False  # task classifiers: run by name (bench run --image ...) on their own task data

    # ---- references and options ------------------------------------------------------
    def _refuse_foreign(self, model_dir: str | None) -> None:
        if not self.owns_model(_resolve(model_dir)[0]):
            raise ConfigError(f"{model_dir} is not an mpgru model: its image ({FAMILY} family) is the nsnet2 task's "
                              "instructions meter (GRU layers loaded per genome), run by `bench search mpgru --task "
                              "nsnet2 --objectives size,error,instructions`, not by `bench run`")

    def check_config(self, config: Sequence[tuple[str, int]], model_dir: str | None) -> None:
        self._refuse_foreign(model_dir)  # before the run starts, not after an utterance was measured
        super().check_config(config, model_dir)

    def references(self, model_dir: str | None) -> References:
        self._refuse_foreign(model_dir)

        def golden(noisy: np.ndarray, config: Mapping[str, int]) -> np.ndarray:
            return golden_stream(qmodel_for(model_dir), noisy)[0]

        def float_ref(noisy: np.ndarray, config: Mapping[str, int]) -> np.ndarray:
            from bench.models.common import gru_int as gi
            from bench.models.common import int8ops as q8

            qm = qmodel_for(model_dir)
            from bench.models.mpgru.model import load_model

            m = load_model(_resolve(model_dir)[0])
            x = q8.dequantize(frames_of(noisy, qm.cfg.input_size), qm.x_scale, qm.x_zero_point)
            p = m.params
            hs = gi.gru_sequence_float(x, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
            out = np.zeros((len(x), qm.cfg.input_size))
            k = min(qm.cfg.input_size, qm.cfg.hidden)
            out[:, :k] = hs[:, :k]
            return np.clip(np.round(out * 32768), -32768, 32767).astype(np.int16).reshape(-1)[: len(noisy)]

        return References(self.name, float_ref, golden=golden,
                          note="golden: gru_int at the image's genome (bit-exact); float: the float GRU on the "
                               "dequantised inputs; samples = the first state values per frame")

    def config_keys(self, model_dir: str | None) -> Sequence[ConfigKey]:
        from bench.models.mpgru.export import ram_words

        words = ram_words(*gru_shape(model_dir))
        keys = [ConfigKey("tsel", 0, words, "0: GRU tables in flash; N: bind the first N words of the RAM table"),
                ConfigKey("tbase", 0, words - 1, "word offset of the following t<k> writes")]
        keys += [ConfigKey(f"t{k}", -(1 << 31), (1 << 31) - 1, "RAM table word tbase + k") for k in range(LOAD_KEYS)]
        return keys

    # ---- model steps ------------------------------------------------------------------
    def owns_model(self, model_dir: Path) -> bool:
        p = Path(model_dir) / "config.json"
        if not p.is_file():
            return False
        try:
            return json.loads(p.read_text()).get("family") == FAMILY
        except (OSError, ValueError):
            return False

    def train(self, argv: Sequence[str]) -> int:
        from bench.train.mpgru import main

        return int(main(list(argv)) or 0)

    def search(self, argv: Sequence[str]) -> int:
        return search_main(list(argv))

    # ---- view ---------------------------------------------------------------------------
    def write_views(self, run: Any, images: Sequence[ImageEntry], utterances: Sequence[Any]) -> None:
        status = {n: im["status"] for n, im in run.read_meta()["images"].items()}
        for e in images:
            if e.model_family == FAMILY and status.get(e.name) == "done":
                try:
                    run.write_view(e.name, FAMILY, build_view(run, e, utterances))
                except (BenchError, OSError, KeyError, ValueError) as exc:
                    run.write_view(e.name, FAMILY, {"error": f"{type(exc).__name__}: {exc}"})

    def view_tables(self, image: str, view: Mapping[str, Any], unit: str) -> list[TableSpec]:
        if "error" in view:
            return [TableSpec(f"{image}: mixed-precision GRU", ("figure", "value"), (("view", view["error"]),))]
        rows = [("genome", view["genome"]), ("model bits / GRU table bytes", f"{view['model_bits']} / "
                                                                         f"{view['table_bytes']}"),
                (f"{unit} per GRU step (mean)", f"{view['gru_per_step']:.1f}"),
                ("task error, target logits", f"{view['error_target']:.4f}"),
                ("task error, golden model", f"{view['error_golden']:.4f}"),
                ("logits bit-exact with golden", f"{view['logits_bit_exact']}"),
                ("state samples bit-exact with golden", f"{view['state_bit_exact']}")]
        if view.get("cycles_est_per_step") is not None:
            rows.append(("cycles_est per GRU step (mean, estimate)", f"{view['cycles_est_per_step']:.1f}"))
        return [TableSpec(f"{image}: mixed-precision GRU ({view['model']}, task {view['task']}, "
                          f"{view['utterances']} sequences)", ("figure", "value"), tuple(rows))]


def build_view(run: Any, e: ImageEntry, utterances: Sequence[Any]) -> dict[str, Any]:
    """Accuracy from the target's logits, bit-exactness against the golden model, per-step counts."""
    from bench.models.mpgru.tasks import task_spec

    qm = qmodel_for(e.model_dir)
    spec = task_spec(qm.cfg.task)
    tbl = run.frames(e.name)
    cols = tbl.column_names
    utt_col = tbl.column("utt").to_pylist()
    probe_cols = [f"probe_{c}" for c in range(qm.cfg.n_classes)]
    if any(c not in cols for c in probe_cols):
        raise ConfigError(f"{e.name}: no logits (probe columns) in the frames; the run did not record the image's "
                          "probe output: run the image again (`bench run`) to record them")
    logits = np.stack([np.asarray(tbl.column(c).to_pylist(), np.int64) for c in probe_cols], axis=1)
    gru = np.asarray(tbl.column("stage_gru").to_pylist(), np.float64)
    cyc = np.asarray(tbl.column("cycles_est_gru").to_pylist(), np.float64) if "cycles_est_gru" in cols else None
    wrong = total = 0
    wrong_g = 0
    exact_logits = exact_state = True
    n_utt = 0
    for u in utterances:
        rows = [i for i, x in enumerate(utt_col) if x == u.id]
        if not rows:
            continue
        n_utt += 1
        lg_t = logits[rows]
        out_g, lg_g = golden_stream(qm, np.asarray(u.noisy))
        exact_logits &= bool(np.array_equal(lg_t, lg_g[: len(rows)]))
        try:
            exact_state &= bool(np.array_equal(run.read_audio(e.name, u.id), out_g))
        except (OSError, ValueError):
            exact_state = False
        lab = u.meta.get("label", "")
        if spec.level == "frame":
            y = np.array([int(c) for c in lab])
            n = min(len(y), len(rows))
            wrong += int(np.sum(np.argmax(lg_t[:n], 1) != y[:n]))
            wrong_g += int(np.sum(np.argmax(lg_g[:n], 1) != y[:n]))
            total += n
        else:
            cls = int(lab)
            wrong += int(np.argmax(lg_t[-1]) != cls)
            wrong_g += int(np.argmax(lg_g[len(rows) - 1]) != cls)
            total += 1
    return {"model": qm.cfg.name, "task": qm.cfg.task, "genome": qm.genome.label(), "utterances": n_utt,
            "model_bits": qm.model_bits(), "table_bytes": qm.table_bytes(), "flash_bytes": e.flash_bytes,
            "gru_per_step": float(gru.mean()) if gru.size else 0.0,
            "cycles_est_per_step": float(cyc.mean()) if cyc is not None and cyc.size else None,
            "error_target": wrong / max(total, 1), "error_golden": wrong_g / max(total, 1),
            "logits_bit_exact": exact_logits, "state_bit_exact": exact_state}


# --------------------------------------------------------------------------------------------
# on target: a genome's instructions per GRU step through the image's RAM table
# --------------------------------------------------------------------------------------------

class TargetMeter:
    """One QEMU (or board) session on a task's image; ``measure(qm, xq)`` loads qm's tables over
    CONFIGURE, runs the frames ``xq`` (T, I) and returns per-frame counts and the logits."""

    def __init__(self, image: str, target: str = DEFAULT_TARGET, workdir: Path | None = None,
                 images_dir: Path | None = None):
        import tempfile

        from bench.images import find_image, verify_image
        from bench.link.session import Session
        from bench.targets import load_target
        from bench.targets.drivers import make_driver

        self.entry = find_image(image, images_dir)
        self.target = load_target(target)
        verify_image(self.entry, self.target)
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="mpgru-meter-")
        wd = Path(workdir) if workdir else Path(self._tmp.name)  # type: ignore[union-attr]
        wd.mkdir(parents=True, exist_ok=True)
        self.driver = make_driver(self.target, wd)
        try:
            self.driver.start(self.entry.path)
            self.session = Session(self.driver.open_link(), window=4, timeout=5.0)
            self.hello = self.session.hello()
            if self.hello.model_family != FAMILY:
                raise TargetError(f"{image} is a {self.hello.model_family} image, not {FAMILY}: pass --image an "
                                  f"{FAMILY} image of the task (mpgru-<task>-an386; `bench images list`)")
        except BaseException:
            self.close()  # no emulator left behind by a meter that did not come up
            raise
        self.matcher = None
        if getattr(self.driver, "estimates_cycles", False):
            from bench.cyclest.frames import FrameMatcher

            self.matcher = FrameMatcher()

    def load(self, blob: np.ndarray | None) -> None:
        if blob is None:
            self.session.configure({"tsel": 0})
            return
        words = np.asarray(blob, np.uint32).astype(np.int64)
        words = np.where(words >= 1 << 31, words - (1 << 32), words)
        for base in range(0, len(words), LOAD_KEYS):
            self.session.configure({"tbase": base})
            chunk = words[base: base + LOAD_KEYS]
            self.session.configure({f"t{k}": int(v) for k, v in enumerate(chunk)})
        self.session.configure({"tsel": len(words)})

    def measure(self, blob: np.ndarray | None, xq: np.ndarray) -> dict[str, Any]:
        self.load(blob)
        self.session.reset_state()
        hops = np.asarray(xq, np.int16).reshape(-1, self.hello.hop_len)
        res = list(self.session.process_stream(hops))
        conv = self.target.counter.ticks_to_unit
        stages = np.array([[conv(t) for t in r.stage_ticks] for r in res], np.int64)
        total = np.array([conv(r.total_ticks) for r in res], np.int64)
        out: dict[str, Any] = {"gru": stages[:, 0], "head": stages[:, 1], "total": total,
                               "logits": np.array([[r.side.probes.get(c, 0) for c in range(len(r.side.probes))]
                                                   for r in res]),
                               "pcm": np.concatenate([r.pcm for r in res])}
        from bench.targets.protocols import CycleEstimator

        if self.matcher is not None and isinstance(self.driver, CycleEstimator):
            regions = self.driver.cycle_regions()
            got = None if regions is None else self.matcher.match(regions, stages, total)
            if got is not None:
                out["cycles_est_gru"] = got[0][:, 0]
        return out

    def close(self) -> None:
        try:
            self.driver.stop()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()


# --------------------------------------------------------------------------------------------
# bench search mpgru
# --------------------------------------------------------------------------------------------

def search_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench search mpgru", description="NSGA-II over the GRU genomes of a task")
    p.add_argument("--task", required=True, help="digits, vad, noise, kws or nsnet2 (its GRU layers)")
    p.add_argument("--model", help="model folder or name (default models/mpgru/<task>-h32)")
    p.add_argument("--objectives", default="size,error", help="two or three of size,error,instructions")
    p.add_argument("--pop", type=int, default=24, help="population size (default 24)")
    p.add_argument("--gens", type=int, default=10, help="generations (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image", help="image measuring instructions (default mpgru-<task>-an386)")
    p.add_argument("--target", default=DEFAULT_TARGET, help=f"target of the image (default {DEFAULT_TARGET})")
    p.add_argument("--out", help="output folder (default results/mpgru-search/<task>-<objectives>-s<seed>)")
    p.add_argument("--fresh", action="store_true", help="ignore the checkpoint (the caches stay)")
    p.add_argument("--tolerance", type=float, help="error tolerance vs homogeneous 8-bit for the size reduction "
                   "(default 0.01 task error; nsnet2: 0.02 PESQ-WB)")
    p.add_argument("--json", action="store_true", help="the result as JSON on stdout")
    p.add_argument("--no-progress", action="store_true")
    g = p.add_argument_group("steps around a search (each runs instead of the search)")
    g.add_argument("--write-set", metavar="DIR", help="write the report half of the task's test split as a test "
                   "set for `bench run --set DIR` (int8 features as int16 samples, labels.csv)")
    g.add_argument("--limit", type=int, help="with --write-set: first N sequences")
    g.add_argument("--export-genome", metavar="GENES", help="comma-separated genome: write its genome folder "
                   "(models/mpgru/<model>/genomes/<tag>/) and C tables (firmware/models/mpgru/gen/<tag>/)")
    g.add_argument("--tag", help="with --export-genome: the tag (default <model>-<genome label>)")
    g.add_argument("--build-images", metavar="NAMES", help="comma-separated images of firmware/images.toml: build "
                   "them and merge them into firmware_images/manifest.json (other entries unchanged)")
    p.add_argument("--images-dir", metavar="DIR", help="images folder with its manifest.json for --build-images and "
                   "the instructions meter (default firmware_images/; e.g. images built from uncommitted kernels)")
    return p


def write_feature_set(task: str, model: str, out: Path, limit: int | None = None) -> int:
    """The report half of ``task``'s test split as a bench test set: noisy/<id>.wav holds the int8
    inputs (as int16 samples at 16 kHz, one frame of I samples per step), labels.csv its label (an
    int, or one 0/1 character per frame for frame-level tasks)."""
    import csv

    from bench.data.audio import write_wav
    from bench.models.mpgru.tasks import halves, load_split

    qm = qmodel_for(str(_model_path(model)))
    _, rep = halves(load_split(task, "test"))
    rep = rep.head(limit)
    (out / "noisy").mkdir(parents=True, exist_ok=True)
    with open(out / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["utt", "label"])
        for uid, x, y in zip(rep.ids, rep.xs, rep.ys, strict=True):
            write_wav(out / "noisy" / f"{uid}.wav", qm.quantize_input(x).astype(np.int16).reshape(-1), 16000)
            w.writerow([uid, "".join(str(int(v)) for v in np.asarray(y)) if qm.cfg.level == "frame" else int(y)])
    return len(rep)


def _model_path(model: str) -> Path:
    from bench.models.mpgru.model import model_dir

    return model_dir(model)


def nsnet2_meter(image: str, target: str, images_dir: Path | None) -> TargetMeter:
    """The nsnet2 task's meter: a TargetMeter on the 128 x 128 mpgru image, refused with what to do
    when the images folder lacks it (it is built like any mpgru image, --build-images)."""
    try:
        return TargetMeter(image, target, images_dir=images_dir)
    except ImageError as exc:
        raise ConfigError(f"the nsnet2 task's instructions objective needs the image {image} (nsNet2's 128 x 128 "
                          f"GRUs, tables loaded per genome): {exc}. Build it with `bench search mpgru --task nsnet2 "
                          f"--build-images {image} --images-dir DIR` and pass --images-dir DIR, or search "
                          "--objectives size,error") from exc


def search_main(argv: list[str]) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bench.models.mpgru import report
    from bench.models.mpgru.evaluate import Evaluator
    from bench.models.mpgru.search import SearchOptions, run_search

    ns = search_parser().parse_args(argv)
    model = ns.model or f"{ns.task}-h32"
    if ns.write_set:
        n = write_feature_set(ns.task, model, Path(ns.write_set), ns.limit)
        print(f"wrote {n} sequences to {ns.write_set}")
        return 0
    if ns.export_genome:
        from bench.models.common import gru_int as gi
        from bench.models.mpgru.export import write_tables

        g = gi.GruGenome.from_genome([int(v) for v in ns.export_genome.split(",")])
        tag = ns.tag or f"{model}-{g.label()}"
        d = write_genome_folder(model, g.genome(), tag)
        files = write_tables(qmodel_for(str(d)), tag)
        print(f"genome folder {d}; tables {', '.join(str(f) for f in files)}")
        return 0
    if ns.build_images:
        idir = Path(ns.images_dir) if ns.images_dir else None
        for b in build_and_merge([n.strip() for n in ns.build_images.split(",") if n.strip()], idir):
            e = b.entry
            print(f"{e.name}: flash {e.flash_bytes} B, ram {e.ram_bytes} B, sha256 {e.sha256[:12]}")
        return 0
    opts = SearchOptions(tuple(o.strip() for o in ns.objectives.split(",") if o.strip()), ns.pop, ns.gens, ns.seed)
    tag = f"{ns.task}-{'-'.join(opts.objectives)}-p{opts.pop}-g{opts.gens}-s{opts.seed}"
    out = Path(ns.out) if ns.out else repo_root() / "results" / "mpgru-search" / tag
    out.mkdir(parents=True, exist_ok=True)
    meter = None
    ev: Any
    if ns.task == "nsnet2":
        from bench.models.mpgru.nsnet2meter import METER_IMAGE
        from bench.models.mpgru.nsnet2task import MODEL, Nsnet2Evaluator

        if "instructions" in opts.objectives:
            meter = nsnet2_meter(ns.image or METER_IMAGE, ns.target, Path(ns.images_dir) if ns.images_dir else None)
        ev = Nsnet2Evaluator(out / "cache.json", ns.model or MODEL, meter=meter,
                             instr_cache=repo_root() / "results" / "mpgru-search" / "instructions-cache.json")
    else:
        from bench.models.mpgru.model import load_model

        model_task = load_model(model).cfg.task  # before the meter starts a target and the evaluator reads
        if model_task != ns.task:                # the split
            raise ConfigError(f"model {model} is for task {model_task}, not {ns.task}: pass --model with a model "
                              f"trained for {ns.task} (default {ns.task}-h32) or --task {model_task}")
        if "instructions" in opts.objectives:
            meter = TargetMeter(ns.image or f"mpgru-{ns.task}-an386", ns.target,
                                images_dir=Path(ns.images_dir) if ns.images_dir else None)
        ev = Evaluator(model, ns.task, out / "cache.json", meter=meter,
                       instr_cache=repo_root() / "results" / "mpgru-search" / "instructions-cache.json")
    ckpt = out / "checkpoint.json"
    if ns.fresh:
        ckpt.unlink(missing_ok=True)
    console = Console(stderr=True)
    t0 = time.time()
    try:
        if ns.no_progress or ns.json:
            res = run_search(opts, ev, ckpt)
        else:
            with Progress(TextColumn("[bold]search {task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("evals {task.fields[evals]}"), TimeElapsedColumn(), console=console) as pr:
                task = pr.add_task(tag, total=opts.gens, evals=0)

                def progress(evals: int, gens: int) -> None:
                    pr.update(task, advance=gens, evals=pr.tasks[0].fields["evals"] + evals)

                res = run_search(opts, ev, ckpt, progress)
        res["baselines"] = ev.baselines()  # measured on target too: before the meter closes
    finally:
        if meter is not None:
            meter.close()
    res["task"], res["model"], res["seconds"] = ns.task, ev.model_name, round(time.time() - t0, 1)
    res["report_error"] = {"split": "report half of the test split (voices the search never saw; digits: the "
                                    "other random half)"}
    for f in res["front"]:
        f["report_error"] = ev.report_error(f["genome"])
    res["evaluations"] = len(ev.cache.data)
    res["evaluated"] = [{"genome": [int(v) for v in k.split("-")], **v} for k, v in sorted(ev.cache.data.items())]
    tol = ns.tolerance if ns.tolerance is not None else (0.02 if ns.task == "nsnet2" else 0.01)
    chosen = report.summary(res, tol).get("genome")
    if chosen is not None:  # its report-half error, when it is not on the front
        res["chosen_report_error"] = {",".join(map(str, chosen)): ev.report_error(chosen)}
    res["summary"] = report.summary(res, tol)
    (out / "front.json").write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    md = report.write_report(res, out)
    if ns.json:
        import sys

        sys.stdout.write(json.dumps(res, indent=1, sort_keys=True) + "\n")
    else:
        console.print(md)
        console.print(f"written: {out}")
    return 0


# --------------------------------------------------------------------------------------------
# images: build this family's images and merge them into the manifest
# --------------------------------------------------------------------------------------------

def build_and_merge(names: Sequence[str], out_dir: Path | None = None) -> list[Any]:
    """Builds only the named images (firmware/images.toml) into ``out_dir`` (default firmware_images/)
    and writes its manifest with every other entry unchanged (byte for byte) and these added or
    replaced (a folder without a manifest gets one with these images only)."""
    from bench.imagebuild import BuiltImage, build_all, write_manifest
    from bench.images import load_manifest

    built = build_all(out_dir, only=list(names))
    if len(built) != len(set(names)):
        raise ConfigError(f"firmware/images.toml has {len(built)} of the images {', '.join(names)}; name images "
                          "it lists (`bench images list` shows them)")
    new = {b.entry.name: b for b in built}
    old = load_manifest(out_dir) if out_dir is None or (out_dir / "manifest.json").is_file() else []
    merged = [new.pop(e.name) if e.name in new else BuiltImage(e, []) for e in old]
    merged += list(new.values())
    write_manifest(merged, out_dir)
    return built


def write_genome_folder(model: str, genome: Sequence[int], label: str | None = None) -> Path:
    """models/mpgru/<model>/genomes/<label>/genome.json: the model_dir of a rebuilt Pareto image."""
    from bench.models.common import gru_int as gi
    from bench.models.mpgru.model import model_dir

    g = gi.GruGenome.from_genome(list(genome))
    md = model_dir(model)
    d = md / "genomes" / (label or g.label())
    d.mkdir(parents=True, exist_ok=True)
    rel = md.resolve().relative_to(repo_root().resolve())
    (d / "genome.json").write_text(json.dumps({"model": str(rel), "genome": list(g.genome())}, indent=1) + "\n")
    return d
