import dataclasses
from pathlib import Path

import numpy as np
import pytest

from bench.targets.drivers.qemu import QemuDriver
from bench.images import find_image
from bench.link.session import Session
from bench.targets import load_target


@dataclasses.dataclass
class Utt:
    id: str
    noisy: np.ndarray
    sample_rate: int = 16000
    clean: np.ndarray | None = None


@pytest.fixture(scope="session")
def an386():
    return load_target("qemu-mps2-an386")


@pytest.fixture()
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


@pytest.fixture()
def synth_utts():
    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    noise = (rng.standard_normal(12000) * 2000).astype(np.int16)
    return [Utt("tone", tone), Utt("noise", noise)]


@pytest.fixture()
def session_for(an386, tmp_path):
    drivers = []

    def start(image_name: str, **kw) -> Session:
        d = QemuDriver(an386, tmp_path / image_name)
        d.start(find_image(image_name).path)
        drivers.append(d)
        return Session(d.open_link(), **kw)

    yield start
    for d in drivers:
        d.stop()


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent.name == "qemu":
            item.add_marker(pytest.mark.qemu)
