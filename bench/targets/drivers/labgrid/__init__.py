"""labgrid driver: a board on a labgrid place (docs/farm.md).

A target TOML with `driver = "labgrid"` names a place on a labgrid coordinator (or tags that find
one) instead of a local probe:

    [labgrid]
    coordinator = "lab-server:20408"   # else $LG_COORDINATOR, else 127.0.0.1:20408
    place = "f429-1"                   # else $LG_PLACE (bench farm run sets it per place), else tags
    tags = { board = "nucleo-f429zi" } # the first idle place with these tags
    power_cycle = true                 # use the place's NetworkPowerPort when the board does not answer
    [labgrid.pyocd]                    # the pyOCD driver's [pyocd] keys, except remote/serial/probe_uid
    target_type = "stm32f429xi"

The place's resources: a NetworkSerialPort (labgrid's exporter serves the board's UART through
ser2net, RFC 2217) for the link, a PyOCDProbeServer (host, port of `pyocd server` on the board
host) for flash/reset/counter, optionally a NetworkPowerPort. labgrid is imported lazily (the
`farm` extra).
"""

from bench.targets.drivers.labgrid.driver import LabgridDriver
from bench.targets.drivers.labgrid.options import LabgridOptions, parse_options
from bench.targets.drivers.labgrid.places import Coordinator, PlaceReserved, Resource

__all__ = ["Coordinator", "LabgridDriver", "LabgridOptions", "PlaceReserved", "Resource", "parse_options"]
