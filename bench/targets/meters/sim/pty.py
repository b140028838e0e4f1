"""A simulated serial instrument on a pseudo-terminal: the maker's package opens the pty's slave
path as it would open /dev/ttyACM0 (real pyserial, real termios), and the simulator reads the
commands and writes the replies and samples on the master side."""

from __future__ import annotations

import os
import select
import threading
import tty


class PtyDevice:
    """Subclasses implement ``on_bytes(data)``; ``write(data)`` sends to the host."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline, before the host opens it
        self.port = os.ttyname(self._slave)
        self._closed = threading.Event()
        self._wlock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"sim-{type(self).__name__}", daemon=True)
        self._thread.start()

    def on_bytes(self, data: bytes) -> None:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        with self._wlock:
            while view and not self._closed.is_set():
                _, w, _ = select.select([], [self._master], [], 0.1)
                if not w:
                    continue
                try:
                    n = os.write(self._master, view[:4096])
                except OSError:
                    return
                view = view[n:]

    def _loop(self) -> None:
        while not self._closed.is_set():
            try:
                r, _, _ = select.select([self._master], [], [], 0.05)
                if not r:
                    continue
                data = os.read(self._master, 4096)
            except OSError:
                return
            if data:
                self.on_bytes(data)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
