"""Message codecs, mirroring firmware/agent/bench_proto.h and docs/protocol.md."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

PROTOCOL_VERSION = 1


class Msg(IntEnum):
    HELLO_REQ = 0x01
    CONFIGURE = 0x02
    RESET_STATE = 0x03
    PROCESS = 0x04
    STATS_REQ = 0x05
    HELLO = 0x81
    ACK = 0x82
    RESULT = 0x84
    STATS = 0x85
    NACK = 0x86
    ERROR = 0xEE


class ErrorCode(IntEnum):
    BAD_MSG = 1
    UNKNOWN_TYPE = 2
    BAD_LENGTH = 3
    UNKNOWN_OPTION = 4
    BAD_VALUE = 5
    NOT_CACHED = 6
    INTERNAL = 7


class CounterKind(IntEnum):
    TIMER_TICKS = 0
    CYCLES = 1


class Tlv(IntEnum):
    EXIT = 1
    MASK = 2
    PROBE = 3
    MACS = 4
    I32 = 5


CAP_CONFIGURE = 1 << 0
CAP_SIDE_INFO = 1 << 1
CAP_MARKER = 1 << 2


class HelloExt(IntEnum):
    """HELLO extensions: TLVs (tag:u8, len:u8, value) after the stage names (docs/protocol.md)."""

    WATCHDOG = 1  # kind:u8, timeout_ms:u32
    RESET_CAUSE = 2  # cause:u32 (RESET_CAUSES bits), raw:u32 (the chip's own register)


WATCHDOG_KINDS = {0: "none", 1: "iwdg", 2: "timer-sysresetreq", 3: "wdt"}
RESET_CAUSES = ("power-on", "pin", "software", "watchdog", "window-watchdog", "brown-out", "low-power", "lockup",
                "other")
RESET_WATCHDOG = 1 << RESET_CAUSES.index("watchdog")


def watchdog_name(kind: int | None) -> str:
    if kind is None:
        return "not reported"
    return WATCHDOG_KINDS.get(kind, f"kind {kind}")


def reset_cause_text(cause: int | None) -> str:
    """The reset cause bits as words: "watchdog, software"; "unknown" when none is recorded."""
    if cause is None:
        return "not reported"
    names = [n for i, n in enumerate(RESET_CAUSES) if cause >> i & 1]
    names += [f"bit {i}" for i in range(len(RESET_CAUSES), 32) if cause >> i & 1]
    return ", ".join(names) or "unknown"


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        s = struct.Struct("<" + fmt)
        if self.pos + s.size > len(self.data):
            raise ValueError(f"body too short: need {s.size} bytes at offset {self.pos} of {len(self.data)}")
        v = s.unpack_from(self.data, self.pos)
        self.pos += s.size
        return v

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"body too short: need {n} bytes at offset {self.pos} of {len(self.data)}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def str8(self) -> str:
        (n,) = self.take("B")
        return self.raw(n).decode("ascii", errors="replace")

    def done(self) -> None:
        if self.pos != len(self.data):
            raise ValueError(f"{len(self.data) - self.pos} unexpected trailing bytes")


def _str8(s: str) -> bytes:
    b = s.encode("ascii")
    if len(b) > 255:
        raise ValueError(f"string too long for str8: {s[:20]}...")
    return bytes([len(b)]) + b


@dataclass(frozen=True)
class Hello:
    protocol_version: int
    counter_kind: int
    counter_hz: int
    sample_rate: int
    frame_len: int
    hop_len: int
    capabilities: int
    max_packet: int
    reply_cache: int
    image_name: str
    model_family: str
    build_id: str
    target_board: str
    stage_names: tuple[str, ...]
    # HELLO extensions (None: the image does not send them; images built before them)
    watchdog_kind: int | None = None  # WATCHDOG_KINDS
    watchdog_ms: int | None = None
    reset_cause: int | None = None  # RESET_CAUSES bits: why the chip last started
    reset_raw: int | None = None  # the chip's own record (RCC_CSR, RESETREAS, the fallback's marker)

    def encode(self) -> bytes:
        b = struct.pack("<HBIIHHIHB", self.protocol_version, self.counter_kind, self.counter_hz,
                        self.sample_rate, self.frame_len, self.hop_len, self.capabilities,
                        self.max_packet, self.reply_cache)
        b += _str8(self.image_name) + _str8(self.model_family) + _str8(self.build_id) + _str8(self.target_board)
        b += bytes([len(self.stage_names)]) + b"".join(_str8(s) for s in self.stage_names)
        if self.watchdog_kind is not None:
            b += struct.pack("<BBBI", HelloExt.WATCHDOG, 5, self.watchdog_kind, self.watchdog_ms or 0)
        if self.reset_cause is not None:
            b += struct.pack("<BBII", HelloExt.RESET_CAUSE, 8, self.reset_cause, self.reset_raw or 0)
        return b

    @classmethod
    def decode(cls, body: bytes) -> "Hello":
        r = _Reader(body)
        fixed = r.take("HBIIHHIHB")
        strs = [r.str8() for _ in range(4)]
        (n,) = r.take("B")
        stages = tuple(r.str8() for _ in range(n))
        wdg: tuple[int, int] | tuple[None, None] = (None, None)
        cause: tuple[int, int] | tuple[None, None] = (None, None)
        while r.pos < len(r.data):  # extensions; an unknown tag is skipped by its length
            tag, length = r.take("BB")
            value = r.raw(length)
            if tag == HelloExt.WATCHDOG and length >= 5:
                wdg = struct.unpack_from("<BI", value)
            elif tag == HelloExt.RESET_CAUSE and length >= 8:
                cause = struct.unpack_from("<II", value)
        r.done()
        return cls(*fixed, *strs, stage_names=stages, watchdog_kind=wdg[0], watchdog_ms=wdg[1],  # type: ignore[misc]
                   reset_cause=cause[0], reset_raw=cause[1])


def encode_configure(options: dict[str, int]) -> bytes:
    if not 1 <= len(options) <= 255:
        raise ValueError("CONFIGURE needs 1..255 options")
    b = bytes([len(options)])
    for k, v in options.items():
        kb = k.encode("ascii")
        if not 1 <= len(kb) <= 32:
            raise ValueError(f"option key '{k}' must be 1..32 ASCII characters")
        b += bytes([len(kb)]) + kb + struct.pack("<i", int(v))
    return b


def decode_configure(body: bytes) -> dict[str, int]:
    r = _Reader(body)
    (n,) = r.take("B")
    out = {}
    for _ in range(n):
        k = r.str8()
        (v,) = r.take("i")
        out[k] = v
    r.done()
    return out


def encode_process(pcm: np.ndarray) -> bytes:
    a = np.asarray(pcm, dtype="<i2")
    return struct.pack("<H", a.size) + a.tobytes()


def decode_process(body: bytes) -> np.ndarray:
    r = _Reader(body)
    (n,) = r.take("H")
    pcm = np.frombuffer(r.raw(2 * n), dtype="<i2").astype(np.int16)
    r.done()
    return pcm


@dataclass(frozen=True)
class SideInfo:
    exit: int | None = None
    masks: dict[int, bytes] = field(default_factory=dict)
    probes: dict[int, int] = field(default_factory=dict)
    macs: int | None = None
    stats: dict[int, int] = field(default_factory=dict)
    unknown: tuple[tuple[int, bytes], ...] = ()

    @classmethod
    def decode(cls, data: bytes) -> "SideInfo":
        r = _Reader(data)
        ex = macs = None
        masks: dict[int, bytes] = {}
        probes: dict[int, int] = {}
        stats: dict[int, int] = {}
        unknown: list[tuple[int, bytes]] = []
        while r.pos < len(data):
            t, n = r.take("BH")
            v = r.raw(n)
            if t == Tlv.EXIT and n == 1:
                ex = v[0]
            elif t == Tlv.MASK and n >= 1:
                masks[v[0]] = bytes(v[1:])
            elif t == Tlv.PROBE and n == 5:
                probes[v[0]] = struct.unpack_from("<i", v, 1)[0]
            elif t == Tlv.MACS and n == 4:
                macs = struct.unpack("<I", v)[0]
            elif t == Tlv.I32 and n == 5:
                stats[v[0]] = struct.unpack_from("<i", v, 1)[0]
            else:
                unknown.append((t, bytes(v)))
        return cls(ex, masks, probes, macs, stats, tuple(unknown))

    def encode(self) -> bytes:
        out = b""

        def tlv(t: int, v: bytes) -> bytes:
            return struct.pack("<BH", t, len(v)) + v

        if self.exit is not None:
            out += tlv(Tlv.EXIT, bytes([self.exit]))
        for blk, bits in self.masks.items():
            out += tlv(Tlv.MASK, bytes([blk]) + bits)
        for pid, val in self.probes.items():
            out += tlv(Tlv.PROBE, struct.pack("<Bi", pid, val))
        if self.macs is not None:
            out += tlv(Tlv.MACS, struct.pack("<I", self.macs))
        for tag, val in self.stats.items():
            out += tlv(Tlv.I32, struct.pack("<Bi", tag, val))
        for t, v in self.unknown:
            out += tlv(t, v)
        return out


@dataclass(frozen=True)
class Result:
    pcm: np.ndarray
    stage_ticks: tuple[int, ...]
    total_ticks: int
    side: SideInfo

    def encode(self) -> bytes:
        side = self.side.encode()
        return (encode_process(self.pcm) + bytes([len(self.stage_ticks)])
                + struct.pack(f"<{len(self.stage_ticks)}I", *self.stage_ticks)
                + struct.pack("<IH", self.total_ticks, len(side)) + side)

    @classmethod
    def decode(cls, body: bytes) -> "Result":
        r = _Reader(body)
        (n,) = r.take("H")
        pcm = np.frombuffer(r.raw(2 * n), dtype="<i2").astype(np.int16)
        (ns,) = r.take("B")
        ticks = r.take(f"{ns}I") if ns else ()
        total, side_len = r.take("IH")
        side = SideInfo.decode(r.raw(side_len))
        r.done()
        return cls(pcm, tuple(ticks), total, side)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Result) and np.array_equal(self.pcm, other.pcm)
                and self.stage_ticks == other.stage_ticks and self.total_ticks == other.total_ticks
                and self.side == other.side)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Stats:
    frames: int
    crc_errors: int
    nacks: int
    dups: int
    rx_overflows: int
    errors: int

    def encode(self) -> bytes:
        return struct.pack("<6I", self.frames, self.crc_errors, self.nacks, self.dups,
                           self.rx_overflows, self.errors)

    @classmethod
    def decode(cls, body: bytes) -> "Stats":
        r = _Reader(body)
        v = r.take("6I")
        r.done()
        return cls(*v)


@dataclass(frozen=True)
class Error:
    code: int
    text: str

    def encode(self) -> bytes:
        return struct.pack("<H", self.code) + _str8(self.text)

    @classmethod
    def decode(cls, body: bytes) -> "Error":
        r = _Reader(body)
        (code,) = r.take("H")
        text = r.str8()
        r.done()
        return cls(code, text)

    def describe(self) -> str:
        try:
            name = ErrorCode(self.code).name
        except ValueError:
            name = f"code {self.code}"
        return f"{name}: {self.text}"


def encode_nack(expected: int) -> bytes:
    return struct.pack("<H", expected & 0xFFFF)


def decode_nack(body: bytes) -> int:
    r = _Reader(body)
    (e,) = r.take("H")
    r.done()
    return int(e)
