"""Per-joint uncertainty that ranks real errors (issue 19): calibration and its measures.

The raw uncertainty of a diffusion lift is the *spread* ``s``: the per-joint standard
deviation of the 3D position across the H hypotheses (metres). It says how much the
hypotheses disagree, not how wrong the estimate is: a wrist is wrong more often than a
hip at the same spread, and a missing joint is guessed with hypotheses that may agree.

A second, free signal: the Lifter blends overlapping windows (each frame is lifted in
about L / stride windows), and the *window spread* ``w`` is how much those windows'
estimates of the frame disagree (weighted std, metres). A calibration turns both into a
predicted RMS 3D error per joint,

    u = sqrt((a_j * s)^2 + (c_j * w)^2 + b_j(visible)^2)        (metres, joint j)

with ``a_j``, ``c_j`` (no unit) and ``b_j`` (metres, one value for visible and one for
missing joints) fitted on the validation split by maximum likelihood, the 3D error of a joint
taken as isotropic Gaussian with per-axis variance ``u^2 / 3`` (so ``E|e|^2 = u^2``).
The Pelvis is the root (error 0 by construction) and keeps ``u = 0``.

A calibration belongs to one model file and one sampling setting: it records the
model's SHA-256 and the settings, and :meth:`UncertaintyCalibration.mismatch` says why
it does not apply (the Lifter then gives the raw spread, with that note). It is written
next to the model as ``<model stem>.uncertainty.json`` by
``scripts/calibrate_uncertainty.py``, which must be rerun whenever a model is re-shipped.

Shapes: N frames (or any leading shape), 17 joints.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.skeleton import NUM_JOINTS

FORMAT = "diffhpe-uncertainty-calibration/1"
# Sampling settings a calibration is tied to (the spread depends on every one of them).
SAMPLING_KEYS: tuple[str, ...] = (
    "sampler", "sample_steps", "eta", "hypotheses", "aggregation", "clip_x0", "init",
    "start_step",
)  # fmt: skip


PARAMS: tuple[str, ...] = ("scale", "window_scale", "floor_visible", "floor_missing")


def calibration_path(checkpoint: str | Path) -> Path:
    """Where a model's calibration lives: ``model.safetensors`` -> ``model.uncertainty.json``."""
    p = Path(checkpoint)
    return p.with_name(p.stem + ".uncertainty.json")


def sampling_of(diffusion: Any) -> dict[str, Any]:
    """The :data:`SAMPLING_KEYS` of a DiffusionConfig, as plain JSON values."""
    return {k: getattr(diffusion, k) for k in SAMPLING_KEYS}


@dataclass
class UncertaintyCalibration:
    """``u = sqrt((scale_j spread)^2 + (window_scale_j window_spread)^2 + floor_j^2)``,
    floor by visibility; (17,) each."""

    scale: np.ndarray
    window_scale: np.ndarray
    floor_visible: np.ndarray
    floor_missing: np.ndarray
    model_sha256: str = ""
    sampling: dict[str, Any] = field(default_factory=dict)
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in PARAMS:
            v = np.asarray(getattr(self, name), dtype=np.float64)
            if v.shape != (NUM_JOINTS,) or not np.isfinite(v).all() or (v < 0).any():
                raise ValueError(
                    f"UncertaintyCalibration.{name}: expected {NUM_JOINTS} finite values >= 0, "
                    f"got {v.shape}"
                )
            setattr(self, name, v)

    def apply(
        self,
        spread: np.ndarray,
        window_spread: np.ndarray,
        visible: np.ndarray,
        joint: np.ndarray | None = None,
    ) -> np.ndarray:
        """(..., 17) spreads (metres) and visibility -> (..., 17) calibrated u (metres); or
        flat samples (M,) with their ``joint`` indices (M,). NaN spread stays NaN."""
        s = np.asarray(spread, dtype=np.float64)
        w = np.asarray(window_spread, dtype=np.float64)
        a, c, bv, bm = self.scale, self.window_scale, self.floor_visible, self.floor_missing
        if joint is not None:
            j = np.asarray(joint, dtype=np.int64)
            a, c, bv, bm = a[j], c[j], bv[j], bm[j]
        floor = np.where(np.asarray(visible, dtype=bool), bv, bm)
        return np.sqrt((a * s) ** 2 + (c * w) ** 2 + floor**2)

    def mismatch(self, model_sha256: str, diffusion: Any) -> str | None:
        """Why this calibration does not apply to a model and its sampling, or None."""
        if self.model_sha256 and model_sha256 != self.model_sha256:
            return "the calibration was fitted for another model file (SHA-256 differs)"
        now = sampling_of(diffusion)
        diff = {k: (self.sampling.get(k), now[k]) for k in SAMPLING_KEYS if k in self.sampling}
        diff = {k: v for k, v in diff.items() if v[0] != v[1]}
        if diff:
            what = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in diff.items())
            return f"the calibration was fitted for other sampling settings ({what})"
        return None

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        for name in PARAMS:
            doc[name] = [round(float(v), 6) for v in getattr(self, name)]
        formula = "u = sqrt((scale*spread)^2 + (window_scale*window_spread)^2 + floor^2), metres"
        return {"format": FORMAT, "formula": formula, **doc}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> UncertaintyCalibration:
        if doc.get("format") != FORMAT:
            raise ValueError(f"not an uncertainty calibration (format {doc.get('format')!r})")
        return cls(
            scale=doc["scale"], window_scale=doc["window_scale"], floor_visible=doc["floor_visible"],
            floor_missing=doc["floor_missing"], model_sha256=doc.get("model_sha256", ""),
            sampling=doc.get("sampling", {}), fitted_on=doc.get("fitted_on", {}),
        )  # fmt: skip

    def save(self, path: str | Path) -> Path:
        from diffhpe.safety import write_text_atomic

        write_text_atomic(path, json.dumps(self.to_json(), indent=1) + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> UncertaintyCalibration:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls.from_json(doc)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: unreadable uncertainty calibration ({e})") from None


def fit_calibration(
    spread: np.ndarray,
    window_spread: np.ndarray,
    error: np.ndarray,
    visible: np.ndarray,
    joint: np.ndarray,
    iters: int = 300,
) -> dict[str, np.ndarray]:
    """Maximum-likelihood parameters ``{name: (17,)}`` of :data:`PARAMS` from M samples:
    spread, window spread and 3D error norm (M,) in metres, visible (M,) bool, joint
    (M,) int. Per-axis variance u^2 / 3, so the error norm is Maxwell distributed:
    minimises mean(3 log u + 1.5 e^2 / u^2). Joints without missing samples get
    ``floor_missing = floor_visible``; the Pelvis (index 0) gets zeros."""
    import torch

    def t(x: np.ndarray, dtype: type = np.float64) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=dtype))

    s, w, e2 = t(spread), t(window_spread), t(error) ** 2
    vis, j = t(visible, bool), t(joint, np.int64)
    ok = torch.isfinite(s) & torch.isfinite(w) & torch.isfinite(e2) & (j > 0)
    s, w, e2, vis, j = s[ok], w[ok], e2[ok], vis[ok], j[ok]
    rms = float(e2.mean().sqrt()) if len(e2) else 0.05
    log_a = torch.zeros((2, NUM_JOINTS), dtype=torch.float64, requires_grad=True)
    log_b = torch.full((2, NUM_JOINTS), np.log(max(rms, 1e-3)), dtype=torch.float64)
    log_b.requires_grad_(True)
    opt = torch.optim.LBFGS([log_a, log_b], max_iter=iters, line_search_fn="strong_wolfe")
    row = (~vis).long()  # 0: visible, 1: missing

    def loss() -> torch.Tensor:
        opt.zero_grad()
        a = log_a.exp()
        u2 = (a[0, j] * s) ** 2 + (a[1, j] * w) ** 2 + log_b.exp()[row, j] ** 2
        value = (1.5 * torch.log(u2) + 1.5 * e2 / u2).mean()
        value.backward()
        return value

    opt.step(loss)
    a = log_a.detach().exp().numpy()
    b = log_b.detach().exp().numpy()
    has_missing = np.bincount(j[~vis].numpy(), minlength=NUM_JOINTS) > 0
    b[1] = np.where(has_missing, b[1], b[0])
    a[:, 0] = b[:, 0] = 0.0
    return {"scale": a[0], "window_scale": a[1], "floor_visible": b[0], "floor_missing": b[1]}


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``positive`` (ties count half): the
    probability that a random positive scores above a random negative."""
    score = np.asarray(score, dtype=np.float64).ravel()
    positive = np.asarray(positive, dtype=bool).ravel()
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    # average ranks of ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def worst_auroc(uncertainty: np.ndarray, error: np.ndarray, fraction: float = 0.1) -> float:
    """AUROC of ``uncertainty`` for flagging the worst ``fraction`` of ``error`` (same
    shape; NaN entries left out)."""
    u = np.asarray(uncertainty, dtype=np.float64).ravel()
    e = np.asarray(error, dtype=np.float64).ravel()
    ok = np.isfinite(u) & np.isfinite(e)
    u, e = u[ok], e[ok]
    if len(e) == 0:
        return float("nan")
    return auroc(u, e >= np.quantile(e, 1.0 - fraction))
