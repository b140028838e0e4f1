"""Simulated instruments for tests and demos: each speaks its instrument's own protocol underneath
the maker's real package (a pty for the PPK2 and the LPM01A, a TCP server for the Otii application,
a replacement for the Joulescope driver layer), fed a current waveform synthesised from a run's own
per-frame counts (waveform.py). Figures read through them are labelled "simulated", never "measured".
"""
