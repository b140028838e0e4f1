"""Target descriptions: one TOML per target under targets/ (data, not code)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.paths import targets_dir

COUNTER_KINDS = ("instructions", "cycles")




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


def parse_target(data: dict[str, Any], where: str = "<target>", path: Path | None = None) -> TargetSpec:
    c = _req(data, "counter", where)
    counter = CounterSpec(
        kind=_req(c, "kind", where + " [counter]"),
        timer_hz=int(c.get("timer_hz", 0)),
        icount_shift=int(c.get("icount_shift", 0)),
    )
    cpi = data.get("cpi", {})
    energy = data.get("energy", {})
    driver = _req(data, "driver", where)
    return TargetSpec(
        name=_req(data, "name", where),
        driver=driver,
        board=_req(data, "board", where),
        cpu=_req(data, "cpu", where),
        clock_hz=int(_req(data, "clock_hz", where)),
        counter=counter,
        cpi_estimate=float(cpi.get("estimate", 1.0)),
        cpi_source=str(cpi.get("source", "")),
        energy_j_per_cycle=float(energy.get("joules_per_cycle", 0.0)),
        energy_source=str(energy.get("source", "")),
        description=str(data.get("description", "")),
        driver_options=dict(data.get(driver, {})),
        path=path,
    )


def load_target(name_or_path: str) -> TargetSpec:
    """Load a target by name (targets/<name>.toml) or by path to a TOML file."""
    p = Path(name_or_path)
    if not p.suffix:
        p = targets_dir() / f"{name_or_path}.toml"
    if not p.is_file():
        known = ", ".join(t.name for t in list_targets()) or "none"
        raise ConfigError(f"unknown target '{name_or_path}' (no {p}); known targets: {known}")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from e
    return parse_target(data, where=str(p), path=p)


def list_targets() -> list[TargetSpec]:
    out = []
    for p in sorted(targets_dir().glob("*.toml")):
        out.append(load_target(str(p)))
    return out
