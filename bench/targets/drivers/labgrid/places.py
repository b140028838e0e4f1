"""labgrid places through labgrid's client API (`labgrid.remote.client.start_session`, the coordinator's
gRPC calls): find a place by name or tags, say who holds it, acquire and release it, read its resources.

A lock bench takes is remembered on this host (`<cache>/labgrid/<coordinator>/<place>.json`: the pid
and when), so that a lock left behind by a bench that died (SIGKILL, a lost machine) is recognised as
stale the next time: released and taken again when it was ours and its process is gone, reported
with the command that frees it when it is somebody else's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ConfigError, TargetError

LABGRID_MISSING = ("labgrid is not installed: pip install 'bench[farm]' (scripts/bootstrap installs it; "
                   "docs/farm.md)")
DEFAULT_PORT = 20408


class PlaceReserved(TargetError):
    """The place is acquired by somebody else (the message says by whom and since when)."""


@dataclass(frozen=True)
class Resource:
    """One resource of an acquired place: its name in the place, labgrid class and parameters."""

    name: str
    cls: str
    params: dict[str, Any]


def _client() -> Any:
    try:
        from labgrid.remote import client
    except ImportError as e:
        raise TargetError(LABGRID_MISSING) from e
    return client


def coordinator_address(given: str = "") -> str:
    """[labgrid] coordinator, else $LG_COORDINATOR (labgrid's own variable), else 127.0.0.1:20408."""
    addr = given or os.environ.get("LG_COORDINATOR", "") or f"127.0.0.1:{DEFAULT_PORT}"
    return addr if ":" in addr.rsplit("]", 1)[-1] else f"{addr}:{DEFAULT_PORT}"


def whoami() -> str:
    """This client as labgrid names it: `<host>/<user>` ($LG_HOSTNAME / $LG_USERNAME override)."""
    import getpass
    import socket

    return f"{os.environ.get('LG_HOSTNAME', socket.gethostname())}/{os.environ.get('LG_USERNAME', getpass.getuser())}"


def holder_text(place: Any) -> str:
    """`user@host since 2026-12-06 08:40 UTC (1.5 h)` for an acquired place."""
    host, _, user = str(place.acquired).partition("/")
    since = float(getattr(place, "changed", 0) or 0)
    age = time.time() - since
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(since)) if since else "?"
    span = f"{age / 3600:.1f} h" if age >= 3600 else f"{age / 60:.0f} min" if age >= 60 else f"{age:.0f} s"
    text = f"{user or '?'}@{host or '?'} since {when} ({span})"
    comment = str(getattr(place, "comment", "") or "")
    return f"{text}, comment {comment!r}" if comment else text


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LockBook:
    """The locks bench took on this host, one small JSON file per coordinator and place."""

    def __init__(self, coordinator: str, root: Path | None = None):
        base = root or Path(os.environ.get("BENCH_CACHE_DIR") or (
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bench"))
        self.dir = Path(base) / "labgrid" / coordinator.replace(":", "_").replace("/", "_")

    def path(self, place: str) -> Path:
        return self.dir / f"{place}.json"

    def note(self, place: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path(place).write_text(json.dumps({"pid": os.getpid(), "since": time.time()}))

    def forget(self, place: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(place).unlink()

    def owner(self, place: str) -> int | None:
        """The pid of the bench process that took the place's lock on this host, if it recorded one."""
        try:
            return int(json.loads(self.path(place).read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


class Coordinator:
    """A client session on a labgrid coordinator (one per process and thread; close() it)."""

    def __init__(self, address: str = "", timeout_s: float = 10.0):
        self.address = coordinator_address(address)
        client = _client()
        self._pb2 = __import__("labgrid.remote.generated.labgrid_coordinator_pb2", fromlist=["x"])
        self._errors = client.Error
        try:
            import grpc

            self._rpc_error = grpc.aio.AioRpcError
            self.session = client.start_session(self.address, extra={"args": argparse.Namespace()})
        except Exception as e:  # noqa: BLE001 - every way of not reaching it is one error for the user
            raise TargetError(f"cannot reach the labgrid coordinator at {self.address} ({type(e).__name__}: "
                              f"{e}); is `labgrid-coordinator` running there? Set [labgrid] coordinator in the "
                              "target TOML or $LG_COORDINATOR") from e
        self.loop = self.session.loop
        self.locks = LockBook(self.address)
        self.me = whoami()
        self.stale = ""  # what acquire() found and did about a stale lock of our own

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(self.session.stop())
            self.loop.run_until_complete(self.session.close())

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sync(self) -> None:
        self.loop.run_until_complete(self.session.sync_with_coordinator())

    # -- places -----------------------------------------------------------------------------------

    def places(self) -> dict[str, Any]:
        self.sync()
        return dict(self.session.places)

    def place(self, name: str) -> Any:
        places = self.places()
        if name not in places:
            known = ", ".join(sorted(places)) or "none"
            raise ConfigError(f"labgrid place '{name}' does not exist on the coordinator {self.address} "
                              f"(places: {known}); create it with `labgrid-client -p {name} create` and add its "
                              "resources with `add-match` (docs/farm.md)")
        return places[name]

    def find(self, tags: dict[str, str]) -> list[str]:
        """The places whose tags include every given tag, idle ones first, then by name."""
        hits = [p for p in self.places().values() if all(p.tags.get(k) == v for k, v in tags.items())]
        return [p.name for p in sorted(hits, key=lambda p: (p.acquired is not None, p.name))]

    def holder(self, name: str) -> str | None:
        """Who holds the place (`user@host since ...`), or None when it is free."""
        p = self.place(name)
        return holder_text(p) if p.acquired else None

    def acquire(self, name: str) -> bool:
        """Lock the place for this client; True if this call took the lock (then release() it), False
        when this user already holds it outside bench (`labgrid-client acquire`, labgrid's pytest
        plugin): bench uses that lock and leaves it. PlaceReserved when somebody else holds it, or
        another bench process of ours; a stale lock of a bench process that is gone is released and
        taken again."""
        p = self.place(name)
        if p.acquired:
            if p.acquired != self.me:
                raise PlaceReserved(f"place {name} is reserved by {holder_text(p)}. If that lock is stale, its "
                                    f"holder (or you, with care) frees it: `labgrid-client -x {self.address} -p "
                                    f"{name} release --kick`")
            pid = self.locks.owner(name)
            if pid is None:  # this user's own lock, not taken by bench
                return False
            if pid == os.getpid():
                return False  # taken earlier by this process; whoever took it releases it
            if _pid_alive(pid):
                raise PlaceReserved(f"place {name} is in use by another bench process on this host (pid {pid}, "
                                    f"lock {holder_text(p)})")
            self.stale = f"stale lock of {holder_text(p)} (bench pid {pid} is gone): released"
            self.release(name, force=True)
        unmatched = p.unmatched(self._resource_paths())
        if unmatched:
            raise TargetError(f"place {name}: its match {unmatched} finds no resource on the coordinator "
                              f"{self.address}; is the board's exporter running?")
        try:
            self.loop.run_until_complete(
                self.session.stub.AcquirePlace(self._pb2.AcquirePlaceRequest(placename=name)))
        except self._rpc_error as e:
            now = self.places().get(name)
            if now is not None and now.acquired and now.acquired != self.me:
                raise PlaceReserved(f"place {name} is reserved by {holder_text(now)}") from e
            raise TargetError(f"labgrid refused to acquire place {name}: {e.details()}") from e
        self.sync()
        self.locks.note(name)
        return True

    def release(self, name: str, force: bool = False) -> bool:
        """Unlock the place if this client holds it (or, with force, whoever does); True if released."""
        p = self.places().get(name)
        if p is None or not p.acquired or (p.acquired != self.me and not force):
            self.locks.forget(name)
            return False
        try:
            self.loop.run_until_complete(
                self.session.stub.ReleasePlace(self._pb2.ReleasePlaceRequest(placename=name)))
        except self._rpc_error as e:
            raise TargetError(f"labgrid refused to release place {name}: {e.details()}") from e
        self.sync()
        self.locks.forget(name)
        return True

    def _resource_paths(self) -> list[tuple[str, str, str, str]]:
        return [(exp, grp, r.cls, name) for exp, groups in self.session.resources.items()
                for grp, group in groups.items() for name, r in group.items()]

    def resources(self, name: str) -> list[Resource]:
        """The resources of a place this client holds (renamed as the place's matches say)."""
        self.sync()
        p = self.session.places[name]
        out = []
        for path in p.acquired_resources:
            exporter, group, cls, rname = path
            match = p.getmatch(path)
            try:
                entry = self.session.resources[exporter][group][rname]
            except KeyError:
                raise TargetError(f"place {name}: resource {'/'.join(path)} is gone (its exporter "
                                  f"{exporter} disconnected?)") from None
            out.append(Resource(match.rename or rname if match else rname, cls, dict(entry.args)))
        return out
