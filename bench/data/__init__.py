"""Test sets: the synthetic generator, the shipped default set, and loaders for our own,
DNS-challenge and VoiceBank-DEMAND layouts (see docs/testset.md)."""

from bench.data.labels import FrameLabels
from bench.data.loader import TestSet, Utterance, default_set_path, load_set
from bench.data.noises import NOISE_CLASSES

__all__ = [
    "NOISE_CLASSES",
    "FrameLabels",
    "TestSet",
    "Utterance",
    "default_set_path",
    "load_set",
]
