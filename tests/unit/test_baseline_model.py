"""The numpy DSP baseline (bench/models/baseline.py) on its own: tables, header, FFT,
int16 conversion, configuration, streaming alignment, and a sanity check of the enhancement."""

from __future__ import annotations

import numpy as np
import pytest

from bench.models import baseline as bl

F32 = np.float32


def test_header_is_up_to_date():
    assert bl.HEADER_PATH.read_text() == bl.generate_header(), (
        "firmware/models/baseline/sg_tables.h is stale: run "
        "`python -c 'from bench.models.baseline import write_header; write_header()'`"
    )


def test_header_hex_floats_round_trip():
    text = bl.generate_header()
    body = text[text.index("static const float SG_WIN[512]") :]
    body = body[body.index("{") + 1 : body.index("}")]
    vals = [float.fromhex(v.strip()[:-1]) for v in body.split(",") if v.strip()]
    np.testing.assert_array_equal(np.array(vals, F32), bl.tables()["SG_WIN"])
    for name, v in bl.CONSTANTS.items():
        line = next(ln for ln in text.splitlines() if ln.startswith(f"#define {name} "))
        lit = line.split("(", 1)[1].split(")", 1)[0]
        assert F32(float.fromhex(lit[:-1])) == v and lit.endswith("f")


def test_tables():
    t = bl.tables()
    n = np.arange(512)
    k = np.arange(257)
    assert np.abs(t["SG_WIN"] - np.sin(np.pi * n / 512)).max() < 6e-8
    assert np.abs(t["SG_COS"] - np.cos(2 * np.pi * k / 512)).max() < 6e-8
    assert np.abs(t["SG_SIN"] - np.sin(2 * np.pi * k / 512)).max() < 6e-8
    # exact special values and symmetries
    assert t["SG_COS"][128] == 0 and t["SG_SIN"][0] == 0 and t["SG_SIN"][256] == 0
    assert t["SG_COS"][0] == 1 and t["SG_COS"][256] == -1 and t["SG_SIN"][128] == 1
    np.testing.assert_array_equal(t["SG_WIN"][1:], t["SG_WIN"][1:][::-1])
    np.testing.assert_array_equal(t["SG_WIN_SYN"], t["SG_WIN"] / F32(512))
    w = t["SG_WIN"].astype(np.float64)
    assert np.abs(w[:256] ** 2 + w[256:] ** 2 - 1).max() < 2e-7  # COLA of the squared window
    rev = t["SG_BITREV"].astype(int)
    np.testing.assert_array_equal(rev[rev], np.arange(256))
    g = t["SG_GMIN"]
    assert len(g) == 61 and g[-1] == 1
    np.testing.assert_allclose(g, 10 ** (np.arange(-60, 1) / 20), rtol=1e-7)
    for a in t.values():
        assert not a.flags.writeable


def _fft_bitrev(z):
    rev = bl.tables()["SG_BITREV"]
    re = np.empty(256, F32)
    im = np.empty(256, F32)
    re[rev] = z.real.astype(F32)
    im[rev] = z.imag.astype(F32)
    bl.fft256_inplace(re, im)
    return re.astype(np.float64) + 1j * im


def test_fft256_matches_numpy():
    rng = np.random.default_rng(0)
    z = (rng.standard_normal(256) + 1j * rng.standard_normal(256)) * 1000
    z = z.astype(np.complex64).astype(np.complex128)
    ref = np.fft.fft(z)
    got = _fft_bitrev(z)
    assert np.abs(got - ref).max() < 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("seed", range(4))
def test_rfft_matches_numpy_and_round_trips(seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(512) * 10 ** rng.uniform(-2, 4)).astype(F32)
    xr, xi = bl.rfft512(x)
    ref = np.fft.rfft(x.astype(np.float64))
    err = np.abs(xr.astype(np.float64) + 1j * xi - ref).max()
    assert err < 2e-6 * np.abs(ref).max()
    assert xi[0] == 0 and xi[256] == 0
    y = bl.irfft512(xr, xi).astype(np.float64) / 512
    assert np.abs(y - x).max() < 2e-6 * np.abs(x).max()
    # and the inverse alone matches numpy's
    y2 = bl.irfft512(ref.real.astype(F32), ref.imag.astype(F32)).astype(np.float64) / 512
    assert np.abs(y2 - np.fft.irfft(ref)).max() < 2e-6 * np.abs(x).max()


def test_float_to_int16_semantics():
    v = np.array(
        [
            0.0,
            -0.0,
            0.49999997,
            0.5,
            -0.5,
            -0.49999997,
            1.5,
            -1.5,
            2.5,
            -2.5,
            32766.5,
            32767.0,
            32767.5,
            1e9,
            -32767.5,
            -32768.0,
            -32768.5,
            -1e9,
            12345.25,
            -12345.75,
            1e-30,
        ],
        F32,
    )
    exp = [
        0,
        0,
        0,
        1,
        -1,
        0,
        2,
        -2,
        3,
        -3,
        32767,
        32767,
        32767,
        32767,
        -32768,
        -32768,
        -32768,
        -32768,
        12345,
        -12346,
        0,
    ]
    np.testing.assert_array_equal(bl.float_to_int16(v), np.array(exp, np.int16))


def test_configure_codes():
    g = bl.SpectralGate()
    assert g.configure("nope", 1) == 4
    assert g.configure("over_q8", 0) == 5
    assert g.configure("over_q8", 4097) == 5
    assert g.configure("gain_floor_db", 1) == 5
    assert g.configure("gain_floor_db", -61) == 5
    assert g.configure("bypass", 2) == 5
    assert (g.over, g.gmin) == (F32(1.0), bl.tables()["SG_GMIN"][45])
    assert g.configure("over_q8", 384) == 0 and g.over == F32(1.5)
    assert g.configure("gain_floor_db", -60) == 0 and g.gmin == F32(10**-3)
    assert g.configure("gain_floor_db", 0) == 0 and g.gmin == F32(1.0)
    assert g.configure("bypass", 1) == 0 and g.bypass == 1


def test_enhance_alignment_and_padding():
    rng = np.random.default_rng(5)
    x = rng.integers(-3000, 3000, 1000, dtype=np.int16)
    g = bl.SpectralGate()
    g.configure("bypass", 1)
    y = g.enhance(x)
    assert y.dtype == np.int16 and len(y) == 1024
    assert np.all(y[:256] == 0)
    assert np.abs(y[256:].astype(int) - x[: 1024 - 256]).max() <= 1
    # hop by hop == whole utterance
    g.reset()
    hops = np.concatenate([x, np.zeros(24, np.int16)]).reshape(-1, 256)
    np.testing.assert_array_equal(np.concatenate([g.process_hop(h) for h in hops]), y)
    with pytest.raises(ValueError):
        g.process_hop(np.zeros(256, np.int32))


def test_zero_floor_db_is_identity_gain():
    g = bl.SpectralGate()
    g.configure("gain_floor_db", 0)
    rng = np.random.default_rng(9)
    x = rng.integers(-20000, 20000, 256 * 20, dtype=np.int16)
    y = g.enhance(x)
    assert np.all(g.G == 1)
    assert np.abs(y[256:].astype(int) - x[:-256]).max() <= 1


def _speechlike(n, rng):
    t = np.arange(n) / 16000
    ph = 2 * np.pi * np.cumsum(130 + 25 * np.sin(2 * np.pi * 0.7 * t)) / 16000
    s = sum(np.sin(h * ph) / h for h in range(1, 25))
    env = np.clip(np.sin(2 * np.pi * 2.5 * t) * 1.5, 0, 1) ** 2
    return s * env


def _snr(ref, est):
    return 10 * np.log10(np.sum(ref**2) / np.sum((ref - est) ** 2))


def test_enhancement_improves_snr():
    rng = np.random.default_rng(1)
    n = 16000 * 5
    s = _speechlike(n, rng)
    s *= 8000 / np.abs(s).max()
    noise = rng.standard_normal(n) * np.sqrt(np.mean(s**2)) * 10 ** (-5 / 20)
    x = np.clip(np.round(s + noise), -32768, 32767).astype(np.int16)
    y = bl.SpectralGate().enhance(x).astype(np.float64)[256:]
    ref = s[: len(y)]
    snr_in = _snr(ref[16000:], x[16000 : len(y)].astype(np.float64))
    snr_out = _snr(ref[16000:], y[16000:])
    assert snr_out > snr_in + 5, (snr_in, snr_out)
    # noise-only: strongly attenuated after the tracker has settled
    g = bl.SpectralGate()
    nz = (rng.standard_normal(16000 * 3) * 1000).astype(np.int16)
    out = g.enhance(nz).astype(np.float64)
    att = 10 * np.log10(np.mean(out[16000:] ** 2) / np.mean(nz[16000:].astype(float) ** 2))
    assert att < -10, att


def test_noise_tracker_follows_level_changes():
    rng = np.random.default_rng(2)
    g = bl.SpectralGate()
    quiet = (rng.standard_normal(16000 * 2) * 100).astype(np.int16)
    loud = (rng.standard_normal(16000 * 3) * 1000).astype(np.int16)
    g.enhance(quiet)
    n_quiet = np.mean(g.N[5:250])
    g.enhance(loud)
    n_loud = np.mean(g.N[5:250])
    assert 60 < n_loud / n_quiet < 140  # +20 dB, followed within the 1.5 s window
    g.enhance(quiet)
    assert np.mean(g.N[5:250]) / n_quiet < 1.5  # and back down


def test_no_subnormals_in_long_silence():
    """Geometric decay of the smoothed power in digital silence must end at 0, not in the
    subnormal range (where a flush-to-zero FPU would differ)."""
    assert np.float32(1e-39) / np.float32(2) != 0, "this process runs with FTZ/DAZ set"
    rng = np.random.default_rng(4)
    x = np.zeros(16000 * 12, np.int16)
    x[:16000] = (rng.standard_normal(16000) * 8000).astype(np.int16)
    g = bl.SpectralGate()
    g.enhance(x)
    tiny = np.finfo(np.float32).tiny
    for name in ("S", "N", "A", "G", "cur_min", "win_min", "sub_min", "ola", "xr", "xi"):
        a = np.abs(getattr(g, name))
        assert not np.any((a > 0) & (a < tiny)), name
    assert np.all(g.S == 0)
