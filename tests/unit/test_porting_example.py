"""docs/porting.md's example: a lab's own model behind the bench agent. The glue and the lab's
model, built natively with the real agent, answer the host session (HELLO, CONFIGURE, PROCESS
with per-stage counters and side information) bit-exactly; all example files, the lab's main
loop included, compile for the Cortex-M4F with strict warnings."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from native_agent import NativeAgentTransport, load_agent

from bench.link.session import Session
from bench.paths import repo_root

EX = repo_root() / "firmware" / "examples" / "lab_app"
HOP = 160

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")


def highpass(x: np.ndarray, pole_q15: int) -> tuple[np.ndarray, int]:
    """The lab model's arithmetic, spelled out (the test's own re-implementation)."""
    y = np.zeros(x.size, np.int16)
    xp = yp = clipped = 0
    for i, v in enumerate(x.astype(np.int64)):
        acc = ((int(v) - xp) << 15) + pole_q15 * yp
        r = (acc + (1 << 14)) >> 15
        if r > 32767 or r < -32768:
            clipped += 1
            r = max(-32768, min(32767, r))
        xp, yp, y[i] = int(v), r, r
    return y, clipped


@pytest.fixture(scope="module")
def lib():
    return load_agent([EX / "lab_model.c", EX / "bench_glue.c"], name="agent_lab_example")


def test_lab_model_behind_the_agent_is_bit_exact(lib):
    s = Session(NativeAgentTransport(lib), window=4, timeout=0.05, poll=0)
    h = s.hello()
    assert (h.model_family, h.hop_len, h.frame_len) == ("lab-highpass", HOP, HOP)
    assert list(h.stage_names) == ["frontend", "invoke"]
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(0, 9000, 12 * HOP), -32768, 32767).astype(np.int16)
    x[5 * HOP: 5 * HOP + 40] = 32767  # a step that makes the filter clip
    for pole in (31130, 16384):
        s.reset_state()
        s.configure({"pole_q15": pole})
        res = list(s.process_stream(x.reshape(-1, HOP)))
        got = np.concatenate([r.pcm for r in res])
        want, clipped = highpass(x, pole)
        assert np.array_equal(got, want)
        assert all(len(r.stage_ticks) == 2 and r.total_ticks >= sum(r.stage_ticks) > 0 for r in res)
        # the glue reports the clipped samples of each hop as an I32 statistic (tag 1)
        assert clipped > 0 and sum(r.side.stats[1] for r in res) == clipped


def test_bad_option_is_refused(lib):
    from bench.errors import DeviceError

    s = Session(NativeAgentTransport(lib), window=1, timeout=0.05, poll=0)
    s.hello()
    with pytest.raises(DeviceError):
        s.configure({"pole_q15": 40000})
    with pytest.raises(DeviceError):
        s.configure({"no_such_option": 1})


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_example_compiles_for_cortex_m4(tmp_path):
    agent = repo_root() / "firmware" / "agent"
    for src in ("lab_model.c", "bench_glue.c", "lab_main.c"):
        subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-O2", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                        "-mfpu=fpv4-sp-d16", "-Wall", "-Wextra", "-Werror", "-ffreestanding", f"-I{agent}",
                        f"-I{EX}", "-c", str(EX / src), "-o", str(tmp_path / (src + ".o"))],
                       check=True, capture_output=True, text=True)
