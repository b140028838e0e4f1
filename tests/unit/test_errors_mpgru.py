"""The mpgru family's errors (docs/errors.md): a model configuration that does not fit its task, a model
or task that does not exist, search options out of range, a test split without the search/report
voices, a run whose frames carry no logits, images that firmware/images.toml does not list. Each
through the public function a command calls, on the shipped models (models/mpgru/)."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from bench.errors import ConfigError
from bench.families import mpgru as fam
from bench.models.mpgru.model import MpgruConfig, load_model, model_dir
from bench.models.mpgru.search import SearchOptions
from bench.models.mpgru.tasks import Split, halves, task_spec
from bench.paths import repo_root

VAD = repo_root() / "models" / "mpgru" / "vad-h32"


@pytest.fixture(scope="module")
def cfg() -> MpgruConfig:
    return load_model(VAD).cfg


def test_an_unknown_task_lists_the_tasks():
    with pytest.raises(ConfigError, match=r"unknown mpgru task 'speech'; tasks: digits, vad, noise, kws"):
        task_spec("speech")


@pytest.mark.parametrize("change, says", [
    ({"input_size": 9}, r"input 9, classes 2, level frame do not fit task vad \(16, 2, frame\)"),
    ({"hidden": 0}, "hidden 0 must be 1..256"),
    ({"x_min": 1.0, "x_max": 1.0}, "bad input range or logit scale"),
    ({"logit_scale": 0.0}, "bad input range or logit scale"),
    ({"feat_mean": (0.0,) * 3, "feat_std": (1.0,) * 3}, "feat_mean / feat_std need 16 entries, std > 0"),
])
def test_a_model_config_that_does_not_fit_names_the_field(cfg, change, says):
    with pytest.raises(ConfigError, match=f"mpgru model {cfg.name}: {says}"):
        dataclasses.replace(cfg, **change)


def test_a_config_of_another_family_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"family": "nsnet2", "model": {"name": "x"}}))
    with pytest.raises(ConfigError, match="config.json: not an mpgru model config"):
        MpgruConfig.load(tmp_path / "config.json")


def test_a_model_that_does_not_exist_says_how_to_train_one():
    with pytest.raises(ConfigError, match=r"no mpgru model 'vad-h999' .*`bench train mpgru --task TASK`"):
        model_dir("vad-h999")


@pytest.mark.parametrize("pop, gens", [(3, 10), (24, 0)])
def test_search_options_out_of_range(pop, gens):
    with pytest.raises(ConfigError, match="need --pop >= 4 and --gens >= 1"):
        SearchOptions(("size", "error"), pop, gens)


def test_a_test_split_without_the_report_voices_cannot_be_halved():
    xs = tuple(np.zeros((4, 16)) for _ in range(3))
    split = Split("vad", xs, (0, 1, 0), ("a", "b", "c"), groups=("en-us+f3", "en+m3", "en-us+f3"))
    with pytest.raises(ConfigError, match="vad test split: no sequences of the search or the report voices"):
        halves(split)


def test_instructions_for_nsnet2_without_its_meter_image_say_how_to_build_it(tmp_path):
    (tmp_path / "images").mkdir()  # an images folder without the 128 x 128 meter image
    argv = ["--task", "nsnet2", "--objectives", "size,error,instructions", "--out", str(tmp_path / "out"),
            "--images-dir", str(tmp_path / "images"), "--no-progress"]
    with pytest.raises(ConfigError, match=r"instructions objective needs the image mpgru-nsnet2-an386 .*Build it "
                                          r"with `bench search mpgru --task nsnet2 --build-images"):
        fam.search_main(argv)


def test_a_model_of_another_task_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="model digits-h32 is for task digits, not vad"):
        fam.search_main(["--task", "vad", "--model", "digits-h32", "--out", str(tmp_path), "--no-progress"])


def test_frames_without_logits_cannot_be_scored():
    run = SimpleNamespace(frames=lambda name: pa.table({"utt": ["u0"], "stage_gru": [10.0]}))
    e = SimpleNamespace(name="mpgru-vad-an386", model_dir="models/mpgru/vad-h32")
    with pytest.raises(ConfigError, match="mpgru-vad-an386: no logits .*run the image again"):
        fam.build_view(run, e, [])


def test_building_images_the_table_does_not_list_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="has 0 of the images mpgru-nosuch-an386; name images it lists"):
        fam.build_and_merge(["mpgru-nosuch-an386"], tmp_path)
