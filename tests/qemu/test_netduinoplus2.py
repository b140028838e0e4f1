"""The STM32F4 port (firmware/boards/stm32f4) on QEMU's netduinoplus2 (an STM32F405).

QEMU models the USART, TIM2..5 and the core, but not the RCC, DMA, GPIO, IWDG or the DWT:
the port must find that out by itself (bounded waits, read-backs), say so, and still run
the bench images end to end with exact instruction counts. The dsp-baseline image must be
bit-exact with the same model on mps2-an386, and its per-stage counts must differ from the
an386 counts only by the fixed cost of the port's counter read; so must the nsnet2-small and
dyncp-small-r25 images (one utterance each), which must also be bit-exact with their golden
models, and their counts must repeat run to run."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench.errors import DeviceError
from bench.images import find_image
from bench.link import messages as m
from bench.link.session import Session
from bench.runner import Runner, RunOptions
from bench.targets import load_target
from bench.targets.drivers.qemu import QemuDriver

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hil"))
import pyocd_checks as checks  # noqa: E402

TARGET = "qemu-netduinoplus2"
PASS = "passthrough-netduinoplus2"
DSP = "dsp-baseline-netduinoplus2"
DSP_AN386 = "dsp-baseline-an386"
STAGES = ["stage_stft", "stage_gain", "stage_istft"]


@pytest.fixture(scope="module")
def nd2():
    return load_target(TARGET)


@pytest.fixture()
def driver(nd2, tmp_path):
    drivers = []

    def start(elf):
        d = QemuDriver(nd2, tmp_path / f"qemu{len(drivers)}")
        d.start(elf)
        drivers.append(d)
        return d

    yield start
    for d in drivers:
        d.stop()


def test_hello_says_what_the_port_found(nd2, driver):
    """No RCC, DWT, DMA or GPIO in the model: the port falls back, says so at boot, and its
    HELLO announces TIM2 ticks at the rate the target TOML converts with."""
    s = Session(driver(find_image(PASS).path).open_link())
    h = s.hello()
    assert h.target_board == "netduinoplus2" and h.image_name == PASS
    assert h.counter_kind == 0  # timer ticks, not cycles
    assert h.counter_hz == nd2.counter.timer_hz == 1_000_000_000
    assert nd2.counter.kind == "instructions" and nd2.counter.icount_shift == 7
    assert not h.capabilities & 4, "marker capability announced although the GPIO does not answer"
    boot = s.device_output(2000)
    for said in ("clock not configured: RCC does not respond", "DWT CYCCNT does not count",
                 "DMA does not answer", "GPIO does not answer"):
        assert said in boot, boot


def test_passthrough_end_to_end(results_dir, synth_utts):
    run = Runner(RunOptions(target=TARGET, images=(PASS,), metrics=False), utterances=synth_utts).start()
    assert run.read_meta()["status"] == "done", run.read_meta()
    for u in synth_utts:
        assert np.array_equal(run.read_audio(PASS, u.id), u.noisy), u.id
    total = run.frames(PASS).column("total").to_numpy()
    assert len(set(total.tolist())) == 1 and 3000 < total[0] < 4000  # the agent's own overhead


def test_dsp_baseline_bit_exact_with_an386_and_counts_offset_by_the_counter_read(results_dir):
    """Two utterances of the shipped set, end to end with scoring on netduinoplus2 (over the
    UART), against the same model on mps2-an386: identical output WAVs, and per-stage counts
    that differ from the an386 ones by one constant (the port's counter read: TIM2 through a
    pointer plus the stage-pin toggle, instead of the CMSDK timer)."""
    from bench.results.store import read_json

    nd = Runner(RunOptions(target=TARGET, images=(DSP,), limit=2)).start()
    an = Runner(RunOptions(target="qemu-mps2-an386-sh", images=(DSP_AN386,), limit=2, metrics=False)).start()
    assert nd.read_meta()["status"] == "done", nd.read_meta()
    comp = read_json(nd.image_dir(DSP) / "comparison.json")
    assert comp["fidelity"]["target_vs_float"]["bit_exact_min"] == 1.0
    utts = sorted({p.stem for p in (nd.image_dir(DSP) / "audio").glob("*.wav")})
    assert len(utts) == 2
    for u in utts:
        assert np.array_equal(nd.read_audio(DSP, u), an.read_audio(DSP_AN386, u)), u
    fa, fb = nd.frames(DSP), an.frames(DSP_AN386)
    assert fa.column("utt").to_pylist() == fb.column("utt").to_pylist()
    offsets = {}
    for col in [*STAGES, "total"]:
        d = fa.column(col).to_numpy() - fb.column(col).to_numpy()
        assert len(set(d.tolist())) == 1, f"{col}: the difference varies from frame to frame"
        offsets[col] = int(d[0])
    assert all(0 < offsets[c] < 32 for c in STAGES), offsets
    assert offsets["total"] == sum(offsets[c] for c in STAGES) + offsets[STAGES[0]], offsets


def test_dsp_baseline_counts_repeat_exactly(results_dir, synth_utts):
    cols = ["utt", "frame", "total", *STAGES]
    a = Runner(RunOptions(target=TARGET, images=(DSP,), metrics=False), utterances=synth_utts).start()
    b = Runner(RunOptions(target=TARGET, images=(DSP,), metrics=False), utterances=synth_utts).start()
    assert a.frames(DSP).select(cols).to_pylist() == b.frames(DSP).select(cols).to_pylist()


@pytest.fixture(scope="module")
def fault_elf(tmp_path_factory):
    """A small app on the netduinoplus2 board that faults on command (built like an image; the app is
    shared with the pyOCD checks, tests/hil/pyocd_checks.py)."""
    return checks.build_fault_app("netduinoplus2", tmp_path_factory.mktemp("fault_app"))


@pytest.mark.parametrize("how,expect", [
    ("b", ["FAULT BusFault", "CFSR=00008200", "BFAR=30000000"]),   # PRECISERR + BFARVALID
    ("u", ["FAULT UsageFault", "CFSR=00010000"]),                  # UNDEFINSTR
    ("d", ["FAULT UsageFault", "CFSR=02000000"]),                  # DIVBYZERO
])
def test_fault_report_reaches_the_host(driver, fault_elf, how, expect):
    """The fault report goes out as console text and then answers the next request as an
    ERROR frame carrying that request's sequence number: the host gets a DeviceError with
    the fault registers and the stacked PC inside the image's code."""
    t = driver(fault_elf).open_link()
    boot = b""
    deadline = time.monotonic() + 10
    while b"fault-test ready" not in boot:  # plain text, no frame delimiter after it yet
        assert time.monotonic() < deadline, boot
        boot += t.read(4096, 0.05)
    t.write(how.encode())
    s = Session(t, timeout=1.0, retries=2)
    with pytest.raises(DeviceError) as e:
        s.request(m.Msg.STATS_REQ)
    assert e.value.code == m.ErrorCode.INTERNAL
    for word in expect:
        assert word in e.value.text, e.value.text
    pc = int(e.value.text.split("PC=")[1].split()[0], 16)
    assert 0x08000000 <= pc < 0x08100000, e.value.text
    assert "FAULT" in s.device_output(), "the console copy of the report is missing"


# ---- model images (issue #12): nsnet2-small and dyncp-small-r25 on the STM32F405 port ----
# One utterance of the shipped set each (`--limit 1`). The an386 side is built from the same
# sources into a temporary folder (the image builder, its own manifest), so that the comparison
# is between the same model code on the two machines whatever state the committed an386 ELF is in.

MODEL_IMAGES = [("nsnet2-small-netduinoplus2", "nsnet2-small-an386"),
                ("dyncp-small-r25-netduinoplus2", "dyncp-small-r25-an386")]


@pytest.fixture(scope="module")
def an386_same_sources(tmp_path_factory):
    import shutil

    from bench.imagebuild import build_all, write_manifest
    from bench.images import images_dir

    out = tmp_path_factory.mktemp("an386_models")
    built = build_all(out, only=[an for _, an in MODEL_IMAGES])
    for b in built:
        if b.entry.tflite:  # the TFLM reference named by the entry travels with its manifest
            shutil.copyfile(images_dir() / b.entry.tflite, out / b.entry.tflite)
    write_manifest(built, out)
    return out


@pytest.fixture(scope="module")
def model_runs(tmp_path_factory, an386_same_sources):
    """Per model image: the netduinoplus2 run scored against the golden model, a second
    netduinoplus2 run (counts only) and the an386 run, one utterance each."""
    import os

    old = os.environ.get("BENCH_RESULTS")
    os.environ["BENCH_RESULTS"] = str(tmp_path_factory.mktemp("model_results"))
    try:
        runs = {}
        for nd_img, an_img in MODEL_IMAGES:
            nd = Runner(RunOptions(target=TARGET, images=(nd_img,), limit=1)).start()
            nd2_again = Runner(RunOptions(target=TARGET, images=(nd_img,), limit=1, metrics=False)).start()
            an = Runner(RunOptions(target="qemu-mps2-an386-sh", images=(an_img,), limit=1, metrics=False,
                                   manifest_dir=str(an386_same_sources))).start()
            runs[nd_img] = (nd, nd2_again, an)
        yield runs
    finally:
        if old is None:
            os.environ.pop("BENCH_RESULTS", None)
        else:
            os.environ["BENCH_RESULTS"] = old


@pytest.mark.parametrize("nd_img,an_img", MODEL_IMAGES)
def test_model_image_bit_exact_with_golden_and_an386(model_runs, nd_img, an_img):
    """The model on the STM32F405 port over the UART: bit-exact with its golden model and with
    the same model code on mps2-an386 (identical output WAV), every stage of every frame costing
    the same small constant more (the port's counter read)."""
    from bench.results.store import read_json

    nd, _, an = model_runs[nd_img]
    assert nd.read_meta()["status"] == "done", nd.read_meta()
    assert an.read_meta()["status"] == "done", an.read_meta()
    comp = read_json(nd.image_dir(nd_img) / "comparison.json")
    assert comp["fidelity"]["target_vs_golden"]["bit_exact_min"] == 1.0, comp["fidelity"]
    utts = sorted({p.stem for p in (nd.image_dir(nd_img) / "audio").glob("*.wav")})
    assert len(utts) == 1
    for u in utts:
        assert np.array_equal(nd.read_audio(nd_img, u), an.read_audio(an_img, u)), u
    fa, fb = nd.frames(nd_img), an.frames(an_img)
    assert fa.column("utt").to_pylist() == fb.column("utt").to_pylist()
    stages = [c for c in fa.column_names if c.startswith("stage_")]
    assert stages and stages == [c for c in fb.column_names if c.startswith("stage_")]
    offsets = {}
    for col in [*stages, "total"]:
        d = fa.column(col).to_numpy() - fb.column(col).to_numpy()
        assert len(set(d.tolist())) == 1, f"{col}: the difference varies from frame to frame"
        offsets[col] = int(d[0])
    assert all(0 < offsets[c] < 32 for c in stages), offsets


@pytest.mark.parametrize("nd_img", [nd for nd, _ in MODEL_IMAGES])
def test_model_image_counts_repeat_exactly(model_runs, nd_img):
    a, b, _ = model_runs[nd_img]
    cols = ["utt", "frame", "total", *[c for c in a.frames(nd_img).column_names if c.startswith("stage_")]]
    assert len(a.frames(nd_img)) > 100
    assert a.frames(nd_img).select(cols).to_pylist() == b.frames(nd_img).select(cols).to_pylist()
