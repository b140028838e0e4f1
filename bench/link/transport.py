"""Byte transports: one class over pyserial's serial_for_url.

The same code serves a real UART ("/dev/ttyACM0"), QEMU's TCP serial ("socket://host:port")
and ser2net ("rfc2217://host:port"), and any of them with injected faults
("faulty+socket://host:port?ber=1e-3&seed=1", "faulty:///dev/ttyACM0?drop=1e-4": see
bench/link/urlhandlers and docs/protocol.md, "Links under faults").
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
        from bench.link.urlhandlers import register

        register()
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


class FifoTransport:
    """The protocol over two named pipes (QEMU semihosting link, see docs/measurement.md).

    `to_device` is written by the host and read by the guest (SYS_READ); `from_device` the
    reverse. Opening order avoids a deadlock: our read end non-blocking first, then the
    write end, which waits until the guest has opened its read end.
    """

    def __init__(self, to_device: str, from_device: str, open_timeout: float = 10.0):
        import os
        import time

        self.url = f"fifo:{to_device}"
        self._rfd = os.open(from_device, os.O_RDONLY | os.O_NONBLOCK)
        deadline = time.monotonic() + open_timeout
        while True:
            try:
                self._wfd = os.open(to_device, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as e:  # ENXIO: the guest has not opened its end yet
                if time.monotonic() > deadline:
                    os.close(self._rfd)
                    raise LinkError(f"the guest never opened {to_device} ({e}); does the image support "
                                    "the semihosting link?") from e
                time.sleep(0.005)
        os.set_blocking(self._wfd, True)
        self.tail: collections.deque[int] = collections.deque(maxlen=2048)
        self.bytes_in = 0
        self.bytes_out = 0

    def read(self, max_bytes: int, timeout: float) -> bytes:
        import os
        import select

        r, _, _ = select.select([self._rfd], [], [], timeout)
        if not r:
            return b""
        try:
            data = os.read(self._rfd, max_bytes)
        except BlockingIOError:
            return b""
        if not data:  # writer closed: the guest has gone
            import time

            time.sleep(min(timeout, 0.05))
            return b""
        self.tail.extend(data)
        self.bytes_in += len(data)
        return data

    def write(self, data: bytes) -> None:
        import os

        view = memoryview(data)
        try:
            while view:
                n = os.write(self._wfd, view)
                view = view[n:]
        except OSError as e:
            raise LinkError(f"semihosting link failed while writing: {e}") from e
        self.bytes_out += len(data)

    def close(self) -> None:
        import os

        for fd in (self._wfd, self._rfd):
            try:
                os.close(fd)
            except OSError:
                pass
