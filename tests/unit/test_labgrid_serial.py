"""The `serial` package with labgrid installed (docs/decisions.md, "labgrid and pyserial"): its files
are pyserial-labgrid's (bootstrap reinstalls it last), and bench's link opens `socket://`,
`faulty+socket://` and `rfc2217://` (through a real ser2net on a pty, as labgrid's exporter runs it)
with it; a read timeout change on an RFC 2217 port costs no renegotiation (pyserial 3.5's client
spends ~0.3 s on each, so 20 round trips would take ~6 s)."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
import tty
from importlib import metadata

import pytest

from bench.link.transport import SerialTransport


def _dist(name: str) -> metadata.Distribution | None:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None


def _differing(dist: metadata.Distribution) -> list[str]:
    bad = []
    for f in dist.files or []:
        if str(f).startswith("serial/") and f.hash is not None:
            digest = hashlib.new(f.hash.mode, f.locate().read_bytes()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != f.hash.value:
                bad.append(str(f))
    return bad


def test_serial_files_are_pyserial_labgrids_when_labgrid_is_installed():
    lg = _dist("pyserial-labgrid")
    if _dist("labgrid") is None or lg is None:
        pytest.skip("labgrid is not installed (pip install 'bench[farm]'; CI installs it)")
    assert _differing(lg) == [], ("serial/ holds pyserial's files, not pyserial-labgrid's: run pip install "
                                  "--no-deps --force-reinstall pyserial-labgrid==3.5.0.2 (scripts/bootstrap)")
    ps = _dist("pyserial")
    if ps is not None:  # both installed: they differ exactly in the version and the RFC 2217 client
        assert sorted(_differing(ps)) == ["serial/__init__.py", "serial/rfc2217.py"]


class Echo:
    """A TCP echo server (socket://) in a thread."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)


def _roundtrip(link: SerialTransport, payload: bytes) -> bytes:
    link.write(payload)
    got, end = b"", time.monotonic() + 5
    while len(got) < len(payload) and time.monotonic() < end:
        got += link.read(len(payload) - len(got), timeout=0.5)
    return got


def test_socket_and_faulty_socket_urls():
    for url in ("socket://127.0.0.1:{}", "faulty+socket://127.0.0.1:{}?seed=1"):
        echo = Echo()
        link = SerialTransport(url.format(echo.port))
        try:
            assert _roundtrip(link, b"hello over " + url.encode()) == b"hello over " + url.encode()
        finally:
            link.close()


@pytest.fixture()
def ser2net_pty():
    """ser2net in front of a pty whose other end echoes, configured as labgrid's exporter does."""
    exe = shutil.which("ser2net") or ("/usr/sbin/ser2net" if os.path.exists("/usr/sbin/ser2net") else None)
    if exe is None:
        pytest.fail("ser2net is not installed: apt-get install ser2net (scripts/bootstrap installs it)")
    master, slave = os.openpty()
    tty.setraw(slave)

    def echo() -> None:
        while True:
            try:
                os.write(master, os.read(master, 1024))
            except OSError:
                return

    threading.Thread(target=echo, daemon=True).start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "-d", "-n", "-Y",
                             f"connection: &con01#  accepter: telnet(rfc2217,mode=server),tcp,{port}",
                             "-Y", f"  connector: serialdev(nouucplock=true),{os.ttyname(slave)},115200n81,local"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert time.monotonic() < end and proc.poll() is None, "ser2net did not start"
            time.sleep(0.1)
    time.sleep(0.3)  # ser2net takes the test connection down before it accepts the next
    yield port
    proc.terminate()
    proc.wait(5)
    os.close(master)
    os.close(slave)


def test_rfc2217_through_ser2net_without_renegotiating_on_timeouts(ser2net_pty):
    link = SerialTransport(f"rfc2217://127.0.0.1:{ser2net_pty}?ign_set_control")
    try:
        assert _roundtrip(link, b"frame over RFC 2217") == b"frame over RFC 2217"
        t0 = time.monotonic()
        for i in range(20):
            assert _roundtrip(link, bytes([i])) == bytes([i])
        took = time.monotonic() - t0
    finally:
        link.close()
    assert took < 2.0, f"20 round trips took {took:.1f} s: the RFC 2217 client renegotiates on each timeout " \
                       "change (pyserial's files instead of pyserial-labgrid's?)"
