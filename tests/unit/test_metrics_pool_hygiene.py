"""Scoring workers end with bench: a SIGKILLed parent leaves no worker process behind, nor the
fork server they start from, nor multiprocessing's resource tracker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

SCRIPT = r"""
import os, sys, time
from bench.metrics.pool import worker_pool

ex = worker_pool(2)
futs = [ex.submit(time.sleep, 60) for _ in range(2)]
time.sleep(1.0)
print(" ".join(str(p) for p in ex._processes), flush=True)
time.sleep(60)
"""


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_workers_die_with_a_killed_parent():
    p = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    pids = [int(x) for x in p.stdout.readline().split()]
    assert pids and all(_alive(x) for x in pids)
    helpers = _children(p.pid)  # the fork server and the resource tracker
    assert len(helpers) >= 1
    pids += helpers
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(x) for x in pids):
        time.sleep(0.05)
    assert not any(_alive(x) for x in pids), f"outlived bench: {[x for x in pids if _alive(x)]}"


HELD = threading.Lock()  # held by "another bench thread" while the pool starts


def _needs_the_lock() -> str:
    with HELD:
        return "scored"


def test_a_lock_another_thread_holds_does_not_reach_the_workers():
    """bench scores one image while other image threads stream; a worker forked from bench would
    inherit a lock held at that instant and wait on it forever (stop 11's CI run hung so)."""
    from bench.metrics.pool import worker_pool

    with HELD, worker_pool(2) as ex:
        fut = ex.submit(_needs_the_lock)
        assert fut.result(timeout=60) == "scored"
