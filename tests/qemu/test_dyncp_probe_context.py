"""Mask probes with a temporal context on QEMU: the shipped r25 with probes that read the current
and the previous 2 frames' masks (random probes, quantised and exported as trained ones are)
sends PROBE scores equal, on every frame, to the integer golden on context features of the
target's own masks, the history empty at every utterance's start; the enhanced audio stays
bit-exact with the golden model (docs/probes.md, "Temporal context on target")."""

import os
import shutil

import numpy as np
import pytest
from test_dyncp_image import check_utterance

from bench.data.loader import load_set
from bench.families.dyncp.view import mask_bits
from bench.imagebuild import build_all, write_manifest
from bench.models.dyncp import export
from bench.models.dyncp.refs import quant_model
from bench.models.probes import quant as pq
from bench.models.probes.features import context_bits
from bench.models.probes.golden import probe_scores
from bench.paths import repo_root
from bench.runner import Runner, RunOptions

TARGET = "qemu-mps2-an386-sh"
NAME = "dyncp-r25-probes-k2-test-an386"
K = 2


def _spec(gen: str, model: str) -> str:
    kernels = ", ".join(f'"firmware/kernels/{k}.c"' for k in (
        "bk_dsp_path", "bk_fc_s8", "bk_fc_s8_s16", "bk_sigmoid_lut", "bk_sigmoid_s16", "bk_support_matvec",
        "bk_pw_conv_s8", "bk_pw_conv_t_s8", "bk_dw_conv_s8"))  # fmt: skip
    return (f'[[image]]\nname = "{NAME}"\nmodel_dir = "{model}"\nboard = "mps2-an386"\napp = "agent"\n'
            f'model_family = "dyncp"\nsources = ["firmware/models/dyncp/*.c", "{gen}/dyncp_params.c", {kernels}]\n'
            'description = "test: r25 with context probes"\n')  # fmt: skip


@pytest.fixture(scope="module")
def context_run(tmp_path_factory):
    rel = f"build/tests/probe-context-{os.getpid()}"  # image sources must lie in the repository
    root = repo_root() / rel
    shutil.rmtree(root, ignore_errors=True)
    model = root / "dyncp-small-r25"
    model.mkdir(parents=True)
    src = repo_root() / "models/dyncp/dyncp-small-r25"
    for f in ("config.json", "weights.npz", "int8.npz"):
        shutil.copy(src / f, model / f)
    shipped_fp, _ = pq.load_npz(src)
    rng = np.random.default_rng(11)
    n = shipped_fp.n_bits
    w = np.concatenate([shipped_fp.weight, rng.normal(0, 0.05, (K * n, shipped_fp.weight.shape[1]))])
    fp = pq.FloatProbes(w, shipped_fp.bias, shipped_fp.classes, shipped_fp.n_blocks, shipped_fp.n_channels, context=K)
    q = pq.quantize(fp)
    pq.save_npz(model / "probes.npz", fp, q)
    gen = root / "gen"
    export.write(model, gen)
    assert f"#define DC_PROBE_CONTEXT {K}" in (gen / "dyncp_params.h").read_text()
    spec = root / "images.toml"
    spec.write_text(_spec(f"{rel}/gen", f"{rel}/dyncp-small-r25"), encoding="utf-8")
    out = tmp_path_factory.mktemp("images")
    write_manifest(build_all(out, spec_path=spec), out)
    utts = list(load_set(None, sample_rate=16000))[:2]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCH_RESULTS", str(tmp_path_factory.mktemp("results")))
        run = Runner(RunOptions(target=TARGET, images=(NAME,), metrics=False, manifest_dir=str(out)),
                     utterances=utts).start()  # fmt: skip
        assert run.read_meta()["status"] == "done", run.read_meta()
    yield run, q, model, utts
    shutil.rmtree(root, ignore_errors=True)


def test_context_probe_scores_equal_the_golden_on_every_frame(context_run):
    run, q, model, utts = context_run
    qm = quant_model(str(model))
    cfg = qm.config
    for u in utts:
        f, _ = check_utterance(run, NAME, u, qm)  # audio, MACs, masks bit-exact
        bits = mask_bits(f, cfg.n_blocks, cfg.conv)
        got = np.stack([f[f"probe_{p}"].to_numpy() for p in range(q.n_probes)], axis=1)
        want = probe_scores(context_bits(bits.reshape(bits.shape[0], -1), K), q)
        assert np.array_equal(got, want), u.id
        without = probe_scores(bits.reshape(bits.shape[0], -1), pq.QuantProbes(
            q.weights[: q.n_bits], q.bias, q.shift, q.classes, q.n_blocks, q.n_channels))  # fmt: skip
        assert np.array_equal(got[0], without[0])  # nothing before an utterance's first frame
        assert not np.array_equal(got[1:], without[1:])  # the earlier frames count after it
