"""bench: hardware-in-the-loop benchmarking of speech-enhancement networks on Cortex-M."""

import warnings

__version__ = "0.1.0"

# pyworld 0.3.5 imports pkg_resources at import time; setuptools 80 warns about it on every
# start (we pin setuptools < 81, docs/decisions.md). Not our warning and not actionable.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
