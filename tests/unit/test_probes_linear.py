"""The numpy probe fits: each reaches its optimum (stationarity checked independently of the
optimiser), ridge equals the normal equations, fits are deterministic."""

from __future__ import annotations

import numpy as np
from probes_synth import frameset

from bench.models.probes import linear


def _data(seed=0, n=400, d=12):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, d)) < 0.4).astype(np.float32)
    w = rng.normal(0, 1.5, d)
    return rng, x, w


def test_logistic_is_stationary():
    rng, x, w = _data()
    s = x @ w - 2.0
    y = rng.random(x.shape[0]) < linear.sigmoid(s)
    lam = 1e-2
    m = linear.fit_logistic(x, y, lam)
    assert m.info is not None and m.info.converged
    # gradient of the objective at the solution, computed here in float64
    p = linear.sigmoid(m.scores(x)[:, 0])
    r = (p - y) / x.shape[0]
    assert np.max(np.abs(x.T @ r + lam * m.weight[:, 0])) < 1e-4
    assert abs(r.sum()) < 1e-4
    # it predicts about as well as the true model, better than the majority class
    acc = np.mean((m.scores(x)[:, 0] > 0) == y)
    assert acc >= np.mean((s > 0) == y) - 0.03
    assert acc > max(y.mean(), 1 - y.mean()) + 0.05


def test_softmax_is_stationary():
    rng, x, _ = _data(1)
    k = 4
    wt = rng.normal(0, 2, (x.shape[1], k))
    y = np.argmax(x @ wt + rng.gumbel(size=(x.shape[0], k)), axis=1)
    lam = 3e-3
    m = linear.fit_softmax(x, y, k, lam)
    s = m.scores(x)
    p = np.exp(s - s.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    r = (p - np.eye(k)[y]) / x.shape[0]
    assert np.max(np.abs(x.T @ r + lam * m.weight)) < 1e-4
    assert np.max(np.abs(r.sum(0))) < 1e-4
    assert np.mean(np.argmax(s, 1) == y) > 0.6


def test_ridge_equals_normal_equations():
    rng, x, w = _data(2)
    y = x @ w + 100.0 + rng.normal(0, 0.3, x.shape[0])
    lams = [1.0, 1e-2]
    fits = linear.fit_ridge(x, y, lams)
    n, d = x.shape
    xa = np.hstack([x.astype(np.float64), np.ones((n, 1))])
    for lam, m in zip(lams, fits, strict=True):
        reg = np.diag([lam] * d + [0.0])  # bias not penalised
        sol = np.linalg.solve(xa.T @ xa / n + reg, xa.T @ y / n)
        assert np.allclose(m.weight[:, 0], sol[:d], atol=1e-6)
        assert np.isclose(m.bias[0], sol[d], atol=1e-6)
    assert np.abs(fits[1].weight[:, 0] - w).max() < 0.2  # small lam recovers the weights


def test_deterministic_and_warm_start():
    fs = frameset(n_utts=6, frames=30, n_blocks=2, n_channels=10)
    x = fs.bits
    a = linear.fit_logistic(x, fs.vad, 1e-2)
    b = linear.fit_logistic(x, fs.vad, 1e-2)
    assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
    warm = linear.fit_logistic(x, fs.vad, 1e-2, init=a)
    assert warm.info is not None and warm.info.iterations <= 2
    assert np.allclose(warm.weight, a.weight, atol=1e-5)


def test_losses():
    assert np.isclose(linear.log_loss([True, False], [0.0, 0.0]), np.log(2))
    assert np.isclose(linear.cross_entropy([0, 1], np.zeros((2, 4))), np.log(4))
