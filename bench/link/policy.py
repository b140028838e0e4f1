"""When the session resends and when it gives up (docs/protocol.md, "Links under faults").

Resend timer: adaptive, from the round trips of replies that surely answer the latest
transmission of their request (Jacobson's estimator, Karn's rule), between `min_timeout` and
`timeout`, one per message type (an ACK comes back in milliseconds, a RESULT after the frames
queued before it). At least twice the smoothed round trip, which already covers the window's
frames queued ahead, so a round of resends is through the link before the next one starts, and
at most four times it (plus the variance term); it doubles on expiry, once, until a fresh
sample. A longer backoff spaces the rounds so far apart that a noisy link (1e-3 byte errors:
4 in 10 PROCESS frames damaged) spends most of its time waiting.

Giving up: only on a dead link. Progress is a reply to an outstanding request; a request may
be resent any number of times while replies keep coming. The link is dead when, since the
last progress, at least `retries` resend rounds went by *and* `dead_after` seconds passed.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_TIMEOUT = 0.05
MIN_DEAD_AFTER = 30.0
MAX_BACKOFF = 1  # doublings of the resend timer without a fresh sample


def default_dead_after(timeout: float, retries: int) -> float:
    """Seconds without progress before the link counts as dead, unless given: at least 30 s."""
    return max(MIN_DEAD_AFTER, (retries + 1) * timeout)


@dataclass
class ResendTimer:
    timeout: float
    min_timeout: float = MIN_TIMEOUT
    srtt: float | None = None
    rttvar: float = 0.0
    backoff: int = 0

    def sample(self, rtt: float) -> None:
        """A round trip whose reply surely answers the latest transmission (Karn's rule)."""
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar += (abs(self.srtt - rtt) - self.rttvar) / 4
            self.srtt += (rtt - self.srtt) / 8
        self.backoff = 0

    @property
    def rto(self) -> float:
        """Seconds to wait for a reply before resending."""
        if self.srtt is None:
            return self.timeout
        base = max(self.min_timeout, 2 * self.srtt, min(4 * self.srtt, self.srtt + 4 * self.rttvar))
        return min(self.timeout, base * (1 << self.backoff))

    def expired(self) -> None:
        """The timer ran out: wait twice as long next time (at most MAX_BACKOFF times), until a fresh sample."""
        self.backoff = min(self.backoff + 1, MAX_BACKOFF)


@dataclass
class Watchdog:
    """Progress bookkeeping for one transact(): the dead-link test."""

    retries: int
    dead_after: float
    progress_at: float
    rounds: int = 0  # resend rounds since the last progress
    heard_at: float = 0.0  # last valid frame of any kind from the device

    def progress(self, now: float) -> None:
        self.progress_at = now
        self.heard_at = now
        self.rounds = 0

    def heard(self, now: float) -> None:
        self.heard_at = now

    def silent_for(self, now: float) -> float:
        return now - self.progress_at

    def dead(self, now: float) -> bool:
        """After one more resend round: is the link dead?"""
        self.rounds += 1
        return self.rounds > self.retries and self.silent_for(now) >= self.dead_after
