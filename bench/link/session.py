"""A reliable, ordered request/response session over a byte transport.

Go-back-N with a window of requests in flight (docs/protocol.md, "Reliable, ordered
requests"): the host numbers every request; the agent executes in order, NACKs a gap and
resends cached replies for retransmissions. Knows nothing of models or runs.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from bench.errors import DeviceError, HandshakeError, LinkError
from bench.link import messages as m
from bench.link.framing import FrameDecoder, Packet, encode_packet
from bench.link.transport import ByteTransport


@dataclass
class LinkCounters:
    requests: int = 0
    resends: int = 0
    nacks: int = 0
    timeouts: int = 0
    stale_replies: int = 0
    bytes_payload_out: int = 0


class Session:
    def __init__(self, transport: ByteTransport, *, window: int = 4, timeout: float = 2.0,
                 retries: int = 5, poll: float = 0.02):
        if window < 1:
            raise ValueError("window must be >= 1")
        self.t = transport
        self.window = window
        self.timeout = timeout
        self.retries = retries
        self.poll = poll
        self.decoder = FrameDecoder()
        self.counters = LinkCounters()
        self.hello_info: m.Hello | None = None
        self._seq = 0

    # ---- diagnostics -------------------------------------------------------
    def device_output(self, last: int = 400) -> str:
        text = self.decoder.console_text(last).strip()
        return text if text else "(nothing)"

    def _send(self, seq: int, mtype: int, body: bytes) -> None:
        self.t.write(encode_packet(Packet(mtype, seq, body)))

    # ---- handshake ---------------------------------------------------------
    def hello(self, attempts: int = 3, timeout: float | None = None) -> m.Hello:
        """Start a session: HELLO_REQ until a HELLO with our sequence number arrives."""
        tmo = self.timeout if timeout is None else timeout
        echoed = False
        for _ in range(attempts):
            seq = self._seq
            self._send(seq, m.Msg.HELLO_REQ, b"")
            deadline = time.monotonic() + tmo
            while time.monotonic() < deadline:
                for pkt in self.decoder.feed(self.t.read(4096, self.poll)):
                    if pkt.type == m.Msg.HELLO and pkt.seq == seq:
                        try:
                            info = m.Hello.decode(pkt.body)
                        except ValueError as e:
                            raise HandshakeError(f"malformed HELLO from the device: {e}") from e
                        self._seq = (seq + 1) & 0xFFFF
                        self.hello_info = info
                        return info
                    if pkt.type == m.Msg.HELLO_REQ:
                        echoed = True
            self._seq = (seq + 1) & 0xFFFF
        hint = (" It echoed our request back: it is a loopback/echo program, not a bench image."
                if echoed else "")
        raise HandshakeError(
            f"the image did not answer HELLO after {attempts} tries of {tmo:.1f} s.{hint} Is it a bench "
            f"image (built with firmware/agent)? Device output: {self.device_output()}"
        )

    # ---- pipelined requests ------------------------------------------------
    def transact(self, requests: Iterable[tuple[int, bytes]]) -> Iterator[Packet]:
        """Send requests with up to `window` in flight; yield their replies in order.

        Raises DeviceError when a reply is an ERROR, LinkError when a request stays
        unanswered after `retries` resends.
        """
        it = iter(requests)
        inflight: deque[int] = deque()
        info: dict[int, list] = {}  # seq -> [type, body, resends]
        replies: dict[int, Packet] = {}
        nack_handled: dict[int, float] = {}
        exhausted = False
        last_progress = time.monotonic()

        def go_back(start: int) -> None:
            idx = inflight.index(start)
            info[start][2] += 1
            if info[start][2] > self.retries:
                raise LinkError(
                    f"request {start} ({m.Msg(info[start][0]).name}) unanswered after {self.retries} "
                    f"resends ({self.timeout:.1f} s each). Device output: {self.device_output()}"
                )
            for s in list(inflight)[idx:]:
                if s not in replies:
                    self._send(s, info[s][0], info[s][1])
                    self.counters.resends += 1

        while True:
            while not exhausted and len(inflight) < self.window:
                try:
                    mtype, body = next(it)
                except StopIteration:
                    exhausted = True
                    break
                seq = self._seq
                self._seq = (seq + 1) & 0xFFFF
                info[seq] = [mtype, body, 0]
                inflight.append(seq)
                self._send(seq, mtype, body)
                self.counters.requests += 1
                self.counters.bytes_payload_out += len(body)
            if not inflight:
                return
            head = inflight[0]
            if head in replies:
                pkt = replies.pop(head)
                inflight.popleft()
                del info[head]
                if pkt.type == m.Msg.ERROR:
                    err = m.Error.decode(pkt.body)
                    raise DeviceError(err.code, err.text, f"device refused request {head}: {err.describe()}")
                yield pkt
                continue
            for pkt in self.decoder.feed(self.t.read(8192, self.poll)):
                if pkt.type == m.Msg.NACK:
                    self.counters.nacks += 1
                    expected = m.decode_nack(pkt.body)
                    now = time.monotonic()
                    if expected in info and now - nack_handled.get(expected, -1e9) > self.timeout:
                        nack_handled[expected] = now
                        go_back(expected)
                        last_progress = now
                elif pkt.seq in info and pkt.seq not in replies:
                    if pkt.type == m.Msg.ERROR and m.Error.decode(pkt.body).code == m.ErrorCode.NOT_CACHED:
                        raise LinkError(f"request {pkt.seq} was lost and its reply left the device's cache; "
                                        "lower --window to at most the image's reply_cache")
                    replies[pkt.seq] = pkt
                    last_progress = time.monotonic()
                else:
                    self.counters.stale_replies += 1
            if time.monotonic() - last_progress > self.timeout:
                self.counters.timeouts += 1
                go_back(inflight[0])
                last_progress = time.monotonic()

    def request(self, mtype: int, body: bytes = b"") -> Packet:
        return next(iter(self.transact([(mtype, body)])))

    def _expect(self, pkt: Packet, mtype: m.Msg) -> Packet:
        if pkt.type != mtype:
            raise LinkError(f"expected {mtype.name}, got message type 0x{pkt.type:02x}")
        return pkt

    # ---- typed helpers -----------------------------------------------------
    def configure(self, options: dict[str, int]) -> None:
        self._expect(self.request(m.Msg.CONFIGURE, m.encode_configure(options)), m.Msg.ACK)

    def reset_state(self) -> None:
        self._expect(self.request(m.Msg.RESET_STATE), m.Msg.ACK)

    def stats(self) -> m.Stats:
        return m.Stats.decode(self._expect(self.request(m.Msg.STATS_REQ), m.Msg.STATS).body)

    def process_stream(self, hops: Iterable[np.ndarray]) -> Iterator[m.Result]:
        reqs = ((int(m.Msg.PROCESS), m.encode_process(h)) for h in hops)
        for pkt in self.transact(reqs):
            self._expect(pkt, m.Msg.RESULT)
            try:
                yield m.Result.decode(pkt.body)
            except ValueError as e:
                raise LinkError(f"malformed RESULT {pkt.seq}: {e}") from e
