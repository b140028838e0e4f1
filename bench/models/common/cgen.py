"""C source generation shared by the model exporters: exact float literals and array definitions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def hexf(v: np.float32) -> str:
    """A float32 as an exact C99 hex-float literal (``0x1.8p+1f``), signed zero kept."""
    f = float(np.float32(v))
    if f == 0.0:
        return "-0x0p+0f" if np.signbit(np.float32(v)) else "0x0p+0f"
    m, e = f.hex().split("p")
    m = m.rstrip("0")
    if m.endswith("."):
        m = m[:-1]
    return f"{m}p{e}f"


def c_int(v: object) -> str:
    return str(int(v))  # type: ignore[call-overload]


def c_array(ctype: str, name: str, values: np.ndarray, per_line: int = 24,
            fmt: Callable[[Any], str] = str, storage: str = "const") -> str:
    """``<storage> <ctype> <name>[n] = {...};`` (at least one element)."""
    flat = np.asarray(values).reshape(-1)
    rows = [", ".join(fmt(v) for v in flat[i:i + per_line]) for i in range(0, flat.size, per_line)]
    body = ",\n    ".join(rows) if rows else "0"
    return f"{storage} {ctype} {name}[{max(flat.size, 1)}] = {{\n    {body}}};\n"
