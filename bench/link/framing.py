"""COBS + CRC32 framing (docs/protocol.md): pure functions and a resynchronising decoder."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAX_PACKET = 2048
HEADER = struct.Struct("<BBH")
MIN_PACKET = HEADER.size + 4
# The agent's boot banner (firmware/apps/agent_main.c: "bench-agent <image> <build id>" at every
# start): console text that says the device (re)started (docs/protocol.md, "Device resets").
BOOT_BANNER = b"bench-agent "


def cobs_encode(data: bytes) -> bytes:
    out = bytearray([0])
    code_pos = 0
    code = 1
    for b in data:
        if b == 0:
            out[code_pos] = code
            code_pos = len(out)
            out.append(0)
            code = 1
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_pos] = code
                code_pos = len(out)
                out.append(0)
                code = 1
    out[code_pos] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS block (without delimiters); ValueError if malformed."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise ValueError("zero byte inside a COBS frame")
        i += 1
        end = i + code - 1
        if end > n:
            raise ValueError("COBS block runs past the end of the frame")
        chunk = data[i:end]
        if 0 in chunk:
            raise ValueError("zero byte inside a COBS frame")
        out += chunk
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


@dataclass(frozen=True)
class Packet:
    type: int
    seq: int
    body: bytes
    flags: int = 0


def encode_packet(pkt: Packet) -> bytes:
    """A packet as it goes on the wire: 0x00 COBS(header body crc) 0x00."""
    raw = HEADER.pack(pkt.type, pkt.flags, pkt.seq & 0xFFFF) + pkt.body
    raw += struct.pack("<I", zlib.crc32(raw))
    if len(raw) > MAX_PACKET:
        raise ValueError(f"packet of {len(raw)} bytes exceeds the maximum of {MAX_PACKET}")
    return b"\x00" + cobs_encode(raw) + b"\x00"


def decode_packet(frame: bytes) -> Packet:
    """Decode the bytes between two delimiters; ValueError on any defect."""
    raw = cobs_decode(frame)
    if len(raw) < MIN_PACKET:
        raise ValueError(f"packet of {len(raw)} bytes is shorter than {MIN_PACKET}")
    if len(raw) > MAX_PACKET:
        raise ValueError(f"packet of {len(raw)} bytes exceeds {MAX_PACKET}")
    (crc,) = struct.unpack_from("<I", raw, len(raw) - 4)
    if zlib.crc32(raw[:-4]) != crc:
        raise ValueError("CRC mismatch")
    t, flags, seq = HEADER.unpack_from(raw)
    return Packet(type=t, seq=seq, body=bytes(raw[HEADER.size:-4]), flags=flags)


class FrameDecoder:
    """Feeds on arbitrary byte chunks, yields good packets, keeps what was not a frame.

    Bytes between delimiters that do not decode (boot text, noise, a frame hit by a
    corrupted or dropped byte) are counted as garbage and kept in `console`, so that a
    timeout can quote the device's last output. `boots` has one entry per boot banner seen in
    that text: the number of good frames decoded before it (so a reader knows which packets came
    before the device restarted and which after).
    """

    def __init__(self, console_limit: int = 65536):
        self._buf = bytearray()
        self.garbage_frames = 0
        self.good_frames = 0
        self.console = bytearray()
        self._console_limit = console_limit
        self.boots: list[int] = []

    def feed(self, data: bytes) -> list[Packet]:
        out: list[Packet] = []
        parts = data.split(b"\x00")
        self._buf += parts[0]
        for part in parts[1:]:  # each delimiter closes the frame collected so far
            self._close(out)
            self._buf += part
        if len(self._buf) > 2 * MAX_PACKET:  # runaway text without delimiters
            self._keep(bytes(self._buf))
            self._buf.clear()
        return out

    def _close(self, out: list[Packet]) -> None:
        if not self._buf:
            return
        frame = bytes(self._buf)
        self._buf.clear()
        try:
            out.append(decode_packet(frame))
            self.good_frames += 1
        except ValueError:
            self.garbage_frames += 1
            self._keep(frame)

    def _keep(self, frame: bytes) -> None:
        self.boots += [self.good_frames] * frame.count(BOOT_BANNER)
        self.console += frame
        if len(self.console) > self._console_limit:
            del self.console[: len(self.console) - self._console_limit]

    def console_text(self, last: int = 400) -> str:
        """The device's text outside frames, including bytes not yet closed by a delimiter."""
        return bytes((self.console + self._buf)[-last:]).decode("ascii", errors="replace")
