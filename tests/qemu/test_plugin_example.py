"""The pytest plugin (bench.pytest_plugin, entry point pytest11) as a lab uses it: the ten-line
example of docs/farm.md run by pytest in a subprocess on QEMU with --junitxml; the figures it
records (record_property) are read back from the XML."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "farm.md"


def example_from_docs() -> str:
    """The first ```python block of docs/farm.md that defines test_my_model_realtime."""
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        if "def test_my_model_realtime" in block:
            return block
    raise AssertionError("docs/farm.md shows no test_my_model_realtime example")


def test_plugin_example_records_properties_in_junit(tmp_path):
    src = example_from_docs()
    assert len(src.strip().splitlines()) <= 12
    (tmp_path / "test_lab.py").write_text(src + '''

import pytest

@pytest.mark.parametrize("bench_image", ["passthrough-an386"], indirect=True)
def test_indirect(bench_session):
    r = bench_session.process(bench_session.hops([1000] * 320))
    r += bench_session.process(bench_session.hops([-1000] * 320))
    assert len(r) >= 4 and bench_session.hello.image_name == "passthrough-an386"
    assert bench_session.frames == len(r)
''')
    xml = tmp_path / "junit.xml"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_lab.py",
                        "--bench-target", "qemu-mps2-an386-sh", "--bench-image", "dsp-baseline-an386",
                        f"--junitxml={xml}", "-o", "junit_family=xunit1"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    cases = {c.get("name"): {q.get("name"): q.get("value") for q in c.iter("property")}
             for c in ET.parse(xml).getroot().iter("testcase")}
    props = cases["test_my_model_realtime"]
    assert props["bench_image"] == "dsp-baseline-an386" and props["bench_unit"] == "instructions"
    assert float(props["bench_instructions_per_frame_mean"]) > 0 and int(props["bench_frames"]) > 0
    assert 0 < float(props["bench_rtf_mean"]) < 1 and float(props["bench_joules_per_frame_mean"]) > 0
    ind = cases["test_indirect[passthrough-an386]"]
    assert ind["bench_image"] == "passthrough-an386" and int(ind["bench_frames"]) >= 4
    names = [q.get("name") for c in ET.parse(xml).getroot().iter("testcase")
             if c.get("name") == "test_indirect[passthrough-an386]" for q in c.iter("property")]
    assert len(names) == len(set(names)), "process() twice records each figure once"
