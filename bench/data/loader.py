"""Load a test set: the shipped default, one made by `bench data make`, a DNS-challenge
set, or a VoiceBank-DEMAND set.

Layouts recognised under ``path``:

bench       ``clean/<utt>.wav`` and ``noisy/<utt>.wav`` with the same names, optional
            ``labels.csv`` and ``frames_hop<H>.parquet`` (what the generator writes).
            ``clean/`` may be absent (noisy-only set: intrusive metrics are then NaN).
dns         ``clean/clean_fileid_<N>.wav`` and ``noisy/<anything>_fileid_<N>.wav``
            (the DNS-challenge synthetic test sets); utterance id ``fileid_<N>``.
voicebank   ``clean_testset_wav/`` and ``noisy_testset_wav/`` with the same file names
            (VoiceBank-DEMAND); other ``clean_<x>_wav``/``noisy_<x>_wav`` pairs are accepted
            when there is exactly one, or when one of them is ``testset``.

Every file is checked when the set is loaded: it must be readable, mono, not silent
(RMS above ``silence_dbfs``), not clipped (at most ``max_clipped_fraction`` of samples at
full scale), and paired with a partner of the same length. A failing file raises
DataError naming that file and what to do.

Audio is returned as int16 at the files' rate, or resampled with resample_poly to
``sample_rate`` when given.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np
import pyarrow.parquet as pq

from bench.data.audio import INT16_MAX, INT16_MIN, Int16Array, read_wav, resample, to_float, to_int16
from bench.data.labels import FrameLabels, frame_labels, n_frames
from bench.errors import DataError

AUDIO_SUFFIXES = (".wav", ".flac")
DEFAULT_MAX_CLIPPED_FRACTION = 0.01
DEFAULT_SILENCE_DBFS = -70.0
LAYOUTS = ("bench", "dns", "voicebank")

_DNS_CLEAN = re.compile(r"^clean_fileid_(\d+)$")
_DNS_NOISY = re.compile(r"^.*_fileid_(\d+)$")
_VB_DIR = re.compile(r"^clean_(.+)_wav$")


def default_set_path() -> Path:
    """The shipped default test set (bench/data/testset)."""
    return Path(__file__).resolve().parent / "testset"


class _LabelStore:
    """Lazy reader of a generated set's frames_hop<H>.parquet files."""

    def __init__(self, root: Path, sample_rate: int) -> None:
        self.root = root
        self.sample_rate = sample_rate
        self._tables: dict[int, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None] = {}

    def hops(self) -> list[int]:
        out = []
        for p in self.root.glob("frames_hop*.parquet"):
            m = re.fullmatch(r"frames_hop(\d+)\.parquet", p.name)
            if m:
                out.append(int(m.group(1)))
        return sorted(out)

    def _load(self, hop: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
        if hop in self._tables:
            return self._tables[hop]
        path = self.root / f"frames_hop{hop}.parquet"
        if not path.is_file():
            self._tables[hop] = None
            return None
        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise DataError(f"{path}: cannot read this Parquet file ({exc}); regenerate the set") from exc
        need = {"utt", "frame", "vad", "f0_hz", "voiced"}
        missing = need - set(table.column_names)
        if missing:
            raise DataError(f"{path}: missing columns {sorted(missing)}; regenerate the set")
        utt = np.asarray(table.column("utt").to_pylist(), dtype=object)
        frame = table.column("frame").to_numpy()
        vad = table.column("vad").to_numpy(zero_copy_only=False).astype(bool)
        f0 = table.column("f0_hz").to_numpy().astype(np.float32)
        voiced = table.column("voiced").to_numpy(zero_copy_only=False).astype(bool)
        groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for u in dict.fromkeys(utt.tolist()):
            idx = np.flatnonzero(utt == u)
            idx = idx[np.argsort(frame[idx], kind="stable")]
            if not np.array_equal(frame[idx], np.arange(idx.size)):
                raise DataError(f"{path}: frames of {u} are not 0..{idx.size - 1}; regenerate the set")
            groups[str(u)] = (vad[idx], f0[idx], voiced[idx])
        self._tables[hop] = groups
        return groups

    def get(self, utt: str, hop: int, sample_rate: int, n_samples: int) -> FrameLabels | None:
        """Stored labels for ``hop`` samples at ``sample_rate`` (same duration at the set's rate)."""
        native = hop * self.sample_rate / sample_rate
        if native != int(native):
            return None
        groups = self._load(int(native))
        if groups is None or utt not in groups:
            return None
        vad, f0, voiced = groups[utt]
        if vad.size != n_frames(n_samples, hop):
            return None
        return FrameLabels(hop=hop, sample_rate=sample_rate, vad=vad, f0_hz=f0, voiced=voiced)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Utterance:
    """One noisy utterance with its clean reference (None for noisy-only sets).

    ``noisy`` and ``clean`` are read-only 1-D int16 arrays of equal length.
    """

    id: str
    noisy: Int16Array = field(repr=False)
    clean: Int16Array | None = field(repr=False)
    sample_rate: int
    noise_class: str | None = None
    snr_db: float | None = None
    noisy_path: Path | None = None
    clean_path: Path | None = None
    meta: Mapping[str, str] = field(default_factory=dict, repr=False)
    _labels: _LabelStore | None = field(default=None, repr=False)
    _cache: dict[int, FrameLabels] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise DataError("utterance id must not be empty")
        if self.sample_rate <= 0:
            raise DataError(f"{self.id}: sample_rate must be positive, got {self.sample_rate}")
        if self.noisy.dtype != np.int16 or self.noisy.ndim != 1:
            raise DataError(f"{self.id}: noisy must be a 1-D int16 array")
        if self.clean is not None:
            if self.clean.dtype != np.int16 or self.clean.ndim != 1:
                raise DataError(f"{self.id}: clean must be a 1-D int16 array")
            if self.clean.size != self.noisy.size:
                raise DataError(
                    f"{self.id}: clean has {self.clean.size} samples, noisy {self.noisy.size}; "
                    "they must be time-aligned and of equal length"
                )

    @property
    def n_samples(self) -> int:
        return int(self.noisy.size)

    @property
    def duration_s(self) -> float:
        return self.noisy.size / self.sample_rate

    def frame_labels(self, hop: int) -> FrameLabels:
        """Per-frame VAD/F0 labels on the grid of ``hop`` samples (at this sample rate).

        Read from the set's frames_hop<H>.parquet when it has them, else computed from the
        clean signal (bench.data.labels) and cached.
        """
        if hop <= 0:
            raise DataError(f"{self.id}: hop must be positive, got {hop}")
        if hop in self._cache:
            return self._cache[hop]
        lab = None
        if self._labels is not None:
            lab = self._labels.get(self.id, hop, self.sample_rate, self.n_samples)
        if lab is None:
            if self.clean is None:
                where = self.noisy_path or self.id
                raise DataError(
                    f"{where}: no frame labels for hop {hop} and no clean signal to compute "
                    "them from; add the clean file or use a hop the set has labels for"
                )
            lab = frame_labels(self.clean, self.sample_rate, (hop,))[hop]
        self._cache[hop] = lab
        return lab


@dataclass(frozen=True, eq=False)
class TestSet(Sequence[Utterance]):
    """An ordered, immutable collection of utterances at one sample rate."""

    __test__ = False  # not a pytest test class

    utterances: tuple[Utterance, ...]
    sample_rate: int
    layout: str
    root: Path | None = None

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise DataError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        ids = [u.id for u in self.utterances]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise DataError(f"{self.root}: utterance id {dup!r} appears twice; ids must be unique")
        for u in self.utterances:
            if u.sample_rate != self.sample_rate:
                raise DataError(f"{u.id}: at {u.sample_rate} Hz, the set is at {self.sample_rate} Hz")

    def __len__(self) -> int:
        return len(self.utterances)

    @overload
    def __getitem__(self, i: int) -> Utterance: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Utterance]: ...
    def __getitem__(self, i: int | slice) -> Utterance | Sequence[Utterance]:
        return self.utterances[i]

    def __iter__(self) -> Iterator[Utterance]:
        return iter(self.utterances)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(u.id for u in self.utterances)

    def by_id(self, utt: str) -> Utterance:
        for u in self.utterances:
            if u.id == utt:
                return u
        raise DataError(f"{self.root}: no utterance {utt!r} in this set")

    @property
    def noise_classes(self) -> tuple[str, ...]:
        """Distinct noise classes in first-seen order (unlabelled utterances are skipped)."""
        return tuple(dict.fromkeys(u.noise_class for u in self.utterances if u.noise_class))

    @property
    def duration_s(self) -> float:
        return sum(u.duration_s for u in self.utterances)


def _natural_key(s: str) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))


def _check_name(p: Path) -> None:
    """Utterance ids come from file names and end up in Parquet (UTF-8) and JSON: a name that is not
    valid UTF-8 (Python keeps its bytes as surrogate escapes) is refused, with the bytes shown."""
    try:
        p.name.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(p.name)
        fixed = raw.decode("utf-8", errors="replace").replace("\ufffd", "_")
        raise DataError(
            f"{p.parent}: the file name {raw!r} is not valid UTF-8 (the bytes above); utterance ids come from "
            f"file names and are stored as UTF-8: rename it (e.g. to {fixed!r}, or with `convmv -f latin1 -t utf8`)"
        ) from None


def _audio_files(d: Path) -> list[Path]:
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    for p in files:
        _check_name(p)
    return files


def _pair_by(files: Sequence[Path], key: Any, role: str, directory: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in files:
        k = key(p)
        if k is None:
            raise DataError(f"{p}: file name does not follow the {role} naming of this layout; rename or remove it")
        if k in out:
            raise DataError(f"{p}: same utterance as {out[k].name} in {directory}; keep only one of them")
        out[k] = p
    return out


def _detect(root: Path) -> tuple[str, Path | None, Path]:
    """(layout, clean dir or None, noisy dir)."""
    clean, noisy = root / "clean", root / "noisy"
    if noisy.is_dir():
        names = [p.stem for p in _audio_files(clean)] if clean.is_dir() else []
        if any(_DNS_CLEAN.match(n) for n in names):
            return "dns", clean, noisy
        return "bench", (clean if clean.is_dir() else None), noisy
    if clean.is_dir():
        raise DataError(f"{root}: has clean/ but no noisy/; add the noisy files in {noisy}")
    pairs = []
    for d in sorted(root.iterdir()):
        m = _VB_DIR.match(d.name)
        if d.is_dir() and m and (root / f"noisy_{m.group(1)}_wav").is_dir():
            pairs.append(m.group(1))
    if len(pairs) == 1 or (pairs and "testset" in pairs):
        tag = "testset" if "testset" in pairs else pairs[0]
        return "voicebank", root / f"clean_{tag}_wav", root / f"noisy_{tag}_wav"
    if pairs:
        raise DataError(
            f"{root}: holds several VoiceBank-DEMAND subsets ({', '.join(pairs)}) and none is "
            "'testset'; pass the path of a directory holding just one clean_/noisy_ pair"
        )
    raise DataError(
        f"{root}: no test set found; expected clean/ + noisy/ (bench or DNS layout) or "
        "clean_testset_wav/ + noisy_testset_wav/ (VoiceBank-DEMAND)"
    )


def _pairs(layout: str, clean_dir: Path | None, noisy_dir: Path) -> list[tuple[str, Path | None, Path]]:
    noisy_files = _audio_files(noisy_dir)
    if layout == "dns":

        def nkey(p: Path) -> str | None:
            m = _DNS_NOISY.match(p.stem)
            return f"fileid_{m.group(1)}" if m else None

        def ckey(p: Path) -> str | None:
            m = _DNS_CLEAN.match(p.stem)
            return f"fileid_{m.group(1)}" if m else None
    else:

        def nkey(p: Path) -> str | None:
            return p.stem

        ckey = nkey
    noisy = _pair_by(noisy_files, nkey, "noisy", noisy_dir)
    if not noisy:
        raise DataError(f"{noisy_dir}: no .wav or .flac files; add the noisy utterances")
    if clean_dir is None:
        return [(k, None, noisy[k]) for k in sorted(noisy, key=_natural_key)]
    clean = _pair_by(_audio_files(clean_dir), ckey, "clean", clean_dir)
    for k, p in sorted(noisy.items()):
        if k not in clean:
            want = f"clean_{k}.wav" if layout == "dns" else p.name
            raise DataError(f"{p}: unpaired, no clean file {clean_dir / want}; add it or remove {p.name}")
    for k, p in sorted(clean.items()):
        if k not in noisy:
            want = f"<anything>_{k}.wav" if layout == "dns" else p.name
            raise DataError(f"{p}: unpaired, no noisy file {noisy_dir / want}; add it or remove {p.name}")
    return [(k, clean[k], noisy[k]) for k in sorted(noisy, key=_natural_key)]


def _read_checked(path: Path, max_clipped_fraction: float, silence_dbfs: float) -> tuple[np.ndarray, int]:
    x, sr = read_wav(path)
    if x.size == 0:
        raise DataError(f"{path}: has no samples; remove it from the set")
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x)
        if bad.any():
            what = "NaN" if np.isnan(x).any() else "infinite values"
            first = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}: contains {what} ({int(bad.sum())} samples, the first at sample {first}); a "
                            "float WAV must hold finite samples in [-1, 1]: re-export it or remove it")
    if x.dtype == np.int16:
        clipped = int(np.count_nonzero((x >= INT16_MAX) | (x <= INT16_MIN)))
    else:
        clipped = int(np.count_nonzero(np.abs(x) >= INT16_MAX / 32768.0))
    frac = clipped / x.size
    if frac > max_clipped_fraction:
        raise DataError(
            f"{path}: clipped, {100 * frac:.1f}% of samples are at full scale (limit "
            f"{100 * max_clipped_fraction:g}%); use an unclipped recording or remove it"
        )
    f = to_float(x)
    p = float(np.mean(f * f))
    level = 10 * math.log10(p) if p > 0 else float("-inf")
    if level < silence_dbfs:
        raise DataError(
            f"{path}: silent (RMS {level:.1f} dBFS, limit {silence_dbfs:g} dBFS); "
            "replace it with a file holding the signal or remove it"
        )
    return x, sr


def _read_labels_csv(path: Path) -> dict[str, dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or "utt" not in reader.fieldnames:
                raise DataError(f"{path}: needs a header row with an 'utt' column (and optionally noise_class, snr_db)")
            rows: dict[str, dict[str, str]] = {}
            for line, row in enumerate(reader, start=2):
                utt = (row.get("utt") or "").strip()
                if not utt:
                    raise DataError(f"{path}:{line}: empty utt; every row needs an utterance id")
                if utt in rows:
                    raise DataError(f"{path}:{line}: utt {utt!r} appears twice; keep one row per utterance")
                snr = (row.get("snr_db") or "").strip()
                if snr:
                    try:
                        value = float(snr)
                    except ValueError:
                        raise DataError(f"{path}:{line}: snr_db {snr!r} is not a number; fix the row") from None
                    if not math.isfinite(value):
                        raise DataError(f"{path}:{line}: snr_db {snr!r} (utt {utt!r}) is not a finite number; an SNR "
                                        "is a level in dB: fix the row, or leave the cell empty if it is unknown")
                rows[utt] = {k: (v or "") for k, v in row.items() if k is not None}
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read the labels CSV ({exc}); fix or remove it") from exc


def load_set(
    path: str | Path | None = None,
    sample_rate: int | None = None,
    *,
    labels_csv: str | Path | None = None,
    max_clipped_fraction: float = DEFAULT_MAX_CLIPPED_FRACTION,
    silence_dbfs: float = DEFAULT_SILENCE_DBFS,
) -> TestSet:
    """Load and check a test set (None = the shipped default set). See the module doc.

    ``labels_csv`` overrides ``<path>/labels.csv``; its ``utt`` column must name the
    utterance ids (file stem, or ``fileid_<N>`` for DNS sets) or the noisy file names.
    """
    root = Path(path) if path is not None else default_set_path()
    if not root.is_dir():
        hint = (
            "regenerate it with `bench data make --seed 0 --out bench/data/testset`"
            if path is None
            else "pass the directory that holds the set"
        )
        raise DataError(f"{root}: not a directory; {hint}")
    if sample_rate is not None and sample_rate <= 0:
        raise DataError(f"sample_rate must be positive, got {sample_rate}; give a rate in Hz (e.g. 16000), or none "
                        "to keep the set's own")
    layout, clean_dir, noisy_dir = _detect(root)
    pairs = _pairs(layout, clean_dir, noisy_dir)

    csv_path = Path(labels_csv) if labels_csv is not None else root / "labels.csv"
    labels: dict[str, dict[str, str]] = {}
    if labels_csv is not None or csv_path.is_file():
        labels = _read_labels_csv(csv_path)
        known = {k for k, _, _ in pairs} | {n.name for _, _, n in pairs} | {n.stem for _, _, n in pairs}
        stray = [u for u in labels if u not in known]
        if stray:
            raise DataError(
                f"{csv_path}: row utt {stray[0]!r} matches no utterance in {root} "
                f"({len(stray)} such rows); fix the ids or remove the rows"
            )

    loaded: list[tuple[str, np.ndarray, np.ndarray | None, int, Path, Path | None]] = []
    for key, cpath, npath in pairs:
        noisy, nsr = _read_checked(npath, max_clipped_fraction, silence_dbfs)
        clean = None
        if cpath is not None:
            clean, csr = _read_checked(cpath, max_clipped_fraction, silence_dbfs)
            if csr != nsr:
                raise DataError(f"{npath}: at {nsr} Hz but its clean file {cpath} is at {csr} Hz; resample one of them")
            if clean.size != noisy.size:
                raise DataError(
                    f"{npath}: {noisy.size} samples but its clean file {cpath} has {clean.size}; "
                    "the pair must be time-aligned and of equal length"
                )
        loaded.append((key, noisy, clean, nsr, npath, cpath))

    rates = {sr for _, _, _, sr, _, _ in loaded}
    if sample_rate is None and len(rates) > 1:
        odd = next(p for _, _, _, sr, p, _ in loaded if sr != loaded[0][3])
        raise DataError(
            f"{odd}: at a different rate from {loaded[0][4]} ({sorted(rates)} Hz in the set); "
            "pass sample_rate= to resample everything to one rate"
        )
    native = loaded[0][3]
    target = sample_rate or native
    store = _LabelStore(root, native) if layout == "bench" and len(rates) == 1 else None

    def conv(x: np.ndarray, sr: int) -> np.ndarray:
        if sr == target:
            return _readonly(to_int16(x))
        return _readonly(to_int16(resample(x, sr, target)))

    utts = []
    for key, noisy, clean, sr, npath, cpath in loaded:
        row = labels.get(key) or labels.get(npath.name) or labels.get(npath.stem) or {}
        snr = row.get("snr_db", "").strip()
        utts.append(
            Utterance(
                id=key,
                noisy=conv(noisy, sr),
                clean=None if clean is None else conv(clean, sr),
                sample_rate=target,
                noise_class=row.get("noise_class", "").strip() or None,
                snr_db=float(snr) if snr else None,
                noisy_path=npath,
                clean_path=cpath,
                meta=dict(row),
                _labels=store,
            )
        )
    return TestSet(utterances=tuple(utts), sample_rate=target, layout=layout, root=root)
