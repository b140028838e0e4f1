"""Scoring workers end with bench: a SIGKILLed parent leaves no worker process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

SCRIPT = r"""
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from bench.metrics.pool import _die_with_parent

ex = ProcessPoolExecutor(max_workers=2, initializer=_die_with_parent, initargs=(os.getpid(),))
futs = [ex.submit(time.sleep, 60) for _ in range(2)]
time.sleep(1.0)
print(" ".join(str(p) for p in ex._processes), flush=True)
time.sleep(60)
"""


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
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(x) for x in pids):
        time.sleep(0.05)
    assert not any(_alive(x) for x in pids), "a scoring worker outlived its parent"
