"""The spine on real firmware under QEMU: handshake, streaming, determinism, errors, resume."""

import socket

import numpy as np
import pyarrow.parquet as pq
import pytest

from bench.targets.drivers.qemu import QemuDriver
from bench.errors import DeviceError, HandshakeError, TargetError
from bench.images import find_image
from bench.link import messages as m
from bench.results.store import Run
from bench.runner import Runner, RunOptions
from bench.targets import load_target


def test_passthrough_round_trip_and_side_info(session_for):
    s = session_for("passthrough-an386")
    h = s.hello()
    assert (h.image_name, h.model_family, h.hop_len) == ("passthrough-an386", "passthrough", 256)
    assert h.stage_names == ("copy",)
    s.configure({"side": 1})
    s.reset_state()
    x = (np.arange(256 * 6) * 37 % 65536 - 32768).astype(np.int16).reshape(6, 256)
    res = list(s.process_stream(x))
    assert np.array_equal(np.stack([r.pcm for r in res]), x)
    for i, r in enumerate(res):
        assert r.side.exit == i % 4
        bits = np.unpackbits(np.frombuffer(r.side.masks[0], np.uint8), bitorder="little")
        assert np.array_equal(bits.astype(bool), x[i, :32] > 0)
    st = s.stats()
    assert st.frames == 6 and st.crc_errors == 0


def test_configure_errors_are_reported(session_for):
    s = session_for("passthrough-an386")
    s.hello()
    with pytest.raises(DeviceError, match="UNKNOWN_OPTION: nope"):
        s.configure({"nope": 1})
    with pytest.raises(DeviceError, match="BAD_VALUE: side"):
        s.configure({"side": 7})
    with pytest.raises(DeviceError, match="BAD_LENGTH"):
        s.request(m.Msg.PROCESS, m.encode_process(np.zeros(100, np.int16)))
    s.configure({"gain_q8": 128})  # the session is still usable after errors
    (r,) = s.process_stream([np.full(256, 1000, np.int16)])
    assert np.all(r.pcm == 500)


def test_retransmission_of_a_lost_request(session_for):
    """A request the device never saw is NACKed / times out and resent; order is kept."""
    s = session_for("passthrough-an386", window=4, timeout=0.5)
    s.hello()
    s.reset_state()
    real_send = s._send
    dropped = []

    def lossy_send(seq, mtype, body):
        if mtype == m.Msg.PROCESS and seq % 5 == 2 and seq not in dropped:
            dropped.append(seq)  # drop the first transmission only
            return
        real_send(seq, mtype, body)

    s._send = lossy_send
    x = np.arange(256 * 20, dtype=np.int16).reshape(20, 256)
    res = list(s.process_stream(x))
    assert np.array_equal(np.stack([r.pcm for r in res]), x)
    assert dropped and s.counters.resends >= len(dropped)
    assert s.stats().frames == 20


def test_echo_image_is_not_a_bench_image(session_for):
    s = session_for("echo-an386", timeout=0.5)
    with pytest.raises(HandshakeError, match="echoed our request back.*not a bench image"):
        s.hello(attempts=2)


def test_port_taken_gives_clear_error(tmp_path):
    import dataclasses

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        t = load_target("qemu-mps2-an386")
        t = dataclasses.replace(t, driver_options={**t.driver_options, "port": port})
        d = QemuDriver(t, tmp_path)
        with pytest.raises(TargetError, match=f"port {port}: it is already in use"):
            d.start(find_image("passthrough-an386").path)
        d.stop()


def _counts(run, image):
    t = Run.open(run.run_id).frames(image)
    return t.select(["utt", "frame", "total", "stage_copy"]).to_pylist()


def test_runner_records_frames_deterministically(results_dir, synth_utts):
    opts = RunOptions(images=("passthrough-an386",))
    r1 = Runner(opts, utterances=synth_utts).start()
    r2 = Runner(opts, utterances=synth_utts).start()
    assert r1.read_meta()["status"] == "done"
    assert _counts(r1, "passthrough-an386") == _counts(r2, "passthrough-an386")
    for u in synth_utts:
        assert np.array_equal(r1.read_audio("passthrough-an386", u.id), u.noisy)
    t = pq.read_table(r1.image_dir("passthrough-an386") / "frames" / "tone.parquet")
    assert t.num_rows == 63  # 16000 samples in 256-sample hops
    assert set(t.column("total").to_pylist()) == {t.column("total")[0].as_py()}


def test_resume_finishes_an_interrupted_run(results_dir, synth_utts):
    opts = RunOptions(images=("passthrough-an386",))
    run = Runner(opts, utterances=synth_utts[:1]).start()  # as if it died after the first utterance
    meta = run.read_meta()
    meta["status"] = "interrupted"
    run.write_meta(meta)
    before = (run.image_dir("passthrough-an386") / "frames" / "tone.parquet").stat().st_mtime_ns
    Runner(opts, utterances=synth_utts).resume(run.run_id)
    assert run.done_utterances("passthrough-an386") == {"tone", "noise"}
    assert (run.image_dir("passthrough-an386") / "frames" / "tone.parquet").stat().st_mtime_ns == before
    assert run.read_meta()["status"] == "done"


def test_runner_refuses_non_bench_elf(results_dir, synth_utts):
    run = Runner(RunOptions(images=("echo-an386",), timeout=0.5), utterances=synth_utts).start()
    meta = run.read_meta()
    assert meta["status"] == "failed"
    assert "not a bench image" in meta["images"]["echo-an386"]["error"]


def test_semihosting_link_gives_identical_counts(results_dir, synth_utts):
    """The same image over the UART and over the semihosting FIFOs: same audio, same counts."""
    uart = Runner(RunOptions(images=("passthrough-an386",)), utterances=synth_utts).start()
    sh = Runner(RunOptions(target="qemu-mps2-an386-sh", images=("passthrough-an386",)),
                utterances=synth_utts).start()
    assert sh.read_meta()["status"] == "done"
    assert _counts(uart, "passthrough-an386") == _counts(sh, "passthrough-an386")
    for u in synth_utts:
        assert np.array_equal(sh.read_audio("passthrough-an386", u.id), u.noisy)
