"""A device that resets in the middle of a session (#16 part 5, #12): the HELLO extensions that say
why it started (watchdog kind, reset cause), the boot banner that says it restarted, the injected
reset, and QMP, the QEMU driver's reset. Against the real C agent built natively where a device is
needed (tests/unit/native_agent.py); the emulated boards are in tests/qemu/test_device_reset_qemu.py."""

from __future__ import annotations

import json
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
from native_agent import NativeAgentTransport, load_agent

from bench.errors import TargetError
from bench.link import messages as m
from bench.link.faults import LinkFaults, parse_faults
from bench.link.faulty import FaultyTransport
from bench.link.framing import FrameDecoder, Packet, encode_packet
from bench.link.session import DeviceReset, Session
from bench.runner.stream import ResetInjector, describe_reset
from bench.targets.drivers.qemu.qmp import SOCKET_NAME, qmp_execute

HELLO = m.Hello(protocol_version=1, counter_kind=0, counter_hz=1_000_000_000, sample_rate=16000, frame_len=256,
                hop_len=256, capabilities=3, max_packet=2048, reply_cache=8, image_name="img", model_family="fam",
                build_id="b1", target_board="netduinoplus2", stage_names=("copy",))


@pytest.fixture(scope="module")
def lib():
    return load_agent()


# ---- HELLO extensions (docs/protocol.md, "HELLO extensions") --------------------------------------

def test_hello_without_extensions_still_decodes_and_the_extensions_round_trip():
    old = HELLO.encode()  # an image built before the extensions
    assert m.Hello.decode(old) == HELLO and HELLO.watchdog_kind is None and HELLO.reset_cause is None
    new = HELLO.__class__(**{**HELLO.__dict__, "watchdog_kind": 2, "watchdog_ms": 2396, "reset_cause": 0b1100,
                             "reset_raw": 0x57444F47})
    body = new.encode()
    assert body[:len(old)] == old and len(body) == len(old) + 7 + 10  # appended after the stage names
    assert m.Hello.decode(body) == new
    assert m.reset_cause_text(new.reset_cause) == "software, watchdog"
    assert m.reset_cause_text(0) == "unknown" and m.reset_cause_text(None) == "not reported"
    assert m.watchdog_name(1) == "iwdg" and m.watchdog_name(9) == "kind 9"


def test_an_unknown_hello_extension_is_skipped_and_a_cut_one_refused():
    body = HELLO.encode() + bytes([77, 3, 1, 2, 3]) + struct.pack("<BBII", 2, 8, 1, 0x0C000000)
    h = m.Hello.decode(body)
    assert (h.reset_cause, h.reset_raw, h.watchdog_kind) == (1, 0x0C000000, None)
    with pytest.raises(ValueError, match="body too short"):
        m.Hello.decode(HELLO.encode() + bytes([1, 5, 2]))


def test_the_c_agent_sends_the_extensions(lib):
    """firmware/agent/bench_agent.c appends both TLVs; the native port leaves them zero (no watchdog,
    cause unknown): the host reads them as such, not as absent."""
    s = Session(NativeAgentTransport(lib), timeout=0.05, poll=0)
    h = s.hello()
    assert (h.image_name, h.watchdog_kind, h.watchdog_ms, h.reset_cause, h.reset_raw) == ("host-passthrough", 0, 0,
                                                                                          0, 0)


# ---- the boot banner ---------------------------------------------------------------------------

def test_the_decoder_marks_where_a_boot_banner_came():
    d = FrameDecoder()
    a, b = encode_packet(Packet(0x82, 1, b"")), encode_packet(Packet(0x82, 2, b""))
    pkts = d.feed(a + b"\r\n[board] x\r\nbench-agent img b1\r\n" + b)
    assert [p.seq for p in pkts] == [1, 2] and d.boots == [1]  # after one good frame, before the second
    assert d.feed(b"bench-agent img b1\r\n") == [] and d.boots == [1]  # not closed yet by a delimiter
    d.feed(b"\x00")
    assert d.boots == [1, 2]


def _restarting_link(lib, at: int) -> FaultyTransport:
    """The C agent behind a wire on which the device restarts once the host has written `at` bytes: its
    state is reinitialised and it prints its boot banner, as agent_main.c does at every start."""
    inner = NativeAgentTransport(lib)

    def restart() -> None:
        lib.host_init()
        inner._pending += b"\r\nbench-agent host-passthrough native\r\n"

    return FaultyTransport(inner, LinkFaults(), on_reset=restart, reset_at=at)


def test_a_restart_mid_stream_ends_the_stream_after_the_replies_that_came_before_it(lib):
    s = Session(_restarting_link(lib, 6000), timeout=0.05, poll=0, dead_after=2.0)
    s.hello()
    x = np.random.default_rng(3).integers(-32768, 32767, (40, 256)).astype(np.int16)
    got = []
    with pytest.raises(DeviceReset, match=r"the device restarted during the session \(request \d+ \(PROCESS\) "
                                          r"unanswered; its boot banner arrived\).*Device output: .*bench-agent"):
        for r in s.process_stream(x):
            got.append(r.pcm)
    assert 5 <= len(got) < 40 and np.array_equal(np.stack(got), x[:len(got)])  # nothing after the restart
    assert s.counters.nacks == 0  # the device's NACKs to the rest of the window were not taken as a go-back
    s.hello()  # a new session with the restarted device: the stream goes on
    assert np.array_equal(np.stack([r.pcm for r in s.process_stream(x[:5])]), x[:5])
    assert s.stats().frames == 5


def test_the_banner_seen_during_the_handshake_is_not_a_restart(lib):
    t = NativeAgentTransport(lib)
    t._pending = b"\r\n[board] booting\r\nbench-agent host-passthrough native\r\n"
    s = Session(t, timeout=0.05, poll=0)
    s.hello()
    assert s.decoder.boots == [0]
    s.reset_state()  # no DeviceReset: the banner came before the session


# ---- the injected reset ---------------------------------------------------------------------------

def test_reset_frame_is_parsed_and_the_injector_fires_once_after_that_frames_request():
    f = parse_faults("reset_frame=5&seed=3")
    assert (f.reset_frame, f.tx.clean, f.query()) == (5, True, "reset_frame=5&seed=3")
    with pytest.raises(ValueError, match="reset_frame=-1: a frame number is 0 or more"):
        parse_faults("reset_frame=-1")
    calls: list[int] = []
    inj = ResetInjector(lambda: calls.append(inj.sent), frame=5)
    pulled = []
    for h in inj.wrap(range(4)):  # utterance 1: frames 0..3
        pulled.append(h)
    assert calls == []
    for h in inj.wrap(range(4)):  # utterance 2: frames 4..7; the reset after frame 5 went out
        pulled.append(h)
        if h == 2:
            assert calls == [6]
    for _ in inj.wrap(range(10)):  # the retry, and later: never again
        pass
    assert calls == [6] and inj.fired


def test_the_reset_is_described_from_the_new_hello():
    e = DeviceReset("x")
    e.frame, e.frames = 6, 47  # type: ignore[attr-defined]
    wd = HELLO.__class__(**{**HELLO.__dict__, "watchdog_kind": 1, "watchdog_ms": 2000,
                            "reset_cause": 0b1010, "reset_raw": 0x24000000})
    assert describe_reset(e, "noise", "nucleo-f429zi", wd, injected=False) == (
        "watchdog reset during frame 6 of 47 of utterance noise on board nucleo-f429zi (reset cause the device "
        "reports: pin, watchdog; watchdog: iwdg 2000 ms)")
    assert describe_reset(e, "noise", "mps2-an386", HELLO, injected=True).startswith(
        "injected device reset (--link-faults reset_frame) during frame 6 of 47 of utterance noise on board "
        "mps2-an386 (reset cause the device reports: not reported; watchdog: not reported)")
    assert describe_reset(DeviceReset("y"), "u", "b", HELLO, injected=False).startswith(
        "device reset during utterance u on board b")


# ---- QMP: the QEMU driver's reset -----------------------------------------------------------------

def _fake_qmp(folder: Path, reply: dict) -> tuple[threading.Thread, list[str]]:
    """A QMP server on folder/qmp.sock that greets, takes qmp_capabilities and answers one command."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cwd_path = folder / SOCKET_NAME
    fd = None
    if len(str(cwd_path)) > 100:
        import os
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        srv.bind(f"/proc/self/fd/{fd}/{SOCKET_NAME}")
        os.close(fd)
    else:
        srv.bind(str(cwd_path))
    srv.listen(1)
    seen: list[str] = []

    def serve() -> None:
        c, _ = srv.accept()
        with c, srv:
            f = c.makefile("rwb")
            f.write(b'{"QMP": {"version": {}, "capabilities": []}}\n')
            f.flush()
            for answer in ({"return": {}}, reply):
                seen.append(json.loads(f.readline())["execute"])
                f.write(b'{"event": "RESET", "data": {}}\n' + json.dumps(answer).encode() + b"\n")
                f.flush()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t, seen


@pytest.mark.parametrize("deep", [False, True])
def test_qmp_execute_negotiates_and_runs_the_command(tmp_path, deep):
    folder = tmp_path / ("d" * 60 if deep else "") / "link"  # deep: past the 107-byte socket path limit
    folder.mkdir(parents=True)
    t, seen = _fake_qmp(folder, {"return": {}})
    assert qmp_execute(folder, "system_reset") == {}
    t.join(5)
    assert seen == ["qmp_capabilities", "system_reset"]


def test_qmp_errors_are_target_errors(tmp_path):
    t, _ = _fake_qmp(tmp_path, {"error": {"class": "GenericError", "desc": "no such machine"}})
    with pytest.raises(TargetError, match="QEMU refused 'system_reset': no such machine"):
        qmp_execute(tmp_path, "system_reset")
    t.join(5)
    with pytest.raises(TargetError, match=r"monitor socket .*qmp.sock did not take 'system_reset'"):
        qmp_execute(tmp_path / "nowhere", "system_reset", timeout=0.5)
