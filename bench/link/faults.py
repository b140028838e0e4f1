"""Fault injection on a byte stream: bit flips, lost and doubled bytes, error bursts, delays.

A `LinkFaults` holds one `FaultSpec` per direction (`tx`: what the host writes, host to
device; `rx`: what it reads, device to host) and a seed. Each direction's faults are a pure
function of the seed and the byte's offset in that direction: the Nth byte the host writes
meets the same fault in every run, however the stream is cut into reads and writes.

The same specification is written as a URL query (docs/protocol.md, "Links under faults"):
`ber=1e-3&drop=1e-4&dup=1e-4&burst=4&delay_ms=5&jitter_ms=2&seed=7`; a key applies to both
directions unless prefixed with `tx_` or `rx_` (`rx_ber=0` keeps the device-to-host
direction clean). `reset_frame=N` is not a byte fault: a run resets the device itself (its
driver's reset, bench.targets.protocols.Resetter) once, right after sending the request of its
Nth frame (counted from 0 over the frames one image streams; bench.runner.stream).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields
from urllib.parse import parse_qsl

RATE_KEYS = ("ber", "drop", "dup")
ALL_KEYS = (*RATE_KEYS, "burst", "delay_ms", "jitter_ms")


@dataclass(frozen=True)
class FaultSpec:
    """The faults of one direction.

    ber: byte error rate, the mean fraction of bytes corrupted (one random bit flipped each).
    drop, dup: probability that a byte is lost, or delivered twice.
    burst: bytes hit by one error event; events come at ber / burst, so `ber` stays the mean rate.
    delay_ms, jitter_ms: latency added to every chunk, plus a uniform 0..jitter_ms; order is kept.
    """

    ber: float = 0.0
    drop: float = 0.0
    dup: float = 0.0
    burst: int = 1
    delay_ms: float = 0.0
    jitter_ms: float = 0.0

    def __post_init__(self) -> None:
        for key in RATE_KEYS:
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {key}={value:g} is not a probability in [0, 1]")
        if self.burst < 1:
            raise ValueError(f"burst={self.burst}: an error burst is at least 1 byte")
        if self.delay_ms < 0 or self.jitter_ms < 0:
            raise ValueError(f"delay_ms={self.delay_ms:g}, jitter_ms={self.jitter_ms:g}: delays cannot be negative")

    @property
    def delayed(self) -> bool:
        return self.delay_ms > 0 or self.jitter_ms > 0

    @property
    def clean(self) -> bool:
        return self == FaultSpec()


@dataclass(frozen=True)
class LinkFaults:
    tx: FaultSpec = FaultSpec()
    rx: FaultSpec = FaultSpec()
    seed: int = 0
    reset_frame: int | None = None  # a real device reset after this frame's request (see the module doc)

    @classmethod
    def both(cls, seed: int = 0, **spec: float) -> LinkFaults:
        """The same faults in both directions: LinkFaults.both(ber=1e-3, seed=1)."""
        s = FaultSpec(**spec)  # type: ignore[arg-type]
        return cls(tx=s, rx=s, seed=seed)

    def query(self) -> str:
        """The canonical URL query for these faults (shared keys where both directions agree)."""
        parts: list[str] = []
        for f in fields(FaultSpec):
            default = f.default
            tx, rx = getattr(self.tx, f.name), getattr(self.rx, f.name)
            if tx == rx:
                if tx != default:
                    parts.append(f"{f.name}={tx:g}")
                continue
            parts += [f"{p}_{f.name}={v:g}" for p, v in (("tx", tx), ("rx", rx)) if v != default]
        if self.reset_frame is not None:
            parts.append(f"reset_frame={self.reset_frame}")
        return "&".join([*parts, f"seed={self.seed}"])


def parse_faults(query: str | list[tuple[str, str]]) -> LinkFaults:
    """LinkFaults from a URL query string or its parsed pairs; ValueError on unknown keys or bad values."""
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else query
    shared: dict[str, float] = {}
    own: dict[str, dict[str, float]] = {"tx": {}, "rx": {}}
    seed = 0
    reset_frame = None
    for key, raw in pairs:
        try:
            if key == "seed":
                seed = int(raw)
                continue
            if key == "reset_frame":
                reset_frame = int(raw)
                continue
            value = float(raw)
        except ValueError:
            raise ValueError(f"fault option {key}={raw!r} is not a number") from None
        prefix, _, name = key.partition("_") if key[:3] in ("tx_", "rx_") else ("", "", key)
        if name not in ALL_KEYS:
            raise ValueError(f"unknown fault option {key!r}; known: {', '.join(ALL_KEYS)} (each optionally "
                             "prefixed tx_ for host to device or rx_ for device to host), seed, reset_frame")
        (own[prefix] if prefix else shared)[name] = value
    if reset_frame is not None and reset_frame < 0:
        raise ValueError(f"reset_frame={reset_frame}: a frame number is 0 or more")
    specs = {}
    for d in ("tx", "rx"):
        opts = {**shared, **own[d]}
        if "burst" in opts:
            if opts["burst"] != int(opts["burst"]):
                raise ValueError(f"burst={opts['burst']:g} must be a whole number of bytes")
            opts["burst"] = int(opts["burst"])
        specs[d] = FaultSpec(**opts)  # type: ignore[arg-type]
    return LinkFaults(tx=specs["tx"], rx=specs["rx"], seed=seed, reset_frame=reset_frame)


@dataclass
class FaultCounts:
    bytes: int = 0
    corrupted: int = 0
    dropped: int = 0
    duplicated: int = 0
    bursts: int = 0


class _Events:
    """Offsets of a Bernoulli(p) process over byte offsets, drawn as geometric gaps."""

    def __init__(self, p: float, rng: random.Random):
        self.p, self.rng = p, rng
        self.next = self._gap() if p > 0 else math.inf

    def _gap(self) -> int:
        if self.p >= 1.0:
            return 0
        return int(math.log(1.0 - self.rng.random()) / math.log1p(-self.p))

    def advance(self, after: int) -> None:
        """The next event comes at least one byte after `after` (and after a burst, past its end)."""
        self.next = after + 1 + self._gap()

    def take(self, end: int) -> list[int]:
        """Event offsets before `end`, consumed."""
        out = []
        while self.next < end:
            out.append(int(self.next))
            self.advance(int(self.next))
        return out


class FaultStream:
    """One direction's faults applied to consecutive chunks of a byte stream."""

    def __init__(self, spec: FaultSpec, seed: int, direction: str):
        self.spec = spec
        self.counts = FaultCounts()
        rng = {k: random.Random(f"{seed}:{direction}:{k}") for k in ("err", "bit", "drop", "dup", "delay")}
        self._bits, self._delay = rng["bit"], rng["delay"]
        self._err = _Events(spec.ber / spec.burst, rng["err"])
        self._drop = _Events(spec.drop, rng["drop"])
        self._dup = _Events(spec.dup, rng["dup"])
        self._burst_end = 0  # offsets before this belong to the current error burst
        self.offset = 0

    def apply(self, data: bytes) -> bytes:
        if self.spec.clean or not data:
            self.offset += len(data)
            self.counts.bytes += len(data)
            return data
        start, end = self.offset, self.offset + len(data)
        buf = bytearray(data)
        self._corrupt(buf, start, end)
        dropped = set(self._drop.take(end))
        doubled = set(self._dup.take(end)) - dropped
        self.offset = end
        self.counts.bytes += len(data)
        self.counts.dropped += len(dropped)
        self.counts.duplicated += len(doubled)
        if not dropped and not doubled:
            return bytes(buf)
        out = bytearray()
        for i, b in enumerate(buf, start):
            if i in dropped:
                continue
            out.append(b)
            if i in doubled:
                out.append(b)
        return bytes(out)

    def _corrupt(self, buf: bytearray, start: int, end: int) -> None:
        pos = start
        while True:
            for off in range(max(pos, start), min(end, self._burst_end)):  # the running burst
                buf[off - start] ^= 1 << self._bits.randrange(8)
                self.counts.corrupted += 1
            if self._err.next >= end:
                return
            pos = int(self._err.next)
            self._burst_end = pos + self.spec.burst
            self.counts.bursts += 1
            self._err.advance(self._burst_end - 1)

    def latency(self) -> float:
        """Seconds to hold the next chunk (delay plus jitter)."""
        if not self.spec.delayed:
            return 0.0
        return (self.spec.delay_ms + self._delay.uniform(0.0, self.spec.jitter_ms)) / 1000.0
