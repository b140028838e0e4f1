"""The sequential tasks of the mixed-precision GRU family: what a model sees per step and what it
predicts. Every task needs nothing from the internet (docs/mpgru.md):

* ``digits``: scikit-learn's 8x8 digits read row by row (8 steps of 8 pixels), class at the last step;
* ``vad``: frame-level voice activity on the bench's generated speech in noise (16 log band energies
  per 16 ms hop);
* ``noise``: the utterance's noise class (8 classes) from the same features, at the last frame;
* ``kws``: keyword spotting, 10 keywords + "unknown" spoken by espeak-ng voices in one second of
  the generator's noises (bench.data.kws), the same features, class at the last frame.

Splits are speaker-disjoint (bench.data.speechsplit): the speech tasks train on eight voices and
test on four held-out ones; the test split's two halves (``halves``: the search optimises on one,
results are reported on the other) are themselves voice-disjoint, and noise classes are not tied
to a half. Digits (no writer labels) are halved at random, stratified by class, with a fixed seed.

``Split`` holds float feature sequences and labels; the int8 inputs a model (and an image) gets are
the features quantised with the model's input parameters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import ConfigError
from bench.paths import repo_root

SPEECH_SETS = {"train": ("build/mpgru/speech-train", 0, 240), "test": ("build/mpgru/speech-test-v2", 1, 192)}
KWS_SETS = {"train": (2200, 0), "test": (1320, 0)}  # clips, seed (test: 4 of 12 voices, all of them held out)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    input_size: int
    n_classes: int
    level: str          # "frame": a label per step; "utterance": one label, read at the last step
    classes: tuple[str, ...]
    doc: str


TASKS: dict[str, TaskSpec] = {
    "digits": TaskSpec("digits", 8, 10, "utterance", tuple(str(i) for i in range(10)),
                       "sklearn digits, 8 rows of 8 pixels, class at the last row"),
    "vad": TaskSpec("vad", 16, 2, "frame", ("noise", "speech"),
                    "frame-level voice activity, 16 log mel band energies per 16 ms hop"),
    "noise": TaskSpec("noise", 16, 8, "utterance",
                      ("white", "pink", "brown", "babble", "hum", "fan", "keyboard", "music"),
                      "noise class of the utterance from the same features, at the last frame"),
    "kws": TaskSpec("kws", 16, 11, "utterance",
                    ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "unknown"),
                    "keyword spotting: 1 s clips, espeak-ng voices in the generator's noises, class at the last frame"),
}


def task_spec(name: str) -> TaskSpec:
    if name not in TASKS:
        raise ConfigError(f"unknown mpgru task {name!r}; tasks: {', '.join(TASKS)}")
    return TASKS[name]


@dataclass(frozen=True, eq=False)
class Split:
    """Feature sequences (each (T_i, F) float64) and labels (frame: (T_i,) int; utterance: int)."""

    task: str
    xs: tuple[np.ndarray, ...]
    ys: tuple[np.ndarray | int, ...]
    ids: tuple[str, ...]
    groups: tuple[str, ...] = ()   # the speaker (voice) of each sequence; () where there is none

    def __len__(self) -> int:
        return len(self.xs)

    def take(self, idx: list[int] | np.ndarray) -> Split:
        g = tuple(self.groups[i] for i in idx) if self.groups else ()
        return Split(self.task, tuple(self.xs[i] for i in idx), tuple(self.ys[i] for i in idx),
                     tuple(self.ids[i] for i in idx), g)

    def head(self, n: int | None) -> Split:
        if n is None:
            return self
        return self.take(list(range(min(n, len(self)))))


def halves(split: Split) -> tuple[Split, Split]:
    """(search half, report half) of a test split: by speaker where the split has speakers
    (SEARCH_VOICES / REPORT_VOICES), else a seeded random halving stratified by class."""
    from bench.data.speechsplit import REPORT_VOICES, SEARCH_VOICES

    if split.groups:
        a = [i for i, g in enumerate(split.groups) if g in SEARCH_VOICES]
        b = [i for i, g in enumerate(split.groups) if g in REPORT_VOICES]
        if not a or not b:
            raise ConfigError(f"{split.task} test split: no sequences of the search or the report voices")
        return split.take(a), split.take(b)
    rng = np.random.default_rng(0x5EA7)
    a, b = [], []
    labels = [int(y) if np.ndim(y) == 0 else -1 for y in split.ys]
    for c in sorted(set(labels)):
        idx = [i for i, y in enumerate(labels) if y == c]
        perm = [idx[int(k)] for k in rng.permutation(len(idx))]
        a += perm[0::2]
        b += perm[1::2]
    return split.take(sorted(a)), split.take(sorted(b))


def speech_set_dir(split: str) -> Path:
    """The generated speech-in-noise set of ``split`` (made on first use; deterministic)."""
    rel, seed, n = SPEECH_SETS[split]
    d = repo_root() / rel
    if not (d / "labels.csv").is_file():
        from bench.data.generate import make_set

        make_set(d, seed, n, split, overwrite=True)
    return d


def load_split(task: str, split: str) -> Split:
    spec = task_spec(task)
    if task == "digits":
        from bench.data.digits import load_digits_sequences

        x, y = load_digits_sequences(split)
        return Split(task, tuple(x), tuple(int(v) for v in y), tuple(f"digit{i:04d}" for i in range(len(y))))
    from bench.data.speechsplit import voices_for

    if task == "kws":
        from bench.data.kws import kws_set

        n, seed = KWS_SETS[split]
        x, y, voices, _ = kws_set(split, n, seed)
        return Split(task, tuple(x), tuple(int(v) for v in y), tuple(f"kws_{split}_{i:05d}" for i in range(len(y))),
                     tuple(voices))
    from bench.data.speechfeat import load_speech_task

    feats, labels, ids, spoken = load_speech_task(speech_set_dir(split), spec.name, voices_for(split))
    return Split(task, tuple(feats), tuple(labels), tuple(ids), tuple(spoken))
