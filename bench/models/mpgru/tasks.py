"""The sequential tasks of the mixed-precision GRU family: what a model sees per step and what it
predicts. Every task needs nothing from the internet (docs/mpgru.md):

* ``digits``: scikit-learn's 8x8 digits read row by row (8 steps of 8 pixels), class at the last step;
* ``vad``: frame-level voice activity on the bench's generated speech in noise (16 log band energies
  per 16 ms hop);
* ``noise``: the utterance's noise class (8 classes) from the same features, at the last frame.

``Split`` holds float feature sequences and labels; the int8 inputs a model (and an image) gets are
the features quantised with the model's input parameters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import ConfigError
from bench.paths import repo_root

SPEECH_SETS = {"train": ("build/mpgru/speech-train", 0, 240), "test": ("build/mpgru/speech-test", 1, 64)}


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

    def __len__(self) -> int:
        return len(self.xs)

    def head(self, n: int | None) -> Split:
        if n is None:
            return self
        return Split(self.task, self.xs[:n], self.ys[:n], self.ids[:n])


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
    from bench.data.speechfeat import load_speech_task

    feats, labels, ids = load_speech_task(speech_set_dir(split), spec.name)
    return Split(task, tuple(feats), tuple(labels), tuple(ids))
