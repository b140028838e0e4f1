"""Speech from espeak-ng (formant synthesis: deterministic for a given espeak-ng version).

espeak-ng writes 22050 Hz PCM16; we resample to the requested rate with resample_poly.
Only the Debian package ``espeak-ng`` is needed (no MBROLA voices).
"""

from __future__ import annotations

import functools
import shutil
import struct
import subprocess
from dataclasses import dataclass

import numpy as np

from bench.data.audio import FloatArray, resample
from bench.errors import DataError

ESPEAK_RATE = 22050

# Voice + variant names that espeak-ng 1.51 renders distinctly. Note that "en-gb+f2"
# silently ignores the variant; the British voice with a variant is spelled "en+f2".
VOICES: tuple[str, ...] = (
    "en-us",
    "en",
    "en-us+f3",
    "en+f2",
    "en+m3",
    "en-us+m5",
    "en-gb-scotland+f4",
    "en-029+m2",
    "en-us-nyc+f1",
    "en-gb-x-rp+m7",
    "en-us+klatt2",
    "en+f5",
    "en-us+f4",
    "en-gb-x-gbclan+m4",
)

PITCH_RANGE = (30, 70)
"""espeak-ng -p (0..99); the generator draws from this range."""
RATE_RANGE = (140, 180)
"""espeak-ng -s in words per minute; the generator draws from this range."""


@dataclass(frozen=True)
class Voice:
    """One espeak-ng talker: voice name (with optional +variant), pitch (-p) and rate (-s)."""

    name: str
    pitch: int = 50
    rate: int = 160

    def __post_init__(self) -> None:
        if not self.name or any(c.isspace() for c in self.name):
            raise ValueError(f"voice name must be a non-empty word, got {self.name!r}")
        if not 0 <= self.pitch <= 99:
            raise ValueError(f"espeak-ng pitch must be in 0..99, got {self.pitch}")
        if not 80 <= self.rate <= 450:
            raise ValueError(f"espeak-ng rate must be in 80..450 words/min, got {self.rate}")


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError(
            "espeak-ng: program not found on PATH; install it (Debian/Ubuntu: "
            "`apt-get install espeak-ng`) to generate test sets"
        )
    return exe


@functools.cache
def espeak_version() -> str:
    """The `espeak-ng --version` line (recorded in generated sets: output depends on it)."""
    out = subprocess.run([_espeak(), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return out.split("  Data at:")[0].strip() or "unknown"


def _parse_wav(blob: bytes) -> tuple[np.ndarray, int]:
    """Parse espeak-ng's streamed WAV (its header sizes are placeholders when piping)."""
    if len(blob) < 12 or blob[0:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise DataError("espeak-ng: output is not a WAV stream; check the espeak-ng install")
    pos = 12
    rate = 0
    while pos + 8 <= len(blob):
        cid = blob[pos : pos + 4]
        size = struct.unpack("<I", blob[pos + 4 : pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            fmt, channels, rate = struct.unpack("<HHI", blob[body : body + 8])
            bits = struct.unpack("<H", blob[body + 14 : body + 16])[0]
            if fmt != 1 or channels != 1 or bits != 16:
                raise DataError("espeak-ng: expected mono PCM16 output; check the espeak-ng build")
        elif cid == b"data":
            end = len(blob) if size == 0 or body + size > len(blob) else body + size
            n = (end - body) // 2
            return np.frombuffer(blob, dtype="<i2", count=n, offset=body).astype(np.int16), rate
        pos = body + size + (size & 1)
    raise DataError("espeak-ng: WAV stream has no data chunk; check the espeak-ng install")


def synthesize(text: str, voice: Voice, sample_rate: int = 16000) -> FloatArray:
    """Speak ``text`` and return float64 samples at ``sample_rate``, leading/trailing
    silence trimmed (10 ms margin kept)."""
    cmd = [_espeak(), "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.rate), "--stdout"]
    proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise DataError(f"espeak-ng: failed for voice {voice.name!r} ({err}); check the voice name")
    pcm, rate = _parse_wav(proc.stdout)
    if rate != ESPEAK_RATE:
        raise DataError(f"espeak-ng: produced {rate} Hz, expected {ESPEAK_RATE}; check the build")
    x = resample(pcm, rate, sample_rate)
    return trim_silence(x, sample_rate)


def trim_silence(x: FloatArray, sample_rate: int, threshold: float = 1e-3) -> FloatArray:
    """Cut leading and trailing samples below ``threshold`` (keeps a 10 ms margin)."""
    idx = np.flatnonzero(np.abs(x) > threshold)
    if idx.size == 0:
        return x[:0]
    margin = sample_rate // 100
    lo = max(int(idx[0]) - margin, 0)
    hi = min(int(idx[-1]) + margin + 1, x.size)
    return x[lo:hi]
