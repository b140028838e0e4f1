"""The bench's pytest plugin (entry point ``pytest11: bench``): a lab's own tests of its images.

Fixtures:

* ``bench_target``: the TargetSpec (``--bench-target NAME|PATH``, else ``$BENCH_TARGET``, else
  qemu-mps2-an386-sh); parametrise it with ``indirect=True``.
* ``bench_image``: the manifest entry, verified against the target (``--bench-image NAME``, else
  ``$BENCH_IMAGE``); parametrise it with ``indirect=True``.
* ``bench_session``: the image started on the target (``make_driver``), the protocol open and
  HELLO checked against the manifest; a :class:`BenchSession` whose ``process(hops)`` returns the
  RESULTs and records, with ``record_property`` (so they land in ``--junitxml``), the frames, the
  mean counter per frame (instructions on QEMU, cycles on boards) and the energy per frame.

The option names avoid ``--target`` / ``target``: labgrid's and pytest-embedded's plugins own
them. With labgrid installed and ``--lg-env`` given, ``bench_target`` takes the target TOML named
by the environment's ``bench_target`` option (``options: {bench_target: NAME}``) when no
``--bench-target`` is given, and a labgrid target (``driver = "labgrid"``) without a place of its
own runs on the environment's RemotePlace, which the lab's session holds (docs/farm.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

DEFAULT_TARGET = "qemu-mps2-an386-sh"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("bench", "hardware-in-the-loop bench (bench.pytest_plugin)")
    g.addoption("--bench-target", metavar="NAME", default=None,
                help=f"bench target (name under targets/ or a TOML path; default $BENCH_TARGET or {DEFAULT_TARGET})")
    g.addoption("--bench-image", metavar="NAME", default=None,
                help="firmware image of the manifest (default $BENCH_IMAGE)")


def _labgrid_env(config: pytest.Config) -> Any:
    """labgrid's Environment, when labgrid's pytest plugin is installed and --lg-env (or $LG_ENV) gave one."""
    try:
        from labgrid.pytestplugin.hooks import LABGRID_ENV_KEY
    except ImportError:  # labgrid is not installed
        return None
    return config.stash.get(LABGRID_ENV_KEY, None)


def _labgrid_target_name(config: pytest.Config) -> str | None:
    """The `bench_target` option of labgrid's environment (``options: {bench_target: NAME}``)."""
    env = _labgrid_env(config)
    if env is None:
        return None
    name = env.config.get_option("bench_target")
    return str(name) if name else None


def _labgrid_place(config: pytest.Config) -> tuple[str, str] | None:
    """(place, coordinator) of the RemotePlace in labgrid's environment, if it has one."""
    env = _labgrid_env(config)
    if env is None:
        return None
    from labgrid.factory import target_factory

    for role in (env.config.get_targets() or {}).values():
        resources, _ = target_factory.normalize_config(role)
        for place in resources.get("RemotePlace", {}):
            return str(place), str(env.config.get_option("coordinator_address", "") or "")
    return None


def _with_labgrid_place(target: Any, config: pytest.Config) -> Any:
    """A labgrid target without a place of its own runs on the RemotePlace of --lg-env: the place the
    lab's test already holds (acquired with labgrid-client; bench uses that lock and leaves it)."""
    import dataclasses

    found = _labgrid_place(config) if target.driver == "labgrid" else None
    if found is None or target.driver_options.get("place"):
        return target
    place, coordinator = found
    opts = {**target.driver_options, "place": place}
    if coordinator and not opts.get("coordinator"):
        opts["coordinator"] = coordinator
    return dataclasses.replace(target, driver_options=opts)


@dataclass
class BenchSession:
    """A started image: ``session`` (bench.link.session.Session), its ``hello``, the ``driver``,
    ``target`` and ``image``; ``process`` streams hops and records the figures per frame."""

    session: Any
    hello: Any
    driver: Any
    target: Any
    image: Any
    node: Any = None  # the test item: its user_properties go to --junitxml
    frames: int = 0
    _totals: list[float] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return str(self.target.counter.unit)

    def hops(self, pcm: np.ndarray) -> np.ndarray:
        """An int16 signal cut into the image's hops (zero padded, plus the hops that flush the delay)."""
        from bench.runner.stream import hops_for

        return hops_for(np.asarray(pcm, dtype=np.int16), self.hello.hop_len, self.hello.frame_len)

    def process(self, hops: Iterable[np.ndarray], *, reset: bool = True) -> list[Any]:
        """Stream the hops (RESET_STATE first unless reset=False) and return their RESULTs; records
        bench_frames, bench_<unit>_per_frame_mean / _max, bench_rtf_mean, bench_joules_per_frame_mean
        (cumulative over every process() of the test)."""
        if reset:
            self.session.reset_state()
        results = list(self.session.process_stream(hops))
        self.frames += len(results)
        self._totals.extend(float(self.target.counter.ticks_to_unit(int(r.total_ticks))) for r in results)
        self._record()
        return results

    def mean_per_frame(self) -> float:
        return float(np.mean(self._totals)) if self._totals else float("nan")

    def cycles_per_frame(self) -> float:
        """Cycles per frame: measured on a board, instructions x the target's stated CPI on QEMU (an estimate)."""
        m = self.mean_per_frame()
        return m if self.unit == "cycles" else m * float(self.target.cpi_estimate)

    def joules_per_frame(self) -> float | None:
        """The target's datasheet energy model ([energy] joules_per_cycle) x cycles; None without one."""
        jpc = float(self.target.energy_j_per_cycle)
        return self.cycles_per_frame() * jpc if jpc > 0 else None

    def realtime_factor(self) -> float:
        budget = self.target.clock_hz * self.hello.hop_len / self.hello.sample_rate
        return self.cycles_per_frame() / budget

    def record(self, name: str, value: object) -> None:
        """record_property, replacing an earlier value of the same name (process() may run many times)."""
        props = self.node.user_properties
        props[:] = [(k, v) for k, v in props if k != name]
        props.append((name, value))

    def _record(self) -> None:
        if self.node is None or not self._totals:
            return
        self.record("bench_target", self.target.name)
        self.record("bench_image", self.image.name)
        self.record("bench_unit", self.unit)
        self.record("bench_frames", self.frames)
        self.record(f"bench_{self.unit}_per_frame_mean", round(self.mean_per_frame(), 3))
        self.record(f"bench_{self.unit}_per_frame_max", max(self._totals))
        self.record("bench_rtf_mean", round(self.realtime_factor(), 6))
        j = self.joules_per_frame()
        if j is not None:
            self.record("bench_joules_per_frame_mean", f"{j:.6g}")
            self.record("bench_energy_kind", "model" if self.target.meter is None else "model (meter not read)")


@pytest.fixture()
def bench_target(request: pytest.FixtureRequest) -> Any:
    from bench.targets import load_target

    name = (getattr(request, "param", None) or request.config.getoption("--bench-target")
            or _labgrid_target_name(request.config) or os.environ.get("BENCH_TARGET") or DEFAULT_TARGET)
    return _with_labgrid_place(load_target(str(name)), request.config)


@pytest.fixture()
def bench_image(request: pytest.FixtureRequest, bench_target: Any) -> Any:
    from bench.images import find_image, verify_image

    name = getattr(request, "param", None) or request.config.getoption("--bench-image") or os.environ.get("BENCH_IMAGE")
    if not name:
        raise pytest.UsageError("bench_image: give --bench-image NAME (or $BENCH_IMAGE), or parametrise "
                                "bench_image with indirect=True")
    entry = find_image(str(name))
    verify_image(entry, bench_target)
    return entry


@pytest.fixture()
def bench_session(request: pytest.FixtureRequest, bench_target: Any, bench_image: Any,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchSession]:
    from bench.link.session import Session
    from bench.runner.stream import check_hello
    from bench.targets.drivers import make_driver

    driver = make_driver(bench_target, tmp_path_factory.mktemp(f"bench-{bench_image.name}"))
    try:
        driver.start(bench_image.path)
        session = Session(driver.open_link())
        hello = session.hello()
        check_hello(hello, bench_image)
        yield BenchSession(session, hello, driver, bench_target, bench_image, request.node)
    finally:
        driver.stop()
