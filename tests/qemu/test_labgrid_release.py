"""A labgrid place is released however `bench run` ends: SIGTERM (what `bench farm run` sends at a
place's timeout) and Ctrl-C (SIGINT) in the middle of streaming, checked through labgrid's
coordinator; the run is kept as "interrupted" with its resume command. A loopback lab with one
emulated board (tests/qemu/labgrid_lab.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from labgrid_lab import Lab, require_labgrid  # noqa: E402


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_place_released_on_sigterm_and_ctrl_c(tmp_path, sig):
    require_labgrid()
    from bench.targets.drivers.labgrid.places import Coordinator

    lab = Lab(tmp_path / "lab", {"exp1": ["emu-a"]})
    try:
        lab.start()
        results = tmp_path / "results"
        env = {**lab.env, "LG_PLACE": "emu-a", "BENCH_RESULTS": str(results), "BENCH_CACHE_DIR": str(tmp_path / "c")}
        p = subprocess.Popen([sys.executable, "-m", "bench.cli", "run", "--target", "labgrid-netduinoplus2",
                              "--image", "dsp-baseline-netduinoplus2", "--no-metrics"],  # the whole set: still
                             # streaming when the signal comes (two utterances can finish within the second)
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             # Ctrl-C as at a terminal, even when this test runs as a background job (whose
                             # SIGINT is ignored, and Python then keeps it ignored)
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        end = time.monotonic() + 120
        while True:  # streaming: the run records the board once it is flashed and running
            metas = [json.loads(f.read_text()) for f in results.glob("*/run.json")]
            if any(v.get("target_uid") for m in metas for v in m["images"].values()):
                break
            assert p.poll() is None and time.monotonic() < end, p.communicate()[0][-3000:]
            time.sleep(0.1)
        with Coordinator(lab.address) as c:
            assert c.places()["emu-a"].acquired is not None  # held while the run streams
        time.sleep(1.0)
        p.send_signal(sig)
        out, _ = p.communicate(timeout=60)
        assert p.returncode != 0, out[-2000:]
        with Coordinator(lab.address) as c:
            assert c.places()["emu-a"].acquired is None, out[-2000:]
        meta = json.loads(next(results.glob("*/run.json")).read_text())
        assert meta["status"] == "interrupted" and "--resume" in meta["reason"]
    finally:
        if "p" in locals() and p.poll() is None:  # a failed check must not leave its bench running
            p.kill()
            p.wait()
        lab.close()
