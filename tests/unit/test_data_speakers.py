"""The speaker of an utterance (bench.data.speakers): the voice of generated sets, the source
recording of the real split, None where the set does not say."""

from __future__ import annotations

import csv

import numpy as np

from bench.data.audio import write_wav
from bench.data.loader import Utterance, load_set
from bench.data.speakers import speaker_of, speakers_of


def _utt(**meta: str) -> Utterance:
    x = np.zeros(256, np.int16)
    return Utterance(id="u", noisy=x, clean=x, sample_rate=16000, meta=meta)


def test_rule_voice_then_source_then_none():
    assert speaker_of(_utt(voice="en-us+f3", pitch="40")) == "en-us+f3"
    assert speaker_of(_utt(voice=" flite:awb ", source="/x.wav")) == "flite:awb"  # voice wins, stripped
    assert speaker_of(_utt(source="/usr/share/codec2/wav/hts1a.wav", package="codec2-examples")) == \
        "/usr/share/codec2/wav/hts1a.wav"
    assert speaker_of(_utt(voice="", source="/a.wav")) == "/a.wav"  # an empty voice cell says nothing
    assert speaker_of(_utt(noise_class="white")) is None
    assert speaker_of(_utt()) is None


def test_shipped_set_speakers_are_its_voice_column():
    ts = load_set(None, 16000)
    with open(ts.root / "labels.csv", newline="") as f:
        voices = {r["utt"]: r["voice"] for r in csv.DictReader(f)}
    assert speakers_of(list(ts)) == [voices[u.id] for u in ts]
    assert len(set(voices.values())) > 1


def test_real_split_layout_uses_the_source_recording(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "clean").mkdir()
    (tmp_path / "noisy").mkdir()
    rows = []
    for i, src in enumerate(["/r/a.wav", "/r/a.wav", "/r/b.wav"]):
        x = (rng.normal(0, 3000, 4096)).astype(np.int16)
        write_wav(tmp_path / "clean" / f"real_{i}.wav", x, 16000)
        write_wav(tmp_path / "noisy" / f"real_{i}.wav", x, 16000)
        rows.append({"utt": f"real_{i}", "noise_class": "white", "snr_db": "5.0", "source": src, "package": "p"})
    with open(tmp_path / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert speakers_of(list(load_set(tmp_path))) == ["/r/a.wav", "/r/a.wav", "/r/b.wav"]
    (tmp_path / "labels.csv").unlink()
    assert speakers_of(list(load_set(tmp_path))) == [None, None, None]
