"""The error the cycle-estimate tools raise."""

from __future__ import annotations

from bench.errors import BenchError


class CyclestError(BenchError):
    """The cm4cycles plugin cannot be built or loaded, or its output file cannot be read."""
