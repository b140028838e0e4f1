"""Target descriptions: one TOML per target under targets/ (data, not code)."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.paths import targets_dir

COUNTER_KINDS = ("instructions", "cycles")
METER_KEYS = ("kind", "device", "sample_rate", "supply_v", "marker", "stage_marker", "options")


@dataclass(frozen=True)
class CounterSpec:
    """How to turn the raw counter ticks a RESULT carries into the reported unit.

    kind "instructions": QEMU -icount; ticks of a timer at timer_hz where each
    instruction takes 2**icount_shift ns, so instructions = ticks * 1e9 / (timer_hz * 2**shift).
    kind "cycles": DWT CYCCNT on a real board; one tick is one core cycle.
    """

    kind: str
    timer_hz: int = 0
    icount_shift: int = 0

    def __post_init__(self) -> None:
        if self.kind not in COUNTER_KINDS:
            raise ConfigError(f"counter.kind must be one of {COUNTER_KINDS}, got {self.kind!r}")
        if self.kind == "instructions" and (self.timer_hz <= 0 or self.icount_shift < 0):
            raise ConfigError("counter.kind 'instructions' needs timer_hz > 0 and icount_shift >= 0")

    @property
    def unit(self) -> str:
        return "instructions" if self.kind == "instructions" else "cycles"

    def ticks_to_unit(self, ticks: Any) -> Any:
        """Exact conversion (rounded to the nearest integer) of raw ticks; works on numpy arrays."""
        if self.kind == "cycles":
            return ticks
        num = 1_000_000_000
        den = self.timer_hz * (1 << self.icount_shift)
        # integer round-half-up: (ticks * num + den // 2) // den
        return (ticks * num + den // 2) // den


@dataclass(frozen=True)
class MeterSpec:
    """A target TOML's [meter] table: which energy meter measures the board and how it is wired.

    kind picks the meter (bench.targets.meters, entry point group `bench.meters`; "model" is the
    datasheet model of [energy]); the other keys describe the instrument for meters that have one.
    """

    kind: str = "model"
    device: str = ""                  # where the instrument is: serial port, socket://host:port, USB serial
    sample_rate: float | None = None  # Hz, the instrument's current sampling rate
    supply_v: float | None = None     # V, the supply the instrument sources or measures
    marker: str = ""                  # the instrument input wired to the firmware's frame marker GPIO
    options: dict[str, Any] = field(default_factory=dict)  # instrument-specific, passed through
    stage_marker: str = ""            # the input wired to the stage marker GPIO (per-stage energy); "" none


def parse_meter(table: Any, where: str) -> MeterSpec:
    """The [meter] table, checked; ConfigError names the key that is wrong."""
    where = f"{where} [meter]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table (kind = \"model\", device = ..., ...)")
    unknown = sorted(set(table) - set(METER_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {', '.join(METER_KEYS)} "
                          "(instrument-specific settings go in [meter.options])")

    def text(key: str, default: str = "") -> str:
        v = table.get(key, default)
        if not isinstance(v, str):
            raise ConfigError(f"{where}: {key} must be a string, got {v!r}")
        return v.strip()

    def positive(key: str) -> float | None:
        v = table.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
            raise ConfigError(f"{where}: {key} must be a positive number, got {v!r}")
        return float(v)

    kind = text("kind", "model")
    if not kind:
        raise ConfigError(f"{where}: kind must name an energy meter (e.g. \"model\")")
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{where}: options must be a table of the meter's own settings, got {options!r}")
    return MeterSpec(kind=kind, device=text("device"), sample_rate=positive("sample_rate"),
                     supply_v=positive("supply_v"), marker=text("marker"), options=dict(options),
                     stage_marker=text("stage_marker"))


@dataclass(frozen=True)
class TargetSpec:
    name: str
    driver: str
    board: str
    cpu: str
    clock_hz: int
    counter: CounterSpec
    cpi_estimate: float = 1.0
    cpi_source: str = ""
    energy_j_per_cycle: float = 0.0
    energy_source: str = ""
    description: str = ""
    driver_options: dict[str, Any] = field(default_factory=dict)
    meter: MeterSpec | None = None  # the [meter] table; None: the datasheet model of [energy]
    path: Path | None = None

    def __post_init__(self) -> None:
        if self.clock_hz <= 0:
            raise ConfigError(f"target {self.name}: clock_hz must be positive")
        if self.cpi_estimate <= 0:
            raise ConfigError(f"target {self.name}: cpi.estimate must be positive")

    @property
    def is_emulated(self) -> bool:
        return self.counter.kind == "instructions"


def _req(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ConfigError(f"{where}: missing required key '{key}'")
    return d[key]


def _table(d: dict[str, Any], key: str, where: str, required: bool = False) -> dict[str, Any]:
    v = _req(d, key, where) if required else d.get(key, {})
    if not isinstance(v, dict):
        raise ConfigError(f"{where}: {key} must be a table ([{key}] with its keys), got {v!r}")
    return v


def _known(d: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(d) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {', '.join(keys)}")


def _text(d: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    v = _req(d, key, where) if default is None else d.get(key, default)
    if not isinstance(v, str) or (default is None and not v.strip()):
        raise ConfigError(f"{where}: {key} must be a {'non-empty ' if default is None else ''}string, got {v!r}")
    return v.strip()


def _integer(d: dict[str, Any], key: str, where: str, default: int | None = None, minimum: int = 0,
             unit: str = "") -> int:
    """An integer (a float with no fraction, e.g. 25e6, is taken too); ConfigError names the key."""
    v = _req(d, key, where) if default is None else d.get(key, default)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        what = f"an integer >= {minimum}" + (f" ({unit})" if unit else "")
        raise ConfigError(f"{where}: {key} must be {what}, got {v!r}"
                          + ("; write the number alone, e.g. 25_000_000" if isinstance(v, str) else ""))
    return v


def _number(d: dict[str, Any], key: str, where: str, default: float, positive: bool = False) -> float:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise ConfigError(f"{where}: {key} must be a {'positive' if positive else 'non-negative'} finite number, "
                          f"got {v!r}")
    return float(v)


COUNTER_KEYS = ("kind", "timer_hz", "icount_shift")
CPI_KEYS = ("estimate", "source")
ENERGY_KEYS = ("joules_per_cycle", "source")


def parse_target(data: dict[str, Any], where: str = "<target>", path: Path | None = None) -> TargetSpec:
    """A target TOML's tables, checked by type; every ConfigError names the file and the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a target must be a TOML table, got {type(data).__name__}")
    c = _table(data, "counter", where, required=True)
    cw = where + " [counter]"
    _known(c, COUNTER_KEYS, cw)
    kind = _text(c, "kind", cw)
    try:  # CounterSpec checks the kind and its keys; the message gets the file and table here
        counter = CounterSpec(
            kind=kind,
            timer_hz=_integer(c, "timer_hz", cw, default=0, unit="Hz of the timer the image counts with"),
            icount_shift=_integer(c, "icount_shift", cw, default=0),
        )
    except ConfigError as e:
        if str(e).startswith(cw):
            raise
        raise ConfigError(f"{cw}: {e}") from None
    cpi = _table(data, "cpi", where)
    _known(cpi, CPI_KEYS, where + " [cpi]")
    energy = _table(data, "energy", where)
    _known(energy, ENERGY_KEYS, where + " [energy]")
    driver = _text(data, "driver", where)
    return TargetSpec(
        name=_text(data, "name", where),
        driver=driver,
        board=_text(data, "board", where),
        cpu=_text(data, "cpu", where),
        clock_hz=_integer(data, "clock_hz", where, minimum=1, unit="Hz"),
        counter=counter,
        cpi_estimate=_number(cpi, "estimate", where + " [cpi]", 1.0, positive=True),
        cpi_source=_text(cpi, "source", where + " [cpi]", default=""),
        energy_j_per_cycle=_number(energy, "joules_per_cycle", where + " [energy]", 0.0),
        energy_source=_text(energy, "source", where + " [energy]", default=""),
        description=_text(data, "description", where, default=""),
        driver_options=dict(_table(data, driver, where)),
        meter=parse_meter(data["meter"], where) if "meter" in data else None,
        path=path,
    )


def load_target(name_or_path: str) -> TargetSpec:
    """Load a target by name (targets/<name>.toml) or by path to a TOML file."""
    p = Path(name_or_path)
    if not p.suffix:
        p = targets_dir() / f"{name_or_path}.toml"
    if not p.is_file():
        # the file names, not the parsed TOMLs: one bad TOML must not hide the others
        known = ", ".join(sorted(q.stem for q in targets_dir().glob("*.toml"))) or "none"
        raise ConfigError(f"unknown target '{name_or_path}' (no {p}); known targets: {known}")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from e
    spec = parse_target(data, where=str(p), path=p)
    from bench.targets.drivers import driver_class  # the driver's own table, checked before any run starts

    check = getattr(driver_class(spec.driver), "check_options", None)
    if check is not None:
        check(spec)
    return spec


def list_targets() -> list[TargetSpec]:
    out = []
    for p in sorted(targets_dir().glob("*.toml")):
        out.append(load_target(str(p)))
    return out
