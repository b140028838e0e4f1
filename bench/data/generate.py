"""Synthetic test/train set generator: espeak-ng speech + named synthetic noises.

``make_set(out_dir, seed, n_utts, split)`` writes::

    <out>/clean/<utt>.wav            PCM16 mono, clean speech (silence before and after)
    <out>/noisy/<utt>.wav            PCM16 mono, clean + noise at the labelled SNR
    <out>/labels.csv                 one row per utterance (see LABEL_COLUMNS)
    <out>/frames_hop<H>.parquet      per-frame labels: utt, frame, vad, f0_hz, voiced
    <out>/README.md                  how the set was made (command, espeak-ng version)

The output is a function of (seed, split, n_utts, options) and the espeak-ng version
only: every random draw comes from numpy Generators seeded from ``SeedSequence([seed,
split key])``, files carry no timestamps, and espeak-ng is deterministic. Utterance
``i`` uses its own child seed, so its audio does not depend on the other utterances.

SNR is the ratio of the clean speech's *active* power (mean power over the VAD frames of
bench.data.labels) to the noise's mean power over the whole utterance.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data.audio import to_int16, write_wav
from bench.data.labels import FrameLabels, active_power, frame_labels
from bench.data.noises import NOISE_CLASSES, SIMPLE_NOISES, babble
from bench.data.sentences import sentences_for
from bench.data.setio import prepare_out, write_csv, write_frames
from bench.data.tts import PITCH_RANGE, RATE_RANGE, VOICES, Voice, espeak_version, synthesize
from bench.errors import BenchError, DataError

GENERATOR_VERSION = 1
SPLITS = ("test", "train")
_SPLIT_KEYS = {"test": 0x7E57, "train": 0x7EA1}
DEFAULT_HOPS = (160, 256)
DEFAULT_SNR_RANGE = (-5.0, 20.0)
DEFAULT_DURATION_RANGE = (2.0, 4.0)
DEFAULT_LEVEL_RANGE = (-32.0, -22.0)
LEAD_TRAIL_S = (0.2, 0.8)  # silence before and after the speech (shortened to fit the duration)
PEAK_LIMIT = 10 ** (-1 / 20)  # -1 dBFS: both files are scaled down together above this
LABEL_COLUMNS = (
    "utt",
    "split",
    "noise_class",
    "snr_db",
    "voice",
    "pitch",
    "rate",
    "sentence_id",
    "text",
    "duration_s",
    "n_samples",
    "sample_rate",
    "speech_start_s",
    "speech_end_s",
    "speech_level_dbfs",
)


@dataclass(frozen=True)
class UtteranceRecord:
    """One row of labels.csv."""

    utt: str
    split: str
    noise_class: str
    snr_db: float
    voice: str
    pitch: int
    rate: int
    sentence_id: str
    text: str
    duration_s: float
    n_samples: int
    sample_rate: int
    speech_start_s: float
    speech_end_s: float
    speech_level_dbfs: float

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.n_samples <= 0 or self.sample_rate <= 0:
            raise ValueError("n_samples and sample_rate must be positive")

    def csv_row(self) -> list[str]:
        return [
            self.utt,
            self.split,
            self.noise_class,
            f"{self.snr_db:.1f}",
            self.voice,
            str(self.pitch),
            str(self.rate),
            self.sentence_id,
            self.text,
            f"{self.duration_s:.3f}",
            str(self.n_samples),
            str(self.sample_rate),
            f"{self.speech_start_s:.3f}",
            f"{self.speech_end_s:.3f}",
            f"{self.speech_level_dbfs:.2f}",
        ]


@dataclass(frozen=True)
class _Plan:
    utt: str
    index: int
    noise_class: str
    snr_db: float
    sentence_id: str
    text: str
    voice: Voice
    level_dbfs: float


@dataclass(frozen=True)
class SetOptions:
    """Validated options of make_set (everything but the output directory)."""

    seed: int
    n_utts: int
    split: str = "test"
    sample_rate: int = 16000
    classes: tuple[str, ...] = NOISE_CLASSES
    snr_range: tuple[float, float] = DEFAULT_SNR_RANGE
    duration_range: tuple[float, float] = DEFAULT_DURATION_RANGE
    hops: tuple[int, ...] = DEFAULT_HOPS

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise DataError(f"seed must be a non-negative integer, got {self.seed}")
        if self.n_utts <= 0:
            raise DataError(f"n_utts must be positive, got {self.n_utts}")
        if self.split not in SPLITS:
            raise DataError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.sample_rate < 8000:
            raise DataError(f"sample_rate must be at least 8000 Hz, got {self.sample_rate}")
        unknown = [c for c in self.classes if c not in NOISE_CLASSES]
        if not self.classes or unknown:
            raise DataError(f"noise classes must be a non-empty subset of {NOISE_CLASSES}, got {unknown}")
        lo, hi = self.snr_range
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise DataError(f"snr_range must be (low, high) with low <= high, got {self.snr_range}")
        dlo, dhi = self.duration_range
        if not 1.0 <= dlo <= dhi <= 30.0:
            raise DataError(f"duration_range must satisfy 1 <= low <= high <= 30 s, got {self.duration_range}")
        if not self.hops or any(h <= 0 for h in self.hops):
            raise DataError(f"hops must be positive sample counts, got {self.hops}")
        if self.block > dlo * self.sample_rate:
            raise DataError(f"hops {self.hops} tile blocks of {self.block} samples, longer than the minimum duration")

    @property
    def block(self) -> int:
        """Utterance lengths are multiples of this (the least common multiple of the hops)."""
        return math.lcm(*self.hops)


def _plan(opts: SetOptions, rng: np.random.Generator) -> list[_Plan]:
    sentences = sentences_for(opts.split)
    n = opts.n_utts
    classes = [opts.classes[i % len(opts.classes)] for i in range(n)]
    # SNR: per class, one draw in each of m equal strata of snr_range, in random order
    lo, hi = opts.snr_range
    snrs = [0.0] * n
    for c in opts.classes:
        idx = [i for i in range(n) if classes[i] == c]
        strata = rng.permutation(len(idx))
        for i, s in zip(idx, strata, strict=True):
            u = rng.uniform()
            snrs[i] = round(lo + (hi - lo) * (int(s) + u) / len(idx), 1)
    sent_order = np.concatenate([rng.permutation(len(sentences)) for _ in range(-(-n // len(sentences)))])
    voice_order = np.concatenate([rng.permutation(len(VOICES)) for _ in range(-(-n // len(VOICES)))])
    plans = []
    for i in range(n):
        sid, text = sentences[int(sent_order[i])]
        voice = Voice(
            VOICES[int(voice_order[i])],
            int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
            int(rng.integers(RATE_RANGE[0], RATE_RANGE[1] + 1)),
        )
        level = round(float(rng.uniform(*DEFAULT_LEVEL_RANGE)), 1)
        plans.append(_Plan(f"{opts.split}_{i:04d}", i, classes[i], snrs[i], sid, text, voice, level))
    return plans


def _speech(plan: _Plan, opts: SetOptions) -> tuple[np.ndarray, Voice]:
    """Synthesize the sentence; speed the voice up if it is too long for the duration range."""
    sr = opts.sample_rate
    max_speech = int((opts.duration_range[1] - 0.2) * sr)
    voice = plan.voice
    for _ in range(6):
        speech = synthesize(plan.text, voice, sr)
        if speech.size == 0:
            raise DataError(f"espeak-ng produced no audio for sentence {plan.sentence_id}; check the install")
        if speech.size <= max_speech:
            return speech, voice
        voice = Voice(voice.name, voice.pitch, min(450, int(voice.rate * 1.15) + 1))
    raise DataError(
        f"sentence {plan.sentence_id} ({plan.text!r}) does not fit in {opts.duration_range[1]} s "
        "even spoken fast; use a shorter sentence or a longer duration_range"
    )


def mix_at(clean: np.ndarray, noise: np.ndarray, level_dbfs: float, snr_db: float,
           sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Speech at an active level (dBFS) plus noise at an SNR below it, both scaled down together
    when a peak would pass PEAK_LIMIT; the (clean, noisy) pair as int16. Scales its inputs in place."""
    clean *= math.sqrt(10 ** (level_dbfs / 10) / active_power(clean, sr))
    noise *= math.sqrt(10 ** (level_dbfs / 10) / 10 ** (snr_db / 10))
    noisy = clean + noise
    peak = max(float(np.max(np.abs(noisy))), float(np.max(np.abs(clean))))
    if peak > PEAK_LIMIT:
        clean *= PEAK_LIMIT / peak
        noisy *= PEAK_LIMIT / peak
    return to_int16(clean), to_int16(noisy)


def _render(
    plan: _Plan, opts: SetOptions, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, UtteranceRecord, dict[int, FrameLabels]]:
    sr = opts.sample_rate
    speech, voice = _speech(plan, opts)
    lead, trail = rng.uniform(LEAD_TRAIL_S[0], LEAD_TRAIL_S[1], size=2)
    block = opts.block
    lo_n = -(-int(round(opts.duration_range[0] * sr)) // block) * block
    hi_n = int(opts.duration_range[1] * sr) // block * block
    want = speech.size + int((lead + trail) * sr)
    n_total = min(max(-(-want // block) * block, lo_n), hi_n)
    slack = n_total - speech.size
    start = int(round(slack * lead / (lead + trail)))
    clean = np.zeros(n_total)
    clean[start : start + speech.size] = speech

    if plan.noise_class == "babble":
        noise = babble(rng, n_total, sr, sentences_for(opts.split), exclude=(plan.sentence_id,))
    else:
        noise = SIMPLE_NOISES[plan.noise_class](rng, n_total, sr)

    clean16, noisy16 = mix_at(clean, noise, plan.level_dbfs, plan.snr_db, sr)
    level = 10 * math.log10(active_power(clean16, sr))
    record = UtteranceRecord(
        utt=plan.utt,
        split=opts.split,
        noise_class=plan.noise_class,
        snr_db=plan.snr_db,
        voice=voice.name,
        pitch=voice.pitch,
        rate=voice.rate,
        sentence_id=plan.sentence_id,
        text=plan.text,
        duration_s=n_total / sr,
        n_samples=n_total,
        sample_rate=sr,
        speech_start_s=start / sr,
        speech_end_s=(start + speech.size) / sr,
        speech_level_dbfs=level,
    )
    return clean16, noisy16, record, frame_labels(clean16, sr, opts.hops)


def canonical_command(opts: SetOptions, out: str) -> str:
    """The `bench data make` command line that reproduces a set made with ``opts``."""
    args = ["--seed", str(opts.seed), "--out", out, "--split", opts.split, "--n", str(opts.n_utts)]
    if opts.sample_rate != 16000:
        args += ["--sample-rate", str(opts.sample_rate)]
    return "bench data make " + shlex.join(args)


def _readme(opts: SetOptions, records: Sequence[UtteranceRecord], command: str | None) -> str:
    by_class: dict[str, list[float]] = {}
    for r in records:
        by_class.setdefault(r.noise_class, []).append(r.snr_db)
    total_s = sum(r.duration_s for r in records)
    lines = [
        f"# Generated {opts.split} set",
        "",
        "Made by the bench's synthetic set generator (bench/data/generate.py); do not edit",
        "by hand, regenerate instead. The same command gives byte-identical files with the",
        "same espeak-ng version.",
        "",
        "```",
        command or f"bench.data.generate.make_set(seed={opts.seed}, n_utts={opts.n_utts}, split={opts.split!r})",
        "```",
        "",
        f"* generator version: {GENERATOR_VERSION}",
        f"* speech: {espeak_version()}",
        f"* utterances: {len(records)}, {total_s:.1f} s in all, {opts.sample_rate} Hz PCM16 mono",
        f"* SNR range: {opts.snr_range[0]:g} to {opts.snr_range[1]:g} dB (stratified per class)",
        "* per-frame labels: " + ", ".join(f"frames_hop{h}.parquet" for h in opts.hops),
        "",
        "| noise class | utterances | SNR dB |",
        "|---|---|---|",
    ]
    for c in opts.classes:
        s = sorted(by_class.get(c, []))
        lines.append(f"| {c} | {len(s)} | {', '.join(f'{v:.1f}' for v in s)} |")
    lines += ["", "See docs/testset.md for the label definitions.", ""]
    return "\n".join(lines)


def make_set(
    out_dir: str | Path,
    seed: int,
    n_utts: int = 16,
    split: str = "test",
    *,
    sample_rate: int = 16000,
    classes: Sequence[str] = NOISE_CLASSES,
    snr_range: tuple[float, float] = DEFAULT_SNR_RANGE,
    duration_range: tuple[float, float] = DEFAULT_DURATION_RANGE,
    hops: Sequence[int] = DEFAULT_HOPS,
    overwrite: bool = False,
    command: str | None = None,
    progress: bool = False,
) -> tuple[UtteranceRecord, ...]:
    """Generate a set into ``out_dir`` and return its label rows (see the module doc).

    Noise classes are assigned round-robin in ``classes`` order; within each class the
    SNRs are stratified over ``snr_range``. ``command`` is recorded in README.md.
    """
    opts = SetOptions(
        seed=int(seed),
        n_utts=int(n_utts),
        split=split,
        sample_rate=int(sample_rate),
        classes=tuple(classes),
        snr_range=(float(snr_range[0]), float(snr_range[1])),
        duration_range=(float(duration_range[0]), float(duration_range[1])),
        hops=tuple(int(h) for h in hops),
    )
    out = Path(out_dir)
    prepare_out(out, opts.hops, overwrite)
    root = np.random.SeedSequence([opts.seed, _SPLIT_KEYS[opts.split]])
    plan_seq, utt_root = root.spawn(2)
    plans = _plan(opts, np.random.default_rng(plan_seq))
    utt_seqs = utt_root.spawn(len(plans))

    records: list[UtteranceRecord] = []
    per_hop: dict[int, list[FrameLabels]] = {h: [] for h in opts.hops}
    for plan, ss in zip(plans, utt_seqs, strict=True):
        clean16, noisy16, record, labels = _render(plan, opts, np.random.default_rng(ss))
        write_wav(out / "clean" / f"{plan.utt}.wav", clean16, opts.sample_rate)
        write_wav(out / "noisy" / f"{plan.utt}.wav", noisy16, opts.sample_rate)
        records.append(record)
        for h in opts.hops:
            per_hop[h].append(labels[h])
        if progress:
            print(f"  {plan.utt}  {plan.noise_class:<8} {plan.snr_db:5.1f} dB  {record.duration_s:.2f} s", flush=True)

    write_csv(out / "labels.csv", LABEL_COLUMNS, (r.csv_row() for r in records))
    write_frames(out, [r.utt for r in records], per_hop)
    (out / "README.md").write_text(_readme(opts, records, command), encoding="utf-8")
    return tuple(records)


def add_make_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--split", choices=SPLITS, default="test", help="sentence list to use (default test)")
    p.add_argument("--n", type=int, default=16, help="number of utterances (default 16)")
    p.add_argument("--sample-rate", type=int, default=16000, help="output rate in Hz (default 16000)")
    p.add_argument("--force", action="store_true", help="replace a set already in --out")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--diverse", action="store_true",
                      help="the diverse mix: espeak-ng/festival/flite talkers, rooms, microphone effects, real music "
                           "noise (bench.data.diverse; docs/data.md)")
    kind.add_argument("--real", action="store_true",
                      help="the real-recording test split from installed packages (bench.data.realsplit; --split, "
                           "--n and --sample-rate do not apply)")
    p.add_argument("--exclude", action="append", default=[], metavar="DIR",
                   help="--real: leave out every recording the real split in DIR used (repeatable): a "
                        "confirmation set of recordings never seen")  # fmt: skip
    p.add_argument("--prompts", type=int, default=None, metavar="N",
                   help="--real: draw at most N Allison Smith prompts (default 28)")
    p.add_argument("--jobs", type=int, default=1, help="--diverse: render in this many processes (default 1)")
    p.add_argument("--effect", default=None,
                   help="--diverse: put every utterance through this microphone/channel effect "
                        "(none, telephone, highpass, lowpass, tilt) instead of drawing one")  # fmt: skip


def _run_other(ns: argparse.Namespace) -> int:
    """`bench data make --diverse | --real`."""
    if ns.real:
        from bench.data.realsplit import MAX_PROMPTS, make_real_set

        args = ["--seed", str(ns.seed), "--out", ns.out]
        args += ["--prompts", str(ns.prompts)] if ns.prompts is not None else []
        args += [a for d in ns.exclude for a in ("--exclude", d)]
        command = "bench data make --real " + shlex.join(args)
        print(f"making the real-recording split (seed {ns.seed}) in {ns.out}", flush=True)
        rows = make_real_set(ns.out, ns.seed, overwrite=ns.force, command=command, progress=True,
                             max_prompts=MAX_PROMPTS if ns.prompts is None else ns.prompts,
                             exclude=ns.exclude)  # fmt: skip
        print(f"wrote {len(rows)} utterances ({sum(float(r[11]) for r in rows):.1f} s) to {ns.out}")
        return 0
    from bench.data.diverse import make_diverse_set

    effect = getattr(ns, "effect", None)
    if ns.jobs < 1:
        raise DataError(f"--jobs must be at least 1, got {ns.jobs}")
    args = ["--seed", str(ns.seed), "--out", ns.out, "--split", ns.split, "--n", str(ns.n)]
    args += ["--effect", effect] if effect is not None else []
    command = "bench data make --diverse " + shlex.join(args)
    print(f"making {ns.n} diverse {ns.split} utterances (seed {ns.seed}) in {ns.out}", flush=True)
    drows = make_diverse_set(ns.out, ns.seed, ns.n, ns.split, sample_rate=ns.sample_rate, overwrite=ns.force,
                             command=command, progress=True, jobs=ns.jobs, effect=effect)  # fmt: skip
    print(f"wrote {len(drows)} utterances ({sum(r.n_samples / r.sample_rate for r in drows):.1f} s) to {ns.out}")
    return 0


def run_make(ns: argparse.Namespace) -> int:
    """Run `bench data make` from parsed arguments; returns the exit status."""
    try:
        if getattr(ns, "effect", None) is not None and not getattr(ns, "diverse", False):
            raise DataError("--effect applies to --diverse sets only; add --diverse or leave --effect out")
        real_only = getattr(ns, "exclude", None) or getattr(ns, "prompts", None) is not None
        if real_only and not getattr(ns, "real", False):
            raise DataError("--exclude and --prompts apply to --real sets only; add --real or leave them out")
        if getattr(ns, "real", False) or getattr(ns, "diverse", False):
            return _run_other(ns)
        opts = SetOptions(seed=ns.seed, n_utts=ns.n, split=ns.split, sample_rate=ns.sample_rate)
        command = canonical_command(opts, ns.out)
        print(f"making {opts.n_utts} {opts.split} utterances (seed {opts.seed}) in {ns.out}", flush=True)
        records = make_set(
            ns.out,
            opts.seed,
            opts.n_utts,
            opts.split,
            sample_rate=opts.sample_rate,
            overwrite=ns.force,
            command=command,
            progress=True,
        )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2  # as every bench command on a BenchError (bench.cli.main)
    total = sum(r.duration_s for r in records)
    print(f"wrote {len(records)} utterances ({total:.1f} s) to {ns.out}")
    return 0


def main_make(argv: Sequence[str] | None = None) -> int:
    """Entry point of `bench data make --seed N --out DIR [--split train] [--n N]`."""
    p = argparse.ArgumentParser(prog="bench data make", description="Generate a synthetic test or train set.")
    add_make_arguments(p)
    return run_make(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main_make())
