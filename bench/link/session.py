"""A reliable, ordered request/response session over a byte transport.

Go-back-N with a window of requests in flight (docs/protocol.md, "Reliable, ordered
requests"): the host numbers every request; the agent executes in order, NACKs a gap and
resends cached replies for retransmissions. How lost frames are recovered: flight.py; when
to resend and when to give up: policy.py ("Links under faults"). A device that restarts in the
middle of a session (its boot banner arrives, or it NACKs requests it had answered) ends
transact() with DeviceReset after the replies that came before the restart (docs/protocol.md,
"Device resets"); hello() starts a new session. Knows nothing of models or runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from bench.errors import HandshakeError, LinkError
from bench.link import messages as m
from bench.link.flight import Flight, Req
from bench.link.framing import FrameDecoder, Packet, encode_packet
from bench.link.policy import MIN_TIMEOUT, ResendTimer, Watchdog, default_dead_after
from bench.link.transport import ByteTransport

NOT_OURS = "the image does not speak this bench's protocol: rebuild it with `bench images build`"


class DeviceReset(LinkError):
    """The device restarted during a session (its boot banner came, or it forgot requests it had
    answered): its model state is gone; hello() starts a new session with it."""


@dataclass
class LinkCounters:
    requests: int = 0
    resends: int = 0  # requests sent again, for any reason
    fast_resends: int = 0  # of which: sent again because a later request's reply came first
    nacks: int = 0
    timeouts: int = 0
    stale_replies: int = 0
    bytes_payload_out: int = 0
    max_silence_s: float = 0.0  # longest wait for progress (a reply to an outstanding request)


class Session:
    """Requests and replies over `transport` (docs/protocol.md).

    window: requests in flight (unanswered; answered ones behind an unanswered one wait, up to the
    device's reply cache, so that their replies can trigger fast resends). timeout: the longest
    wait for a reply before resending (the resend timer adapts to the measured round trip,
    between min_timeout and timeout).
    retries, dead_after: the link counts as dead, and transact() raises LinkError, once at
    least `retries` resend rounds and `dead_after` seconds (default: max(30 s, (retries + 1)
    x timeout)) went by without a reply to an outstanding request. poll: read timeout.
    """

    def __init__(self, transport: ByteTransport, *, window: int = 4, timeout: float = 2.0,
                 retries: int = 5, poll: float = 0.02, dead_after: float | None = None,
                 min_timeout: float = MIN_TIMEOUT):
        if window < 1:
            raise ValueError("window must be >= 1")
        if retries < 0 or timeout <= 0 or (dead_after is not None and dead_after < 0):
            raise ValueError("timeout must be > 0, retries and dead_after >= 0")
        self.t = transport
        self.window = window
        self.timeout = timeout
        self.retries = retries
        self.dead_after = default_dead_after(timeout, retries) if dead_after is None else dead_after
        self.poll = poll
        self.min_timeout = min(min_timeout, timeout)
        self.timers: dict[int, ResendTimer] = {}
        self.decoder = FrameDecoder()
        self.counters = LinkCounters()
        self.hello_info: m.Hello | None = None
        self._seq = 0
        self._sends = 0
        self._boots = 0  # boot banners the session has accounted for (decoder.boots)

    # ---- diagnostics -------------------------------------------------------
    def device_output(self, last: int = 400) -> str:
        text = self.decoder.console_text(last).strip()
        return text if text else "(nothing)"

    def _send(self, seq: int, mtype: int, body: bytes) -> None:
        self.t.write(encode_packet(Packet(mtype, seq, body)))

    @property
    def span(self) -> int:
        """Requests from the oldest unanswered to the newest: the device's reply cache once known."""
        return max(self.window, self.hello_info.reply_cache) if self.hello_info is not None else self.window

    def timer_for(self, mtype: int) -> ResendTimer:
        """The resend timer of one message type."""
        if mtype not in self.timers:
            self.timers[mtype] = ResendTimer(self.timeout, self.min_timeout)
        return self.timers[mtype]

    def transmit(self, seq: int, req: Req) -> None:
        self._sends += 1
        req.sends += 1
        req.sent_at = time.monotonic()
        req.order = self._sends
        self._send(seq, req.type, req.body)

    # ---- handshake ---------------------------------------------------------
    def hello(self, attempts: int = 3, timeout: float | None = None) -> m.Hello:
        """Start a session: HELLO_REQ until a HELLO with our sequence number arrives."""
        tmo = self.timeout if timeout is None else timeout
        echoed = False
        garbage = self.decoder.garbage_frames
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
                            raise HandshakeError(f"malformed HELLO from the device: {e}; {NOT_OURS}") from e
                        self._seq = (seq + 1) & 0xFFFF
                        self.hello_info = info
                        self._boots = len(self.decoder.boots)  # a new session: earlier restarts are known
                        return info
                    if pkt.type == m.Msg.HELLO_REQ:
                        echoed = True
            self._seq = (seq + 1) & 0xFFFF
        hint = (" It echoed our request back: it is a loopback/echo program, not a bench image."
                if echoed else "")
        if not echoed and self.decoder.garbage_frames > garbage:
            hint = (f" {self.decoder.garbage_frames - garbage} damaged frames arrived meanwhile: the link corrupts "
                    "data (noise, a loose cable, a wrong baud rate?); try hello() with more attempts, or fix the link.")
        raise HandshakeError(
            f"the image did not answer HELLO after {attempts} tries of {tmo:.1f} s.{hint} Is it a bench "
            f"image (built with firmware/agent)? Device output: {self.device_output()}"
        )

    # ---- pipelined requests ------------------------------------------------
    def transact(self, requests: Iterable[tuple[int, bytes]]) -> Iterator[Packet]:
        """Send requests with up to `window` in flight; yield their replies in order.

        Raises DeviceError when a reply is an ERROR, LinkError when the link is dead (see the
        class) or the device lost its session (it restarted).
        """
        it = iter(requests)
        flight = Flight(self)
        exhausted = False
        while True:
            while not exhausted and flight.has_room(self.window, self.span):
                try:
                    mtype, body = next(it)
                except StopIteration:
                    exhausted = True
                    break
                seq = self._seq
                self._seq = (seq + 1) & 0xFFFF
                flight.send(seq, mtype, body)
                self.counters.requests += 1
                self.counters.bytes_payload_out += len(body)
            if not flight.inflight:
                return
            pkt = flight.pop_ready()
            if pkt is not None:
                yield pkt
                continue
            first = self.decoder.good_frames
            for i, pkt in enumerate(self.decoder.feed(self.t.read(8192, self.poll))):
                if self._restarted_before(first + i):
                    break  # from the restarted device: not replies to this session's requests
                flight.on_packet(pkt, time.monotonic())
            if len(self.decoder.boots) > self._boots:
                while flight.inflight and (pkt := flight.pop_ready()) is not None:
                    yield pkt  # what the device answered before it restarted
                raise self.rebooted(flight)
            flight.check_timer(time.monotonic())

    def _restarted_before(self, packet: int) -> bool:
        """A boot banner not yet accounted for came before the decoder's `packet`-th good frame."""
        return any(at <= packet for at in self.decoder.boots[self._boots:])

    def rebooted(self, flight: Flight) -> DeviceReset:
        head = flight.inflight[0] if flight.inflight else None
        what = (f"request {head} ({_name(flight.reqs[head].type)}) unanswered" if head is not None
                else "no request unanswered")
        return DeviceReset(
            f"the device restarted during the session ({what}; its boot banner arrived): its model state is "
            f"gone. Device output: {self.device_output()}")

    def dead_link(self, seq: int, req: Req, watch: Watchdog, now: float) -> LinkError:
        c = self.counters
        heard = now - watch.heard_at
        return LinkError(
            f"link dead: request {seq} ({_name(req.type)}) unanswered, no reply to any request for "
            f"{watch.silent_for(now):.1f} s and {watch.rounds - 1} resend rounds (nothing valid at all from the "
            f"device for {heard:.1f} s); sent {req.sends} times; link counters: {c.resends} resends, {c.nacks} "
            f"NACKs, {c.timeouts} timeouts, {self.decoder.garbage_frames} damaged frames received. Check the "
            f"cable/port and that the target still runs; on a noisy link allow more time without progress "
            f"(dead_after={self.dead_after:g} s, retries={self.retries}; `bench run --link-timeout S "
            f"--link-retries N`). Device output: {self.device_output()}"
        )

    def restarted(self, head: int, req: Req, expected: int) -> DeviceReset:
        return DeviceReset(
            f"the device restarted or lost its session during request {head} ({_name(req.type)}): it expects "
            f"request {expected}, yet it already answered request {(head - 1) & 0xFFFF}. Its model state is "
            "gone, so the stream cannot go on transparently: check the board's power, reset line and "
            f"watchdog, then finish the run with `bench run --resume`. Device output: {self.device_output()}"
        )

    def not_cached(self, seq: int, req: Req) -> LinkError:
        cache = self.hello_info.reply_cache if self.hello_info is not None else None
        if cache is not None and self.window <= cache:
            return LinkError(
                f"request {seq} ({_name(req.type)}) was lost and the device no longer has its reply, although "
                f"it keeps the last {cache} and at most {self.window} are in flight: the device restarted or "
                "lost its session. Check the board's power, reset line and watchdog, then finish the run with "
                f"`bench run --resume`. Device output: {self.device_output()}"
            )
        return LinkError(f"request {seq} was lost and its reply left the device's cache; "
                         "lower --window to at most the image's reply_cache")

    def request(self, mtype: int, body: bytes = b"") -> Packet:
        return next(iter(self.transact([(mtype, body)])))

    def _expect(self, pkt: Packet, mtype: m.Msg) -> Packet:
        if pkt.type != mtype:
            raise LinkError(f"expected {mtype.name}, got message type 0x{pkt.type:02x} ({_name(pkt.type)}); "
                            f"{NOT_OURS}")
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
                raise LinkError(f"malformed RESULT {pkt.seq}: {e}; {NOT_OURS}") from e


def _name(mtype: int) -> str:
    try:
        return m.Msg(mtype).name
    except ValueError:
        return f"type 0x{mtype:02x}"
