"""The diverse mix: several speech engines, rooms, microphones, levels, real music noise.

``make_diverse_set(out, seed, n_utts, split)`` writes a set in the bench layout
(bench.data.setio) like the synthetic generator, but each utterance's speech is:

1. a sentence of the split (bench.data.sentences) spoken by a talker drawn from every
   installed engine (bench.data.voices: espeak-ng's language voices and variants,
   festival's HTS and diphone voices, flite's voices; ``ENGINE_WEIGHTS``), with its
   prosody (rate/duration stretch, pitch, a 0.9..1.1 speed factor);
2. with probability ``P_ROOM`` reverberated in a drawn shoebox room (bench.data.rooms,
   RT60 0.15..0.8 s); the target keeps the reverberation (the model denoises);
3. through a microphone/channel effect (bench.data.miceffects: telephone band, high-pass,
   low-pass, tilt + resonance, or none);
4. at an active level drawn in ``LEVEL_RANGE`` dBFS (wider than the default set's);

mixed with a noise of ``DIVERSE_CLASSES``: the eight synthetic classes and
``recorded-music`` (real music recordings, bench.data.recordings: the train split reads
three tracks, the test split the other two), SNR stratified per class over -5..20 dB.

``--split test`` gives the second synthetic test set (test sentences, test music tracks);
the shipped default set is made by bench.data.generate and does not change. The audio
depends on the engines' versions (recorded in README.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data import miceffects, recordings, rooms, voices
from bench.data.audio import write_wav
from bench.data.generate import DEFAULT_HOPS, SPLITS, mix_at
from bench.data.labels import FrameLabels, active_power, frame_labels
from bench.data.noises import NOISE_CLASSES, SIMPLE_NOISES, babble
from bench.data.sentences import sentences_for
from bench.data.setio import prepare_out, write_csv, write_frames
from bench.errors import DataError

DIVERSE_VERSION = 1
RECORDED = "recorded-music"
DIVERSE_CLASSES = (*NOISE_CLASSES, RECORDED)
ENGINE_WEIGHTS = {"espeak-ng": 0.25, "festival": 0.35, "flite": 0.4}
P_ROOM = 0.5
LEVEL_RANGE = (-38.0, -18.0)
SNR_RANGE = (-5.0, 20.0)
DURATION_RANGE = (2.0, 4.0)
LEAD_TRAIL_S = (0.1, 0.6)
_KEYS = {"test": 0xD1E57, "train": 0xD1EA1}
COLUMNS = (
    "utt", "split", "noise_class", "snr_db", "voice", "stretch", "speed", "pitch", "sentence_id", "text",
    "room_rt60_s", "room_distance_m", "effect", "duration_s", "n_samples", "sample_rate", "speech_level_dbfs",
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    utt: str
    noise_class: str
    snr_db: float
    talker: voices.Talker
    sentence_id: str
    text: str
    room: rooms.Room | None
    effect: str
    n_samples: int
    sample_rate: int
    level_dbfs: float

    def csv_row(self, split: str) -> list[str]:
        return [
            self.utt, split, self.noise_class, f"{self.snr_db:.1f}", self.talker.label, f"{self.talker.stretch:.3f}",
            f"{self.talker.speed:.3f}", str(self.talker.pitch), self.sentence_id, self.text,
            f"{self.room.rt60:.3f}" if self.room else "", f"{self.room.distance:.2f}" if self.room else "",
            self.effect, f"{self.n_samples / self.sample_rate:.3f}", str(self.n_samples), str(self.sample_rate),
            f"{self.level_dbfs:.2f}",
        ]  # fmt: skip


def _stratified_snrs(rng: np.random.Generator, classes: Sequence[str], lo: float, hi: float) -> list[float]:
    snrs = [0.0] * len(classes)
    for c in dict.fromkeys(classes):
        idx = [i for i, k in enumerate(classes) if k == c]
        for i, s in zip(idx, rng.permutation(len(idx)), strict=True):
            snrs[i] = round(lo + (hi - lo) * (int(s) + float(rng.uniform())) / len(idx), 1)
    return snrs


def _speech(
    rng: np.random.Generator, text: str, engines: dict[str, tuple[str, ...]], sr: int, max_n: int
) -> tuple[np.ndarray, voices.Talker]:
    """Synthesize with a drawn talker; draw another when the result does not fit."""
    last = "too long or too short"
    for _ in range(12):
        talker = voices.draw_talker(rng, engines, ENGINE_WEIGHTS)
        try:
            x = voices.speak(text, talker, sr)
        except DataError as exc:  # a listed voice that cannot speak (espeak-ng 1.51's chr-US-Qaaa-x-west)
            last = str(exc)
            continue
        if 0.5 * sr <= x.size <= max_n:
            return x, talker
    raise DataError(
        f"no talker spoke {text[:40]!r} within {max_n / sr:.1f} s in 12 draws (last: {last}); "
        "check the engines' install or use longer durations"
    )


def _render(
    rng: np.random.Generator,
    utt: str,
    split: str,
    cls: str,
    snr_db: float,
    sentence: tuple[str, str],
    engines: dict[str, tuple[str, ...]],
    music: tuple[recordings.Recording, ...],
    sr: int,
    block: int,
    effect: str | None = None,
) -> tuple[np.ndarray, np.ndarray, Row]:
    hi_n = int(DURATION_RANGE[1] * sr) // block * block
    lo_n = -(-int(DURATION_RANGE[0] * sr) // block) * block
    speech, talker = _speech(rng, sentence[1], engines, sr, hi_n - int(0.25 * sr))
    room = rooms.draw_room(rng) if rng.uniform() < P_ROOM else None
    if room is not None:
        rir = rooms.impulse_response(room, sr)
        speech = rooms.reverberate(speech, rir)[: hi_n - int(0.1 * sr)]
    drawn = miceffects.draw_effect(rng)  # drawn even when forced: the talker and room draws stay the same
    speech, effect = miceffects.apply_effect(drawn if effect is None else effect, speech, sr, rng)
    lead, trail = rng.uniform(*LEAD_TRAIL_S, size=2)
    want = speech.size + int((lead + trail) * sr)
    n_total = min(max(-(-want // block) * block, lo_n), hi_n)
    start = int(round((n_total - speech.size) * lead / (lead + trail)))
    clean = np.zeros(n_total)
    clean[start : start + speech.size] = speech[: n_total - start]
    if cls == RECORDED:
        noise = recordings.music_excerpt(rng, music, n_total, sr)
    elif cls == "babble":
        noise = babble(rng, n_total, sr, sentences_for(split), exclude=(sentence[0],))
    else:
        noise = SIMPLE_NOISES[cls](rng, n_total, sr)
    level = round(float(rng.uniform(*LEVEL_RANGE)), 1)
    c16, n16 = mix_at(clean, noise, level, snr_db, sr)
    row = Row(utt, cls, snr_db, talker, sentence[0], sentence[1], room, effect, n_total, sr,
              10 * math.log10(active_power(c16, sr)))  # fmt: skip
    return c16, n16, row


def _one(args: tuple) -> tuple[np.ndarray, np.ndarray, Row, dict[int, FrameLabels]]:
    """Render one utterance (a process-pool task): audio, row and frame labels."""
    ss, utt, split, cls, snr, sentence, engines, music, sr, hops, effect = args
    c16, n16, row = _render(np.random.default_rng(ss), utt, split, cls, snr, sentence, engines, music, sr,
                            math.lcm(*hops), effect)  # fmt: skip
    return c16, n16, row, frame_labels(c16, sr, hops)


def _readme(split: str, seed: int, rows: Sequence[Row], command: str) -> str:
    engines: dict[str, int] = {}
    for r in rows:
        engines[r.talker.engine] = engines.get(r.talker.engine, 0) + 1
    n_room = sum(r.room is not None for r in rows)
    effects: dict[str, int] = {}
    for r in rows:
        k = r.effect.split()[0]
        effects[k] = effects.get(k, 0) + 1
    total = sum(r.n_samples / r.sample_rate for r in rows)
    return "\n".join([
        f"# Diverse {split} set",
        "",
        "Made by bench/data/diverse.py (several speech engines, rooms, microphone effects, real",
        "music noise); regenerate rather than edit. See docs/data.md.",
        "",
        "```", command, "```", "",
        f"* version {DIVERSE_VERSION}, seed {seed}; engines: {voices.engine_versions()}",
        f"* utterances: {len(rows)}, {total:.1f} s",
        "* talkers per engine: " + ", ".join(f"{k} {v}" for k, v in sorted(engines.items())),
        f"* reverberant: {n_room}; effects: " + ", ".join(f"{k} {v}" for k, v in sorted(effects.items())),
        "* real music noise: " + ", ".join(r.name for r in recordings.music_recordings(split)),
        "",
    ])  # fmt: skip


def make_diverse_set(
    out_dir: str | Path,
    seed: int,
    n_utts: int,
    split: str = "train",
    *,
    sample_rate: int = 16000,
    hops: Sequence[int] = DEFAULT_HOPS,
    classes: Sequence[str] | None = None,
    overwrite: bool = False,
    command: str | None = None,
    progress: bool = False,
    jobs: int = 1,
    effect: str | None = None,
) -> tuple[Row, ...]:
    """Generate the diverse ``split`` into ``out_dir`` (see the module doc); returns its rows.

    ``classes`` defaults to every class whose source is installed (recorded-music needs
    asterisk-moh-opsound-wav). ``jobs`` > 1 renders utterances in that many processes (the
    output does not depend on it: every utterance has its own seed). ``effect`` puts every
    utterance through that microphone/channel effect (miceffects.EFFECTS) instead of a drawn one.
    """
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, got {split!r}")
    if effect is not None and effect not in miceffects.EFFECTS:
        raise DataError(f"effect must be one of {miceffects.EFFECTS}, got {effect!r}")
    if n_utts <= 0 or seed < 0 or sample_rate < 8000:
        raise DataError("need n_utts > 0, seed >= 0 and sample_rate >= 8000")
    music = recordings.music_recordings(split)
    if classes is None:
        classes = DIVERSE_CLASSES if music else NOISE_CLASSES
    unknown = [c for c in classes if c not in DIVERSE_CLASSES]
    if not classes or unknown:
        raise DataError(f"noise classes must be a non-empty subset of {DIVERSE_CLASSES}, got {unknown}")
    if RECORDED in classes:
        recordings.require(music, "music")
    engines = voices.installed_talkers()
    if not engines:
        raise DataError("no speech engine installed; install espeak-ng, festival, flite (scripts/bootstrap)")
    hops = tuple(int(h) for h in hops)
    out = Path(out_dir)
    prepare_out(out, hops, overwrite)
    root = np.random.SeedSequence([int(seed), _KEYS[split]])
    plan_seq, utt_root = root.spawn(2)
    prng = np.random.default_rng(plan_seq)
    cls = [classes[i % len(classes)] for i in range(n_utts)]
    snrs = _stratified_snrs(prng, cls, *SNR_RANGE)
    sents = sentences_for(split)
    order = np.concatenate([prng.permutation(len(sents)) for _ in range(-(-n_utts // len(sents)))])
    rows: list[Row] = []
    per_hop: dict[int, list[FrameLabels]] = {h: [] for h in hops}
    t0 = time.monotonic()
    jobs_args = [
        (ss, f"{split}_d{i:05d}", split, cls[i], snrs[i], sents[int(order[i])], engines, music, sample_rate, hops,
         effect)
        for i, ss in enumerate(utt_root.spawn(n_utts))
    ]
    with ProcessPoolExecutor(jobs) if jobs > 1 else nullcontext() as pool:
        results = pool.map(_one, jobs_args) if pool is not None else map(_one, jobs_args)
        for i, (c16, n16, row, labels) in enumerate(results):
            write_wav(out / "clean" / f"{row.utt}.wav", c16, sample_rate)
            write_wav(out / "noisy" / f"{row.utt}.wav", n16, sample_rate)
            for h in hops:
                per_hop[h].append(labels[h])
            rows.append(row)
            if progress and (i % 20 == 0 or i == n_utts - 1):
                print(f"  {row.utt} {row.talker.label:<34} {row.noise_class:<14} {row.snr_db:5.1f} dB "
                      f"({time.monotonic() - t0:.0f} s)", flush=True)  # fmt: skip
    write_csv(out / "labels.csv", COLUMNS, (r.csv_row(split) for r in rows))
    write_frames(out, [r.utt for r in rows], per_hop)
    cmd = command or (f"bench data make --diverse --seed {seed} --split {split} --n {n_utts} --out {out}"
                      + (f" --effect {effect}" if effect is not None else ""))
    (out / "README.md").write_text(_readme(split, seed, rows, cmd), encoding="utf-8")
    return tuple(rows)
