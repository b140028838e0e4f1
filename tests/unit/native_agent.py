"""The real C agent (with the passthrough model) built for the host, behind a faulty wire."""

from __future__ import annotations

import ctypes
import random
from pathlib import Path

from bench.models.common.native import build_shared
from bench.paths import repo_root


def load_agent(model_sources: list[Path] | None = None, name: str = "agent_passthrough") -> ctypes.CDLL:
    """The agent + host port + a model (default: the passthrough model) as a shared library."""
    fw = repo_root() / "firmware"
    models = model_sources or [fw / "models/passthrough/passthrough_model.c"]
    so = build_shared(
        [fw / "agent/bench_agent.c", fw / "tests/host_port.c", *models],
        include_dirs=[fw / "agent", *sorted({p.parent for p in models})], name=name)
    lib = ctypes.CDLL(str(Path(so)))
    lib.bench_agent_feed.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.host_take_output.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.host_take_output.restype = ctypes.c_size_t
    lib.bench_crc32.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.bench_crc32.restype = ctypes.c_uint32
    lib.bench_cobs_encode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
    lib.bench_cobs_encode.restype = ctypes.c_size_t
    return lib


class Channel:
    """One direction of a wire that drops, corrupts and duplicates bytes at given rates."""

    def __init__(self, rng: random.Random, drop: float = 0.0, flip: float = 0.0, dup: float = 0.0):
        self.rng, self.drop, self.flip, self.dup = rng, drop, flip, dup
        self.events = 0

    def __call__(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            r = self.rng.random()
            if r < self.drop:
                self.events += 1
                continue
            if r < self.drop + self.flip:
                b ^= 1 << self.rng.randrange(8)
                self.events += 1
            out.append(b)
        if self.dup and self.rng.random() < self.dup:
            self.events += 1
            out = out + bytes(out)
        return bytes(out)


class NativeAgentTransport:
    """ByteTransport whose other end is the C agent, called synchronously."""

    def __init__(self, lib: ctypes.CDLL, to_device: Channel | None = None, to_host: Channel | None = None):
        self.lib = lib
        self.to_device = to_device or (lambda b: b)
        self.to_host = to_host or (lambda b: b)
        self._pending = b""
        lib.host_init()

    def write(self, data: bytes) -> None:
        d = self.to_device(data)
        self.lib.bench_agent_feed(d, len(d))
        buf = ctypes.create_string_buffer(1 << 20)
        n = self.lib.host_take_output(buf, len(buf))
        self._pending += self.to_host(buf.raw[:n])

    def read(self, max_bytes: int, timeout: float) -> bytes:
        out, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return out

    def close(self) -> None:
        pass
