"""Hardware-in-the-loop: needs a real board. Set BENCH_HIL_TARGET=<target name> (a pyOCD
target TOML) and BENCH_HIL_IMAGE=<image name>; skipped otherwise."""

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.hil

TARGET = os.environ.get("BENCH_HIL_TARGET")
IMAGE = os.environ.get("BENCH_HIL_IMAGE")


@pytest.mark.skipif(not (TARGET and IMAGE), reason="no board: set BENCH_HIL_TARGET and BENCH_HIL_IMAGE")
def test_board_answers_hello_and_counts_cycles(tmp_path: Path) -> None:
    import numpy as np

    from bench.images import find_image, verify_image
    from bench.link.session import Session
    from bench.runner.stream import check_hello
    from bench.targets import load_target
    from bench.targets.drivers import make_driver

    target = load_target(TARGET)  # type: ignore[arg-type]
    entry = find_image(IMAGE)  # type: ignore[arg-type]
    verify_image(entry, target)
    with make_driver(target, tmp_path) as drv:
        drv.start(entry.path)
        s = Session(drv.open_link())
        check_hello(s.hello(), entry)
        s.reset_state()
        (r,) = s.process_stream([np.zeros(s.hello_info.hop_len, np.int16)])  # type: ignore[union-attr]
        assert r.total_ticks > 0
