"""pyOCD driver: flashes an ELF through a debug probe and runs it on a real board.

start(image) checks the ELF (before any probe is touched), opens a pyOCD session on the
probe the target TOML names, programs the image, reads it back, enables the DWT cycle
counter, and leaves the core running from reset. The board's UART is the probe's USB
virtual COM port, found by USB serial number (ST-Link, J-Link OB and DAPLink expose the
VCP under the probe's own serial number), or given explicitly.

One module per job: elfcheck (the image and whether it fits the flash), options (the [pyocd]
table), api (pyOCD, imported lazily), probes (probe choice by uid), session (target type,
session open/close), flash (program, verify, skip_unchanged), dwt (cycle counter, reset and
run), serial (the UART by probe uid), driver (PyocdDriver: Flasher, Resetter, LinkProvider,
CounterReader).

Options: the target TOML's [pyocd] table (docs/boards.md):

    probe_uid    = "0671FF48..."     # pyOCD unique id; "" / absent: the only probe connected
    target_type  = "stm32f429xi"     # pyOCD target type (required)
    frequency    = 4_000_000         # SWD clock in Hz (pyOCD default 1 MHz)
    remote       = "host:5555"       # a probe served by `pyocd server` (then `serial` is required)
    serial       = "/dev/ttyACM0"    # or "rfc2217://host:port"; overrides the serial-by-uid rule
    baud         = 115200
    verify       = true              # read the flash back after programming
    skip_unchanged = false           # read the flash first; program only if it differs from the image
    reset_type   = "default"         # pyOCD reset_type session option
    connect_mode = "halt"            # pyOCD connect_mode session option
    pack         = "path/to.pack"    # CMSIS device pack for targets pyOCD has no built-in for
    [pyocd.options]                  # further pyOCD session options, passed through

pyOCD is imported lazily so that this package imports without it.
"""

from bench.targets.drivers.pyocd.api import PYOCD_MISSING, _load_pyocd
from bench.targets.drivers.pyocd.driver import PyocdDriver
from bench.targets.drivers.pyocd.dwt import (
    DEMCR,
    DEMCR_TRCENA,
    DWT_CTRL,
    DWT_CTRL_CYCCNTENA,
    DWT_CTRL_NOCYCCNT,
    DWT_CYCCNT,
)
from bench.targets.drivers.pyocd.elfcheck import ELF_MAGIC, EM_ARM, ElfImage, inspect_elf
from bench.targets.drivers.pyocd.options import (
    CONNECT_MODES,
    OPTION_KEYS,
    RESET_TYPES,
    PyocdOptions,
    parse_options,
)
from bench.targets.drivers.pyocd.probes import same_usb_serial
from bench.targets.drivers.pyocd.serial import ports_for_uid

__all__ = ["CONNECT_MODES", "DEMCR", "DEMCR_TRCENA", "DWT_CTRL", "DWT_CTRL_CYCCNTENA", "DWT_CTRL_NOCYCCNT",
           "DWT_CYCCNT", "ELF_MAGIC", "EM_ARM", "OPTION_KEYS", "PYOCD_MISSING", "RESET_TYPES", "ElfImage",
           "PyocdDriver", "PyocdOptions", "_load_pyocd", "inspect_elf", "parse_options", "ports_for_uid",
           "same_usb_serial"]
