"""The farm's side of labgrid places: who holds a place before its worker starts (a place reserved by
somebody else is skipped with their name, not retried), the environment that points a worker's
labgrid driver at its place ($LG_COORDINATOR, $LG_PLACE: labgrid's own variables), and the sweep at
the end of the night that releases any lock a killed worker left behind and records every place's
final holder."""

from __future__ import annotations

import os
from typing import Any

from bench.errors import BenchError
from bench.farm.spec import PlaceSpec


def worker_env(place: PlaceSpec) -> dict[str, str] | None:
    """The worker's environment: this one, plus the place's coordinator and labgrid place."""
    if not place.labgrid:
        return None
    env = dict(os.environ)
    env["LG_PLACE"] = place.labgrid
    if place.coordinator:
        env["LG_COORDINATOR"] = place.coordinator
    return env


def blocked(places: list[PlaceSpec]) -> dict[str, tuple[str, str]]:
    """The places that cannot run tonight, checked once before the workers start (one client session
    per coordinator, in this thread): {place: ("reserved", "... reserved by user@host since ...")} for a
    labgrid place somebody else holds, {place: ("failed", why)} for one whose coordinator or place is
    not there."""
    from bench.targets.drivers.labgrid.places import Coordinator, holder_text

    out: dict[str, tuple[str, str]] = {}
    by_coord: dict[str, list[PlaceSpec]] = {}
    for p in places:
        if p.labgrid:
            by_coord.setdefault(p.coordinator, []).append(p)
    for addr, group in by_coord.items():
        try:
            with Coordinator(addr) as c:
                for p in group:
                    try:
                        lp = c.place(p.labgrid)
                    except BenchError as e:
                        out[p.name] = ("failed", str(e))
                        continue
                    if lp.acquired and lp.acquired != c.me:
                        out[p.name] = ("reserved", f"labgrid place {p.labgrid} is reserved by {holder_text(lp)}; "
                                                   "not tested tonight")
        except BenchError as e:
            out.update({p.name: ("failed", str(e)) for p in group})
    return out


def sweep(places: list[PlaceSpec]) -> dict[str, Any]:
    """After the night: release the locks our workers left (a worker killed at its timeout cannot
    release its place; a lock this user holds outside bench stays), and say who holds each place
    now: {place: {"labgrid_place", "released", "holder"}}."""
    from bench.targets.drivers.labgrid.places import Coordinator, holder_text

    out: dict[str, Any] = {}
    for place in places:
        if not place.labgrid:
            continue
        try:
            with Coordinator(place.coordinator) as c:
                p = c.place(place.labgrid)
                released = None
                if p.acquired == c.me and c.locks.owner(place.labgrid) is not None:  # a bench worker took it
                    released = f"lock left by a worker ({holder_text(p)}) released at the end of the night"
                    c.release(place.labgrid)
                    p = c.place(place.labgrid)
                out[place.name] = {"labgrid_place": place.labgrid, "released": released,
                                   "holder": holder_text(p) if p.acquired else None}
        except BenchError as e:
            out[place.name] = {"labgrid_place": place.labgrid, "released": None, "holder": None, "error": str(e)}
    return out


def status(places: list[PlaceSpec]) -> list[dict[str, Any]]:
    """Who holds each labgrid place of the farm now, in words, with stale locks of ours said so
    (`bench farm places`)."""
    from bench.targets.drivers.labgrid.places import Coordinator, _pid_alive, holder_text

    rows: list[dict[str, Any]] = []
    by_coord: dict[str, list[PlaceSpec]] = {}
    for p in places:
        if p.labgrid:
            by_coord.setdefault(p.coordinator, []).append(p)
    for addr, group in by_coord.items():
        with Coordinator(addr) as c:
            for p in group:
                lp = c.place(p.labgrid)
                state, text = "free", ""
                if lp.acquired and lp.acquired != c.me:
                    state, text = "reserved", f"reserved by {holder_text(lp)}"
                elif lp.acquired:
                    pid = c.locks.owner(p.labgrid)
                    if pid is None:
                        state, text = "yours", f"held by you outside bench ({holder_text(lp)})"
                    elif _pid_alive(pid):
                        state, text = "in use", f"in use by bench pid {pid} ({holder_text(lp)})"
                    else:
                        state, text = "stale", (f"stale lock of {holder_text(lp)}: bench pid {pid} is gone; the "
                                                "next run releases and retakes it")
                rows.append({"place": p.name, "labgrid_place": p.labgrid, "coordinator": c.address,
                             "state": state, "holder": text, "tags": dict(lp.tags)})
    return rows
