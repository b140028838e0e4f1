"""The C agent, built natively, against the host session: corruption, drops, duplication."""

import random
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from native_agent import Channel, NativeAgentTransport, load_agent

from bench.errors import LinkError
from bench.link import messages as m
from bench.link.framing import cobs_encode
from bench.link.session import Session


@pytest.fixture(scope="module")
def lib():
    return load_agent()


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=600))
def test_c_crc_and_cobs_match_host(lib, data):
    import ctypes

    assert lib.bench_crc32(data, len(data)) == zlib.crc32(data)
    out = ctypes.create_string_buffer(len(data) + len(data) // 254 + 2)
    n = lib.bench_cobs_encode(data, len(data), out)
    assert out.raw[:n] == cobs_encode(data)


def test_clean_link(lib):
    s = Session(NativeAgentTransport(lib), window=4, timeout=0.05, poll=0)
    h = s.hello()
    assert h.image_name == "host-passthrough" and h.reply_cache == 8
    s.configure({"side": 1})
    x = np.arange(256 * 10, dtype=np.int16).reshape(10, 256)
    res = list(s.process_stream(x))
    assert np.array_equal(np.stack([r.pcm for r in res]), x)
    assert [r.side.exit for r in res] == [i % 4 for i in range(10)]
    assert all(r.stage_ticks == (1000,) and r.total_ticks == 2000 for r in res)
    assert s.counters.resends == 0


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fault", ["drop", "flip", "dup", "all"])
def test_lossy_link_delivers_every_frame_once_in_order(lib, seed, fault):
    rng = random.Random(seed)
    rate = {"drop": dict(drop=2e-4), "flip": dict(flip=2e-4), "dup": dict(dup=0.1),
            "all": dict(drop=1e-4, flip=1e-4, dup=0.05)}[fault]
    down, up = Channel(rng, **rate), Channel(rng, **rate)
    s = Session(NativeAgentTransport(lib, down, up), window=4, timeout=0.01, retries=20, poll=0)
    s.hello(attempts=20, timeout=0.01)
    s.reset_state()
    x = (np.random.default_rng(seed).integers(-32768, 32767, (120, 256))).astype(np.int16)
    res = list(s.process_stream(x))
    assert np.array_equal(np.stack([r.pcm for r in res]), x)
    st_ = s.stats()
    assert st_.frames == 120  # executed exactly once each, despite resends and duplicates
    if down.events + up.events:
        assert s.counters.resends + st_.dups + s.decoder.garbage_frames > 0


def test_garbage_before_hello_is_ignored(lib):
    t = NativeAgentTransport(lib)
    lib.bench_agent_feed(b"\xff\x13garbage\x00\x00\x07", 12)
    s = Session(t, timeout=0.05, poll=0)
    assert s.hello().image_name == "host-passthrough"


def test_dead_link_times_out_with_device_output(lib):
    t = NativeAgentTransport(lib, to_device=lambda b: b"")  # nothing reaches the device
    s = Session(t, timeout=0.01, retries=2, poll=0)
    with pytest.raises(LinkError, match="did not answer HELLO"):
        s.hello(attempts=2, timeout=0.01)


def test_gap_is_nacked(lib):
    from bench.link.framing import FrameDecoder, Packet, encode_packet

    t = NativeAgentTransport(lib)
    s = Session(t, timeout=0.05, poll=0)
    s.hello()
    seq = s._seq
    # skip one sequence number: the device must refuse to execute and NACK with `expected`
    t.write(encode_packet(Packet(m.Msg.RESET_STATE, seq + 1, b"")))
    (pkt,) = FrameDecoder().feed(t.read(4096, 0))
    assert pkt.type == m.Msg.NACK and m.decode_nack(pkt.body) == seq
    assert s.stats().nacks == 1
