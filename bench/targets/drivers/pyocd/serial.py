"""Which serial port carries the link: [pyocd] serial, else the USB virtual COM port whose USB
serial number is the probe's unique id (ST-Link, J-Link OB and DAPLink expose it that way)."""

from __future__ import annotations

from typing import Any

from bench.errors import TargetError
from bench.targets.drivers.pyocd.options import PyocdOptions
from bench.targets.drivers.pyocd.probes import same_usb_serial


def ports_for_uid(ports: list[Any], uid: str) -> list[Any]:
    """The serial ports (pyserial ListPortInfo) whose USB serial number is the probe's uid."""
    return [p for p in ports if getattr(p, "serial_number", None) and same_usb_serial(p.serial_number, uid)]


def describe_port(p: Any) -> str:
    serial = getattr(p, "serial_number", None) or "-"
    return f"{p.device} (usb serial {serial}, {getattr(p, 'description', '') or '-'})"


def serial_url(options: PyocdOptions, probe_uid: str | None, probe: Any = None) -> str:
    """The pyserial URL of the board's UART; TargetError says how to choose one otherwise.

    [pyocd] serial wins (a device, or any pyserial URL: socket://, rfc2217://); then a probe that
    knows its board's UART itself (the emulated probe: QEMU's serial socket, `serial_url`); then
    the USB serial port whose serial number is the probe's unique id."""
    o = options
    if o.serial:
        return o.serial
    own = getattr(probe, "serial_url", "") if probe is not None else ""
    if isinstance(own, str) and own:
        return own
    if o.remote:
        raise TargetError(f"the probe is served remotely ({o.remote}), so its serial port is not on this "
                          f"machine: set [pyocd] serial = \"rfc2217://<host>:<port>\" in {o.toml} "
                          "(e.g. ser2net on the probe's host)")
    uid = probe_uid or o.probe_uid
    if not uid:
        raise TargetError(f"no probe uid known to find the board's serial port: call start(image) first, "
                          f"or set [pyocd] probe_uid or serial in {o.toml}")
    from serial.tools import list_ports

    ports = list(list_ports.comports())
    matches = ports_for_uid(ports, uid)
    if len(matches) == 1:
        return str(matches[0].device)
    if not matches:
        seen = "; ".join(describe_port(p) for p in ports) or "none"
        raise TargetError(f"no serial port has USB serial number {uid} (the probe's unique id); ports "
                          f"seen: {seen}. Is the probe's virtual COM port enabled? Set [pyocd] "
                          f"serial = \"/dev/ttyACM0\" (or \"rfc2217://host:port\") in {o.toml} "
                          "to choose one")
    many = "; ".join(describe_port(p) for p in sorted(matches, key=lambda p: p.device))
    raise TargetError(f"the probe {uid} exposes {len(matches)} serial ports: {many}; set [pyocd] "
                      f"serial in {o.toml} to the board's UART (a stable /dev/serial/by-id/ path "
                      "on Linux)")
