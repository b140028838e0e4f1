"""The pytest plugin composed with labgrid's (`--lg-env`), on a loopback labgrid lab: the lab's test
holds its place the labgrid way (`labgrid-client acquire`, a RemotePlace in env.yaml), the
environment names the bench target (`options: {bench_target: labgrid-netduinoplus2}`), and the
docs' ten-line example runs on that place's emulated board through labgrid's coordinator, ser2net and
the board host's pyOCD server, with its figures in the JUnit XML; bench uses the lab's lock and leaves
it held."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from labgrid_lab import Lab, require_labgrid  # noqa: E402
from test_plugin_example import example_from_docs  # noqa: E402

ENV = """targets:
  main:
    resources:
      RemotePlace:
        name: emu-a
options:
  bench_target: labgrid-netduinoplus2
"""


def test_plugin_on_a_labgrid_place_from_lg_env(tmp_path):
    require_labgrid()
    lab = Lab(tmp_path / "lab", {"exp1": ["emu-a"]})
    try:
        lab.start()
        lab.client("-p", "emu-a", "acquire")
        (tmp_path / "env.yaml").write_text(ENV)
        (tmp_path / "test_lab.py").write_text(example_from_docs())
        xml = tmp_path / "junit.xml"
        env = {**lab.env, "PYTHONDONTWRITEBYTECODE": "1", "BENCH_CACHE_DIR": str(tmp_path / "cache")}
        p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_lab.py",
                            "--lg-env", "env.yaml", "--lg-coordinator", lab.address,
                            "--bench-image", "dsp-baseline-netduinoplus2", f"--junitxml={xml}",
                            "-o", "junit_family=xunit1"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
        case = next(c for c in ET.parse(xml).getroot().iter("testcase") if c.get("name") == "test_my_model_realtime")
        props = {q.get("name"): q.get("value") for q in case.iter("property")}
        assert props["bench_target"] == "labgrid-netduinoplus2" and props["bench_unit"] == "instructions"
        assert int(props["bench_frames"]) >= 60 and 0 < float(props["bench_rtf_mean"]) < 0.5
        assert "emu-a" in lab.client("-p", "emu-a", "show") and "acquired: " + os.uname().nodename in \
            lab.client("-p", "emu-a", "show")  # the lab's lock, still held
    finally:
        lab.close()
