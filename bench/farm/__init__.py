"""The board farm (docs/farm.md): `bench farm run FARM_FILE`, the nightly over places described
in a farm TOML. One worker per place runs in parallel (a thread driving a `bench.farm.worker`
subprocess, so a per-board timeout can stop a hung board); a failed place is reset and retried
once (the retry resumes its run), then marked failed and the night goes on. A place may be a
labgrid place (`labgrid = "<place>"`, its target `driver = "labgrid"`): one held by somebody else
is skipped and named (places.py), and locks a killed worker left are released after the night.
The night's summary (farm.json), Markdown, HTML and JUnit reports go to results/farm/<night>/;
each place's run is an ordinary run (results/<run-id>, named after its target), and one merged
run holds them all as <image>@<place> (merge.py); verdicts compare each place's run with the same
place's last good night (bench.results.compare); results/farm/<farm>-history.json remembers the
nights, so a board failing three nights running is called out."""

from bench.farm.night import EXIT_BOARD_FAILED, EXIT_OK, EXIT_REGRESSION, EXIT_RESERVED, run_farm
from bench.farm.spec import FarmSpec, PlaceSpec, load_farm

__all__ = ["EXIT_BOARD_FAILED", "EXIT_OK", "EXIT_REGRESSION", "EXIT_RESERVED", "FarmSpec", "PlaceSpec", "load_farm",
           "run_farm"]
