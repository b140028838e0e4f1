"""The training-data generators' errors (docs/errors.md): speech engines that are missing, fail, write
no WAV or say nothing; recordings too short, silent or unreadable; rooms that cannot have their RT60;
bad splits. The engines are replaced at the lowest layer only: a fake `flite` / `text2wave` program
on $PATH that behaves as a broken install does (fails, writes garbage, writes silence)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.data import kws, realsplit, recordings, rooms, speechsplit, voices
from bench.data.diverse import NOISE_CLASSES, make_diverse_set
from bench.data.voices import Talker, speak
from bench.errors import DataError


def fake_program(bin_dir: Path, name: str, body: str) -> None:
    """A program `name` on bin_dir: a Python script; `out` is the path after -o (its WAV output)."""
    bin_dir.mkdir(exist_ok=True)
    p = bin_dir / name
    p.write_text(f"#!{sys.executable}\nimport sys\nargs = sys.argv[1:]\n"
                 "out = args[args.index('-o') + 1] if '-o' in args else None\n" + body)
    p.chmod(p.stat().st_mode | stat.S_IEXEC)


@pytest.fixture()
def fake_bin(tmp_path, monkeypatch):
    d = tmp_path / "bin"
    d.mkdir()
    monkeypatch.setenv("PATH", str(d))  # only the fakes: an engine not faked is "not installed"
    monkeypatch.setattr(voices, "flite_voices", lambda: ("slt",))
    monkeypatch.setattr(voices, "festival_voices", lambda: ("kal_diphone",))
    return d


def test_an_engine_program_that_fails_quotes_its_error(fake_bin):
    fake_program(fake_bin, "flite", "sys.stderr.write('flite: voice slt: cannot open lexicon\\n')\nsys.exit(3)\n")
    with pytest.raises(DataError, match=r"flite voice slt: failed \(flite: voice slt: cannot open lexicon\); "
                                        r"check the install \(scripts/bootstrap\)"):
        speak("one two three", Talker("flite", "slt"))


def test_an_engine_that_writes_no_wav_says_so(fake_bin):
    fake_program(fake_bin, "text2wave", "open(out, 'wb').write(b'not a wav')\n")
    with pytest.raises(DataError, match="festival voice kal_diphone: wrote no readable WAV .*check the install"):
        speak("one two three", Talker("festival", "kal_diphone"))


def test_an_engine_that_says_nothing_is_refused(fake_bin):
    fake_program(fake_bin, "flite", "import numpy, soundfile\n"
                 "soundfile.write(out, numpy.zeros(8000), 8000, subtype='PCM_16')\n")
    with pytest.raises(DataError, match="flite:slt produced no audio for 'one two three'; check the voice install"):
        speak("one two three", Talker("flite", "slt"))


@pytest.mark.parametrize("engine, voice, says", [
    ("flite", "slt", "flite: program not found; install flite"),
    ("festival", "kal_diphone", "festival: text2wave not found; install festival and its voices"),
])
def test_a_missing_engine_program_says_what_to_install(fake_bin, engine, voice, says):
    with pytest.raises(DataError, match=says):
        speak("one", Talker(engine, voice))


def test_a_diverse_set_without_any_speech_engine(tmp_path, monkeypatch):
    monkeypatch.setattr(voices, "installed_talkers", lambda: {})
    with pytest.raises(DataError, match="no speech engine installed; install espeak-ng, festival"):
        make_diverse_set(tmp_path / "set", 0, 2, "train", classes=NOISE_CLASSES[:1])


def test_kws_split_and_a_silent_word(monkeypatch, tmp_path):
    with pytest.raises(DataError, match="kws split must be 'train' or 'test', not 'dev'"):
        kws.kws_set("dev", 4)
    monkeypatch.setattr(kws, "synthesize", lambda text, voice, sr: np.zeros(0))  # espeak-ng said nothing
    with pytest.raises(DataError, match="espeak-ng produced no audio for .*; check the install"):
        kws.kws_set("test", 1, cache_dir=tmp_path)


def test_voice_splits():
    with pytest.raises(DataError, match="voice split must be one of train, test, search, report, not 'dev'"):
        speechsplit.voices_for("dev")


def test_a_voice_split_naming_a_voice_tts_does_not_have(monkeypatch):
    monkeypatch.setattr(speechsplit, "VOICES", {})
    with pytest.raises(DataError, match=r"voices \[.*\] are not in bench.data.tts.VOICES"):
        speechsplit.voices_for("search")


def test_a_room_too_large_for_its_rt60_says_draw_another():
    room = rooms.Room((9.0, 7.0, 3.5), 0.01, (1.0, 1.0, 1.5), (2.0, 2.0, 1.5))
    with pytest.raises(DataError, match=r"room \(9.0, 7.0, 3.5\) cannot have RT60 0.01 s .*draw another room"):
        rooms.impulse_response(room, 16000)


def test_rooms_without_pyroomacoustics_say_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyroomacoustics", None)
    with pytest.raises(DataError, match=r"needs pyroomacoustics: `pip install -e .\[data\]`"):
        rooms.impulse_response(rooms.Room((5.0, 4.0, 3.0), 0.3, (1.0, 1.0, 1.5), (2.0, 2.0, 1.5)), 16000)


def _rec(path: Path) -> recordings.Recording:
    return recordings.Recording(path, "asterisk-moh-opsound-wav", "test track")


def test_a_music_track_too_short_or_silent_says_reinstall(tmp_path):
    short, silent = tmp_path / "short.wav", tmp_path / "silent.wav"
    sf.write(short, np.full(800, 0.1), 8000)
    sf.write(silent, np.zeros(8000 * 6), 8000)
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match=r"short.wav: shorter than the 2.0 s excerpt needed; reinstall asterisk"):
        recordings.music_excerpt(rng, (_rec(short),), 32000, 16000)
    with pytest.raises(DataError, match=r"silent.wav: no audible excerpt found; reinstall asterisk-moh-opsound-wav"):
        recordings.music_excerpt(rng, (_rec(silent),), 32000, 16000)


def test_an_unreadable_recording_says_reinstall(tmp_path):
    bad = tmp_path / "cut.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    with pytest.raises(DataError, match=r"cut.wav: unreadable .*reinstall asterisk-moh-opsound-wav"):
        realsplit._load16(_rec(bad))


def test_a_speech_task_of_voices_the_set_does_not_have():
    from bench.data.loader import default_set_path
    from bench.data.speechfeat import load_speech_task

    with pytest.raises(DataError, match=r"no utterance spoken by en\+nobody \(labels.csv needs a voice column\)"):
        load_speech_task(default_set_path(), "vad", voices=("en+nobody",))
