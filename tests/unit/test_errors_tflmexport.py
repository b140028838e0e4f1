"""The DynCP .tflite exporter's checks (docs/errors.md): a quantised model (int8.npz) whose parameters
TFLM's Prepare cannot reproduce from float32 scales (a multiplier, an offset, an activation range or
the residual ADD that does not follow from the scales: a damaged or hand-edited file) is refused with
the layer named and how to get a good one, instead of a .tflite that computes something else."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("flatbuffers", reason="the .tflite export needs flatbuffers (pip install -e .[tflm])")

from bench.errors import ConfigError  # noqa: E402
from bench.models.dyncp.quantize import DyncpQuant  # noqa: E402
from bench.paths import repo_root  # noqa: E402
from bench.tflm import dyncp as td  # noqa: E402

MODEL = "dyncp-small-r25"


@pytest.fixture(scope="module")
def qm() -> DyncpQuant:
    return DyncpQuant.load(repo_root() / "models" / "dyncp" / MODEL)


def with_block(qm: DyncpQuant, i: int, **fields: object) -> DyncpQuant:
    blocks = list(qm.blocks)
    blocks[i] = dataclasses.replace(blocks[i], **fields)
    return dataclasses.replace(qm, blocks=tuple(blocks))


def bump(a: np.ndarray, by: int = 1) -> np.ndarray:
    a = a.copy()
    a[0] += by
    return a


def gated(qm: DyncpQuant) -> int:
    return next(i for i, b in enumerate(qm.blocks) if b.gated)


def cases(qm: DyncpQuant) -> list[tuple[DyncpQuant, str]]:
    b0 = qm.blocks[0]
    g = gated(qm)
    go = qm.blocks[g].gate_out
    return [
        (with_block(qm, 0, pw1=dataclasses.replace(b0.pw1, mult=bump(b0.pw1.mult))),
         r"b0.pw1\[0\]: no float32 weight scale reproduces multiplier"),
        (with_block(qm, 0, pw1=dataclasses.replace(b0.pw1, in_offset=b0.pw1.in_offset + 1)),
         r"b0.pw1: offsets .* do not match the scales' zero points"),
        (with_block(qm, 0, pw1=dataclasses.replace(b0.pw1, act_max=100)),
         r"b0.pw1: activation range \(-?\d+, 100\) is neither none nor ReLU"),
        (with_block(qm, 0, act1=dataclasses.replace(b0.act1, mult_pos=b0.act1.mult_pos + 1)),
         "b0.act1: PReLU positive multiplier does not follow from its scales"),
        (with_block(qm, 0, act1=dataclasses.replace(b0.act1, mult_neg=b0.act1.mult_neg + 1)),
         r"b0.act1: no float32 alpha scale reproduces multiplier"),
        (with_block(qm, 0, add=dataclasses.replace(b0.add, out_offset=b0.add.out_offset + 1)),
         "b0: residual ADD parameters do not follow from the scales"),
        (with_block(qm, g, gate_out=dataclasses.replace(go, mult=np.full_like(go.mult, 1 << 29),
                                                        shift=np.zeros_like(go.shift))),
         rf"b{g}.gate_out: gate output needs zero point 0 and multipliers >= 1/2"),
    ]


@pytest.mark.parametrize("k", range(7))
def test_an_int8_model_tflm_cannot_reproduce_is_refused_with_the_layer(qm, k):
    bad, says = cases(qm)[k]
    with pytest.raises(ConfigError, match=says) as e:
        td.export(bad)
    msg = str(e.value)
    assert msg.startswith(f"{MODEL} cannot be exported for TFLM: ")
    assert "quantise the model again (`bench quantize MODEL_DIR --calib SET`)" in msg


def test_the_shipped_model_exports(qm):
    assert td.export(qm)[4:8] == b"TFL3"
