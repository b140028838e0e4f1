"""Framing: COBS and CRC round trips, and resynchronisation under corruption."""

import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.link.framing import (
    MAX_PACKET,
    FrameDecoder,
    Packet,
    cobs_decode,
    cobs_encode,
    decode_packet,
    encode_packet,
)

packets = st.builds(Packet, type=st.integers(0, 255), seq=st.integers(0, 0xFFFF),
                    body=st.binary(max_size=MAX_PACKET - 8), flags=st.integers(0, 255))


@given(st.binary(max_size=3000))
def test_cobs_round_trip(data):
    enc = cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + len(data) // 254 + 1
    assert cobs_decode(enc) == data


def test_cobs_known_vectors():
    # from the COBS paper's examples
    assert cobs_encode(b"") == b"\x01"
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255)) + b"\x01"


@pytest.mark.parametrize("bad", [b"\x00", b"\x05\x01", b"\x03\x11\x00"])
def test_cobs_rejects_malformed(bad):
    with pytest.raises(ValueError):
        cobs_decode(bad)


@given(packets)
def test_packet_round_trip(pkt):
    wire = encode_packet(pkt)
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    assert decode_packet(wire[1:-1]) == pkt


def test_crc_is_zlib_crc32_over_header_and_body():
    wire = encode_packet(Packet(0x84, 0x1234, b"abc"))
    raw = cobs_decode(wire[1:-1])
    assert raw[:4] == b"\x84\x00\x34\x12"
    assert int.from_bytes(raw[-4:], "little") == zlib.crc32(raw[:-4])


def test_oversize_packet_refused():
    with pytest.raises(ValueError):
        encode_packet(Packet(1, 0, bytes(MAX_PACKET)))


@settings(max_examples=60)
@given(st.lists(packets, min_size=1, max_size=6), st.binary(max_size=200), st.integers(0, 2**31))
def test_decoder_resyncs_after_garbage_and_corruption(pkts, garbage, seed):
    """Boot noise, a flipped byte and a dropped byte each lose at most the frame they hit."""
    rng = random.Random(seed)
    wires = [bytearray(encode_packet(p)) for p in pkts]
    damaged = set()
    for i, w in enumerate(wires):
        r = rng.random()
        if r < 0.2 and len(w) > 3:  # flip a bit inside the frame
            j = rng.randrange(1, len(w) - 1)
            w[j] ^= 1 << rng.randrange(8)
            damaged.add(i)
        elif r < 0.4 and len(w) > 3:  # drop a byte inside the frame
            del w[rng.randrange(1, len(w) - 1)]
            damaged.add(i)
    stream = garbage + b"".join(wires)
    dec = FrameDecoder()
    got = []
    # feed in random chunk sizes
    pos = 0
    while pos < len(stream):
        n = rng.randint(1, 64)
        got += dec.feed(stream[pos:pos + n])
        pos += n
    intact = [p for i, p in enumerate(pkts) if i not in damaged]
    # every intact packet arrives, in order; a damaged one may (by CRC luck: never) arrive only corrupted
    assert [p for p in got if p in intact] == intact
    assert all(p in pkts for p in got)


def test_decoder_keeps_console_text():
    dec = FrameDecoder()
    out = dec.feed(b"boot v1.2\r\n" + encode_packet(Packet(0x82, 7, b"")))
    assert out == [Packet(0x82, 7, b"")]
    assert "boot v1.2" in dec.console_text()
    assert dec.garbage_frames == 1
