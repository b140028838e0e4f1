"""The runner: image + target + test set -> per-frame records in the results store.

bench.runner.run (the run: scheduling, resume), bench.runner.stream (one utterance over the
link), bench.runner.score (references and metrics), bench.runner.provenance, bench.runner.sweep.
No family is named here: families are plugins (bench.families)."""

from bench.runner.run import Runner, RunOptions

__all__ = ["RunOptions", "Runner"]
