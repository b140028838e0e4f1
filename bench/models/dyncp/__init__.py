"""DynCP Conv-FSENet (Scalable SE with Dynamic Channel Pruning, arXiv 2412.17121): configs,
STFT front end, numpy float reference with per-frame channel keep-masks.

Training lives in bench.train.dyncp (PyTorch); nothing in this package imports torch.
"""

from bench.models.dyncp.config import CONFIGS, DEFAULT_CONFIG, DyncpConfig, get_config
from bench.models.dyncp.reference import DyncpModel, DyncpStream

__all__ = ["CONFIGS", "DEFAULT_CONFIG", "DyncpConfig", "DyncpModel", "DyncpStream", "get_config"]
