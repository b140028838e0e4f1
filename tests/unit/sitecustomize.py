"""Loaded by every Python process started while the error catalogue is traced (tests/unit is on their
PYTHONPATH only then; see test_reliability_catalogue.py): a `bench` subprocess or a spawned worker
records the errors it builds like the test process does. Does nothing otherwise."""

import os

if os.environ.get("BENCH_ERROR_TRACE_HITS") and os.environ.get("BENCH_ERROR_TRACE_TEST"):
    try:
        import test_reliability_catalogue

        test_reliability_catalogue.install()
    except Exception:  # noqa: BLE001 - tracing must never break the process it watches
        pass
