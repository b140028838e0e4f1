"""QEMU's machine protocol (QMP) on a unix socket in the run's link folder: the driver's reset.

The emulator listens on `<link dir>/qmp.sock` (`-qmp unix:qmp.sock,server=on,wait=off`, a path
relative to QEMU's working directory, which is the link folder inside and outside the sandbox).
`system_reset` resets the machine as its reset line would: the CPU starts again from the reset
vector, the devices are reset, RAM keeps its contents and the character devices stay connected,
so the bench's link (the UART socket, or the semihosting FIFOs) survives the reset.

A unix socket path is limited to 107 bytes; a deeper link folder is reached through
/proc/self/fd/<fd of the folder>/qmp.sock (Linux).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from bench.errors import TargetError

SOCKET_NAME = "qmp.sock"
_MAX_UNIX_PATH = 107


def qmp_args() -> list[str]:
    """QEMU arguments for the QMP socket (relative to its working directory, the link folder)."""
    return ["-qmp", f"unix:{SOCKET_NAME},server=on,wait=off"]


def _connect(sock: socket.socket, folder: Path) -> None:
    path = str(folder / SOCKET_NAME)
    if len(path.encode()) <= _MAX_UNIX_PATH:
        sock.connect(path)
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sock.connect(f"/proc/self/fd/{fd}/{SOCKET_NAME}")
    finally:
        os.close(fd)


class _Reader:
    def __init__(self, sock: socket.socket, timeout: float):
        self.sock, self.buf = sock, b""
        self.deadline = time.monotonic() + timeout

    def message(self) -> dict[str, Any]:
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer")
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("QEMU closed the QMP socket")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def answer(self) -> dict[str, Any]:
        """The next reply to a command (events in between are skipped)."""
        while True:
            msg = self.message()
            if "return" in msg or "error" in msg:
                return msg


def qmp_execute(folder: Path, command: str, timeout: float = 5.0) -> dict[str, Any]:
    """Run one QMP command on the emulator whose socket is in `folder`; its "return" value.
    TargetError when the socket cannot be reached or QEMU refuses the command."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            _connect(s, folder)
            r = _Reader(s, timeout)
            r.message()  # the greeting
            s.sendall(b'{"execute": "qmp_capabilities"}\n')
            r.answer()
            s.sendall(json.dumps({"execute": command}).encode() + b"\n")
            reply = r.answer()
    except (OSError, TimeoutError, ConnectionError, ValueError) as e:
        raise TargetError(f"QEMU's monitor socket {folder / SOCKET_NAME} did not take '{command}': {e}") from e
    if "error" in reply:
        raise TargetError(f"QEMU refused '{command}': {reply['error'].get('desc', reply['error'])}")
    return reply.get("return", {})
