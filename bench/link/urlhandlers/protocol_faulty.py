"""pyserial port with injected faults (bench.link.faults) on top of any other port.

    register(); serial.serial_for_url("faulty+socket://127.0.0.1:4321?ber=1e-3&seed=1")
    serial.serial_for_url("faulty:///dev/ttyACM0?ber=1e-4&rx_ber=0&delay_ms=5")

`faulty+S://REST` opens `S://REST`, `faulty://REST` opens the plain port REST; the fault
options (docs/protocol.md, "Links under faults") are taken out of the query, any other
query option is left to the inner port.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import serial
from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from bench.link.faults import ALL_KEYS, LinkFaults, parse_faults
from bench.link.faulty import FaultyTransport

FAULT_KEYS = frozenset({"seed", *ALL_KEYS, *(f"{d}_{k}" for d in ("tx", "rx") for k in ALL_KEYS)})


def split_url(url: str) -> tuple[str, LinkFaults]:
    """`faulty+socket://h:p?ber=1e-3&logging=debug` -> (`socket://h:p?logging=debug`, faults)."""
    scheme, sep, rest = url.partition("://")
    low = scheme.lower()
    if not sep or not (low == "faulty" or low.startswith("faulty+")):
        raise ValueError(f"{url!r} is not a faulty:// or faulty+SCHEME:// URL")
    inner_scheme = scheme[len("faulty+"):] if low.startswith("faulty+") else ""
    path, _, query = rest.partition("?")
    if not path and not inner_scheme:
        raise ValueError(f"{url!r} names no port: faulty+socket://HOST:PORT?... or faulty:///dev/ttyX?...")
    pairs = parse_qsl(query, keep_blank_values=True)
    theirs = [(k, v) for k, v in pairs if k not in FAULT_KEYS]
    if theirs and not inner_scheme:
        parse_faults(theirs)  # a plain port takes no options: name the unknown one
    inner = (f"{inner_scheme}://" if inner_scheme else "") + path + (f"?{urlencode(theirs)}" if theirs else "")
    return inner, parse_faults([(k, v) for k, v in pairs if k in FAULT_KEYS])


class _Port:
    """A pyserial port as a ByteTransport (without SerialTransport's LinkError wrapping)."""

    def __init__(self, port: SerialBase):
        self.port = port

    def read(self, max_bytes: int, timeout: float) -> bytes:
        self.port.timeout = timeout
        first = self.port.read(1)
        if not first or max_bytes <= 1:
            return bytes(first)
        self.port.timeout = 0
        return bytes(first + self.port.read(max_bytes - 1))

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def close(self) -> None:
        self.port.close()


class Serial(SerialBase):
    """The port pyserial instantiates for faulty URLs; `link` is its FaultyTransport (counters)."""

    is_open: bool

    def __init__(self, *args: Any, **kwargs: Any):
        self._inner: SerialBase | None = None
        self.link: FaultyTransport | None = None
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise SerialException("Port is already open.")
        try:
            inner_url, faults = split_url(self.portstr)
        except ValueError as e:
            raise SerialException(str(e)) from e
        try:
            self._inner = serial.serial_for_url(inner_url, baudrate=self._baudrate, timeout=0)
        except (SerialException, OSError, ValueError, KeyError) as e:
            passed = [k for k, _ in parse_qsl(inner_url.partition("?")[2])]
            hint = (f"; {', '.join(passed)}: not a fault option ({', '.join(ALL_KEYS)}, each also as tx_KEY or "
                    "rx_KEY, seed), so it went to the inner port" if passed else "")
            raise SerialException(f"could not open {inner_url} below {self.portstr}: {e!s}{hint}") from e
        self.link = FaultyTransport(_Port(self._inner), faults)
        self.is_open = True

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        self.link = None
        self._inner = None
        self.is_open = False

    def _open_link(self) -> FaultyTransport:
        if not self.is_open or self.link is None:
            raise PortNotOpenError()
        return self.link

    def _reconfigure_port(self, force_update: bool = False) -> None:
        if self._inner is not None and self._inner.baudrate != self._baudrate:
            self._inner.baudrate = self._baudrate

    @property
    def in_waiting(self) -> int:
        link = self._open_link()
        assert self._inner is not None
        return link.pending() + int(self._inner.in_waiting)

    def read(self, size: int = 1) -> bytes:
        link = self._open_link()
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        out = bytearray()
        while len(out) < size:
            wait = 0.1 if deadline is None else max(0.0, deadline - time.monotonic())
            out += link.read(size - len(out), wait)
            if deadline is not None and time.monotonic() >= deadline:
                break
        return bytes(out)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._open_link().write(bytes(data))
        return len(data)

    def reset_input_buffer(self) -> None:
        link = self._open_link()
        link.read(1 << 20, 0)
        assert self._inner is not None
        self._inner.reset_input_buffer()

    def reset_output_buffer(self) -> None:
        self._open_link()
        assert self._inner is not None
        self._inner.reset_output_buffer()

    def _update_break_state(self) -> None:
        if self._inner is not None:
            self._inner.break_condition = self._break_state

    def _update_rts_state(self) -> None:
        if self._inner is not None:
            self._inner.rts = self._rts_state

    def _update_dtr_state(self) -> None:
        if self._inner is not None:
            self._inner.dtr = self._dtr_state

    @property
    def cts(self) -> bool:
        return bool(self._inner is not None and self._inner.cts)

    @property
    def dsr(self) -> bool:
        return bool(self._inner is not None and self._inner.dsr)

    @property
    def ri(self) -> bool:
        return bool(self._inner is not None and self._inner.ri)

    @property
    def cd(self) -> bool:
        return bool(self._inner is not None and self._inner.cd)
