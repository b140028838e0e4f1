"""Byte transports: one class over pyserial's serial_for_url.

The same code serves a real UART ("/dev/ttyACM0"), QEMU's TCP serial ("socket://host:port")
and ser2net ("rfc2217://host:port").
"""

from __future__ import annotations

import collections
from typing import Protocol

import serial

from bench.errors import LinkError


class ByteTransport(Protocol):
    def read(self, max_bytes: int, timeout: float) -> bytes: ...
    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...


class SerialTransport:
    """A pyserial port; keeps the last bytes received for error messages."""

    def __init__(self, url: str, baudrate: int = 115200, open_timeout: float = 5.0):
        self.url = url
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05, do_not_open=False)
        except (serial.SerialException, OSError, ValueError) as e:
            raise LinkError(f"cannot open link {url}: {e}; check that the target is running and the "
                            "port is free") from e
        self.tail: collections.deque[int] = collections.deque(maxlen=2048)
        self.bytes_in = 0
        self.bytes_out = 0

    def read(self, max_bytes: int, timeout: float) -> bytes:
        self._port.timeout = timeout
        try:
            first = self._port.read(1)
            if not first:
                return b""
            rest = b""
            if max_bytes > 1:  # then whatever else is already there, without waiting
                self._port.timeout = 0
                rest = self._port.read(max_bytes - 1)
        except (serial.SerialException, OSError) as e:
            raise LinkError(f"link {self.url} failed while reading: {e}") from e
        data = first + rest
        self.tail.extend(data)
        self.bytes_in += len(data)
        return data

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as e:
            raise LinkError(f"link {self.url} failed while writing: {e}") from e
        self.bytes_out += len(data)

    def close(self) -> None:
        try:
            self._port.close()
        except Exception:  # noqa: BLE001 - closing a dead port must not mask the real error
            pass
