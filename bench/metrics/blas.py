"""Keep OpenBLAS single-threaded while scoring.

The metrics call BLAS on small problems (pystoi's band matrices, vector products), where
OpenBLAS's thread pool gains nothing and, on a busy machine (a few QEMU instances, a
process pool with one worker per core), spinning threads make a 40k-sample dot product
1000x slower. :func:`single_threaded_blas` sets every loaded OpenBLAS (numpy and scipy
each bundle one) to one thread and restores the previous count on exit. Best effort: it
does nothing where the libraries or their symbols cannot be found.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator
from typing import Any

_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)

_cache: dict[str, tuple[Any, Any] | None] = {}  # path -> (get, set) C functions


def _loaded_openblas() -> list[str]:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split(None, 5)[-1].strip() for line in fh if "/" in line}
    except OSError:
        return []
    return sorted(p for p in paths if "openblas" in os.path.basename(p).lower() and ".so" in p)


def _controls(path: str) -> tuple[Any, Any] | None:
    if path not in _cache:
        found = None
        try:
            lib = ctypes.CDLL(path)
            for get_name, set_name in _SYMBOLS:
                if hasattr(lib, get_name) and hasattr(lib, set_name):
                    get, set_ = getattr(lib, get_name), getattr(lib, set_name)
                    get.restype = ctypes.c_int
                    set_.argtypes = [ctypes.c_int]
                    found = (get, set_)
                    break
        except OSError:
            found = None
        _cache[path] = found
    return _cache[path]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the body with every loaded OpenBLAS at one thread (see the module doc)."""
    saved = []
    for path in _loaded_openblas():
        c = _controls(path)
        if c is None:
            continue
        get, set_ = c
        try:
            n = int(get())
            if n != 1:
                set_(1)
                saved.append((set_, n))
        except Exception:  # a foreign ABI: leave that library alone
            continue
    try:
        yield
    finally:
        for set_, n in saved:
            set_(n)
