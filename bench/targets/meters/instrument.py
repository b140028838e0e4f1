"""What every instrument meter shares: the [meter] table's common keys, the simulated mode, the
start / feed / stop / frame_energy cycle, and the cut into frame windows (windows.py).

A subclass talks to one instrument through its maker's package and implements:

    _open()             connect and configure (called once, lazily, at the first start())
    _arm() / _disarm()  start / stop a capture
    _capture()          what the last capture recorded, as a windows.Capture
    _play(waveform)     simulated mode only: hand the synthesised waveform to the simulated instrument
    _close()            release the instrument

``device = "sim"`` (or ``"sim:<anything>"``) in [meter] runs the same meter code against the
meter's simulated instrument (bench/targets/meters/sim/); its figures are labelled "simulated".
Common [meter.options]: ``min_samples``, ``duration_tolerance``, ``min_window_samples`` (the
alignment, windows.AlignOptions) and ``sim_*`` (the simulated board and instrument, sim/waveform.py).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from bench.errors import BenchError, ConfigError, TargetError
from bench.targets.meters.base import (
    FrameEnergy,
    excluded_energy,
    frame_counts,
    frame_cycles,
    frame_stage_names,
)
from bench.targets.meters.sim.waveform import SimOptions, Truth, Waveform, from_frames
from bench.targets.meters.windows import AlignOptions, Capture, cut_windows
from bench.targets.spec import MeterSpec, TargetSpec

ALIGN_KEYS = ("min_samples", "duration_tolerance", "min_window_samples", "max_unmatched")
EXTRA = "pip install -e '.[energy]'"


def package_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def need(module: str, dist: str, meter: str) -> Any:
    """Import a maker's package lazily; a clear error where the optional extra is missing."""
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError as e:
        raise ConfigError(f"the {meter} meter needs the maker's package {dist} ({e}); install the optional "
                          f"extra: {EXTRA}") from e


class InstrumentMeter:
    name = ""
    label = ""  # the instrument, for the source text
    package = ""  # its maker's distribution
    options_known: tuple[str, ...] = ()  # the meter's own [meter.options] keys

    def __init__(self, target: TargetSpec, spec: MeterSpec):
        self.target = target
        self.spec = spec
        self.simulated = spec.device.split(":", 1)[0].strip().lower() in ("sim", "simulated")
        self.energy_kind = "simulated" if self.simulated else "measured"
        opts = dict(spec.options)
        self.align = AlignOptions(**{k: opts.pop(k) for k in ALIGN_KEYS if k in opts})
        sim = {k: opts.pop(k) for k in list(opts) if k.startswith("sim_")}
        self.sim_options = SimOptions.from_options(sim)
        unknown = sorted(set(opts) - set(self.options_known))
        if unknown:
            raise ConfigError(f"[meter] kind {self.name!r}: unknown option(s) {unknown} in [meter.options]; known: "
                              + ", ".join((*self.options_known, *ALIGN_KEYS, "sim_*")))
        self.options = opts
        self.truth: Truth | None = None  # simulated mode: what the simulated board really drew (last utterance)
        self._opened = False
        self._armed = False
        self._captured = False
        self._fed = 0
        self._worked = False  # the instrument has opened once (later failures exclude frames, never stop the run)
        self._start_error: str | None = None

    # -- the subclass's hooks -----------------------------------------------------------------
    @property
    def fs(self) -> float:
        raise NotImplementedError

    @property
    def supply_v(self) -> float:
        if self.spec.supply_v is None:
            raise ConfigError(f"[meter] kind {self.name!r}: supply_v is needed (the supply the board runs at, V)")
        return float(self.spec.supply_v)

    def _open(self) -> None:
        raise NotImplementedError

    def _arm(self) -> None:
        raise NotImplementedError

    def _disarm(self) -> None:
        raise NotImplementedError

    def _capture(self) -> Capture:
        raise NotImplementedError

    def _play(self, waveform: Waveform) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    # -- the Meter protocol and its optional hooks --------------------------------------------------
    @property
    def source(self) -> str:
        where = "simulated instrument under the real package" if self.simulated else (self.spec.device or "auto")
        stage = f", stage marker {self.spec.stage_marker}" if self.spec.stage_marker else ""
        return (f"{self.label} via {self.package} {package_version(self.package)} ({where}); frame marker "
                f"{self.spec.marker or '-'}{stage}; {self.fs:g} S/s at {self.supply_v:g} V")

    def start(self) -> None:
        """Open (once) and arm the instrument. The first open failing is an error (TargetError: the
        instrument is missing or misconfigured, the image fails with the reason). Once it has worked,
        an instrument that fails to start (unplugged mid-run) costs only this utterance's energy: its
        frames are excluded with the reason (frame_energy), the counts go on."""
        self._captured = False
        self._start_error = None
        try:
            if not self._opened:
                self._open()
                self._opened = True
                self._worked = True
            if self._armed:
                self._armed = False
                self._disarm()
            self._arm()
            self._armed = True
        except Exception as e:  # noqa: BLE001 -- every package's errors: say which instrument and why
            self._armed = False
            if not self._worked:
                if isinstance(e, BenchError):
                    raise
                raise TargetError(f"{self.name} meter: cannot start the {self.label} ({type(e).__name__}: {e})") from e
            self._start_error = f"the {self.label} could not be started (disconnected?): {type(e).__name__}: {e}"

    def feed(self, frames: Any) -> None:
        """Simulated mode: play the current the frames would draw; a real instrument ignores this."""
        if not self.simulated or not self._armed:
            return
        import dataclasses

        seed = self.sim_options.seed
        opts = dataclasses.replace(self.sim_options, seed=None if seed is None else seed + self._fed)
        self._fed += 1
        wf = from_frames(frames, self.target, self.supply_v, self.fs, opts)
        self.truth = wf.truth
        try:
            self._play(wf)
        except BenchError:
            raise
        except Exception as e:  # noqa: BLE001 -- the simulated instrument's own failure, named
            raise TargetError(f"the simulated {self.label} failed to play the waveform: {type(e).__name__}: {e}") from e

    def stop(self) -> None:
        """Stop the capture. Whatever the maker's package raises (its own exception classes too: an
        instrument unplugged, an application closed) becomes a TargetError naming the instrument, which
        measure_utterance turns into excluded frames with the reason."""
        if self._armed:
            self._armed = False
            try:
                self._disarm()
            except BenchError:
                raise
            except Exception as e:  # noqa: BLE001 -- every package's errors
                raise TargetError(f"the {self.label} failed while stopping the capture (disconnected?): "
                                  f"{type(e).__name__}: {e}") from e
            self._captured = True

    def frame_energy(self, frames: Any) -> FrameEnergy:
        n = len(frame_counts(frames))
        stages = frame_stage_names(frames) if self.spec.stage_marker else ()
        if not self._captured and self._start_error:
            return excluded_energy(self.energy_kind, self.source, n, self._start_error, stages)
        if not self._captured:
            return excluded_energy(self.energy_kind, self.source, n, "no capture: the meter was not started and "
                                   "stopped around this utterance", stages)
        try:
            cap = self._capture()
        except Exception as e:  # noqa: BLE001 -- every package's errors (a recording gone with its application)
            return excluded_energy(self.energy_kind, self.source, n, f"the meter's capture could not be read: {e}",
                                   stages)
        return cut_windows(cap, frame_cycles(frames, self.target), self.energy_kind, self.source, stages, self.align)

    def close(self) -> None:
        try:
            if self._armed:
                self.stop()
        finally:
            if self._opened:
                self._opened = False
                self._close()


def digital_input(name: str, prefix: str, count: int, what: str, meter: str) -> int:
    """'D3' -> 3 (prefix 'D', count 8): the instrument input a marker is wired to."""
    s = name.strip().upper()
    if not s.startswith(prefix.upper()) or not s[len(prefix):].isdigit() or not 0 <= int(s[len(prefix):]) < count:
        raise ConfigError(f"[meter] kind {meter!r}: {what} must name one of the instrument's inputs "
                          f"{prefix}0..{prefix}{count - 1}, got {name!r}")
    return int(s[len(prefix):])
