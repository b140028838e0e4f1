"""bench: hardware-in-the-loop benchmarking of speech-enhancement networks on Cortex-M."""

__version__ = "0.1.0"
