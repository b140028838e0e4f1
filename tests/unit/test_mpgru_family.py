"""The mpgru family (issue #15): registered through the entry point, its golden reference on the
shipped digits model, the genome encoding of the search, and a search that is deterministic for a
seed and resumes from its checkpoint to the same result."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.families import family_for
from bench.models.common import gru_int as gi

pymoo = pytest.importorskip("pymoo")


def test_the_family_is_registered_with_its_keys():
    fam = family_for("mpgru")
    assert fam.name == "mpgru" and callable(fam.search) and fam.owns_model(
        __import__("bench.paths", fromlist=["repo_root"]).repo_root() / "models/mpgru/digits-h32")
    keys = {k.name: k for k in fam.config_keys("models/mpgru/digits-h32")}
    assert {"tsel", "tbase", "t0", "t199"} <= set(keys) and "t200" not in keys
    fam.check_config([("tsel", 0), ("t5", -1)], "models/mpgru/digits-h32")
    with pytest.raises(ConfigError):
        fam.check_config([("t200", 1)], "models/mpgru/digits-h32")


def test_the_nsnet2_meter_image_has_keys_for_its_shape_and_no_references():
    """mpgru-nsnet2-an386 (model_dir = the nsNet2 model): its RAM table holds any 128 x 128 genome;
    `bench run` is refused with what the image is for."""
    from bench.models.mpgru.export import ram_words

    fam = family_for("mpgru")
    keys = {k.name: k for k in fam.config_keys("models/nsnet2/nsnet2-small")}
    assert keys["tsel"].hi == ram_words(128, 128) and keys["tbase"].hi == ram_words(128, 128) - 1
    with pytest.raises(ConfigError, match="instructions meter"):
        fam.references("models/nsnet2/nsnet2-small")


def test_golden_reference_streams_the_frames_of_a_sequence():
    from bench.families.mpgru import golden_stream, qmodel_for

    fam = family_for("mpgru")
    qm = qmodel_for("models/mpgru/digits-h32")
    rng = np.random.default_rng(0)
    xq = rng.integers(-128, 128, (6, 8)).astype(np.int8)
    hs, logits = qm.run(xq)
    out, lg = golden_stream(qm, xq.astype(np.int16).reshape(-1))
    assert np.array_equal(out.reshape(6, 8), hs[:, :8]) and np.array_equal(lg, logits)
    refs = fam.references("models/mpgru/digits-h32")
    assert np.array_equal(refs.golden(xq.astype(np.int16).reshape(-1), {}), out)
    fl = refs.float_ref(xq.astype(np.int16).reshape(-1), {})
    assert np.max(np.abs(fl.astype(int) - out.astype(int))) < 1500  # 8-bit weights track the float GRU


def test_genome_folders_name_their_model_and_genome():
    from bench.families.mpgru import qmodel_for

    qm = qmodel_for("models/mpgru/digits-h32/genomes/digits-h32-p58")
    assert qm.genome.genome() == (2, 2, 4, 4, 2, 4, 16, 12, 13, 12, 11, 9, 11, 16, 4, 16, 16, 16)
    assert qm.model_bits() == 15360


def test_search_genes_encode_and_decode():
    from bench.models.mpgru.search import bounds, decode, encode

    g = gi.GruGenome.from_genome([2, 4, 8, 8, 4, 2] + list(range(4, 14)) + [8, 32])
    assert decode(encode(g)) == g
    lo, hi = bounds()
    assert decode(hi + 5) == decode(hi) and decode(lo - 3) == decode(lo)


def _fake_eval(calls):
    def ev(g):
        calls.append(g.label())
        gg = np.array(g.genome(), float)
        return {"size": float(g.model_bits(8, 16)), "error": float(np.sum((16 - gg[6:16]) ** 2) / (gg[:6].sum() * 10)),
                "instructions": float(gg.sum())}
    return ev


def test_search_is_deterministic_and_resumes_to_the_same_result(tmp_path):
    from bench.models.mpgru.search import SearchOptions, run_search

    opts = SearchOptions(("size", "error", "instructions"), pop=8, gens=4, seed=3)
    a = run_search(opts, _fake_eval([]), tmp_path / "a.json")
    b = run_search(opts, _fake_eval([]))
    assert a["front"] == b["front"] and a["population"] == b["population"]

    class Killed(Exception):
        pass

    ck = tmp_path / "c.json"
    gens = []

    def progress(evals, g):
        gens.append(g)
        if sum(gens) == 2:
            raise Killed

    with pytest.raises(Killed):
        run_search(opts, _fake_eval([]), ck, progress)
    assert json.loads(ck.read_text())["gen"] == 2
    c = run_search(opts, _fake_eval([]), ck)
    assert c["front"] == a["front"] and c["population"] == a["population"]
    with pytest.raises(ConfigError, match="another search"):
        run_search(SearchOptions(("size", "error"), pop=8, gens=4, seed=4), _fake_eval([]), ck)


def test_search_options_are_checked():
    from bench.models.mpgru.search import SearchOptions

    for bad in (("size",), ("size", "speed"), ("size", "size")):
        with pytest.raises(ConfigError):
            SearchOptions(bad)


# ---- tasks: speaker-disjoint splits, keyword spotting, the evaluation cache ---------------------

def test_voice_splits_are_disjoint_and_cover_the_voices():
    from bench.data.speechsplit import REPORT_VOICES, SEARCH_VOICES, TRAIN_VOICES, voices_for
    from bench.data.tts import VOICES

    assert set(TRAIN_VOICES) | set(SEARCH_VOICES) | set(REPORT_VOICES) == set(VOICES)
    assert not set(TRAIN_VOICES) & set(voices_for("test")) and not set(SEARCH_VOICES) & set(REPORT_VOICES)
    with pytest.raises(Exception, match="voice split"):
        voices_for("dev")


def test_halves_follow_the_voices_and_are_not_tied_to_classes():
    from bench.models.mpgru.tasks import Split, halves

    # 32 utterances, classes round-robin (as the generator assigns them), voices in a random order
    voices = ["en-us+f3", "en+m3", "en+f5", "en-us+m5"] * 8
    order = np.random.default_rng(1).permutation(32)
    sp = Split("noise", tuple(np.zeros((3, 16)) + i for i in range(32)), tuple(i % 8 for i in range(32)),
               tuple(f"u{i}" for i in range(32)), tuple(voices[k] for k in order))
    a, b = halves(sp)
    assert set(a.groups) == {"en-us+f3", "en+m3"} and set(b.groups) == {"en+f5", "en-us+m5"}
    assert len(a) + len(b) == 32 and not set(a.ids) & set(b.ids)
    # an even/odd halving would give the search half the classes 0 2 4 6 only
    assert {int(y) % 2 for y in a.ys} == {0, 1} and {int(y) % 2 for y in b.ys} == {0, 1}


def test_digits_halves_are_stratified_and_seeded():
    from bench.models.mpgru.tasks import halves, load_split

    sp = load_split("digits", "test")
    a, b = halves(sp)
    a2, _ = halves(sp)
    assert a.ids == a2.ids and len(a) + len(b) == len(sp) and not set(a.ids) & set(b.ids)
    for c in range(10):
        na, nb = sum(int(y) == c for y in a.ys), sum(int(y) == c for y in b.ys)
        assert abs(na - nb) <= 1


def test_kws_clips_are_speaker_disjoint_and_deterministic(tmp_path):
    from bench.data.kws import CLASSES, kws_set
    from bench.data.speechsplit import voices_for

    x, y, v, n = kws_set("test", 6, seed=5, cache_dir=tmp_path)
    assert x.shape == (6, 63, 16) and set(v) <= set(voices_for("test")) and y.max() < len(CLASSES)
    assert (tmp_path / "kws-test-6-s5.npz").is_file()
    x2, y2, v2, n2 = kws_set("test", 6, seed=5, cache_dir=tmp_path / "again")  # made again, not read
    assert np.array_equal(x, x2) and np.array_equal(y, y2) and v == v2 and n == n2
    xt, _, vt, _ = kws_set("train", 4, seed=5, cache_dir=tmp_path)
    assert set(vt) <= set(voices_for("train"))


def test_the_evaluation_cache_is_hit_on_repeated_genomes(tmp_path, monkeypatch):
    from bench.models.mpgru import evaluate

    calls = []
    real = evaluate.int_error

    def counting(qm, split):
        calls.append(qm.genome.label())
        return real(qm, split)

    monkeypatch.setattr(evaluate, "int_error", counting)
    ev = evaluate.Evaluator("digits-h32", "digits", tmp_path / "cache.json")
    g = gi.GruGenome.homogeneous(5, 12, 16)
    first = ev(g)
    assert ev(g) == first and calls == [g.label()]
    again = evaluate.Evaluator("digits-h32", "digits", tmp_path / "cache.json")  # a resumed search
    assert again(g) == first and calls == [g.label()]
    assert first["size"] == g.model_bits(8, 32)
