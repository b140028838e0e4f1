"""Compile firmware C sources with the host gcc into a shared library, for ctypes tests.

Flags are fixed so that float code behaves as on the Cortex-M4F: ``-ffp-contract=off``
(no fused multiply-add), no ``-ffast-math``, C99, ``-O2`` like the firmware images. The
result is cached in ``build/native/<name>-<hash>.so``; the hash covers the compiler version,
the flags, the defines, and the contents of the sources and of every header in the include
directories, so a change anywhere rebuilds.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from bench.paths import repo_root

HOST_CC = os.environ.get("BENCH_HOST_CC", "gcc")
BASE_CFLAGS = ("-O2", "-fPIC", "-shared", "-ffp-contract=off", "-std=c99", "-Wall", "-Wextra")


class NativeBuildError(RuntimeError):
    pass


def cache_dir() -> Path:
    return repo_root() / "build" / "native"


def _cc_version(cc: str) -> str:
    if shutil.which(cc) is None:
        raise NativeBuildError(f"host compiler {cc!r} not found")
    r = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True)
    return r.stdout.splitlines()[0]


def _define_flags(defines: Mapping[str, object] | Iterable[str] | None) -> list[str]:
    if not defines:
        return []
    if isinstance(defines, Mapping):
        return [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in defines.items()]
    return [d if d.startswith("-D") else f"-D{d}" for d in defines]


def build_shared(
    sources: list[Path],
    include_dirs: Iterable[Path] = (),
    defines: Mapping[str, object] | Iterable[str] | None = None,
    name: str = "native",
    extra_cflags: Iterable[str] = (),
) -> Path:
    """Compiles ``sources`` into one shared library and returns its (cached) path."""
    srcs = [Path(s).resolve() for s in sources]
    incs = [Path(d).resolve() for d in include_dirs]
    cc = HOST_CC
    flags = [*BASE_CFLAGS, *extra_cflags, *_define_flags(defines), *[f"-I{d}" for d in incs]]
    h = hashlib.sha256()
    h.update(_cc_version(cc).encode() + b"\0")
    for f in flags:
        h.update(f.encode() + b"\0")
    headers = sorted({p for d in incs if d.is_dir() for p in d.glob("*.h")})
    for p in [*srcs, *headers]:
        h.update(str(p).encode() + b"\0")
        h.update(p.read_bytes())
    out_dir = cache_dir()
    out = out_dir / f"{name}-{h.hexdigest()[:16]}.so"
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    # Build to a temporary name and rename: concurrent test workers never see a partial file.
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".so", dir=out_dir)
    os.close(fd)
    cmd = [cc, *flags, "-o", tmp, *map(str, srcs), "-lm"]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if r.returncode != 0:
        Path(tmp).unlink(missing_ok=True)
        raise NativeBuildError(f"host build of {name} failed:\n{' '.join(cmd)}\n{r.stderr}")
    os.replace(tmp, out)
    return out


def load(path: Path) -> ctypes.CDLL:
    return ctypes.CDLL(str(path))


def build_and_load(
    sources: list[Path],
    include_dirs: Iterable[Path] = (),
    defines: Mapping[str, object] | Iterable[str] | None = None,
    name: str = "native",
    extra_cflags: Iterable[str] = (),
) -> ctypes.CDLL:
    return load(build_shared(sources, include_dirs, defines, name, extra_cflags))
