"""The real-recording test split: human speech that packages ship, with real and synthetic noise.

``make_real_set(out, seed)`` (``bench data make --real``) takes every clean speech
recording of bench.data.recordings that is installed (codec2-examples, the Allison Smith
prompts of asterisk-core-sounds-en-wav, pysptk's CMU ARCTIC file), resamples it to 16 kHz,
cuts recordings longer than ``MAX_SEG_S`` at their quietest 10 ms frame between
``MIN_SEG_S`` and ``MAX_SEG_S`` (so no word is cut where a pause exists), keeps at most
``max_prompts`` of the Allison prompts (a seeded draw; one talker should not dominate),
puts 0.15..0.4 s of silence before and after, and mixes each with a noise of
``REAL_CLASSES`` (the real ``recorded-music`` test tracks and the synthetic classes) at an
SNR stratified per class over ``SNR_RANGE`` (0..10 dB), active speech level -32..-22 dBFS.

Labels as for every set (bench.data.labels): VAD from the clean recording, F0 by pyworld
Harvest on it. ``labels.csv`` names the source file, package, package version and licence of
every utterance; ``PROVENANCE.md`` lists them. The split is never used for training or
model selection (the trainers read only train splits).

It is not shipped: its licences (LGPL-2.1, CC-BY-SA-3.0) would carry over to the mixtures,
and it depends on which packages are installed; `bench data make --real` builds it.
"""

from __future__ import annotations

import csv
import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.data import recordings
from bench.data.audio import resample, write_wav
from bench.data.diverse import RECORDED
from bench.data.generate import DEFAULT_HOPS, DEFAULT_LEVEL_RANGE, mix_at
from bench.data.labels import FrameLabels, active_power, frame_labels
from bench.data.noises import SIMPLE_NOISES, babble
from bench.data.sentences import sentences_for
from bench.data.setio import prepare_out, write_csv, write_frames
from bench.errors import DataError

REAL_VERSION = 1
REAL_CLASSES = (RECORDED, "babble", "white", "pink", "brown", "hum", "fan", "keyboard", "music")
SNR_RANGE = (0.0, 10.0)
MIN_SEG_S, MAX_SEG_S = 2.5, 4.5
PAD_S = (0.15, 0.4)
MAX_PROMPTS = 28
SR = 16000
_KEY = 0x4EA1
COLUMNS = (
    "utt", "split", "noise_class", "snr_db", "source", "package", "package_version", "licence",
    "segment_start_s", "segment_end_s", "source_rate", "duration_s", "n_samples", "sample_rate", "speech_level_dbfs",
)  # fmt: skip


@dataclass(frozen=True)
class Segment:
    rec: recordings.Recording
    start: int  # samples at 16 kHz in the resampled recording
    end: int
    source_rate: int


def _load16(rec: recordings.Recording) -> tuple[np.ndarray, int]:
    try:
        x, sr = sf.read(str(rec.path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise DataError(f"{rec.path}: unreadable ({exc}); reinstall {rec.package}") from None
    return resample(x[:, 0], int(sr), SR), int(sr)


def cut_points(x: np.ndarray, sr: int = SR) -> list[tuple[int, int]]:
    """Cut ``x`` into pieces of MIN_SEG_S..MAX_SEG_S at the quietest 10 ms frame in that window
    (a remainder shorter than MIN_SEG_S joins the last piece if that stays under 1.5 MAX_SEG_S)."""
    hop = sr // 100
    out: list[tuple[int, int]] = []
    pos = 0
    while x.size - pos > MAX_SEG_S * sr:
        lo, hi = pos + int(MIN_SEG_S * sr), pos + int(MAX_SEG_S * sr)
        nf = (hi - lo) // hop
        frames = x[lo : lo + nf * hop].reshape(nf, hop)
        cut = lo + int(np.argmin(np.mean(frames * frames, axis=1))) * hop + hop // 2
        out.append((pos, cut))
        pos = cut
    rest = x.size - pos
    if out and rest < MIN_SEG_S * sr and (out[-1][1] - out[-1][0]) + rest <= 1.5 * MAX_SEG_S * sr:
        out[-1] = (out[-1][0], x.size)
    else:
        out.append((pos, x.size))
    return out


def package_version(package: str) -> str:
    """The installed version of a Debian package (dpkg-query) or a Python distribution."""
    if package == "pysptk":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pysptk")
        except PackageNotFoundError:
            return "unknown"
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True,
                             check=False, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def plan_segments(
    recs: Sequence[recordings.Recording], rng: np.random.Generator, max_prompts: int = MAX_PROMPTS
) -> list[tuple[Segment, np.ndarray]]:
    """(segment, its 16 kHz samples) of the recordings, at most ``max_prompts`` Allison prompts."""
    prompts = [r for r in recs if r.package == "asterisk-core-sounds-en-wav"]
    keep = set(rng.permutation(len(prompts))[:max_prompts].tolist()) if prompts else set()
    chosen = [r for r in recs if r.package != "asterisk-core-sounds-en-wav"]
    chosen += [r for i, r in enumerate(prompts) if i in keep]
    out = []
    for rec in chosen:
        x, sr = _load16(rec)
        for a, b in cut_points(x):
            out.append((Segment(rec, a, b, sr), x[a:b]))
    return out


def used_sources(split_dir: str | Path) -> frozenset[str]:
    """The source recordings a real split in ``split_dir`` used (its labels.csv ``source`` column)."""
    path = Path(split_dir) / "labels.csv"
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"--exclude {split_dir}: no labels.csv there ({exc.strerror}); give a real split's folder") \
            from None
    if not rows or "source" not in rows[0]:
        raise DataError(f"--exclude {split_dir}: its labels.csv names no source recordings; give a real split's folder")
    return frozenset(r["source"] for r in rows)


def make_real_set(
    out_dir: str | Path,
    seed: int = 0,
    *,
    recs: Sequence[recordings.Recording] | None = None,
    max_prompts: int = MAX_PROMPTS,
    exclude: Sequence[str | Path] = (),
    classes: Sequence[str] | None = None,
    hops: Sequence[int] = DEFAULT_HOPS,
    overwrite: bool = False,
    command: str | None = None,
    progress: bool = False,
) -> tuple[list[str], ...]:
    """Build the real-recording split into ``out_dir``; returns the labels.csv rows.

    ``recs`` defaults to every installed recording; ``classes`` to REAL_CLASSES (without
    recorded-music when its package is not installed). ``exclude``: folders of earlier real
    splits whose source recordings are left out (a confirmation set of recordings they never
    held); ``max_prompts`` bounds the Allison prompts drawn."""
    recs = tuple(recs) if recs is not None else recordings.require(recordings.speech_recordings(), "speech")
    if max_prompts < 0:
        raise DataError(f"the number of prompts must be >= 0, got {max_prompts}")
    if exclude:
        used = frozenset().union(*(used_sources(d) for d in exclude))
        recs = tuple(r for r in recs if str(r.path) not in used)
        if not recs:
            raise DataError(f"every installed recording is in {', '.join(map(str, exclude))}; nothing is left")
    music = recordings.music_recordings("test")
    if classes is None:
        classes = REAL_CLASSES if music else REAL_CLASSES[1:]
    bad = [c for c in classes if c not in REAL_CLASSES]
    if not classes or bad:
        raise DataError(f"noise classes must be a non-empty subset of {REAL_CLASSES}, got {bad}")
    if RECORDED in classes:
        recordings.require(music, "music")
    hops = tuple(int(h) for h in hops)
    block = math.lcm(*hops)
    out = Path(out_dir)
    prepare_out(out, hops, overwrite, extra=("PROVENANCE.md",))
    root = np.random.SeedSequence([int(seed), _KEY])
    plan_seq, utt_root = root.spawn(2)
    prng = np.random.default_rng(plan_seq)
    segs = plan_segments(recs, prng, max_prompts)
    n = len(segs)
    cls = [classes[i % len(classes)] for i in range(n)]
    snrs = [0.0] * n
    for c in classes:
        idx = [i for i in range(n) if cls[i] == c]
        for i, s in zip(idx, prng.permutation(len(idx)), strict=True):
            snrs[i] = round(SNR_RANGE[0] + (SNR_RANGE[1] - SNR_RANGE[0]) * (int(s) + prng.uniform()) / len(idx), 1)
    versions = {p: package_version(p) for p in {s.rec.package for s, _ in segs}}
    rows: list[list[str]] = []
    per_hop: dict[int, list[FrameLabels]] = {h: [] for h in hops}
    for i, ((seg, speech), ss) in enumerate(zip(segs, utt_root.spawn(n), strict=True)):
        rng = np.random.default_rng(ss)
        lead, trail = (int(v * SR) for v in rng.uniform(*PAD_S, size=2))
        n_total = -(-(speech.size + lead + trail) // block) * block
        clean = np.zeros(n_total)
        clean[lead : lead + speech.size] = speech
        if cls[i] == RECORDED:
            noise = recordings.music_excerpt(rng, music, n_total, SR)
        elif cls[i] == "babble":
            noise = babble(rng, n_total, SR, sentences_for("test"))
        else:
            noise = SIMPLE_NOISES[cls[i]](rng, n_total, SR)
        level = float(rng.uniform(*DEFAULT_LEVEL_RANGE))
        c16, n16 = mix_at(clean, noise, level, snrs[i], SR)
        utt = f"real_{i:04d}"
        write_wav(out / "clean" / f"{utt}.wav", c16, SR)
        write_wav(out / "noisy" / f"{utt}.wav", n16, SR)
        labels = frame_labels(c16, SR, hops)
        for h in hops:
            per_hop[h].append(labels[h])
        rows.append([
            utt, "real", cls[i], f"{snrs[i]:.1f}", str(seg.rec.path), seg.rec.package, versions[seg.rec.package],
            seg.rec.licence, f"{seg.start / SR:.3f}", f"{seg.end / SR:.3f}", str(seg.source_rate),
            f"{n_total / SR:.3f}", str(n_total), str(SR), f"{10 * math.log10(active_power(c16, SR)):.2f}",
        ])  # fmt: skip
        if progress:
            print(f"  {utt} {seg.rec.name:<48} {cls[i]:<14} {snrs[i]:4.1f} dB", flush=True)
    write_csv(out / "labels.csv", COLUMNS, rows)
    write_frames(out, [r[0] for r in rows], per_hop)
    cmd = command or f"bench data make --real --seed {seed} --out {out}"
    (out / "README.md").write_text(_readme(rows, cmd, seed, exclude), encoding="utf-8")
    (out / "PROVENANCE.md").write_text(_provenance(rows, music), encoding="utf-8")
    return tuple(rows)


def _readme(rows: Sequence[Sequence[str]], command: str, seed: int, exclude: Sequence[str | Path] = ()) -> str:
    total = sum(float(r[11]) for r in rows)
    wide = sum(r[10] == str(SR) for r in rows)
    left_out = [f"* no recording of the real split(s) in {', '.join(map(str, exclude))}"] if exclude else []
    return "\n".join([
        "# Real-recording test split", "",
        "Made by bench/data/realsplit.py from recordings that installed packages ship (PROVENANCE.md);",
        "never used for training or model selection. Regenerate rather than edit.", "",
        "```", command, "```", "",
        f"* version {REAL_VERSION}, seed {seed}; {len(rows)} utterances, {total:.1f} s, 16 kHz PCM16 mono",
        f"* wideband sources (16 kHz): {wide} utterances; the rest are 8 kHz recordings (telephone band)",
        f"* SNR {SNR_RANGE[0]:g}..{SNR_RANGE[1]:g} dB, stratified per noise class", *left_out, "",
    ])  # fmt: skip


def _provenance(rows: Sequence[Sequence[str]], music: Sequence[recordings.Recording]) -> str:
    lines = ["# Provenance of the real-recording split", "", "| utt | source file | package (version) | licence |",
             "|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r[0]} | {r[4]} [{r[8]}..{r[9]} s] | {r[5]} ({r[6]}) | {r[7]} |")
    lines += ["", "Real noise (recorded-music): " + ", ".join(f"{m.path} ({m.licence})" for m in music), ""]
    return "\n".join(lines)
