"""Quality, probe and fidelity metrics, and the three-way comparison (see docs/metrics.md).

Metric functions are pure: arrays and a sample rate in, numbers out. An input a metric
cannot score gives an :class:`Unscorable` NaN that carries the reason.
"""

from bench.metrics.quality import DEFAULT_METRICS, METRICS, estoi, pesq_nb, pesq_wb, seg_snr, si_sdr, stoi
from bench.metrics.scores import Unscorable, reason_of

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "Unscorable",
    "estoi",
    "pesq_nb",
    "pesq_wb",
    "reason_of",
    "seg_snr",
    "si_sdr",
    "stoi",
]
