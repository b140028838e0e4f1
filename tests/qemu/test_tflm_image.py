"""An image whose manifest names a .tflite is judged against TFLM's interpreter: the nsNet2
image at its default (final) exit equals, bit for bit, the exported graph run in TFLM between
the golden front and back end; at another exit the runner falls back to the golden model and
says why."""

import pytest

from bench.results.store import read_json
from bench.runner import Runner, RunOptions

pytest.importorskip("tflite_micro")

IMAGE = "nsnet2-small-an386"


def test_target_is_bit_exact_with_tflm(results_dir):
    run = Runner(RunOptions(target="qemu-mps2-an386-sh", images=(IMAGE,), limit=2)).start()
    comp = read_json(run.image_dir(IMAGE) / "comparison.json")
    assert comp["golden_source"] == "TFLM interpreter on nsnet2-small-exit4.tflite"
    assert comp["conditions"] == ["noisy", "float", "golden", "target"]
    assert comp["fidelity"]["target_vs_golden"] == {"bit_exact_min": 1.0, "max_abs_lsb": 0.0, "utterances": 2}


def test_other_exit_falls_back_to_the_golden_model(results_dir):
    run = Runner(RunOptions(target="qemu-mps2-an386-sh", images=(IMAGE,), limit=1,
                            configure=(("exit", 1),))).start()
    comp = read_json(run.image_dir(IMAGE) / "comparison.json")
    assert "TFLM reference not used" in comp["golden_source"] and "static exit 4" in comp["golden_source"]
    assert comp["fidelity"]["target_vs_golden"]["bit_exact_min"] == 1.0
