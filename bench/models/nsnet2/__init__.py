"""Early-exit nsNet2 (Dynamic nsNet2, arXiv 2308.16678): configs, STFT front end, numpy float reference.

Training lives in bench.train.nsnet2 (PyTorch); nothing in this package imports torch.
"""

from bench.models.nsnet2.config import CONFIGS, DEFAULT_CONFIG, Nsnet2Config, get_config
from bench.models.nsnet2.reference import ExitPolicy, Nsnet2Model, Nsnet2Stream

__all__ = ["CONFIGS", "DEFAULT_CONFIG", "ExitPolicy", "Nsnet2Config", "Nsnet2Model", "Nsnet2Stream", "get_config"]
