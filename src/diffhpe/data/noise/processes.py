"""The noise's random processes: episode chains, AR(1) mixtures, left/right swaps.

Every function draws from the ``rng`` it is given, in a fixed order: the same generator
state gives the same detections (``DetectorNoiseModel.sample`` fixes the call order).
"""

from __future__ import annotations

import math

import numpy as np

from diffhpe.data.noise.joints import LR_PAIRS


def _swap(gt: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(N, J, 2) positions the detector aims at: the twin joint where a side is swapped.

    left / right: (N, P) bool, "the left (right) detection of pair p sits on the other side".
    """
    base = gt.copy()
    for i, (_, lj, rj) in enumerate(LR_PAIRS):
        base[left[:, i], lj] = gt[left[:, i], rj]
        base[right[:, i], rj] = gt[right[:, i], lj]
    lost = ~np.isfinite(base).all(axis=-1) & np.isfinite(gt).all(axis=-1)
    base[lost] = gt[lost]  # no swap onto a joint that is not there
    return base


def _episodes(rng: np.random.Generator, n: int, rates: np.ndarray, mean_len: float) -> np.ndarray:
    """(n, K) bool: K independent stationary 2-state Markov chains.

    Chain k is on a share ``rates[k]`` of frames in episodes of geometric length with mean
    ``mean_len``; off-runs have mean ``mean_len (1 - rate) / rate``. Run lengths are drawn
    in bulk (geometric is memoryless, so starting in the stationary state is exact).
    """
    out = np.zeros((n, len(rates)), dtype=bool)
    for k, rate in enumerate(rates):
        if rate <= 0:
            continue
        p_on = 1.0 / mean_len
        p_off = min(1.0, rate / (mean_len * (1.0 - rate)))
        state = bool(rng.random() < rate)
        runs: list[np.ndarray] = []
        total = 0
        while total < n:
            m = int(2 * (n - total) * p_off * p_on / (p_on + p_off)) + 8
            on, off = rng.geometric(p_on, m), rng.geometric(p_off, m)
            runs.append(np.stack((on, off) if state else (off, on), axis=1).ravel())
            total += int(np.minimum(runs[-1], n).sum())  # capped: a rare chain has huge runs
        ends = np.minimum(np.cumsum(np.concatenate(runs)), n)
        starts = np.concatenate([[0], ends[:-1]])
        first_on = 0 if state else 1  # runs alternate, starting with the initial state
        for s, e in zip(starts[first_on::2], ends[first_on::2], strict=False):
            if s >= n:
                break
            out[s:e, k] = True
    return out


def _ar1(u: np.ndarray, rho: float, x_prev: np.ndarray) -> np.ndarray:
    """(n, M) innovations -> x_t = rho x_{t-1} + u_t, starting from x_{-1} = x_prev (M,).

    Vectorised in blocks of k frames: inside a block the zero-start response is
    rho^i cumsum(u_i rho^-i) (k keeps rho^-k below 1e6, so no precision loss); a loop over
    blocks adds the carried state.
    """
    n, m = u.shape
    k = int(max(8, min(1024, math.log(1e6) / -math.log(rho))))
    nb = -(-n // k)
    x = np.zeros((nb * k, m))
    x[:n] = u
    x = x.reshape(nb, k, m)
    pw = rho ** np.arange(k, dtype=np.float64)
    x = np.cumsum(x / pw[:, None], axis=1) * pw[:, None]
    lead = (rho * pw)[:, None]  # weight of the state before the block at each position
    carry = x_prev
    for b in range(nb):
        x[b] += lead * carry
        carry = x[b, -1]
    return x.reshape(nb * k, m)[:n]


class _UnitProcess:
    """M independent stationary unit-variance Gaussian processes, drawn chunk by chunk.

    ACF(lag) = w0 [lag = 0] + w1 rho1^lag + w2 rho2^lag (the JSON's temporal_model).
    """

    def __init__(
        self, rng: np.random.Generator, m: int, weights: tuple[float, ...], rhos: tuple[float, ...]
    ) -> None:
        self.rng, self.m = rng, m
        self.scale = np.sqrt(np.asarray(weights, dtype=np.float64))
        self.rhos = rhos
        self.state = [rng.standard_normal(m) for _ in rhos]  # stationary x_{-1}

    def draw(self, n: int) -> np.ndarray:
        out = self.scale[0] * self.rng.standard_normal((n, self.m))
        for i, rho in enumerate(self.rhos):
            u = math.sqrt(1.0 - rho**2) * self.rng.standard_normal((n, self.m))
            x = _ar1(u, rho, self.state[i])
            self.state[i] = x[-1].copy()
            out += self.scale[i + 1] * x
        return out
