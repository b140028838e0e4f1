"""The pytest plugin without an emulator: registered under pytest11, its options and fixtures
there, a missing image a usage error that says what to give, and nothing taken from labgrid
without --lg-env. (tests/qemu/test_plugin_example.py runs it on QEMU; tests/qemu/test_plugin_labgrid.py
runs the --lg-env path on a loopback labgrid lab.)"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from bench import pytest_plugin


def test_registered_as_a_pytest11_plugin():
    eps = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert eps.get("bench") == "bench.pytest_plugin"


def test_missing_image_is_a_usage_error_and_the_options_are_ours(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x(bench_image):\n    pass\n")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_x.py"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "--bench-image" in p.stdout + p.stderr
    h = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120).stdout
    assert "--bench-target" in h and "--bench-image" in h


class _Config:
    stash: dict = {}  # labgrid's plugin leaves no environment there without --lg-env

    def getoption(self, name):
        raise ValueError(name)  # what pytest does for an option no plugin added


def test_no_lg_env_no_labgrid_target_or_place():
    assert pytest_plugin._labgrid_target_name(_Config()) is None
    assert pytest_plugin._labgrid_place(_Config()) is None
