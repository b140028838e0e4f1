"""Deterministic numpy fits of the three linear probe kinds (no scikit-learn).

logistic  binary, loss mean log(1 + e^{-y s}) + lam/2 |w|^2, y in {-1, +1}
softmax   multinomial, loss mean cross-entropy of softmax(s) + lam/2 |W|^2
ridge     least squares, mean (s - y)^2 + lam |w|^2 (closed form, any number of lams at once)

All probes score ``s = x @ w + b`` on raw features x (mask bits in {0, 1}); the bias is not
penalised. The features are centred inside the fits (conditioning only: the fitted function
is the same as without centring), so that ``w`` applies to the raw bits directly and the
L2 penalty is on the raw weights: a bit that is on in a handful of frames does not get a
large weight, which keeps the integer range of the export small. The classifiers are
minimised with our own L-BFGS (two-loop recursion, Armijo backtracking), which is
deterministic for a given input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Objective = Callable[[F64], tuple[float, F64]]


@dataclass(frozen=True)
class FitInfo:
    """How a minimisation ended: ``status`` "converged" (|g|_inf <= tol), "stalled" (no step
    decreases the objective, or five steps in a row gained < 1e-10 relative: the float32
    products limit the precision) or "max_iter"."""

    iterations: int
    loss: float
    grad_norm: float
    status: str

    @property
    def converged(self) -> bool:
        return self.status == "converged"


def lbfgs(fun: Objective, x0: F64, max_iter: int = 500, tol: float = 1e-6, memory: int = 10) -> tuple[F64, FitInfo]:
    """Minimise a smooth ``fun(x) -> (value, gradient)``; stops when ``|g|_inf <= tol``."""
    x = np.array(x0, dtype=np.float64)
    f, g = fun(x)
    ss: list[F64] = []
    ys: list[F64] = []
    it = stall = 0
    for it in range(1, max_iter + 1):
        if float(np.max(np.abs(g))) <= tol:
            return x, FitInfo(it - 1, f, float(np.max(np.abs(g))), "converged")
        q = g.copy()
        alphas = []
        for s, y in zip(reversed(ss), reversed(ys), strict=True):
            a = float(s @ q) / float(y @ s)
            alphas.append(a)
            q -= a * y
        if ys:
            q *= float(ss[-1] @ ys[-1]) / float(ys[-1] @ ys[-1])
        else:
            q /= max(1.0, float(np.linalg.norm(g)))
        for (s, y), a in zip(zip(ss, ys, strict=True), reversed(alphas), strict=True):
            b = float(y @ q) / float(y @ s)
            q += (a - b) * s
        d = -q
        slope = float(g @ d)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            ss.clear()
            ys.clear()
            d = -g / max(1.0, float(np.linalg.norm(g)))
            slope = float(g @ d)
        step = 1.0
        for _ in range(40):
            xn = x + step * d
            fn, gn = fun(xn)
            if fn <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            return x, FitInfo(it - 1, f, float(np.max(np.abs(g))), "stalled")
        small = f - fn <= 1e-10 * max(1.0, abs(f))
        stall = stall + 1 if small else 0
        s, y = xn - x, gn - g
        if float(s @ y) > 1e-12:
            ss.append(s)
            ys.append(y)
            if len(ss) > memory:
                ss.pop(0)
                ys.pop(0)
        x, f, g = xn, fn, gn
        if stall >= 5:  # five steps in a row with no real decrease
            return x, FitInfo(it, f, float(np.max(np.abs(g))), "stalled")
    g_inf = float(np.max(np.abs(g)))
    return x, FitInfo(it, f, g_inf, "converged" if g_inf <= tol else "max_iter")


def _centre(x: npt.ArrayLike) -> tuple[npt.NDArray[np.float32], F64]:
    xf = np.asarray(x, dtype=np.float32)
    mu = xf.mean(axis=0, dtype=np.float64)
    return (xf - mu.astype(np.float32)), mu


def _softmax_rows(s: F64) -> F64:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Linear:
    """A fitted linear map: scores ``x @ weight + bias`` (weight (n_in, k), bias (k,))."""

    weight: F64
    bias: F64
    lam: float
    info: FitInfo | None = None

    def scores(self, x: npt.ArrayLike) -> F64:
        return np.asarray(x, dtype=np.float64) @ self.weight + self.bias


def _uncentre(w: F64, b0: F64, mu: F64, lam: float, info: FitInfo | None) -> Linear:
    """Scores on centred features ``(x - mu) w + b0`` -> raw ``x w + (b0 - mu w)``."""
    return Linear(w, b0 - mu @ w, lam, info)


def fit_logistic(
    x: npt.ArrayLike, y: npt.ArrayLike, lam: float, init: Linear | None = None, max_iter: int = 500
) -> Linear:
    """Binary L2 logistic regression; ``y`` bool. ``init`` warm-starts (e.g. along a lam path)."""
    xc, mu = _centre(x)
    t = np.where(np.asarray(y, bool), 1.0, -1.0)
    n, d = xc.shape

    def fun(p: F64) -> tuple[float, F64]:
        w, b = p[:d], p[d]
        s = (xc @ w.astype(np.float32)).astype(np.float64) + b
        m = -t * s
        loss = float(np.mean(np.logaddexp(0.0, m))) + 0.5 * lam * float(w @ w)
        r = -t * 0.5 * (1.0 + np.tanh(0.5 * m)) / n  # d loss / d s (stable sigmoid)
        gw = (r.astype(np.float32) @ xc).astype(np.float64) + lam * w
        return loss, np.concatenate([gw, [float(r.sum())]])

    p0 = np.zeros(d + 1)
    if init is not None:
        p0[:d] = init.weight[:, 0]
        p0[d] = init.bias[0] + mu @ init.weight[:, 0]
    p, info = lbfgs(fun, p0, max_iter=max_iter)
    return _uncentre(p[:d, None], np.array([p[d]]), mu, lam, info)


def fit_softmax(
    x: npt.ArrayLike, y: npt.ArrayLike, n_classes: int, lam: float, init: Linear | None = None, max_iter: int = 500
) -> Linear:
    """Multinomial L2 logistic regression; ``y`` class indices 0..n_classes-1."""
    xc, mu = _centre(x)
    yi = np.asarray(y, np.int64)
    n, d = xc.shape
    k = n_classes
    onehot = np.zeros((n, k))
    onehot[np.arange(n), yi] = 1.0

    def fun(p: F64) -> tuple[float, F64]:
        w, b = p[: d * k].reshape(d, k), p[d * k :]
        s = (xc @ w.astype(np.float32)).astype(np.float64) + b
        smax = s.max(axis=1, keepdims=True)
        lse = smax[:, 0] + np.log(np.exp(s - smax).sum(axis=1))
        loss = float(np.mean(lse - s[np.arange(n), yi])) + 0.5 * lam * float(np.sum(w * w))
        r = (_softmax_rows(s) - onehot) / n
        gw = (xc.T @ r.astype(np.float32)).astype(np.float64) + lam * w
        return loss, np.concatenate([gw.ravel(), r.sum(axis=0)])

    p0 = np.zeros(d * k + k)
    if init is not None:
        p0[: d * k] = init.weight.ravel()
        p0[d * k :] = init.bias + mu @ init.weight
    p, info = lbfgs(fun, p0, max_iter=max_iter)
    return _uncentre(p[: d * k].reshape(d, k), p[d * k :], mu, lam, info)


def fit_ridge(x: npt.ArrayLike, y: npt.ArrayLike, lams: Sequence[float]) -> list[Linear]:
    """Ridge regression for every lam in ``lams`` (one eigendecomposition of the Gram matrix)."""
    xc, mu = _centre(x)
    yv = np.asarray(y, np.float64)
    n = xc.shape[0]
    ym = float(yv.mean())
    xd = xc.astype(np.float64)
    gram = (xd.T @ xd) / n
    rhs = xd.T @ (yv - ym) / n
    evals, vecs = np.linalg.eigh(gram)
    proj = vecs.T @ rhs
    out = []
    for lam in lams:
        w = vecs @ (proj / (np.maximum(evals, 0.0) + lam))
        out.append(_uncentre(w[:, None], np.array([ym]), mu, float(lam), None))
    return out


def sigmoid(s: npt.ArrayLike) -> F64:
    v = np.asarray(s, np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def log_loss(y: npt.ArrayLike, s: npt.ArrayLike) -> float:
    """Mean binary cross-entropy of logits ``s`` for bool labels ``y``."""
    t = np.where(np.asarray(y, bool), 1.0, -1.0)
    return float(np.mean(np.logaddexp(0.0, -t * np.asarray(s, np.float64))))


def cross_entropy(y: npt.ArrayLike, s: npt.ArrayLike) -> float:
    """Mean multinomial cross-entropy of logits ``s`` (n, k) for class indices ``y``."""
    sv = np.asarray(s, np.float64)
    yi = np.asarray(y, np.int64)
    smax = sv.max(axis=1, keepdims=True)
    lse = smax[:, 0] + np.log(np.exp(sv - smax).sum(axis=1))
    return float(np.mean(lse - sv[np.arange(sv.shape[0]), yi]))
