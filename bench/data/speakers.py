"""The speaker of an utterance: the one rule every caller uses (F0 probe scores within voice,
voice-disjoint splits of the speech tasks).

* generated sets (the shipped set, `bench data make`, `bench data make --diverse`): labels.csv's
  ``voice`` column (an espeak-ng voice+variant such as ``en-us+f3``, or ``festival:<voice>``,
  ``flite:<voice>``, ``espeak-ng:<voice>`` in the diverse mix);
* the real-recording split (`bench data make --real`): labels.csv has no voice; the ``source``
  column, the recording file the segment was cut from, stands for the speaker (one file, one
  speaker; two files of the same person count as two speakers);
* otherwise None: the set does not say who speaks (a user's folder without labels.csv, DNS,
  VoiceBank-DEMAND).
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.data.loader import Utterance

SPEAKER_COLUMNS = ("voice", "source")  # labels.csv columns, in order of preference


def speaker_of(u: Utterance) -> str | None:
    """The speaker of ``u`` (see the module doc), or None when its set does not say."""
    for col in SPEAKER_COLUMNS:
        v = str(u.meta.get(col) or "").strip()
        if v:
            return v
    return None


def speakers_of(utts: Sequence[Utterance]) -> list[str | None]:
    """:func:`speaker_of` of each utterance."""
    return [speaker_of(u) for u in utts]
