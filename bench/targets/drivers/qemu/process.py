"""Emulator processes that cannot outlive the bench, and what their exit status means.

Every QEMU (and its sandbox, bench.targets.drivers.qemu.sandbox) is started

* in its own session and process group (`start_new_session`): a Ctrl-C in the terminal reaches
  the bench only, which stops the run in order and then QEMU, instead of QEMU dying first and the
  run reporting a broken link; and `stop()` kills the whole group (bwrap and what runs in it);
* with `prctl(PR_SET_PDEATHSIG, SIGKILL)` (Linux, through ctypes in the child before exec): when
  the bench dies on any path, SIGKILL included, the kernel kills QEMU. The signal is tied to the
  thread that started the child, not the process: a driver must be started and stopped by one
  thread that outlives the emulator (the runner's main thread, or an image worker of `--jobs`,
  which starts and stops its QEMU within one `_run_image` call);
* without core dumps (RLIMIT_CORE 0): a QEMU that aborts (a guest lockup is `qemu: fatal`) leaves
  no core file behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

PR_SET_PDEATHSIG = 1
_prctl: Any = None


def _load_prctl() -> Any:
    global _prctl
    if _prctl is None and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        f = libc.prctl
        f.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        f.restype = ctypes.c_int
        _prctl = f
    return _prctl


def child_setup(parent_pid: int) -> Callable[[], None]:
    """The preexec_fn: die with the parent, no core dumps. Everything it needs is looked up here,
    in the parent, so that the child between fork and exec only makes two system calls."""
    prctl = _load_prctl()
    sigkill = int(signal.SIGKILL)

    def setup() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
            if os.getppid() != parent_pid:  # the parent died before prctl: do not outlive it
                os._exit(111)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return setup


def spawn(cmd: Sequence[str], **kw: Any) -> subprocess.Popen[bytes]:
    """subprocess.Popen with the module's guarantees (own process group, death with the bench)."""
    return subprocess.Popen(list(cmd), start_new_session=True, preexec_fn=child_setup(os.getpid()), **kw)


def kill_group(p: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM to p's process group, SIGKILL after `grace` seconds; p is reaped. Never raises."""
    if p.poll() is not None:
        return  # the leader is gone and reaped; its sandbox (if any) died with it (--die-with-parent)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, sig)
        try:
            p.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # members of the group that outlived the leader (none expected): one last SIGKILL
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, signal.SIGKILL)


def wait_exit(p: subprocess.Popen[bytes], timeout: float) -> int | None:
    """p's exit status once it has exited within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        rc = p.poll()
        if rc is not None or time.monotonic() >= deadline:
            return rc
        time.sleep(0.02)


def signal_of(rc: int, sandboxed: bool) -> int | None:
    """The signal that killed QEMU, from its (or its sandbox's) exit status; None for an exit."""
    if rc < 0:
        return -rc
    if sandboxed and rc > 128:  # bwrap exits 128 + N when the program it ran was killed by signal N
        return rc - 128
    return None


def describe_exit(rc: int, sandboxed: bool, stderr: str) -> str:
    """What QEMU's end means, in words, with what to do."""
    sig = signal_of(rc, sandboxed)
    if "Lockup" in stderr:
        return ("the emulated core locked up (a fault while handling a fault, or with faults masked): the image "
                "crashed; debug it (e.g. QEMU's -d guest_errors,int in the target's [qemu] extra_args)")
    if "bwrap:" in stderr and rc == 1:
        return "the sandbox around QEMU did not start"
    if sig is not None:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == signal.SIGABRT:
            return f"QEMU aborted ({name}): see its message above"
        return (f"QEMU was killed by {name} (from outside: a user, a timeout or the out-of-memory killer); "
                "finish the run with `bench run --resume`")
    return (f"QEMU exited with status {rc}: the image ended itself (a semihosting exit: a crash handler, or an "
            "image that is not a bench agent waiting for the host), or QEMU refused its arguments")
