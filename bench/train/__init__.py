"""Training code (PyTorch, the `train` extra). Never imported by the runtime path."""
