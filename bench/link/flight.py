"""The requests in flight of one Session.transact(): go-back-N recovery (docs/protocol.md).

Three ways to learn that a transmission was lost, fastest first:

* a reply to a later request arrives while an earlier one, last sent before it, has none:
  the earlier reply was lost (the device answers in order) -> resend that request;
* NACK(e): the device skipped requests because e never arrived -> resend e and what follows
  (once per NACK from the same round: NACKs the device sent before our resend arrive later);
* nothing useful for the resend timer's period -> resend the oldest unanswered and what follows.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.errors import DeviceError
from bench.link import messages as m
from bench.link.framing import Packet
from bench.link.policy import Watchdog

if TYPE_CHECKING:
    from bench.link.session import Session


@dataclass
class Req:
    type: int
    body: bytes
    sends: int = 0
    sent_at: float = 0.0  # time of the latest transmission
    order: int = 0  # the session's transmission count at the latest transmission
    timed: bool = True  # its reply, if one comes, answers the latest transmission: a round-trip sample


def before(a: int, b: int) -> bool:
    """Sequence number a comes before b (modulo 2^16, as the agent compares)."""
    return ((a - b) & 0xFFFF) >= 0x8000


class Flight:
    def __init__(self, session: Session):
        self.s = session
        self.inflight: deque[int] = deque()
        self.reqs: dict[int, Req] = {}
        self.replies: dict[int, Packet] = {}
        self.nack_from: dict[int, int] = {}  # e -> the request of the last NACK(e) since we resent e
        self.goback_at: dict[int, float] = {}
        now = time.monotonic()
        self.watch = Watchdog(session.retries, session.dead_after, progress_at=now, heard_at=now)
        self.timer_at = now  # the resend timer runs from the later of this and the head's last transmission

    # ---- sending -----------------------------------------------------------
    def has_room(self, window: int, span: int) -> bool:
        """Fewer than `window` requests unanswered, fewer than `span` held in all."""
        return len(self.inflight) - len(self.replies) < window and len(self.inflight) < span

    def send(self, seq: int, mtype: int, body: bytes) -> None:
        self.reqs[seq] = req = Req(mtype, body)
        self.inflight.append(seq)
        self.s.transmit(seq, req)

    def resend(self, seq: int, fast: bool = False, timed: bool = True) -> None:
        """Send again; `timed`: the earlier transmissions are known lost (NACKed, or a later reply came
        first), so a reply answers this one (Karn's rule, relaxed for an order-keeping link)."""
        req = self.reqs[seq]
        self.s.transmit(seq, req)
        req.timed = timed
        self.s.counters.resends += 1
        self.s.counters.fast_resends += int(fast)

    def go_back(self, start: int, now: float, timed_out: bool) -> None:
        """Resend every unanswered request from `start` on; LinkError on a dead link."""
        c = self.s.counters
        c.max_silence_s = max(c.max_silence_s, self.watch.silent_for(now))
        if self.watch.dead(now):
            raise self.s.dead_link(start, self.reqs[start], self.watch, now)
        if timed_out:
            c.timeouts += 1
            self.s.timer_for(self.reqs[start].type).expired()
            self.nack_from.clear()
        self.goback_at[start] = now
        for seq in list(self.inflight)[self.inflight.index(start):]:
            if seq not in self.replies:
                self.resend(seq, timed=not timed_out)
        self.timer_at = time.monotonic()

    # ---- receiving ---------------------------------------------------------
    def pop_ready(self) -> Packet | None:
        """The head's reply once it is here (DeviceError for an ERROR), else None."""
        head = self.inflight[0]
        pkt = self.replies.pop(head, None)
        if pkt is None:
            return None
        self.inflight.popleft()
        del self.reqs[head]
        self.nack_from.pop(head, None)
        self.goback_at.pop(head, None)
        if pkt.type == m.Msg.ERROR:
            err = m.Error.decode(pkt.body)
            raise DeviceError(err.code, err.text, f"device refused request {head}: {err.describe()}")
        return pkt

    def on_packet(self, pkt: Packet, now: float) -> None:
        self.watch.heard(now)
        if pkt.type == m.Msg.NACK:
            self.s.counters.nacks += 1
            self._on_nack(pkt.seq, m.decode_nack(pkt.body), now)
        elif pkt.seq in self.reqs and pkt.seq not in self.replies:
            self._on_reply(pkt, now)
        else:
            self.s.counters.stale_replies += 1

    def _on_nack(self, trigger: int, expected: int, now: float) -> None:
        head = self.inflight[0]
        if expected not in self.reqs:
            if before(expected, head):  # the device forgot requests it had answered
                raise self.s.restarted(head, self.reqs[head], expected)
            return
        if trigger not in self.reqs or trigger in self.replies:
            return  # from before the device got `expected`: stale
        # NACKs the device sent before our resend of e arrive in the order of their requests, after
        # the one that made us resend; one from an earlier or the same request answers the resend
        last = self.nack_from.get(expected)
        self.nack_from[expected] = trigger
        if last is not None and before(last, trigger):
            return
        srtt = self.s.timer_for(self.reqs[expected].type).srtt or 0.0
        if now - self.goback_at.get(expected, -1e9) < srtt / 2:
            return  # too soon for an answer to the resend
        self.go_back(expected, now, timed_out=False)

    def _on_reply(self, pkt: Packet, now: float) -> None:
        if pkt.type == m.Msg.ERROR and m.Error.decode(pkt.body).code == m.ErrorCode.NOT_CACHED:
            raise self.s.not_cached(pkt.seq, self.reqs[pkt.seq])
        req = self.reqs[pkt.seq]
        self.replies[pkt.seq] = pkt
        if req.timed:
            self.s.timer_for(req.type).sample(now - req.sent_at)
        c = self.s.counters
        c.max_silence_s = max(c.max_silence_s, self.watch.silent_for(now))
        self.watch.progress(now)
        self.timer_at = now
        for seq in self.inflight:  # earlier requests last sent before this one: their replies were lost
            if seq == pkt.seq:
                break
            if seq not in self.replies and self.reqs[seq].order < req.order:
                self.resend(seq, fast=True)

    def check_timer(self, now: float) -> None:
        head = self.inflight[0]
        req = self.reqs[head]
        if now - max(self.timer_at, req.sent_at) > self.s.timer_for(req.type).rto:
            self.go_back(head, now, timed_out=True)
