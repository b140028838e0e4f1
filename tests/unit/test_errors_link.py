"""The error catalogue (#16, docs/errors.md), the wire protocol: what a Session says when the device's
replies are well framed (COBS, CRC) but wrong (a HELLO or RESULT that does not decode, a reply of
another type than the request asks for), provoked through the public Session API against a scripted
device that answers each request with a crafted packet (the lowest layer only: the real framing)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from bench.errors import HandshakeError, LinkError
from bench.link import messages as m
from bench.link.framing import FrameDecoder, Packet, encode_packet
from bench.link.session import Session


class ScriptedDevice:
    """A byte transport whose other end answers each request packet with ``reply(request)``."""

    def __init__(self, reply: Callable[[Packet], Packet | None]):
        self.reply = reply
        self.decoder = FrameDecoder()
        self.out = b""

    def write(self, data: bytes) -> None:
        for pkt in self.decoder.feed(data):
            r = self.reply(pkt)
            if r is not None:
                self.out += encode_packet(r)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        out, self.out = self.out[:max_bytes], self.out[max_bytes:]
        return out

    def close(self) -> None:
        pass


HELLO = m.Hello(protocol_version=1, counter_kind=0, counter_hz=25_000_000, sample_rate=16000, frame_len=256,
                hop_len=256, capabilities=3, max_packet=2048, reply_cache=8, image_name="img", model_family="fam",
                build_id="b1", target_board="mps2-an386", stage_names=("copy",))


def _device(**replies: Callable[[Packet], Packet]) -> Session:
    def reply(req: Packet) -> Packet | None:
        name = m.Msg(req.type).name
        if name in replies:
            return replies[name](req)
        if req.type == m.Msg.HELLO_REQ:
            return Packet(m.Msg.HELLO, req.seq, HELLO.encode())
        return Packet(m.Msg.ACK, req.seq, b"")

    return Session(ScriptedDevice(reply), timeout=0.05, poll=0, retries=1, dead_after=0.5)


def test_hello_that_does_not_decode():
    s = _device(HELLO_REQ=lambda r: Packet(m.Msg.HELLO, r.seq, b"\x01"))
    with pytest.raises(HandshakeError, match=r"malformed HELLO from the device: .*; the image does not speak this "
                                             r"bench's protocol: rebuild it with `bench images build`"):
        s.hello()


def test_reply_of_the_wrong_type():
    s = _device(RESET_STATE=lambda r: Packet(m.Msg.STATS, r.seq, b""))
    s.hello()
    with pytest.raises(LinkError, match=r"expected ACK, got message type 0x[0-9a-f]{2} \(STATS\); the image does not "
                                        r"speak this bench's protocol: rebuild it with `bench images build`"):
        s.reset_state()


def test_result_that_does_not_decode():
    s = _device(PROCESS=lambda r: Packet(m.Msg.RESULT, r.seq, b"\x00\x01"))
    s.hello()
    with pytest.raises(LinkError, match=r"malformed RESULT \d+: .*; the image does not speak this bench's protocol: "
                                        r"rebuild it with `bench images build`"):
        list(s.process_stream([np.zeros(256, np.int16)]))
