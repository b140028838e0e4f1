"""Which debug probe: pyOCD's list of connected probes, chosen by the [pyocd] probe_uid."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from bench.errors import TargetError
from bench.targets.drivers.pyocd.options import PyocdOptions


def same_usb_serial(a: str, b: str) -> bool:
    """Whether two USB serial numbers name the same device.

    Case-insensitive; all-digit serials compare as numbers, because pyOCD reports a J-Link's
    serial number unpadded ("683123456") while its USB descriptor pads it ("000683123456").
    """
    a, b = a.strip(), b.strip()
    if not a or not b:
        return False
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a.casefold() == b.casefold()


def describe_probe(p: Any) -> str:
    try:
        desc = p.description
    except Exception:  # noqa: BLE001 - a description is only decoration
        desc = "?"
    return f"{p.unique_id} ({desc})"


def probe_type(uid: str) -> str:
    """The probe plugin a unique id names explicitly (`remote:host:port`, `qemu:netduinoplus2`), or "".

    pyOCD's own rule: a `type:` prefix makes the probe list ask that plugin only, and such probes
    (a probe server, an emulator) are listed only when asked for by their id."""
    head, sep, _ = uid.partition(":")
    return head.lower() if sep and head and head.isidentifier() else ""


def list_probes(api: SimpleNamespace, uid: str = "") -> list[Any]:
    """pyOCD's connected probes; with a `type:`-prefixed uid also the probe that uid names."""
    try:
        probes = list(api.ConnectHelper.get_all_connected_probes(blocking=False))
        if probe_type(uid):
            seen = {p.unique_id for p in probes}
            probes += [p for p in api.ConnectHelper.get_all_connected_probes(blocking=False, unique_id=uid)
                       if p.unique_id not in seen]
    except Exception as e:  # USB back ends fail in many ways
        if probe_type(uid) and "unknown debug probe type" in str(e):
            raise TargetError(f"probe_uid '{uid}': pyOCD has no probe plugin '{probe_type(uid)}' ({e}); "
                              "`pyocd list --plugins` lists the probe plugins") from e
        raise TargetError(f"pyOCD could not list debug probes ({type(e).__name__}: {e}); check that "
                          "libusb is installed and that you may access the probe (udev rules on "
                          "Linux: https://pyocd.io/docs/installing)") from e
    return probes


def choose_probe(probes: list[Any], options: PyocdOptions, note: Callable[[str], None]) -> Any:
    """The probe whose unique id is probe_uid (exactly, else pyOCD's substring rule), or the only
    probe connected when probe_uid is empty; TargetError lists the probes seen otherwise."""
    uid = options.probe_uid
    seen = "; ".join(describe_probe(p) for p in probes) or "none"
    how = (f"set [pyocd] probe_uid in {options.toml} to the unique id of the board's probe "
           "(`pyocd list` prints them)")
    if not uid:
        if len(probes) == 1:
            note(f"probe_uid not set: using the only connected probe {describe_probe(probes[0])}")
            return probes[0]
        if not probes:
            raise TargetError(f"no debug probe is connected (pyOCD sees none); plug the board in, "
                              f"check its USB cable and power, then {how}")
        raise TargetError(f"{len(probes)} debug probes are connected and probe_uid is not set: {how}. "
                          f"Probes seen: {seen}")
    exact = [p for p in probes if same_usb_serial(p.unique_id, uid)]
    if len(exact) == 1:
        return exact[0]
    partial = [p for p in probes if uid.casefold() in p.unique_id.casefold()]
    if len(partial) == 1:
        note(f"probe_uid '{uid}' matches probe {partial[0].unique_id} (pyOCD substring rule)")
        return partial[0]
    if len(partial) > 1 or len(exact) > 1:
        many = "; ".join(describe_probe(p) for p in (exact or partial))
        raise TargetError(f"probe_uid '{uid}' matches more than one probe: {many}; {how} in full")
    raise TargetError(f"debug probe '{uid}' is not connected. Probes pyOCD sees: {seen}. Check the "
                      f"board's USB cable and power, or {how}")
