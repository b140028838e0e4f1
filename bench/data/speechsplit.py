"""Speaker-disjoint splits of the generated speech (the mixed-precision GRU tasks, docs/mpgru.md).

The twelve espeak-ng voices of bench.data.tts.VOICES are split once: eight train voices, and four
held-out voices, two (one female, one male variant) for the half of the test split that a search
optimises on and two for the half its results are reported on. A model never hears a test voice
in training, and a search never sees the voices its report is measured on. Noise classes are
assigned independently of voices (round-robin by utterance index in the generator, random voice
order), so no half is short of a noise class."""

from __future__ import annotations

from bench.data.tts import VOICES
from bench.errors import DataError

SEARCH_VOICES = ("en-us+f3", "en+m3")
REPORT_VOICES = ("en+f5", "en-us+m5")
TEST_VOICES = SEARCH_VOICES + REPORT_VOICES
TRAIN_VOICES = tuple(v for v in VOICES if v not in TEST_VOICES)


def voices_for(split: str) -> tuple[str, ...]:
    """The voices of a split: 'train', 'test' (both held-out pairs), 'search' or 'report'."""
    table = {"train": TRAIN_VOICES, "test": TEST_VOICES, "search": SEARCH_VOICES, "report": REPORT_VOICES}
    if split not in table:
        raise DataError(f"voice split must be one of {', '.join(table)}, not {split!r}")
    missing = [v for v in table[split] if v not in VOICES]
    if missing:
        raise DataError(f"voices {missing} are not in bench.data.tts.VOICES")
    return table[split]
