"""The link to a guest, watched: when QEMU ends, the bench says why instead of "Connection reset".

`WatchedLink` wraps the transport the driver hands out (TCP serial or semihosting FIFOs). When a
read or write fails, or a read finds the stream closed, it asks the driver whether QEMU has
exited; if so it raises a TargetError with QEMU's exit status in words, the end of
`qemu.stderr.log` (e.g. "qemu: fatal: Lockup ...") and the device's last text. Bytes the device
sent after its last frame delimiter (text without a trailing delimiter, such as a panic message)
are handed to the reader once more closed by a delimiter before the error: the session's decoder
then keeps them as console text, so they reach console.log as well. Nothing is added while QEMU
runs: the stream is only closed once no more byte can come.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

from bench.errors import LinkError, TargetError
from bench.link.transport import ByteTransport

DELIMITER = 0


def printable_text(data: bytes, last: int = 400) -> str:
    """The device's text in `data`: pieces between frame delimiters that are mostly printable ASCII
    (frames are COBS-encoded binary), joined, the last `last` characters."""
    keep = []
    for piece in bytes(data).split(b"\x00"):
        if not piece:
            continue
        ok = sum(32 <= b < 127 or b in (9, 10, 13) for b in piece)
        if ok >= 0.9 * len(piece):
            keep.append(piece.decode("ascii", errors="replace"))
    return "".join(keep)[-last:].strip()


class WatchedLink:
    """A ByteTransport over `inner` that turns the end of QEMU into a TargetError (module doc).

    `died()` returns the error to raise when QEMU has exited (waiting up to `wait` seconds for it
    to finish exiting), or None while it runs.
    """

    def __init__(self, inner: ByteTransport, died: Callable[[float, str], TargetError | None]):
        self.inner = inner
        self._died = died
        self._error: TargetError | None = None
        self._flushed = False
        self.received: collections.deque[int] = collections.deque(maxlen=4096)
        self.pending = 0  # bytes received since the last delimiter

    def __getattr__(self, name: str) -> Any:  # url, tail, bytes_in, bytes_out of the inner transport
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def _end(self, err: TargetError) -> bytes:
        self._error = err
        if self.pending and not self._flushed:
            self._flushed = True
            self.pending = 0
            return bytes([DELIMITER])  # closes the device's last text for the decoder (module doc)
        raise err

    def device_text(self) -> str:
        return printable_text(bytes(self.received))

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self._error is not None:
            return self._end(self._error)
        try:
            data = self.inner.read(max_bytes, timeout)
        except LinkError as e:
            err = self._died(2.0, self.device_text())
            if err is None:
                raise
            err.__cause__ = e
            return self._end(err)
        if data:
            self.received.extend(data)
            cut = data.rfind(b"\x00")
            self.pending = len(data) - cut - 1 if cut >= 0 else self.pending + len(data)
            return data
        err = self._died(0.0, self.device_text())
        return data if err is None else self._end(err)

    def write(self, data: bytes) -> None:
        if self._error is not None:
            if self.pending and not self._flushed:
                return  # the read that follows hands the device's last text to the decoder, then raises
            raise self._error
        try:
            self.inner.write(data)
        except LinkError as e:
            err = self._died(2.0, self.device_text())
            if err is None:
                raise
            err.__cause__ = e
            self._error = err
            if self.pending and not self._flushed:
                return  # as above: the session reads next, gets the device's text closed, then the error
            raise err from e

    def close(self) -> None:
        self.inner.close()
