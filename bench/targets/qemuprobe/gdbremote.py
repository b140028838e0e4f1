"""A client of the GDB remote serial protocol (RSP), as QEMU's gdbstub (`-gdb tcp::PORT`) speaks it.

Only what the emulated probe needs, all-stop mode:

    ?                       why the target stopped (a stop reply)
    \\x03                    interrupt a running target (a stop reply comes back)
    c / s                   continue (no reply until the target stops) / one instruction
    p n / P n=v             read / write one register (little-endian hex)
    m a,l / M a,l:hex       read / write memory (E.. when the bus refuses the access)
    qRcmd,hex               a monitor command (QEMU: `system_reset`), output in O packets
    qXfer:features:read     the target description (register names and numbers)

Packets are `$data#cs` (cs: the modulo-256 sum of data, two hex digits); `}` escapes `#$}*` as
byte ^ 0x20 and `*` run-length encodes in replies. After `QStartNoAckMode` neither side sends
`+`/`-` acknowledgements any more (QEMU supports it; without it this client acks every reply).

In all-stop mode nothing but an interrupt may be sent while the target runs: the caller (the
probe) halts, accesses and resumes; `poll_stop()` picks up a stop reply the target sent by itself
(a breakpoint, an exit).
"""

from __future__ import annotations

import re
import select
import socket
import time
from dataclasses import dataclass

__all__ = ["GdbRemote", "GdbRemoteError", "GdbTimeout", "RegisterInfo", "StopReply"]


class GdbRemoteError(Exception):
    """The stub answered with an error (E NN), or the connection broke."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class GdbTimeout(GdbRemoteError):
    """No (complete) reply within the time allowed."""


@dataclass(frozen=True)
class RegisterInfo:
    name: str
    regnum: int
    bitsize: int
    feature: str


@dataclass(frozen=True)
class StopReply:
    """A stop reply: T/S (stopped, with a signal), W (exited, with a status) or X (killed by a signal)."""

    kind: str  # "T", "S", "W" or "X"
    code: int
    raw: bytes

    @property
    def exited(self) -> bool:
        return self.kind in ("W", "X")


def checksum(data: bytes) -> bytes:
    return b"%02x" % (sum(data) & 0xFF)


def escape(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        if b in b"#$}*":
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """Undo `}` escapes and `*` run-length encoding of a reply's payload."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x7D and i + 1 < n:
            out.append(data[i + 1] ^ 0x20)
            i += 2
        elif b == 0x2A and out and i + 1 < n:  # '*': repeat the previous byte (count - 29) more times
            out += bytes((out[-1],)) * (data[i + 1] - 29)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def le_hex(value: int, nbytes: int) -> bytes:
    return value.to_bytes(nbytes, "little").hex().encode()


def parse_stop(payload: bytes) -> StopReply | None:
    if not payload or payload[:1] not in b"TSWX":
        return None
    try:
        code = int(payload[1:3], 16)
    except ValueError:
        return None
    return StopReply(payload[:1].decode(), code, payload)


class GdbRemote:
    """One connection to a gdbstub. Not thread-safe: the probe serialises access under its lock."""

    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self._ack = True
        self.packet_size = 4096
        self.running = False
        self.last_stop: StopReply | None = None
        self.console: list[str] = []  # monitor output (O packets)
        self.stats = {"packets": 0, "bytes_read": 0, "bytes_written": 0}

    # -- connection ---------------------------------------------------------------------------

    def connect(self, deadline_s: float = 10.0) -> None:
        """Connect (retrying while the stub is not listening yet), negotiate, and read the stop state."""
        end = time.monotonic() + deadline_s
        last: Exception | None = None
        while True:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
                break
            except OSError as e:
                last = e
                if time.monotonic() > end:
                    raise GdbRemoteError(f"cannot connect to the gdbstub at {self.host}:{self.port}: {last}") from e
                time.sleep(0.05)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.settimeout(None)
        self._sock.setblocking(True)
        sup = self.command(b"qSupported:xmlRegisters=arm;swbreak+;hwbreak+")
        for feat in sup.split(b";"):
            if feat.startswith(b"PacketSize="):
                self.packet_size = max(256, int(feat.split(b"=")[1], 16))
        if b"QStartNoAckMode+" in sup and self.command(b"QStartNoAckMode") == b"OK":
            self._ack = False
        stop = parse_stop(self.command(b"?"))
        self.last_stop = stop
        self.running = False

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    @property
    def connected(self) -> bool:
        return self._sock is not None

    # -- packets ----------------------------------------------------------------------------------

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise GdbRemoteError("not connected to the gdbstub")
        return self._sock

    def _send_raw(self, data: bytes) -> None:
        try:
            self._require().sendall(data)
        except OSError as e:
            self.close()
            raise GdbRemoteError(f"the gdbstub connection broke while sending: {e}") from e

    def _fill(self, deadline: float) -> bool:
        """Read what the socket has, waiting until deadline; False on timeout."""
        sock = self._require()
        wait = max(0.0, deadline - time.monotonic())
        r, _, _ = select.select([sock], [], [], wait)
        if not r:
            return False
        try:
            chunk = sock.recv(65536)
        except OSError as e:
            self.close()
            raise GdbRemoteError(f"the gdbstub connection broke while reading: {e}") from e
        if not chunk:
            self.close()
            raise GdbRemoteError("the gdbstub closed the connection (did QEMU exit?)")
        self._buf += chunk
        return True

    def _take_packet(self) -> bytes | None:
        """One complete packet's payload from the buffer (acks and noise before `$` dropped)."""
        buf = self._buf
        while buf and buf[0] != 0x24:  # '$'
            del buf[0]  # '+', '-' and anything stray
        if not buf:
            return None
        end = buf.find(b"#")
        if end < 0 or len(buf) < end + 3:
            return None
        payload, cs = bytes(buf[1:end]), bytes(buf[end + 1:end + 3])
        del buf[:end + 3]
        if self._ack:
            self._send_raw(b"+" if checksum(payload) == cs.lower() else b"-")
        return payload

    def _recv(self, timeout: float | None) -> bytes:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            pkt = self._take_packet()
            if pkt is not None:
                self.stats["packets"] += 1
                return unescape(pkt)
            if not self._fill(deadline):
                raise GdbTimeout(f"no reply from the gdbstub at {self.host}:{self.port} within "
                                 f"{self.timeout if timeout is None else timeout:.1f} s")

    def send(self, data: bytes) -> None:
        self._send_raw(b"$" + data + b"#" + checksum(data))

    def command(self, data: bytes, timeout: float | None = None) -> bytes:
        """Send one packet and return the reply's payload (O console packets collected on the way)."""
        if self.running:
            raise GdbRemoteError(f"cannot send {data[:16]!r} while the target runs (all-stop mode): halt first")
        self.send(data)
        while True:
            reply = self._recv(timeout)
            if reply.startswith(b"O") and reply != b"OK" and re.fullmatch(rb"O([0-9a-fA-F]{2})+", reply):
                self.console.append(bytes.fromhex(reply[1:].decode()).decode("utf-8", "replace"))
                continue
            return reply

    @staticmethod
    def _check(reply: bytes, what: str) -> bytes:
        if re.fullmatch(rb"E[0-9a-fA-F]{2}", reply):
            raise GdbRemoteError(f"{what}: the gdbstub answered {reply.decode()}", int(reply[1:], 16))
        if reply == b"":
            raise GdbRemoteError(f"{what}: not supported by the gdbstub (empty reply)")
        return reply

    # -- run control ----------------------------------------------------------------------------

    def interrupt(self, timeout: float | None = None) -> StopReply:
        """Stop a running target (^C); returns its stop reply."""
        if not self.running:
            assert self.last_stop is not None or True
            return self.last_stop or StopReply("S", 0, b"S00")
        self._send_raw(b"\x03")
        return self._wait_stop(timeout)

    def _wait_stop(self, timeout: float | None) -> StopReply:
        while True:
            reply = self._recv(timeout)
            stop = parse_stop(reply)
            if stop is not None:
                self.running = False
                self.last_stop = stop
                return stop
            if reply.startswith(b"O") and re.fullmatch(rb"O([0-9a-fA-F]{2})+", reply):
                self.console.append(bytes.fromhex(reply[1:].decode()).decode("utf-8", "replace"))

    def cont(self) -> None:
        if self.running:
            return
        self.send(b"c")
        self.running = True

    def step(self, timeout: float | None = None) -> StopReply:
        if self.running:
            raise GdbRemoteError("cannot step a running target: halt first")
        self.send(b"s")
        self.running = True
        return self._wait_stop(timeout)

    def poll_stop(self) -> StopReply | None:
        """A stop reply the running target sent on its own (breakpoint, exit), without waiting."""
        if not self.running:
            return None
        pkt = self._take_packet()
        if pkt is None and self._fill(time.monotonic()):
            pkt = self._take_packet()
        if pkt is None:
            return None
        stop = parse_stop(unescape(pkt))
        if stop is not None:
            self.running = False
            self.last_stop = stop
        return stop

    # -- registers ------------------------------------------------------------------------------

    def read_register(self, regnum: int, nbytes: int = 4) -> int:
        reply = self._check(self.command(b"p%x" % regnum), f"reading register {regnum}")
        raw = bytes.fromhex(reply.decode())
        return int.from_bytes(raw[:nbytes], "little")

    def write_register(self, regnum: int, value: int, nbytes: int = 4) -> None:
        reply = self.command(b"P%x=" % regnum + le_hex(value & ((1 << (8 * nbytes)) - 1), nbytes))
        if reply != b"OK":
            self._check(reply, f"writing register {regnum}")
            raise GdbRemoteError(f"writing register {regnum}: unexpected reply {reply!r}")

    # -- memory ---------------------------------------------------------------------------------

    @property
    def _chunk(self) -> int:
        return max(64, (self.packet_size - 32) // 2)

    def read_memory(self, addr: int, length: int) -> bytes:
        out = bytearray()
        while length > 0:
            n = min(length, self._chunk)
            reply = self._check(self.command(b"m%x,%x" % (addr, n)), f"reading {n} bytes at 0x{addr:08x}")
            data = bytes.fromhex(reply.decode())
            if not data:
                raise GdbRemoteError(f"reading {n} bytes at 0x{addr:08x}: no data", 0x0E)
            out += data
            addr += len(data)
            length -= len(data)
        self.stats["bytes_read"] += len(out)
        return bytes(out)

    def write_memory(self, addr: int, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            part = data[pos:pos + self._chunk]
            reply = self.command(b"M%x,%x:" % (addr + pos, len(part)) + part.hex().encode())
            if reply != b"OK":
                self._check(reply, f"writing {len(part)} bytes at 0x{addr + pos:08x}")
                raise GdbRemoteError(f"writing at 0x{addr + pos:08x}: unexpected reply {reply!r}")
            pos += len(part)
        self.stats["bytes_written"] += len(data)

    # -- monitor and target description ----------------------------------------------------------------

    def monitor(self, cmd: str, timeout: float | None = None) -> str:
        """A monitor command (GDB's `monitor CMD`): its console output. E.. or an empty reply raise."""
        self.console.clear()
        reply = self.command(b"qRcmd," + cmd.encode().hex().encode(), timeout)
        if reply != b"OK":
            self._check(reply, f"monitor {cmd}")
            # some stubs return the output as one hex string instead of O packets
            try:
                self.console.append(bytes.fromhex(reply.decode()).decode("utf-8", "replace"))
            except ValueError:
                raise GdbRemoteError(f"monitor {cmd}: unexpected reply {reply!r}") from None
        return "".join(self.console)

    def read_xfer(self, obj: str, annex: str) -> bytes:
        out = bytearray()
        while True:
            reply = self._check(self.command(b"qXfer:%s:read:%s:%x,%x" % (obj.encode(), annex.encode(), len(out),
                                                                      self._chunk)), f"qXfer {obj} {annex}")
            out += reply[1:]
            if reply[:1] == b"l":
                return bytes(out)
            if reply[:1] != b"m":
                raise GdbRemoteError(f"qXfer {obj} {annex}: unexpected reply {reply[:20]!r}")

    def registers(self) -> dict[str, RegisterInfo]:
        """The target description's registers by lower-case name (target.xml and its includes)."""
        regs: dict[str, RegisterInfo] = {}
        nxt = 0

        def walk(annex: str) -> None:
            nonlocal nxt
            # QEMU's target.xml uses xi:include without declaring the prefix: read it with patterns
            text = self.read_xfer("features", annex).decode("utf-8", "replace")
            for m in re.finditer(r"<(?:xi:)?include\s+href=\"([^\"]+)\"|<feature\s+name=\"([^\"]*)\""
                                 r"|<reg\s([^>]*)>", text):
                if m.group(1):
                    walk(m.group(1))
                elif m.group(2) is not None:
                    feature[0] = m.group(2)
                else:
                    attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3)))
                    num = int(attrs.get("regnum", nxt))
                    info = RegisterInfo(attrs.get("name", "").lower(), num, int(attrs.get("bitsize", "32")),
                                        feature[0])
                    regs.setdefault(info.name, info)
                    nxt = num + 1

        feature = [""]
        walk("target.xml")
        return regs
