"""The [pyocd] table of a target TOML, parsed into a frozen dataclass; errors name the key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.targets.spec import TargetSpec

RESET_TYPES = ("default", "hardware", "system", "core", "n_srst", "sysresetreq", "vectreset",
               "emulated")
CONNECT_MODES = ("halt", "pre-reset", "under-reset", "attach")
OPTION_KEYS = ("probe_uid", "target_type", "frequency", "remote", "serial", "baud", "verify",
               "skip_unchanged", "reset_type", "connect_mode", "pack", "options")


@dataclass(frozen=True)
class PyocdOptions:
    target_type: str
    probe_uid: str = ""
    frequency: int | None = None
    remote: str = ""
    serial: str = ""
    baud: int = 115200
    verify: bool = True
    skip_unchanged: bool = False
    reset_type: str | None = None
    connect_mode: str | None = None
    pack: str | None = None
    session_options: dict[str, Any] = field(default_factory=dict)
    toml: str = ""  # where the options came from, for messages ("the target TOML of <name>")


def parse_options(target: TargetSpec) -> PyocdOptions:
    """The [pyocd] table of a target TOML, checked; ConfigError says which key is wrong."""
    o = dict(target.driver_options)
    where = f"target {target.name} ({target.path or 'no file'}) [pyocd]"
    unknown = sorted(set(o) - set(OPTION_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {', '.join(OPTION_KEYS)}")

    def text(key: str, default: str = "") -> str:
        v = o.get(key, default)
        if not isinstance(v, str):
            raise ConfigError(f"{where}: {key} must be a string, got {v!r}")
        return v.strip()

    def positive_int(key: str, default: int | None) -> int | None:
        v = o.get(key, default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ConfigError(f"{where}: {key} must be a positive integer, got {v!r}")
        return v

    def flag(key: str, default: bool) -> bool:
        v = o.get(key, default)
        if not isinstance(v, bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {v!r}")
        return v

    target_type = text("target_type")
    if not target_type:
        raise ConfigError(f"{where}: target_type is required (the pyOCD target type, e.g. "
                          "\"stm32f429xi\"; `pyocd list --targets` lists them)")
    remote = text("remote")
    if remote:
        host, _, port = remote.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"{where}: remote must be \"host:port\" of a `pyocd server`, got {remote!r}")
    reset_type = text("reset_type") or None
    if reset_type is not None and reset_type not in RESET_TYPES:
        raise ConfigError(f"{where}: reset_type must be one of {RESET_TYPES}, got {reset_type!r}")
    connect_mode = text("connect_mode") or None
    if connect_mode is not None and connect_mode not in CONNECT_MODES:
        raise ConfigError(f"{where}: connect_mode must be one of {CONNECT_MODES}, got {connect_mode!r}")
    pack = text("pack") or None
    if pack is not None and target.path is not None and not Path(pack).is_absolute():
        pack = str((Path(target.path).parent / pack).resolve())
    extra = o.get("options", {})
    if not isinstance(extra, dict):
        raise ConfigError(f"{where}: options must be a table of pyOCD session options")
    return PyocdOptions(
        target_type=target_type,
        probe_uid=text("probe_uid"),
        frequency=positive_int("frequency", None),
        remote=remote,
        serial=text("serial"),
        baud=positive_int("baud", 115200) or 115200,
        verify=flag("verify", True),
        skip_unchanged=flag("skip_unchanged", False),
        reset_type=reset_type,
        connect_mode=connect_mode,
        pack=pack,
        session_options=dict(extra),
        toml=str(target.path) if target.path else f"the target TOML of {target.name}",
    )
