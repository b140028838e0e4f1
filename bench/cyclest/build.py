"""Builds the cm4cycles QEMU plugin with the host C compiler, cached by the content of its sources.

The shared object lands in ``$BENCH_CACHE_DIR/cyclest/`` (default ``$XDG_CACHE_HOME/bench`` or
``~/.cache/bench``) under a name that carries a hash of the sources, the flags and the compiler,
so any change to them builds a new one and an unchanged tree reuses the old one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.cyclest.errors import CyclestError
from bench.paths import firmware_dir

SOURCES = ("cm4cycles.c", "cm4_timing.c")
HEADERS = ("cm4_timing.h", "qemu_plugin_api.h")
CFLAGS = ("-std=c99", "-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-Wall", "-Wextra")


def plugin_source_dir() -> Path:
    return firmware_dir() / "qemu_plugin"


def cache_dir() -> Path:
    """Where built plugins are kept (created on demand)."""
    root = os.environ.get("BENCH_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "bench"
    return base / "cyclest"


def _compiler(cc: str) -> str:
    path = shutil.which(cc)
    if path is None:
        raise CyclestError(
            f"host C compiler {cc!r} not found: the cycle-estimate plugin (firmware/qemu_plugin) is built with it; "
            "install gcc (scripts/bootstrap does)"
        )
    return path


def _compiler_identity(cc_path: str) -> str:
    r = subprocess.run([cc_path, "--version"], capture_output=True, text=True)
    return r.stdout.splitlines()[0] if r.returncode == 0 and r.stdout else cc_path


def source_digest(src_dir: Path | None = None, compiler_identity: str = "") -> str:
    """sha256 over the plugin's sources, the flags and the compiler identity."""
    src = src_dir or plugin_source_dir()
    h = hashlib.sha256()
    h.update(" ".join(CFLAGS).encode())
    h.update(b"\0" + compiler_identity.encode() + b"\0")
    for name in (*SOURCES, *HEADERS):
        path = src / name
        if not path.is_file():
            raise CyclestError(f"plugin source {path} is missing")
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def build_plugin(*, cc: str = "gcc", src_dir: Path | None = None, out_dir: Path | None = None,
                 force: bool = False) -> Path:
    """The path of the built plugin (``cm4cycles-<hash>.so``), compiling it if this source has not been built."""
    cc_path = _compiler(cc)
    src = src_dir or plugin_source_dir()
    digest = source_digest(src, _compiler_identity(cc_path))
    out = out_dir or cache_dir()
    target = out / f"cm4cycles-{digest[:16]}.so"
    if target.is_file() and not force:
        return target
    out.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".cm4cycles-", suffix=".so", dir=out)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        cmd = [cc_path, *CFLAGS, "-o", str(tmp), *(str(src / s) for s in SOURCES)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise CyclestError(f"building the cycle-estimate plugin failed ({' '.join(cmd)}):\n{r.stderr.strip()}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def check_qemu_plugin_support(qemu: str = "qemu-system-arm") -> str:
    """The path of ``qemu``, after checking that it accepts ``-plugin`` (QEMU built with --enable-plugins)."""
    path = shutil.which(qemu)
    if path is None:
        raise CyclestError(f"{qemu} not found: install QEMU (scripts/bootstrap does)")
    r = subprocess.run([path, "-h"], capture_output=True, text=True)
    if "-plugin" not in r.stdout:
        raise CyclestError(
            f"{path} was built without TCG plugin support (no -plugin option), so it cannot estimate cycles; "
            "use a QEMU configured with --enable-plugins (Debian's qemu-system-arm 7.2 is)"
        )
    return path


def ensure_plugin(qemu: str = "qemu-system-arm", cc: str = "gcc") -> Path:
    """Checks that ``qemu`` can load plugins and returns the built plugin."""
    check_qemu_plugin_support(qemu)
    return build_plugin(cc=cc)
