"""Numerics shared by the model families: TFLM-semantics integer ops, the float32 FFT, STFT
framing, the integer GRU, C generation, config/weights I/O and native (ctypes) builds."""
