"""The pyOCD session on the chosen probe: target type lookup, session options, open and close."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.errors import ConfigError, TargetError
from bench.targets.drivers.pyocd.options import PyocdOptions
from bench.targets.drivers.pyocd.probes import choose_probe, list_probes


def unknown_target_error(options: PyocdOptions, target_type: str, detail: str = "") -> TargetError:
    return TargetError(
        f"pyOCD does not know target type '{target_type}' ([pyocd] target_type in {options.toml})"
        f"{': ' + detail if detail else ''}. If the name is right, install the part's CMSIS device "
        f"pack: `pyocd pack install {target_type}` (or set [pyocd] pack = \"<file>.pack\"); note that "
        "pyOCD 0.46 has no built-in stm32f405/stm32f407 targets, those come only from the "
        "STM32F4xx_DFP pack. `pyocd list --targets` shows the types pyOCD knows."
    )


def check_target_type(api: SimpleNamespace, options: PyocdOptions, note: Callable[[str], None]) -> str:
    """pyOCD's name for [pyocd] target_type: built in, from an installed pack, or from [pyocd] pack."""
    name: str = api.normalise_target_type_name(options.target_type)
    if options.pack:
        if not Path(options.pack).is_file():
            raise ConfigError(f"[pyocd] pack in {options.toml}: no file {options.pack}; download "
                              "the part's CMSIS device pack (.pack) or drop the key")
        return name  # pyOCD loads the pack's targets itself when the session is created
    if name in api.TARGET:
        return name
    try:
        api.ManagedPacks.populate_target(name)  # targets from packs `pyocd pack install` added
    except Exception as e:  # noqa: BLE001 - a broken pack cache only means "not found"
        note(f"looking up '{name}' in installed packs failed: {e}")
    if name not in api.TARGET:
        raise unknown_target_error(options, name)
    return name


def session_options(options: PyocdOptions, target_type: str) -> dict[str, Any]:
    o = options
    opts: dict[str, Any] = {"target_override": target_type, "hide_programming_progress": True}
    if o.frequency is not None:
        opts["frequency"] = o.frequency
    if o.reset_type is not None:
        opts["reset_type"] = o.reset_type
    if o.connect_mode is not None:
        opts["connect_mode"] = o.connect_mode
    if o.pack is not None:
        opts["pack"] = o.pack
    opts.update(o.session_options)
    return opts


def create_session(api: SimpleNamespace, options: PyocdOptions, target_type: str,
                   note: Callable[[str], None]) -> tuple[Any, str]:
    """A (not yet opened) pyOCD session on the chosen probe, or on the remote probe server; and
    the unique id of the probe it is on."""
    opts = session_options(options, target_type)
    if options.remote:
        uid = f"remote:{options.remote}"
        where = f"the pyOCD probe server at {options.remote}"
    else:
        probe = choose_probe(list_probes(api, options.probe_uid), options, note)
        uid = probe.unique_id
        where = f"probe {uid}"
    try:
        session = api.ConnectHelper.session_with_chosen_probe(
            blocking=False, return_first=True, unique_id=uid, auto_open=False, options=opts)
    except api.TargetSupportError as e:
        raise unknown_target_error(options, target_type, str(e)) from e
    except Exception as e:
        raise TargetError(f"could not create a pyOCD session on {where} ({type(e).__name__}: {e}); check the "
                          "probe's USB cable and that no other program (pyocd, an IDE) holds the probe") from e
    if session is None:
        raise TargetError(f"{where} disappeared before the session opened; check its USB cable")
    clock = f"{options.frequency} Hz" if options.frequency else "pyOCD's default"
    note(f"probe {uid}, target type {target_type}, SWD clock {clock}")
    return session, uid


def connect(session: Any, options: PyocdOptions, probe_uid: str) -> None:
    try:
        session.open()
    except Exception as e:
        hint = (f"check that `pyocd server` runs on {options.remote} and serves the board's probe"
                if options.remote else
                "check the board is powered and its debug cable seated, that no other tool "
                "(another pyOCD, OpenOCD, STM32CubeProgrammer, nRF Connect) holds the probe, "
                "and try a lower [pyocd] frequency or connect_mode = \"under-reset\"")
        raise TargetError(f"could not connect to the {options.target_type} through "
                          f"{probe_uid} ({type(e).__name__}: {e}); {hint}") from e


def close_session(session: Any, note: Callable[[str], None]) -> None:
    try:
        session.close()
    except Exception as e:  # noqa: BLE001 - closing must not mask the real error
        note(f"closing the pyOCD session failed (ignored): {e}")
