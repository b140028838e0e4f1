"""The [qemu] table of a target TOML, parsed into a frozen dataclass; errors name the key."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bench.errors import ConfigError
from bench.targets.spec import TargetSpec

LINKS = ("uart", "semihost")
SANDBOXES = ("bwrap", "none")


@dataclass(frozen=True)
class QemuOptions:
    binary: str = "qemu-system-arm"
    machine: str = ""
    port: int = 0
    link: str = "uart"
    extra_args: tuple[str, ...] = ()
    cycles_est: bool = False  # load the cm4cycles plugin: cycles_est per region (bench.cyclest)
    cycles_ws: int = 0  # its flash wait states per taken branch
    cycles_flash: tuple[int, int] | None = None  # (base, size) of the flash the wait states apply to
    sandbox: str = "bwrap"  # "bwrap": QEMU confined (bench.targets.drivers.qemu.sandbox); "none": unconfined
    sandbox_ro: tuple[str, ...] = ()  # further paths the sandboxed QEMU may read (a plugin, a custom QEMU's libs)


# the keys of the [qemu] table are the fields of QemuOptions
OPTION_KEYS = tuple(f.name for f in dataclasses.fields(QemuOptions))


def parse_qemu_options(target: TargetSpec) -> QemuOptions:
    """The [qemu] table of a target TOML, checked; ConfigError names the key that is wrong."""
    o: dict[str, Any] = dict(target.driver_options)
    where = f"target {target.name} ({target.path or 'no file'}) [qemu]"

    def text(key: str, default: str) -> str:
        v = o.get(key, default)
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{where}: {key} must be a non-empty string, got {v!r}")
        return v.strip()

    port = o.get("port", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"{where}: port must be an integer 0..65535 (0: a free port per run), got {port!r}")
    link = text("link", "uart")
    if link not in LINKS:
        raise ConfigError(f"target {target.name}: [qemu] link must be 'uart' or 'semihost', not {link!r}")
    extra = o.get("extra_args", [])
    if not isinstance(extra, list) or any(isinstance(a, bool) or not isinstance(a, str | int | float)
                                          for a in extra):
        raise ConfigError(f"{where}: extra_args must be a list of strings (QEMU arguments), got {extra!r}")
    est = o.get("cycles_est", False)
    if not isinstance(est, bool):
        raise ConfigError(f"{where}: cycles_est must be true or false, got {est!r}")
    ws = o.get("cycles_ws", 0)
    if isinstance(ws, bool) or not isinstance(ws, int) or not 0 <= ws <= 200:
        raise ConfigError(f"{where}: cycles_ws must be an integer 0..200 (flash wait states), got {ws!r}")
    flash = o.get("cycles_flash")
    if flash is not None and (not isinstance(flash, list) or len(flash) != 2
                              or any(isinstance(v, bool) or not isinstance(v, int) for v in flash)):
        raise ConfigError(f"{where}: cycles_flash must be [base, size] (integers), got {flash!r}")
    sandbox = text("sandbox", "bwrap")
    if sandbox not in SANDBOXES:
        raise ConfigError(f"{where}: sandbox must be one of {', '.join(SANDBOXES)} (\"none\" runs QEMU unconfined: "
                          f"only for images you trust), got {sandbox!r}")
    ro = o.get("sandbox_ro", [])
    if not isinstance(ro, list) or any(not isinstance(a, str) or not a.startswith("/") for a in ro):
        raise ConfigError(f"{where}: sandbox_ro must be a list of absolute paths (what the sandboxed QEMU may "
                          f"read besides the image), got {ro!r}")
    unknown = sorted(set(o) - set(OPTION_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {', '.join(OPTION_KEYS)}")
    return QemuOptions(binary=text("binary", "qemu-system-arm"), machine=text("machine", target.board),
                       port=port, link=link, extra_args=tuple(str(a) for a in extra), cycles_est=est,
                       cycles_ws=ws, cycles_flash=None if flash is None else (int(flash[0]), int(flash[1])),
                       sandbox=sandbox, sandbox_ro=tuple(ro))
