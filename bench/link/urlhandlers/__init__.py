"""pyserial URL handlers of the bench: `faulty://PORT?...` and `faulty+SCHEME://...?...`.

serial.serial_for_url finds the handler of scheme S as the module `protocol_S` of a package
listed in serial.protocol_handler_packages; register() lists this one (SerialTransport calls
it, other pyserial users call it once themselves). `faulty+socket` is no importable module
name, so register() also aliases `protocol_faulty+S` to protocol_faulty for every scheme S
pyserial itself handles (socket, rfc2217, loop, spy, alt, hwgrep, cp2110).
"""

from __future__ import annotations

import pkgutil
import sys

import serial
import serial.urlhandler


def register() -> None:
    from bench.link.urlhandlers import protocol_faulty

    for mod in pkgutil.iter_modules(serial.urlhandler.__path__):
        if mod.name.startswith("protocol_"):
            sys.modules.setdefault(f"{__name__}.protocol_faulty+{mod.name.removeprefix('protocol_')}",
                                   protocol_faulty)
    if __name__ not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(__name__)
