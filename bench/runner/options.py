"""The options of a run, as recorded in its run.json: defaults, checks, and how a resumed run
takes them back from its record (refusing conflicting ones); run ids."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from bench.errors import BenchError
from bench.results.store import results_root


@dataclass(frozen=True)
class RunOptions:
    target: str = "qemu-mps2-an386"
    images: tuple[str, ...] = ()
    set_path: str | None = None
    limit: int | None = None
    window: int = 4
    timeout: float = 5.0
    configure: tuple[tuple[str, int], ...] = ()
    run_id: str | None = None
    metrics: bool = True
    manifest_dir: str | None = None  # another folder holding manifest.json (default firmware_images/)
    jobs: int = 0  # images run in parallel, one emulator each; 0: one per CPU core on emulators, 1 on boards
    link_timeout: float | None = None  # seconds without any reply before the link is dead (None: the session's)
    link_retries: int = 5  # resend rounds without progress before the link may be declared dead
    link_faults: str = ""  # injected link faults (bench.link.faults query, e.g. "ber=1e-3&seed=1")
    probe_uid: str | None = None  # pyOCD targets: which of several probes (the board)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise BenchError("--window must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise BenchError("--limit must be at least 1")
        if self.timeout <= 0:
            raise BenchError("--timeout must be positive")
        if self.jobs < 0:
            raise BenchError("--jobs must be 0 (automatic) or more")
        if self.link_timeout is not None and self.link_timeout <= 0:
            raise BenchError("--link-timeout must be positive (seconds without any reply)")
        if self.link_retries < 0:
            raise BenchError("--link-retries must be 0 or more")
        if self.link_faults:
            from bench.link.faults import parse_faults

            try:
                parse_faults(self.link_faults)
            except ValueError as e:
                raise BenchError(f"--link-faults: {e}") from None


def options_for_resume(recorded: dict[str, Any], given: RunOptions, run_id: str) -> RunOptions:
    """The recorded options of a run, refusing any option given now that contradicts them (an
    option left at its default takes the recorded value)."""
    default = RunOptions()
    fields = {f.name for f in dataclasses.fields(RunOptions)}
    rec = {k: v for k, v in recorded.items() if k in fields}
    for k in ("images", "configure"):
        if k in rec:
            rec[k] = tuple(tuple(x) if isinstance(x, list) else x for x in rec[k])
    conflicts = []
    for k in sorted(fields - {"run_id", "jobs"}):  # how many emulators run at once changes no figure
        now, then = getattr(given, k), rec.get(k, getattr(default, k))
        if now != getattr(default, k) and now != then:
            conflicts.append(f"--{k.replace('_', '-')}: the run has {then!r}, this command gives {now!r}")
    if conflicts:
        raise BenchError(f"cannot resume {run_id} with other options ({'; '.join(conflicts)}); a resumed run "
                         "keeps its own options: drop them, or start a new run")
    rec["run_id"] = run_id
    return RunOptions(**rec)


def make_run_id(target: str) -> str:
    """<UTC time>-<target>, with -2, -3, ... when runs start within the same second."""
    base = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{target}"
    rid, k = base, 1
    while (results_root() / rid).exists():
        k += 1
        rid = f"{base}-{k}"
    return rid
