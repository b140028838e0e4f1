"""The farm TOML: which images run on which places (targets), how many utterances, which set."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ConfigError

PLACE_KEYS = ("name", "target", "images", "limit", "set", "timeout", "retries", "metrics", "probe", "jobs",
              "labgrid", "coordinator")
FARM_KEYS = ("name", "limit", "set", "timeout", "retries", "metrics", "fail_nights", "coordinator")


@dataclass(frozen=True)
class PlaceSpec:
    name: str
    target: str  # a name under targets/ or a TOML path (resolved against the farm file)
    images: tuple[str, ...] = ()  # empty: every image for the target
    limit: int | None = None
    set_path: str | None = None
    timeout: float = 1800.0  # seconds per attempt, then the board is stopped
    retries: int = 1  # attempts after the first, each after a reset
    metrics: bool = True
    probe: str | None = None
    jobs: int = 0
    labgrid: str = ""  # the labgrid place this place's board is on (its target uses driver = "labgrid")
    coordinator: str = ""  # the labgrid coordinator (host:port); "" -> $LG_COORDINATOR


@dataclass(frozen=True)
class FarmSpec:
    name: str
    places: tuple[PlaceSpec, ...]
    fail_nights: int = 3  # a place failed this many nights running is called out
    path: Path | None = None


def _resolve(value: str, base: Path) -> str:
    if value.endswith(".toml") and not Path(value).is_absolute():
        return str((base / value).resolve())
    return value


def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{what} must be an integer, got {v!r}")
    return v


def _seconds(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"{what} must be a number (seconds), got {v!r}")
    return float(v)


def _text(v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"{what} must be a string, got {v!r}")
    return v.strip()


def parse_farm(data: dict[str, Any], where: str = "<farm>", base: Path | None = None) -> FarmSpec:
    base = base or Path.cwd()
    farm = data.get("farm", {})
    for k in farm:
        if k not in FARM_KEYS:
            raise ConfigError(f"{where}: unknown key farm.{k} (known: {', '.join(FARM_KEYS)})")
    name = str(farm.get("name", "farm"))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"{where}: farm.name must be letters, digits, '-', '_' or '.'")
    raw = data.get("place", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: no [[place]] tables; each place needs name and target")
    places, seen = [], set()
    for i, p in enumerate(raw):
        if not isinstance(p, dict):
            raise ConfigError(f"{where}: place {i} must be a table ([[place]])")
        for k in p:
            if k not in PLACE_KEYS:
                raise ConfigError(f"{where}: place {i}: unknown key {k} (known: {', '.join(PLACE_KEYS)})")
        if "name" not in p or "target" not in p:
            raise ConfigError(f"{where}: place {i} needs name and target")
        pname = str(p["name"])
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", pname) or pname in seen:
            raise ConfigError(f"{where}: place name {pname!r} must be unique letters, digits, '-', '_' or '.'")
        seen.add(pname)
        images = p.get("images", [])
        if isinstance(images, str):
            images = [images]
        limit = p.get("limit", farm.get("limit"))
        set_path = p.get("set", farm.get("set"))
        places.append(PlaceSpec(
            name=pname, target=_resolve(str(p["target"]), base), images=tuple(str(x) for x in images),
            limit=None if limit is None else _int(limit, f"{where}: place {pname}: limit"),
            set_path=None if set_path is None else str((base / str(set_path)).resolve()),
            timeout=_seconds(p.get("timeout", farm.get("timeout", 1800.0)), f"{where}: place {pname}: timeout"),
            retries=_int(p.get("retries", farm.get("retries", 1)), f"{where}: place {pname}: retries"),
            metrics=bool(p.get("metrics", farm.get("metrics", True))),
            probe=p.get("probe"), jobs=_int(p.get("jobs", 0), f"{where}: place {pname}: jobs"),
            labgrid=_text(p.get("labgrid", ""), f"{where}: place {pname}: labgrid"),
            coordinator=_text(p.get("coordinator", farm.get("coordinator", "")),
                              f"{where}: place {pname}: coordinator")))
        if places[-1].timeout <= 0 or places[-1].retries < 0:
            raise ConfigError(f"{where}: place {pname}: timeout must be positive and retries 0 or more")
    return FarmSpec(name, tuple(places), _int(farm.get("fail_nights", 3), f"{where}: farm.fail_nights"), None)


def load_farm(path: str | Path) -> FarmSpec:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"no farm file {p}")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}; fix the syntax") from None
    spec = parse_farm(data, str(p), p.parent.resolve())
    return FarmSpec(spec.name, spec.places, spec.fail_nights, p.resolve())
