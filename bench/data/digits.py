"""The digits task of the mixed-precision GRU family (docs/mpgru.md): scikit-learn's bundled 8x8
handwritten digits (1797 images, no download), read row by row as a sequence of 8 steps of 8 pixels
(0..16, scaled to 0..1), class 0..9 at the last step. Needs scikit-learn (the `search` extra).

Split: image i is in the test split when i % 5 == 0 (360 images), else in the train split."""

from __future__ import annotations

import numpy as np

from bench.errors import DataError


def load_digits_sequences(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(sequences (N, 8, 8) float64 in 0..1, labels (N,) int64) of ``split`` ('train' or 'test')."""
    if split not in ("train", "test"):
        raise DataError(f"digits: split must be 'train' or 'test', not {split!r}")
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("the digits task needs scikit-learn: pip install -e .[search]") from None
    d = load_digits()
    x = np.asarray(d.data, np.float64).reshape(-1, 8, 8) / 16.0
    y = np.asarray(d.target, np.int64)
    test = np.arange(len(y)) % 5 == 0
    keep = test if split == "test" else ~test
    return x[keep], y[keep]
