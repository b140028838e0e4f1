"""What is plugged in: pyOCD's connected probes, each beside the pyOCD target TOMLs that match it
(`bench boards`). A TOML matches a probe by its [pyocd] probe_uid (the driver's own rule: exact, or
pyOCD's unique-substring rule), or, with probe_uid empty, when pyOCD says the probe's board is of
the TOML's target type (on-board probes name their board). Emulated probes (bench.targets.qemuprobe)
are listed only when asked for: `emulated=True` lists every emulated board the bench knows and every
`qemu:` probe a target TOML names."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.errors import BenchError
from bench.targets.drivers.pyocd import api
from bench.targets.drivers.pyocd.options import PyocdOptions, parse_options
from bench.targets.drivers.pyocd.probes import list_probes, probe_type, same_usb_serial
from bench.targets.spec import TargetSpec, list_targets

EMULATED_ENV = "BENCH_QEMU_PROBES"


@dataclass(frozen=True)
class TargetMatch:
    target: str
    how: str  # "probe_uid" or "target type"
    path: str = ""


@dataclass(frozen=True)
class ProbeRow:
    unique_id: str
    description: str
    board_target_type: str  # what pyOCD says the probe's board is ("" when it does not know)
    emulated: bool
    targets: tuple[TargetMatch, ...] = ()


@dataclass(frozen=True)
class BoardsReport:
    probes: tuple[ProbeRow, ...]
    unmatched: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (target, why): TOMLs without a probe

    def as_dict(self) -> dict[str, Any]:
        return {
            "probes": [{"unique_id": p.unique_id, "description": p.description, "board": p.board_target_type,
                        "emulated": p.emulated,
                        "targets": [{"target": t.target, "match": t.how, "path": t.path} for t in p.targets]}
                       for p in self.probes],
            "targets_without_probe": [{"target": t, "why": w} for t, w in self.unmatched],
        }


def pyocd_targets() -> list[tuple[TargetSpec, PyocdOptions]]:
    out = []
    for t in list_targets():
        if t.driver != "pyocd":
            continue
        try:
            out.append((t, parse_options(t)))
        except BenchError:
            continue  # a broken TOML is reported by `bench targets` / a run, not here
    return out


def uid_matches(probe_uid: str, configured: str) -> bool:
    if not configured:
        return False
    return same_usb_serial(probe_uid, configured) or configured.casefold() in probe_uid.casefold()


def _description(probe: Any) -> str:
    try:
        return str(probe.description)
    except Exception:  # noqa: BLE001 - decoration only
        return "?"


def _board_target(probe: Any) -> str:
    try:
        info = probe.associated_board_info
    except Exception:  # noqa: BLE001 - a board id read may fail; the probe still exists
        return ""
    return str(getattr(info, "target", "") or "") if info is not None else ""


@contextlib.contextmanager
def _emulated_listed(uids: list[str]) -> Iterator[None]:
    """BENCH_QEMU_PROBES extended by uids while pyOCD lists probes."""
    old = os.environ.get(EMULATED_ENV)
    items = [u for u in (old or "").split(",") if u.strip()]
    os.environ[EMULATED_ENV] = ",".join(dict.fromkeys(items + uids))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(EMULATED_ENV, None)
        else:
            os.environ[EMULATED_ENV] = old


def emulated_uids(targets: list[tuple[TargetSpec, PyocdOptions]]) -> list[str]:
    from bench.targets.qemuprobe.machine import MACHINES

    uids = [f"qemu:{m}" for m in MACHINES]
    uids += [o.probe_uid for _, o in targets if probe_type(o.probe_uid) == "qemu"]
    return list(dict.fromkeys(uids))


def boards(emulated: bool = False) -> BoardsReport:
    pyocd = api._load_pyocd()
    targets = pyocd_targets()
    if emulated:
        with _emulated_listed(emulated_uids(targets)):
            probes = list_probes(pyocd)
    else:
        probes = list_probes(pyocd)
    rows = []
    matched: set[str] = set()
    for p in probes:
        uid = str(p.unique_id)
        board_type = _board_target(p)
        found = []
        for t, o in targets:
            if o.remote:
                continue
            if uid_matches(uid, o.probe_uid):
                found.append(TargetMatch(t.name, "probe_uid", str(t.path or "")))
            elif not o.probe_uid and board_type and \
                    pyocd.normalise_target_type_name(o.target_type) == pyocd.normalise_target_type_name(board_type):
                found.append(TargetMatch(t.name, "target type", str(t.path or "")))
        matched.update(m.target for m in found)
        rows.append(ProbeRow(uid, _description(p), board_type,
                             probe_type(uid) == "qemu", tuple(found)))
    unmatched = []
    for t, o in targets:
        if t.name in matched:
            continue
        if o.remote:
            why = f"probe served remotely by `pyocd server` at {o.remote}"
        elif o.probe_uid:
            why = f"probe {o.probe_uid} not connected" + (" (emulated: `bench boards --emulated`)"
                                                          if probe_type(o.probe_uid) == "qemu" and not emulated
                                                          else "")
        else:
            why = f"probe_uid not set and no connected probe's board is a {o.target_type}"
        unmatched.append((t.name, why))
    return BoardsReport(tuple(rows), tuple(unmatched))
