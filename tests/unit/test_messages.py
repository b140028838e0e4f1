"""Message codecs: round trips of every message (hypothesis) and malformed bodies."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.link import messages as m

ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)

hellos = st.builds(
    m.Hello, protocol_version=st.integers(0, 0xFFFF), counter_kind=st.integers(0, 1),
    counter_hz=st.integers(0, 2**32 - 1), sample_rate=st.integers(0, 2**32 - 1),
    frame_len=st.integers(0, 0xFFFF), hop_len=st.integers(0, 0xFFFF), capabilities=st.integers(0, 2**32 - 1),
    max_packet=st.integers(0, 0xFFFF), reply_cache=st.integers(0, 255), image_name=ascii_text,
    model_family=ascii_text, build_id=ascii_text, target_board=ascii_text,
    stage_names=st.lists(ascii_text, max_size=8).map(tuple),
)

side_infos = st.builds(
    m.SideInfo, exit=st.none() | st.integers(0, 255),
    masks=st.dictionaries(st.integers(0, 255), st.binary(max_size=40), max_size=9),
    probes=st.dictionaries(st.integers(0, 255), st.integers(-2**31, 2**31 - 1), max_size=4),
    macs=st.none() | st.integers(0, 2**32 - 1),
    stats=st.dictionaries(st.integers(0, 255), st.integers(-2**31, 2**31 - 1), max_size=3),
)


@given(hellos)
def test_hello_round_trip(h):
    assert m.Hello.decode(h.encode()) == h


@given(st.lists(st.integers(-32768, 32767), max_size=512), st.lists(st.integers(0, 2**32 - 1), max_size=8),
       st.integers(0, 2**32 - 1), side_infos)
def test_result_round_trip(pcm, ticks, total, side):
    r = m.Result(np.array(pcm, dtype=np.int16), tuple(ticks), total, side)
    assert m.Result.decode(r.encode()) == r


@given(st.dictionaries(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=32),
                       st.integers(-2**31, 2**31 - 1), min_size=1, max_size=10))
def test_configure_round_trip(opts):
    assert m.decode_configure(m.encode_configure(opts)) == opts


@given(st.lists(st.integers(-32768, 32767), max_size=1024))
def test_process_round_trip(pcm):
    a = np.array(pcm, dtype=np.int16)
    assert np.array_equal(m.decode_process(m.encode_process(a)), a)


def test_stats_error_nack_round_trip():
    s = m.Stats(1, 2, 3, 4, 5, 6)
    assert m.Stats.decode(s.encode()) == s
    e = m.Error(4, "exit")
    assert m.Error.decode(e.encode()) == e
    assert e.describe() == "UNKNOWN_OPTION: exit"
    assert m.decode_nack(m.encode_nack(0x1234)) == 0x1234


@pytest.mark.parametrize("body", [b"", b"\x01", b"\x01\x00" * 3])
def test_truncated_hello_is_an_error(body):
    with pytest.raises(ValueError):
        m.Hello.decode(body)


def test_trailing_bytes_are_an_error():
    with pytest.raises(ValueError, match="trailing"):
        m.Stats.decode(m.Stats(0, 0, 0, 0, 0, 0).encode() + b"x")


def test_unknown_tlv_is_kept():
    raw = bytes([200, 2, 0, 0xAB, 0xCD])
    s = m.SideInfo.decode(raw)
    assert s.unknown == ((200, b"\xab\xcd"),)
    assert s.encode() == raw


def test_bad_configure_keys():
    with pytest.raises(ValueError):
        m.encode_configure({})
    with pytest.raises(ValueError):
        m.encode_configure({"x" * 33: 1})
