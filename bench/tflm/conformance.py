"""Bit-exact comparison with TFLM that explains itself: the first differing element, both
values, and the inputs at that element (or whole, when small)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def _describe_input(name: str, v: Any, idx: tuple[int, ...], flat: int) -> str:
    a = np.asarray(v)
    if a.ndim == 0:
        return f"{name} = {a.item()}"
    if a.size <= 16:
        return f"{name} = {a.tolist()}"
    if a.ndim >= 1 and a.shape[-1] == a.size and flat < a.size:  # 1-D, same indexing as the output
        return f"{name}[{flat}] = {a.reshape(-1)[flat]} (shape {a.shape})"
    if a.ndim == 2 and idx and idx[-1] < a.shape[0]:  # a weight matrix: the row of that output
        return f"{name}[{idx[-1]}] = {a[idx[-1]].tolist()[:32]}{' ...' if a.shape[1] > 32 else ''}"
    return f"{name}: shape {a.shape}"


def mismatch(what: str, tflm: np.ndarray, ours: np.ndarray, inputs: Mapping[str, Any] | None = None) -> str | None:
    """None when equal (shape and values); else a message naming the first difference."""
    t, o = np.asarray(tflm), np.asarray(ours)
    if t.shape != o.shape:
        return f"{what}: shapes differ, TFLM {t.shape}, ours {o.shape}"
    diff = np.flatnonzero(t.reshape(-1) != o.reshape(-1))
    if diff.size == 0:
        return None
    flat = int(diff[0])
    idx = tuple(int(i) for i in np.unravel_index(flat, t.shape))
    parts = [f"{what}: {diff.size} of {t.size} elements differ; first at index {flat if t.ndim == 1 else idx}: "
             f"TFLM {t.reshape(-1)[flat]}, ours {o.reshape(-1)[flat]}"]
    for name, v in (inputs or {}).items():
        parts.append("  " + _describe_input(name, v, idx, flat))
    return "\n".join(parts)


def assert_bit_exact(what: str, tflm: np.ndarray, ours: np.ndarray, inputs: Mapping[str, Any] | None = None) -> None:
    msg = mismatch(what, tflm, ours, inputs)
    if msg is not None:
        raise AssertionError(msg)
