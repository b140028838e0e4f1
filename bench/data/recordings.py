"""Real recordings that Debian and PyPI packages ship: the catalogue with provenance.

Speech (only ever used by the real-recording test split, never for training):

* ``codec2-examples`` (Debian; David Rowe's codec2 test speech, LGPL-2.1 per the package's
  copyright file): the clean studio/lab recordings among /usr/share/codec2/wav and raw
  (radio recordings, codec outputs and files with music or long non-speech are left out).
  ``speech_orig_16k.wav`` and ``wia_16kHz.wav`` are 16 kHz; the rest 8 kHz (telephone band).
* ``asterisk-core-sounds-en-wav`` (Debian; prompts recorded by Allison Smith, studio,
  8 kHz, CC-BY-SA-3.0): prompts of 2 to 5 s.
* ``pysptk`` (PyPI, when installed; ``pysptk/example_audio_data/arctic_a0007.wav``, CMU
  ARCTIC speaker clb, 16 kHz, the CMU ARCTIC licence: free use, modification and
  redistribution with the copyright notice).

Noise (real music recordings): ``asterisk-moh-opsound-wav`` (Debian; music on hold by
Macroform, Manolo Camp and Reno Project, CC-BY-SA-3.0). Three tracks are the train mix's
``recorded-music`` class, the other two the test sets' (never the same recording in both).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.data.audio import resample
from bench.data.noises import unit_rms
from bench.errors import DataError

CODEC2_DIR = Path("/usr/share/codec2")
ASTERISK_DIR = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
MOH_DIR = Path("/usr/share/asterisk/moh")

# the clean single-talker recordings of codec2-examples (file, what it is)
CODEC2_SPEECH = (
    ("raw/speech_orig_16k.wav", "wideband male speech, 10.8 s"),
    ("wav/wia_16kHz.wav", "wideband speech, 1 s"),
    ("wav/hts1a.wav", "male, classic codec test sentence"),
    ("wav/hts2a.wav", "female, classic codec test sentence"),
    ("wav/morig.wav", "male original"),
    ("wav/forig.wav", "female original"),
    ("wav/big_dog.wav", "speech"),
    ("wav/cross.wav", "speech"),
)
MOH_TRAIN = ("macroform-cold_day.wav", "macroform-robot_dity.wav", "reno_project-system.wav")
MOH_TEST = ("macroform-the_simplicity.wav", "manolo_camp-morning_coffee.wav")
ASTERISK_MIN_S, ASTERISK_MAX_S = 2.0, 5.0

LICENCES = {
    "codec2-examples": "LGPL-2.1 (Debian copyright of codec2-examples: Copyright 2007-2019 David Rowe)",
    "asterisk-core-sounds-en-wav": "CC-BY-SA-3.0 (recorded by Allison Smith; Digium)",
    "asterisk-moh-opsound-wav": "CC-BY-SA-3.0 (Macroform, Manolo Camp, Reno Project)",
    "pysptk": "CMU ARCTIC licence (Carnegie Mellon University; use, modify, redistribute with notice)",
}


@dataclass(frozen=True)
class Recording:
    """One file of a package: where it is, which package, its licence, what it is."""

    path: Path
    package: str
    note: str

    @property
    def licence(self) -> str:
        return LICENCES[self.package]

    @property
    def name(self) -> str:
        return f"{self.package}:{self.path.name}"


def _duration(path: Path) -> float:
    info = sf.info(str(path))
    return info.frames / info.samplerate


def speech_recordings(
    codec2_dir: Path = CODEC2_DIR, asterisk_dir: Path = ASTERISK_DIR, with_pysptk: bool = True
) -> tuple[Recording, ...]:
    """The real speech recordings installed here, sorted (codec2, asterisk, pysptk)."""
    out = [Recording(codec2_dir / rel, "codec2-examples", note) for rel, note in CODEC2_SPEECH]
    out = [r for r in out if r.path.is_file()]
    if asterisk_dir.is_dir():
        for p in sorted(asterisk_dir.glob("*.wav")):
            if ASTERISK_MIN_S <= _duration(p) <= ASTERISK_MAX_S:
                out.append(Recording(p, "asterisk-core-sounds-en-wav", "studio prompt, Allison Smith"))
    if with_pysptk and importlib.util.find_spec("pysptk") is not None:
        spec = importlib.util.find_spec("pysptk")
        if spec is not None and spec.origin:
            p = Path(spec.origin).parent / "example_audio_data" / "arctic_a0007.wav"
            if p.is_file():
                out.append(Recording(p, "pysptk", "CMU ARCTIC clb a0007"))
    return tuple(out)


def music_recordings(split: str, moh_dir: Path = MOH_DIR) -> tuple[Recording, ...]:
    """The real music tracks of ``split`` ("train" or "test") installed here."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {split!r}")
    names = MOH_TRAIN if split == "train" else MOH_TEST
    recs = [Recording(moh_dir / n, "asterisk-moh-opsound-wav", "music on hold") for n in names]
    return tuple(r for r in recs if r.path.is_file())


def require(recs: tuple[Recording, ...], what: str) -> tuple[Recording, ...]:
    if not recs:
        raise DataError(
            f"no {what} recordings installed; install the Debian packages codec2-examples, "
            "asterisk-core-sounds-en-wav and asterisk-moh-opsound-wav (scripts/bootstrap with BENCH_REAL_DATA=1)"
        )
    return recs


def music_excerpt(rng: np.random.Generator, recs: tuple[Recording, ...], n: int, sr: int) -> np.ndarray:
    """``n`` samples at ``sr`` from a random place of a random track of ``recs``, unit RMS."""

    rec = recs[int(rng.integers(len(recs)))]
    info = sf.info(str(rec.path))
    need = int(np.ceil(n * info.samplerate / sr)) + 64
    if info.frames <= need:
        raise DataError(f"{rec.path}: shorter than the {n / sr:.1f} s excerpt needed; reinstall {rec.package}")
    for _ in range(8):  # skip a quiet passage (a track's start or end)
        start = int(rng.integers(0, info.frames - need))
        x, fs = sf.read(str(rec.path), start=start, frames=need, dtype="float64", always_2d=True)
        y = resample(x[:, 0], int(fs), sr)[:n]
        if float(np.sqrt(np.mean(y * y))) > 1e-3:
            return unit_rms(y)
    raise DataError(f"{rec.path}: no audible excerpt found; reinstall {rec.package}")
