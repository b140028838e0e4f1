"""The errors of a device that resets or loses its session (docs/errors.md), against the real C agent
built natively (tests/unit/native_agent.py); only the wire between host and agent is replaced: a wire
on which the board restarts every N bytes (a watchdog that fires in every utterance; with or without
its boot banner), one that loses one reply, and a device whose reply cache was wiped."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from native_agent import NativeAgentTransport, load_agent

from bench.errors import LinkError
from bench.link import messages as m
from bench.link.framing import FrameDecoder, Packet, encode_packet
from bench.link.session import DeviceReset, Session
from bench.runner.stream import ResetAgain, stream_retrying

BANNER = b"\r\nbench-agent host-passthrough native\r\n"


@pytest.fixture(scope="module")
def lib():
    return load_agent()


class RestartingWire:
    """The agent restarts (its state re-initialised) each time the host has written `every` more bytes,
    printing its boot banner as agent_main.c does, or silently (a board whose banner is lost)."""

    def __init__(self, lib, every: int, banner: bool = True):
        self.inner, self.lib = NativeAgentTransport(lib), lib
        self.every = self.left = every
        self.banner = banner
        self.restarts = 0

    def write(self, data: bytes) -> None:
        if len(data) >= self.left:
            self.inner.write(data[:self.left])
            data, self.left = data[self.left:], self.every
            self.lib.host_init()
            self.restarts += 1
            if self.banner:
                self.inner._pending += BANNER
        self.left -= len(data)
        self.inner.write(data)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class LoseOneReply:
    """The device's `n`-th write to the host is lost on the wire."""

    def __init__(self, n: int):
        self.seen, self.n = 0, n

    def __call__(self, data: bytes) -> bytes:
        self.seen += 1
        return b"" if self.seen == self.n else data


def hops(n: int = 40) -> np.ndarray:
    return np.random.default_rng(3).integers(-32768, 32767, (n, 256)).astype(np.int16)


def test_a_silent_restart_is_seen_from_the_devices_nack(lib):
    s = Session(RestartingWire(lib, 6000, banner=False), timeout=0.05, poll=0, dead_after=2.0)
    s.hello()
    with pytest.raises(DeviceReset) as e:
        list(s.process_stream(hops()))
    msg = str(e.value)
    assert "the device restarted or lost its session during request" in msg and "it expects request 0" in msg
    assert "check the board's power, reset line and watchdog" in msg and "bench run --resume" in msg


def test_a_lost_reply_beyond_the_devices_cache_says_lower_the_window(lib):
    s = Session(NativeAgentTransport(lib, to_host=LoseOneReply(5)), window=16, timeout=0.05, poll=0,
                dead_after=2.0)
    assert s.hello().reply_cache == 8
    with pytest.raises(LinkError, match=r"request \d+ was lost and its reply left the device's cache; lower "
                                        "--window to at most the image's reply_cache"):
        list(s.process_stream(hops()))


class WipedCache:
    """The agent, except that the device answers every resent PROCESS with ERROR NOT_CACHED, as a
    device does whose reply cache was lost (a restart it did not report)."""

    def __init__(self, lib, lose: int):
        self.inner = NativeAgentTransport(lib, to_host=LoseOneReply(lose))
        self.decoder = FrameDecoder()
        self.seen: set[int] = set()

    def write(self, data: bytes) -> None:
        for pkt in self.decoder.feed(data):
            if pkt.type == m.Msg.PROCESS and pkt.seq in self.seen:
                body = m.Error(m.ErrorCode.NOT_CACHED, "reply not cached").encode()
                self.inner._pending += encode_packet(Packet(int(m.Msg.ERROR), pkt.seq, body))
                continue
            self.seen.add(pkt.seq)
            self.inner.write(encode_packet(pkt))

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_lost_reply_the_device_should_still_have_means_it_lost_its_session(lib):
    s = Session(WipedCache(lib, 5), window=4, timeout=0.05, poll=0, dead_after=2.0)
    s.hello()
    with pytest.raises(LinkError) as e:
        list(s.process_stream(hops()))
    msg = str(e.value)
    assert "(PROCESS) was lost and the device no longer has its reply, although it keeps the last 8" in msg
    assert "the device restarted or lost its session" in msg and "bench run --resume" in msg


def test_a_device_that_resets_again_in_the_retried_utterance_fails_it(lib):
    wire = RestartingWire(lib, 6000)
    s = Session(wire, timeout=0.05, poll=0, dead_after=2.0)
    hello = s.hello()
    entry = SimpleNamespace(protocol_version=hello.protocol_version, name=hello.image_name,
                            model_family=hello.model_family, build_id=hello.build_id, board=hello.target_board)
    target = SimpleNamespace(name="native", clock_hz=hello.counter_hz,
                             counter=SimpleNamespace(kind="cycles", timer_hz=0))
    notes: list[str] = []
    noisy = hops().reshape(-1)
    with pytest.raises(ResetAgain) as e:
        stream_retrying(s, hello, entry, target, "utt-7", noisy, [], lambda n: None, notes.append)
    msg = str(e.value)
    assert len(notes) == 2 and wire.restarts == 2
    assert msg.startswith("device reset during frame ") and "of utterance utt-7 on board host" in msg
    assert "again after one retry of the utterance from its start" in msg
    assert "frames measured so far are kept" in msg and "bench run --resume" in msg
