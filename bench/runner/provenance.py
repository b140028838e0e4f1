"""Provenance of a run: what made these numbers (bench, git, host, emulator, toolchain)."""

from __future__ import annotations

import getpass
import platform
import socket
import subprocess
from typing import Any

from bench import __version__
from bench.errors import BenchError
from bench.imagebuild import toolchain_version
from bench.paths import repo_root
from bench.targets import TargetSpec


def git_revision() -> str:
    try:
        r = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo_root(), capture_output=True,
                           text=True, timeout=5)
        rev = r.stdout.strip() or "unknown"
        d = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_root(),
                           capture_output=True, text=True, timeout=5)
        return rev + ("-dirty" if d.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(target: TargetSpec) -> dict[str, Any]:
    from bench.targets.drivers.qemu import qemu_version

    try:
        tc = toolchain_version()
    except BenchError:
        tc = "not installed"
    return {
        "bench_version": __version__,
        "git_revision": git_revision(),
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "qemu_version": qemu_version() if target.driver == "qemu" else None,
        "toolchain": tc,
    }
