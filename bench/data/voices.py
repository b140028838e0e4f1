"""Talkers of several speech engines for the diverse train mix and the second test set.

Engines (each optional; `installed_talkers()` lists what this machine has):

espeak-ng  formant synthesis: every language voice of `espeak-ng --voices` reading the
           (English) sentence, with a variant (m1..m8, f1..f5, klatt...), pitch -p, rate -s
festival   Debian festival voices: the HTS (statistical parametric, trained on human
           recordings) voices cmu_us_slt_arctic_hts and upc_ca_ona_hts and the diphone
           voices kal/ked (concatenated recorded diphones); rate by Duration_Stretch
flite      flite 2.2's built-in CMU voices slt, rms, awb (clustergen, trained on CMU
           ARCTIC recordings) and kal, kal16 (diphone); rate by duration_stretch, pitch by
           int_f0_target_mean

Every talker also gets a speed factor (resampling by ``speed``: pitch and tempo together,
as in speed perturbation), so that the parametric voices vary in pitch too. Output is
float64 at the requested rate, leading/trailing silence trimmed.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from bench.data.audio import FloatArray, resample
from bench.data.tts import Voice, synthesize, trim_silence
from bench.errors import DataError

ENGINES = ("espeak-ng", "festival", "flite")
FESTIVAL_VOICES = ("cmu_us_slt_arctic_hts", "upc_ca_ona_hts", "kal_diphone", "ked_diphone")
FLITE_VOICES = ("slt", "rms", "awb", "kal16", "kal")
ESPEAK_VARIANTS = (
    "", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "croak", "whisperf",
)  # fmt: skip
SPEED_RANGE = (0.9, 1.1)
STRETCH_RANGE = (0.85, 1.2)
FLITE_F0_RANGE = (90, 220)
_FESTIVAL_DIRS = ("/usr/share/festival/voices", "/usr/local/share/festival/voices")


@dataclass(frozen=True)
class Talker:
    """One speaker of one engine with its prosody draw.

    ``pitch``: espeak-ng -p (0..99) or flite's F0 target mean in Hz (0 = the voice's own);
    ``stretch``: duration stretch (espeak-ng: 160 words/min divided by it);
    ``speed``: resampling factor applied after synthesis (pitch and tempo).
    """

    engine: str
    voice: str
    pitch: int = 0
    stretch: float = 1.0
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise DataError(f"unknown speech engine {self.engine!r}; use one of {ENGINES}")
        if not self.voice or any(c.isspace() or c in "()'\"" for c in self.voice):
            raise DataError(f"voice name must be one plain word, got {self.voice!r}")
        if not 0.5 <= self.stretch <= 2.0 or not 0.8 <= self.speed <= 1.25:
            raise DataError(f"stretch must be in 0.5..2 and speed in 0.8..1.25, got {self.stretch}, {self.speed}")

    @property
    def label(self) -> str:
        return f"{self.engine}:{self.voice}"


@functools.cache
def espeak_languages() -> tuple[str, ...]:
    """Language voices of the installed espeak-ng (`espeak-ng --voices`), () without it."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return ()
    out = subprocess.run([exe, "--voices"], capture_output=True, text=True, check=False).stdout
    langs = [ln.split()[1] for ln in out.splitlines()[1:] if len(ln.split()) >= 2]
    return tuple(sorted(set(langs)))


@functools.cache
def festival_voices() -> tuple[str, ...]:
    """The FESTIVAL_VOICES installed (voice folders under the festival voices directory)."""
    if shutil.which("text2wave") is None:
        return ()
    found = set()
    for d in _FESTIVAL_DIRS:
        root = Path(d)
        if root.is_dir():
            found |= {p.name for p in root.glob("*/*") if p.is_dir()}
    return tuple(v for v in FESTIVAL_VOICES if v in found)


@functools.cache
def flite_voices() -> tuple[str, ...]:
    """The FLITE_VOICES that `flite -lv` lists."""
    exe = shutil.which("flite")
    if exe is None:
        return ()
    out = subprocess.run([exe, "-lv"], capture_output=True, text=True, check=False).stdout
    listed = set(out.replace("Voices available:", "").split())
    return tuple(v for v in FLITE_VOICES if v in listed)


def installed_talkers() -> dict[str, tuple[str, ...]]:
    """Engine -> voices available here (engines without a voice are left out)."""
    d = {"espeak-ng": espeak_languages(), "festival": festival_voices(), "flite": flite_voices()}
    return {k: v for k, v in d.items() if v}


def engine_versions() -> str:
    """Versions of the engines whose output the sets depend on (for READMEs)."""
    parts = []
    if shutil.which("espeak-ng"):
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=False).stdout
        parts.append(out.split("  Data at:")[0].strip())
    if shutil.which("festival"):
        out = subprocess.run(["festival", "--version"], capture_output=True, text=True, check=False).stdout
        parts.append(out.strip().splitlines()[0] if out.strip() else "festival")
    if shutil.which("flite"):
        out = subprocess.run(["flite", "--version"], capture_output=True, text=True, check=False).stdout
        parts.append(next((ln.strip() for ln in out.splitlines() if "version" in ln), "flite"))
    return "; ".join(parts) or "none"


def draw_talker(rng: np.random.Generator, engines: dict[str, tuple[str, ...]], weights: dict[str, float]) -> Talker:
    """A random talker: engine by ``weights`` (over the installed ones), voice, prosody."""
    names = [e for e in ENGINES if e in engines]
    if not names:
        raise DataError("no speech engine installed; install espeak-ng, festival or flite (scripts/bootstrap)")
    w = np.array([weights.get(e, 1.0) for e in names], dtype=float)
    engine = names[int(rng.choice(len(names), p=w / w.sum()))]
    voices = engines[engine]
    voice = voices[int(rng.integers(len(voices)))]
    speed = round(float(rng.uniform(*SPEED_RANGE)), 3)
    stretch = round(float(rng.uniform(*STRETCH_RANGE)), 3)
    pitch = 0
    if engine == "espeak-ng":
        variant = ESPEAK_VARIANTS[int(rng.integers(len(ESPEAK_VARIANTS)))]
        voice = f"{voice}+{variant}" if variant else voice
        pitch = int(rng.integers(20, 81))
    elif engine == "flite" and voice in ("kal", "kal16"):
        pitch = int(rng.integers(*FLITE_F0_RANGE))  # honoured by the diphone voices only
    return Talker(engine, voice, pitch, stretch, speed)


def _run(cmd: list[str], text: str, what: str) -> None:
    proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=False, timeout=120)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()[-300:]
        raise DataError(f"{what}: failed ({err}); check the install (scripts/bootstrap)")


def _read(path: Path, what: str) -> tuple[np.ndarray, int]:
    try:
        x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise DataError(f"{what}: wrote no readable WAV ({exc}); check the install") from None
    return x[:, 0], int(sr)


def _festival(text: str, t: Talker, tmp: Path) -> tuple[np.ndarray, int]:
    exe = shutil.which("text2wave")
    if exe is None:
        raise DataError("festival: text2wave not found; install festival and its voices (scripts/bootstrap)")
    out = tmp / "f.wav"
    stretch = f"(Parameter.set 'Duration_Stretch {t.stretch:.3f})"
    cmd = [exe, "-eval", f"(voice_{t.voice})", "-eval", stretch, "-o", str(out)]
    _run(cmd, text, f"festival voice {t.voice}")
    return _read(out, f"festival voice {t.voice}")


def _flite(text: str, t: Talker, tmp: Path) -> tuple[np.ndarray, int]:
    exe = shutil.which("flite")
    if exe is None:
        raise DataError("flite: program not found; install flite (scripts/bootstrap)")
    out = tmp / "f.wav"
    txt = tmp / "t.txt"
    txt.write_text(text, encoding="utf-8")
    cmd = [exe, "-voice", t.voice, "--setf", f"duration_stretch={t.stretch:.3f}"]
    if t.pitch:
        cmd += ["--setf", f"int_f0_target_mean={t.pitch}"]
    _run([*cmd, "-f", str(txt), "-o", str(out)], "", f"flite voice {t.voice}")
    return _read(out, f"flite voice {t.voice}")


def speed_perturb(x: FloatArray, speed: float) -> FloatArray:
    """Play ``x`` ``speed`` times faster (pitch up by the same factor): resample by 1/speed."""
    if speed == 1.0:
        return x
    fr = Fraction(speed).limit_denominator(200)
    return resample_poly(x, fr.denominator, fr.numerator)


def speak(text: str, talker: Talker, sample_rate: int = 16000) -> FloatArray:
    """``text`` spoken by ``talker`` at ``sample_rate`` (float64, silence trimmed)."""
    if talker.engine == "espeak-ng":
        rate = int(round(160 / talker.stretch))
        x = synthesize(text, Voice(talker.voice, talker.pitch, max(80, min(450, rate))), sample_rate)
    else:
        have = festival_voices() if talker.engine == "festival" else flite_voices()
        if talker.voice not in have:
            raise DataError(
                f"{talker.engine} voice {talker.voice!r} is not installed (installed: {', '.join(have) or 'none'}); "
                "install the voices with scripts/bootstrap"
            )
        with tempfile.TemporaryDirectory(prefix="bench-tts-") as d:
            fn = _festival if talker.engine == "festival" else _flite
            raw, sr = fn(text, talker, Path(d))
        x = resample(raw, sr, sample_rate)
    x = trim_silence(speed_perturb(x, talker.speed), sample_rate)
    if x.size == 0:
        raise DataError(f"{talker.label} produced no audio for {text[:40]!r}; check the voice install")
    return x
