"""Numerical tools of the fit: norm statistics of 2D Gaussian mixtures, a small
Levenberg-Marquardt solver, link functions."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

_ANGLES = np.linspace(0.0, 2.0 * np.pi, 96, endpoint=False)
_COS2 = np.cos(_ANGLES) ** 2
_SIN2 = 1.0 - _COS2


def _dir_var(sd: np.ndarray) -> np.ndarray:
    """(..., 2) per-axis sd -> (..., A) variance along A directions."""
    return sd[..., :1] ** 2 * _COS2 + sd[..., 1:] ** 2 * _SIN2


def _mix_norm_stats(
    weights: np.ndarray, sds: np.ndarray, radii: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Survival P(|e| > r), density of |e| at r, and E|e| of a 2D Gaussian mixture.

    weights (K,), sds (K, 2) independent per-axis sds, radii (R,). With e = (sx u, sy v)
    in polar form, |e| = rho sqrt(v(theta)), rho Rayleigh: P(|e| > r) is the mean over
    theta of exp(-r^2 / 2 v(theta)) (exact 1D quadrature, periodic, so 96 angles suffice).
    """
    v = _dir_var(sds)[None]  # (1, K, A)
    r = radii[:, None, None]
    ex = np.exp(-(r**2) / (2 * v))
    sf = ex.mean(-1) @ weights
    pdf = (r / v * ex).mean(-1) @ weights
    mean = float((math.sqrt(math.pi / 2) * np.sqrt(v[0]).mean(-1)) @ weights)
    return sf, pdf, mean


def _least_squares(
    residuals: Callable[[np.ndarray], np.ndarray],
    theta: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    iters: int = 100,
) -> np.ndarray:
    """Levenberg-Marquardt with forward-difference Jacobian, box-clipped steps."""
    theta = np.clip(np.asarray(theta, dtype=np.float64), lower, upper)
    res = residuals(theta)
    cost, mu, eps = float(res @ res), 1e-2, 1e-6
    eye = np.eye(theta.size)
    for _ in range(iters):
        jac = np.stack([(residuals(theta + eps * e) - res) / eps for e in eye], axis=1)
        jtj, jtr = jac.T @ jac, jac.T @ res
        improved = False
        while mu < 1e8:
            delta = np.linalg.solve(jtj + mu * (np.diag(np.diag(jtj)) + 1e-9 * eye), -jtr)
            cand = np.clip(theta + delta, lower, upper)
            new = residuals(cand)
            if float(new @ new) < cost:
                step = float(np.abs(cand - theta).max())
                theta, res, cost, mu, improved = cand, new, float(new @ new), mu / 3, True
                break
            mu *= 4
        if not improved or step < 1e-10:
            break
    return theta


def _softmax3(logits: np.ndarray) -> np.ndarray:
    """Shares (white, AR1, AR2) from two logits relative to white."""
    z = np.concatenate([[0.0], logits])
    z = np.exp(z - z.max())
    return z / z.sum()


def _norm(v: np.ndarray) -> np.ndarray:
    """(M, 2) -> (M,) Euclidean norms."""
    return np.hypot(v[:, 0], v[:, 1])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))
