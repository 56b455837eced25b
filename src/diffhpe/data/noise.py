"""Detector-like noise for exact 2D keypoints, fitted to Stacked Hourglass errors.

Shapes: N frames of ONE continuous sequence of one camera, J = 17 joints
(``diffhpe.skeleton.JOINT_NAMES``), 2 pixel coordinates (x right, y down): ``(N, J, 2)``.
Noise is drawn per sequence, before windows are cut into the package's ``(B, T, J, C)``.

The figures come from ``shared/data/detector_noise/stacked_hourglass_h36m.json``
(Stacked Hourglass detections on Human3.6M against the projected ground truth; its
``header.definitions`` defines every statistic). Every spread is in units of the
person's pixel height ``h_t = max y - min y`` of the 17 ground-truth joints in frame t
(the JSON's ``*_h`` columns), so a person half as tall gets half the error. For joint j,
axis a, frame t the detection is

    d_tja = g_t,s(t,j),a + h_t * (w_ja u_tja + o_tj v_ja y_tja + m_a c_ta + b_ja)

- ``u``, ``c`` (core, common mode) and ``y`` (tail): unit-variance Gaussian processes,
  white + AR(1) rho 0.862 + AR(1) rho 0.9845 per 50 Hz frame (the JSON's
  ``temporal_model``), independent per joint and axis except ``c``, shared by all joints;
- ``w``: within-sequence core sd; ``b ~ N(0, seq_sd)``: a constant per-sequence offset
  (the JSON's ``sd_seqmean``); ``m``: the shared per-frame shift (``common_mode``);
- ``o_tj``: 0/1 tail episodes (a 2-state Markov chain, mean length
  ``outlier_episode_frames``) that add the wide Gaussian ``v y``: the marginal is a
  two-component Gaussian scale mixture (core + heavy tail);
- ``s(t, j)``: j itself, or its other-side twin during a left/right swap episode (the
  detection then sits at the twin's ground truth plus j's noise).

Fit (``from_json``, deterministic, < 1 s), at the JSON's median person height (315 px):

- Marginals: per joint, the core has the shape of the robust sd (``rsd_x/y``), the tail
  that of the excess variance ``sd^2 - rsd^2``; core scale, tail share and tail width are
  fitted (Levenberg-Marquardt on exact 1D-quadrature formulas for the norm of a 2D
  Gaussian mixture) to the joint's median (weight 2), mean, f20 and f50.
- No systematic offsets: Spine's -41 px and Head's -12 px mean y errors are
  joint-definition differences and the +2.2 px x bias a convention of that pipeline;
  Spine and Head use the definition-corrected median and mean of ``definition_offsets``
  (Head keeps its raw f50: its gross failures, head placed below the thorax, are detector
  errors). The other 14 joints' figures, which include their smaller offsets, are matched
  by zero-mean spread. Neck/Nose, which that detector lacks, uses
  ``missing_joint.Neck/Nose.best_blend`` (0.74 Thorax + 0.26 Head: median 8.05 px, mean
  10.1 px) and shapes blended the same way. Spine and Neck/Nose have no tail figures:
  their tail share and relative width lean on Thorax's.
- No quantisation: the ~6.9 px grid is a property of that pipeline's crop; it is
  absorbed in the fitted core spread and the output stays continuous.
- Swaps: three chains per pair (both sides swapped, left only, right only) reproduce
  ``conf_L``, ``conf_R`` and ``swap_both`` (independent per-side chains would give
  ``conf_L * conf_R``, ten times too few double swaps). ``lr_conf`` = c eta + (1 - c) fp:
  a true swap share c is seen with probability eta, and noise alone fakes one with
  probability fp when the two sides are close. eta and fp come from a fixed-seed
  simulation of the fitted noise and an assumed L-R image separation, log-normal with
  median ``SEPARATION_MEDIAN_H`` (Human3.6M bone lengths at a typical yaw) and a log-sd
  that gives the JSON's ``frac_sep20``. The same prior removes the swapped frames' share
  from each paired joint's figures before the marginal fit (alternated twice).
  For hips most of the measured rate is noise near an overlapping pair, so their true
  swap share is ~0. Swap episodes last ``SWAP_EPISODE_FRAMES`` = 10 frames (0.2 s: a
  per-frame detector flickers while a pose stays ambiguous; the JSON has no figure).
- Time: the core and tail temporal shares and the tail episode length (bounded to
  10-100 frames) are fitted to the 14 joints' ac1/ac5/ac25 and the mean ACF at 1-100
  frames, given each joint's core, tail and swap variances: limbs, whose errors are
  tail-dominated, decorrelate faster than the torso, as the JSON shows.
- Common mode: sized so that var(per-frame joint mean) / mean per-joint variance equals
  ``common_mode.var_frac``. It and the per-sequence offset are carved out of the core, so
  the fitted marginal is unchanged.
- ``section``: ``all`` by default (1.97 M frames, all subjects).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS, joint_index

# (pair name, left joint, right joint), in the JSON's lr_pairs order.
LR_PAIRS: tuple[tuple[str, int, int], ...] = tuple(
    (name, joint_index("L" + name), joint_index("R" + name))
    for name in ("Hip", "Knee", "Ankle", "Shoulder", "Elbow", "Wrist")
)
# Joints left out of the "_excl" statistics, as the JSON's mean_err_excl_head_spine_px
# (Neck/Nose too: the JSON has no figure for it).
EXCLUDED_JOINTS: tuple[str, ...] = ("Spine", "Neck/Nose", "Head")
# Assumed median image distance between left and right joints, in units of h: Human3.6M
# 3D separations (hips 264 mm, knees as the hips, ankles 324 with strides, shoulders 302,
# elbows 400, wrists 454) over h ~ 1620 mm, times |cos 40 deg| ~ 0.75.
SEPARATION_MEDIAN_H: dict[str, float] = {
    "Hip": 0.122,
    "Knee": 0.122,
    "Ankle": 0.150,
    "Shoulder": 0.140,
    "Elbow": 0.185,
    "Wrist": 0.210,
}
SEPARATION_LOG_SD = 0.5
# Mean swap episode length (frames at 50 Hz); the JSON does not measure it. A per-frame
# detector flickers while a pose stays ambiguous: 0.2 s.
SWAP_EPISODE_FRAMES = 10.0
FORMAT = "diffhpe.detector_noise.v1"

_CHUNK = 1 << 15  # frames drawn at once: bounds memory on long sequences
_ANGLES = np.linspace(0.0, 2.0 * np.pi, 96, endpoint=False)
_COS2 = np.cos(_ANGLES) ** 2
_SIN2 = 1.0 - _COS2
_TEMPORAL_RE = re.compile(
    r"([\d.]+) pc white \+ ([\d.]+) pc AR\(1\) rho ([\d.]+)/frame.*?\+ "
    r"([\d.]+) pc AR\(1\) rho ([\d.]+)/frame"
)


# --------------------------------------------------------------------------- the model


@dataclass
class DetectorNoiseModel:
    """Parameters of the detector-noise model (module docstring); spreads in units of h.

    J = 17 joints, P = 6 left/right pairs (``LR_PAIRS``); arrays are float64.
    """

    core_sd: np.ndarray
    """(J, 2) within-sequence core sd per axis."""
    seq_sd: np.ndarray
    """(J,) sd of the constant per-sequence offset, per axis."""
    common_sd: np.ndarray
    """(2,) sd of the per-frame shift shared by all joints."""
    outlier_prob: np.ndarray
    """(J,) share of frames inside a tail episode."""
    outlier_sd: np.ndarray
    """(J, 2) sd added during a tail episode."""
    swap_both: np.ndarray
    """(P,) share of frames with both sides of the pair swapped."""
    swap_left: np.ndarray
    """(P,) share of frames with (also) the left detection on the right joint."""
    swap_right: np.ndarray
    """(P,) same for the right detection on the left joint."""
    core_temporal_weights: tuple[float, float, float] = (0.131, 0.269, 0.600)
    """Variance shares of white noise and the two AR(1) components of the core and the
    common mode."""
    tail_temporal_weights: tuple[float, float, float] = (0.131, 0.269, 0.600)
    """Same for the Gaussian inside tail episodes."""
    temporal_rhos: tuple[float, float] = (0.862, 0.9845)
    """Per-frame (50 Hz) coefficients of the two AR(1) components."""
    outlier_episode_frames: float = 50.0
    swap_episode_frames: float = 10.0
    ref_height_px: float = 315.0
    """Median person height of the source figures (px): px targets = h-units * this."""
    source: str = ""

    def __post_init__(self) -> None:
        shapes = {
            "core_sd": (NUM_JOINTS, 2),
            "seq_sd": (NUM_JOINTS,),
            "common_sd": (2,),
            "outlier_prob": (NUM_JOINTS,),
            "outlier_sd": (NUM_JOINTS, 2),
            "swap_both": (len(LR_PAIRS),),
            "swap_left": (len(LR_PAIRS),),
            "swap_right": (len(LR_PAIRS),),
        }
        for name, shape in shapes.items():
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != shape or not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ValueError(
                    f"DetectorNoiseModel.{name}: expected finite non-negative values of "
                    f"shape {shape}, got shape {arr.shape}"
                )
            setattr(self, name, arr)
        for name in ("outlier_prob", "swap_both", "swap_left", "swap_right"):
            if np.any(getattr(self, name) >= 1.0):
                raise ValueError(f"DetectorNoiseModel.{name}: rates must be < 1")
        for name in ("core_temporal_weights", "tail_temporal_weights"):
            w = tuple(float(x) for x in getattr(self, name))
            if len(w) != 3 or min(w) < 0 or abs(sum(w) - 1.0) > 1e-6:
                raise ValueError(
                    f"DetectorNoiseModel.{name}: expected 3 non-negative shares summing "
                    f"to 1, got {w}"
                )
            setattr(self, name, w)
        self.temporal_rhos = tuple(float(r) for r in self.temporal_rhos)
        if len(self.temporal_rhos) != 2 or not all(0 < r < 1 for r in self.temporal_rhos):
            raise ValueError(
                f"DetectorNoiseModel.temporal_rhos: expected 2 values in (0, 1), "
                f"got {self.temporal_rhos}"
            )
        for name in ("outlier_episode_frames", "swap_episode_frames", "ref_height_px"):
            if not float(getattr(self, name)) >= 1.0:
                raise ValueError(f"DetectorNoiseModel.{name}: expected >= 1")

    # ------------------------------------------------------------------ fitting

    @classmethod
    def from_json(cls, path: str | Path, section: str = "all") -> DetectorNoiseModel:
        """Fit the model to the JSON's figures of one section (module docstring).

        ``section``: ``all`` (default), ``train_S1_S5_S6_S7_S8`` or ``test_S9_S11``; the
        latter two lack the shape columns (rsd, sd, sd_seqmean, ac25) and ``frac_sep20``,
        which are then taken from ``all``. Deterministic; well under 1 s.
        """
        path = Path(path)
        doc = _load_json(path)
        ref = float(_field(doc, path, section, "bbox_h_px", "median"))
        tab = _joint_table(doc, path, section)
        shape_tab = _joint_table(doc, path, "all")
        json_weights, rhos = _temporal_model(doc, path)
        core_shape, tail_shape = _shapes(doc, path, shape_tab, ref)
        targets = _joint_targets(doc, path, tab, ref)
        pairs = _pair_figures(doc, path, section, ref)

        # Swap rates and the marginals depend on each other (swapped frames carry part of
        # a paired joint's error; noise makes false swaps): alternate, starting from the
        # measured rates over the share of frames where lr_conf can see a swap.
        swap_rate = np.zeros(NUM_JOINTS)
        for pf in pairs:
            swap_rate[pf["left"]] = pf["conf_L"] / pf["frac_sep20"]
            swap_rate[pf["right"]] = pf["conf_R"] / pf["frac_sep20"]
        thetas = None
        for _ in range(2):
            *marg, thetas = _fit_marginals(
                core_shape, tail_shape, targets, swap_rate, pairs, ref, thetas
            )
            chains, swap_rate = _calibrate_swaps(pairs, marg, ref)
        total_sd, outlier_prob, outlier_sd, _ = _fit_marginals(
            core_shape, tail_shape, targets, swap_rate, pairs, ref, thetas
        )

        # Common mode: var(joint mean) / mean joint var = var_frac, with c shared.
        var_frac = float(_field(doc, path, section, "common_mode", "var_frac"))
        cm_sd = np.array(
            [_field(doc, path, section, "common_mode", key) for key in ("sd_x", "sd_y")],
            dtype=np.float64,
        )
        joint_var = (total_sd**2 + outlier_prob[:, None] * outlier_sd**2).mean()
        cm_var = max(joint_var * (var_frac - 1 / NUM_JOINTS) / (1 - 1 / NUM_JOINTS), 0.0)
        common_var = cm_var * cm_sd**2 / (cm_sd**2).mean()

        # Per-sequence offsets: sd of sequence means, less what the within-sequence
        # process leaves in the mean of an average-length sequence.
        n_mean = float(_field(doc, path, "all", "frames")) / float(
            _field(doc, path, "all", "sequences")
        )
        leak = json_weights[0] + sum(
            w * (1 + r) / (1 - r) for w, r in zip(json_weights[1:], rhos, strict=True)
        )
        thorax = joint_index("Thorax")
        seq_frac = np.zeros(NUM_JOINTS)
        for j, name in enumerate(JOINT_NAMES):
            if name not in EXCLUDED_JOINTS:
                row = shape_tab[name]
                var = (row["sd_seqmean"] ** 2 - leak / n_mean * row["sd_within"] ** 2) / ref**2
                seq_frac[j] = max(var, 0.0) / (total_sd[j] ** 2).mean()
        for name in EXCLUDED_JOINTS:  # definition offsets inflate theirs
            seq_frac[joint_index(name)] = seq_frac[thorax]
        # Keep >= 20 % of the core within the sequence on both axes.
        room = np.maximum((0.8 * total_sd**2 - common_var).min(axis=1), 0.0)
        seq_var = np.minimum(np.minimum(seq_frac, 0.5) * (total_sd**2).mean(axis=1), room)
        within_sd = np.sqrt(total_sd**2 - common_var - seq_var[:, None])

        # Temporal structure: per-joint autocorrelations given each part's variance.
        sep_var = np.zeros(NUM_JOINTS)  # per axis, centred swap displacement
        for pf in pairs:
            second = (pf["sep_median"] * math.exp(pf["sep_log_sd"] ** 2)) ** 2 / 2
            for j in (pf["left"], pf["right"]):
                sep_var[j] = swap_rate[j] * (1 - swap_rate[j]) * second
        parts = {
            "core": (within_sd**2).mean(axis=1) + common_var.mean(),
            "tail": outlier_prob * (outlier_sd**2).mean(axis=1),
            "prob": outlier_prob,
            "swap": sep_var,
            "swap_rate": swap_rate,
        }
        core_w, tail_w, episode = _fit_temporal(doc, path, shape_tab, parts, json_weights, rhos)

        return cls(
            core_sd=within_sd,
            seq_sd=np.sqrt(seq_var),
            common_sd=np.sqrt(common_var),
            outlier_prob=outlier_prob,
            outlier_sd=outlier_sd,
            swap_both=chains[0],
            swap_left=chains[1],
            swap_right=chains[2],
            core_temporal_weights=tuple(core_w),
            tail_temporal_weights=tuple(tail_w),
            temporal_rhos=tuple(rhos),
            outlier_episode_frames=episode,
            swap_episode_frames=SWAP_EPISODE_FRAMES,
            ref_height_px=ref,
            source=f"{path.name}:{section}",
        )

    # ------------------------------------------------------------------ sampling

    def sample(self, gt2d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(N, 17, 2) exact pixels of one sequence of one camera -> (N, 17, 2) detections.

        Joints whose ground truth is NaN stay NaN (and are never swapped onto).
        """
        gt = _check_poses(gt2d, "gt2d")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng: expected numpy.random.Generator, got {type(rng).__name__}")
        n = gt.shape[0]
        if n == 0:
            return gt.copy()
        h = _person_height(gt)  # (N,)

        # Episode states over the whole sequence: booleans, cheap even for 1 M frames.
        tail_on = _episodes(rng, n, self.outlier_prob, self.outlier_episode_frames)
        both = _episodes(rng, n, self.swap_both, self.swap_episode_frames)
        left = _episodes(rng, n, self.swap_left, self.swap_episode_frames) | both
        right = _episodes(rng, n, self.swap_right, self.swap_episode_frames) | both
        offset = rng.standard_normal((NUM_JOINTS, 2)) * self.seq_sd[:, None]

        w_core, w_tail, rhos = (
            self.core_temporal_weights,
            self.tail_temporal_weights,
            self.temporal_rhos,
        )
        core = _UnitProcess(rng, NUM_JOINTS * 2, w_core, rhos)
        tail = _UnitProcess(rng, NUM_JOINTS * 2, w_tail, rhos)
        common = _UnitProcess(rng, 2, w_core, rhos)
        err = np.empty((n, NUM_JOINTS, 2))
        for s in range(0, n, _CHUNK):
            e = min(n, s + _CHUNK)
            m = e - s
            z = core.draw(m).reshape(m, NUM_JOINTS, 2) * self.core_sd
            z += tail.draw(m).reshape(m, NUM_JOINTS, 2) * self.outlier_sd * tail_on[s:e, :, None]
            z += common.draw(m)[:, None, :] * self.common_sd
            z += offset
            err[s:e] = z
        err *= np.nan_to_num(h, nan=0.0)[:, None, None]

        det = _swap(gt, left, right) + err
        det[~np.isfinite(gt).all(axis=-1)] = np.nan
        dtype = np.asarray(gt2d).dtype
        return det.astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)

    # ------------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable parameters (``from_dict`` inverts it exactly)."""
        out: dict[str, Any] = {"format": FORMAT}
        for name in _FIELDS:
            value = getattr(self, name)
            out[name] = value.tolist() if isinstance(value, np.ndarray) else value
            if isinstance(value, tuple):
                out[name] = list(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorNoiseModel:
        """Rebuild from ``to_dict``; unknown or missing keys are errors."""
        if not isinstance(data, dict):
            raise ValueError(f"DetectorNoiseModel.from_dict: expected a dict, got {type(data)}")
        if data.get("format") != FORMAT:
            raise ValueError(
                f"DetectorNoiseModel.from_dict: field 'format' must be {FORMAT!r}, "
                f"got {data.get('format')!r}"
            )
        keys = set(data) - {"format"}
        unknown, missing = keys - set(_FIELDS), set(_FIELDS) - keys
        if unknown or missing:
            raise ValueError(
                f"DetectorNoiseModel.from_dict: unknown fields {sorted(unknown)}, "
                f"missing fields {sorted(missing)}"
            )
        return cls(**{name: data[name] for name in _FIELDS})


_FIELDS: tuple[str, ...] = tuple(DetectorNoiseModel.__dataclass_fields__)


# --------------------------------------------------------------------------- sampling parts


def _check_poses(x: np.ndarray, name: str) -> np.ndarray:
    """Validated float64 copy of an ``(N, 17, 2)`` pixel array (NaN allowed, not inf)."""
    arr = np.asarray(x)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 2):
        raise ValueError(f"{name}: expected shape (N, {NUM_JOINTS}, 2), got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected a real-valued array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if np.isinf(arr).any():
        raise ValueError(f"{name}: contains +-inf; mark missing joints with NaN")
    return arr


def _person_height(gt: np.ndarray) -> np.ndarray:
    """(N, J, 2) -> (N,) h = max y - min y over the 17 joints.

    Frames with missing joints take h interpolated from complete frames (a partial
    range would shrink the noise); NaN where nothing is known.
    """
    valid = np.isfinite(gt).all(axis=-1)
    full = valid.all(axis=1)
    y = gt[..., 1]
    h = np.full(gt.shape[0], np.nan)
    if full.any():
        h[full] = y[full].max(axis=1) - y[full].min(axis=1)
        if not full.all():
            h[~full] = np.interp(np.flatnonzero(~full), np.flatnonzero(full), h[full])
    else:
        top = np.where(valid, y, np.inf).min(axis=1)
        bottom = np.where(valid, y, -np.inf).max(axis=1)
        some = valid.any(axis=1)
        h[some] = bottom[some] - top[some]
    return h


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


# --------------------------------------------------------------------------- fitting parts


def _load_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the detector-noise JSON ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    return doc


def _field(doc: Any, path: Path, *keys: str) -> Any:
    """doc[k1][k2]..., or a ValueError naming the file and the dotted field."""
    node = doc
    for i, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node or node[key] is None:
            raise ValueError(f"{path}: missing field {'.'.join(keys[: i + 1])!r}")
        node = node[key]
    return node


def _joint_table(doc: dict, path: Path, section: str) -> dict[str, dict[str, float]]:
    """{joint name: {column: value}} of ``section.joints`` (16 joints, no Neck/Nose)."""
    columns = _field(doc, path, section, "columns")
    table = {}
    for name in JOINT_NAMES:
        if name == "Neck/Nose":
            continue
        row = _field(doc, path, section, "joints", name)
        if not isinstance(row, list) or len(row) != len(columns):
            raise ValueError(
                f"{path}: field '{section}.joints.{name}' must list {len(columns)} values "
                f"(one per '{section}.columns'), got {row!r:.60}"
            )
        table[name] = dict(zip(columns, row, strict=True))
    needed = ["med", "mean_norm", "p90", "p99", "f20", "f50"]
    if section == "all":
        needed += ["rsd_x", "rsd_y", "sd_x", "sd_y", "sd_seqmean", "sd_within", "ac1", "ac5"]
        needed += ["ac25"]
    for col in needed:
        if col not in columns:
            raise ValueError(f"{path}: field '{section}.columns' lacks column {col!r}")
        for name, row in table.items():
            if not isinstance(row[col], (int, float)) or not math.isfinite(row[col]):
                raise ValueError(
                    f"{path}: field '{section}.joints.{name}' column {col!r} must be a "
                    f"number, got {row[col]!r}"
                )
    return table


def _temporal_model(doc: dict, path: Path) -> tuple[list[float], list[float]]:
    """Variance shares (white, AR1, AR2) and AR rhos parsed from ``temporal_model.fit``."""
    text = _field(doc, path, "temporal_model", "fit")
    match = _TEMPORAL_RE.search(str(text))
    if match is None:
        raise ValueError(
            f"{path}: field 'temporal_model.fit' not understood: expected "
            f"'<w> pc white + <w> pc AR(1) rho <r>/frame ... + <w> pc AR(1) rho <r>/frame'"
        )
    white, w1, r1, w2, r2 = (float(g) for g in match.groups())
    total = white + w1 + w2
    return [white / total, w1 / total, w2 / total], [r1, r2]


def _shapes(
    doc: dict, path: Path, tab: dict[str, dict[str, float]], ref: float
) -> tuple[np.ndarray, np.ndarray]:
    """(J, 2) core shape (robust sd, h units) and (J, 2) tail anisotropy (rms 1)."""
    core = np.zeros((NUM_JOINTS, 2))
    tail = np.zeros((NUM_JOINTS, 2))
    for j, name in enumerate(JOINT_NAMES):
        if name == "Neck/Nose":
            continue
        row = tab[name]
        rsd = np.array([row["rsd_x"], row["rsd_y"]])
        excess = np.array([row["sd_x"], row["sd_y"]]) ** 2 - rsd**2
        excess = np.maximum(excess, 0.3 * rsd**2)  # keep the tail from going flat
        core[j] = rsd / ref
        tail[j] = np.sqrt(excess / excess.mean())
    w = float(_field(doc, path, "header", "missing_joint", "Neck/Nose", "best_blend", "w"))
    neck, thorax, head = (joint_index(n) for n in ("Neck/Nose", "Thorax", "Head"))
    core[neck] = (1 - w) * core[thorax] + w * core[head]
    tail[neck] = (1 - w) * tail[thorax] + w * tail[head]
    return core, tail


def _joint_targets(
    doc: dict, path: Path, tab: dict[str, dict[str, float]], ref: float
) -> dict[int, dict[str, float]]:
    """Per joint median and mean error (h units), f20 and f50 where the JSON has them."""
    targets: dict[int, dict[str, float]] = {}
    for j, name in enumerate(JOINT_NAMES):
        if name not in EXCLUDED_JOINTS:
            row = tab[name]
            targets[j] = {"med": row["med"] / ref, "mean": row["mean_norm"] / ref}
            targets[j] |= {"f20": row["f20"], "f50": row["f50"]}
    # definition_offsets rows: [other joints, coefs, mean before, mean after, median after]
    spine = _field(doc, path, "definition_offsets", "Spine")
    head = _field(doc, path, "definition_offsets", "Head")
    blend = _field(doc, path, "header", "missing_joint", "Neck/Nose", "best_blend")
    for name, row in (("Spine", spine), ("Head", head)):
        if not isinstance(row, list) or len(row) != 5:
            raise ValueError(f"{path}: field 'definition_offsets.{name}' must list 5 values")
    targets[joint_index("Spine")] = {"med": spine[4] / ref, "mean": spine[3] / ref}
    targets[joint_index("Head")] = {
        "med": head[4] / ref,
        "mean": head[3] / ref,
        "f50": tab["Head"]["f50"],
    }
    targets[joint_index("Neck/Nose")] = {
        "med": float(_field(blend, path, "median_dist_px")) / ref,
        "mean": float(_field(blend, path, "mean_dist_px")) / ref,
    }
    return targets


def _pair_figures(doc: dict, path: Path, section: str, ref: float) -> list[dict[str, Any]]:
    """Per L/R pair: measured lr_conf rates, frac_sep20 and the separation prior (h units).

    The prior is log-normal with median ``SEPARATION_MEDIAN_H``; its log-sd is set so
    that P(separation < 20 px) = 1 - frac_sep20 at the reference height.
    """
    out = []
    for name, lj, rj in LR_PAIRS:
        rates = {
            key: float(_field(doc, path, section, "lr_pairs", name, key))
            for key in ("conf_L", "conf_R", "swap_both")
        }
        frac = float(_field(doc, path, "all", "lr_pairs", name, "frac_sep20"))
        median = SEPARATION_MEDIAN_H[name]
        log_sd = SEPARATION_LOG_SD
        if 0.5 < frac < 1.0 and median * ref > 20.0:
            log_sd = math.log(median * ref / 20.0) / NormalDist().inv_cdf(frac)
        out.append(
            {
                "name": name,
                "left": lj,
                "right": rj,
                **rates,
                "frac_sep20": frac,
                "sep_median": median,
                "sep_log_sd": float(np.clip(log_sd, 0.2, 1.0)),
            }
        )
    return out


def _fit_marginals(
    core_shape: np.ndarray,
    tail_shape: np.ndarray,
    targets: dict[int, dict[str, float]],
    swap_rate: np.ndarray,
    pairs: list[dict[str, Any]],
    ref: float,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per joint (J, 2) total core sd, (J,) tail share, (J, 2) tail sd (h units), and the
    (J, 3) fitted parameters (``_fit_joint``; pass back as ``start`` to refit faster).

    Thorax is fitted first: joints without tail figures (Spine, Neck/Nose) take its tail
    share and relative width as a prior.
    """
    r20, r50 = 20.0 / ref, 50.0 / ref
    sep = {}
    for pf in pairs:
        sep[pf["left"]] = sep[pf["right"]] = (pf["sep_median"], pf["sep_log_sd"])
    core_sd = np.zeros((NUM_JOINTS, 2))
    prob = np.zeros(NUM_JOINTS)
    tail_sd = np.zeros((NUM_JOINTS, 2))
    thetas = np.zeros((NUM_JOINTS, 3))
    default = np.array([0.0, _logit(0.1), math.log(3.0)])
    thorax = joint_index("Thorax")
    prior_weak = default
    for j in [thorax] + [j for j in range(NUM_JOINTS) if j != thorax]:
        tg = {**targets[j], "q": 0.5}
        if swap_rate[j] > 0:
            tg = _remove_swaps(tg, swap_rate[j], *sep[j], r20, r50)
        weak = "f20" not in tg and "f50" not in tg
        prior = prior_weak if weak else default
        lam = np.array([0.0, 0.3, 0.3]) if weak else np.full(3, 0.02)
        init = prior if start is None else start[j]
        theta = _fit_joint(core_shape[j], tail_shape[j], tg, prior, lam, r20, r50, init)
        thetas[j] = theta
        if j == thorax:
            prior_weak = theta
        core_sd[j] = math.exp(theta[0]) * core_shape[j]
        prob[j] = _sigmoid(theta[1])
        tail_sd[j] = math.exp(theta[2]) * _rms(core_sd[j]) * tail_shape[j]
    return core_sd, prob, tail_sd, thetas


def _calibrate_swaps(
    pairs: list[dict[str, Any]], marg: list[np.ndarray], ref: float
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Chain rates (both, left, right), each (P,), and the (J,) per-joint swap share.

    lr_conf = c eta + (1 - c) fp for a true swap share c: eta (a swap is seen) and fp
    (noise alone looks like a swap) come from a fixed-seed simulation of the separation
    prior and the fitted noise of the two joints.
    """
    core_sd, prob, tail_sd = marg
    rng = np.random.default_rng(20230823)
    m = 50_000
    chains = np.zeros((3, len(pairs)))
    swap_rate = np.zeros(NUM_JOINTS)

    def noise(j: int) -> np.ndarray:
        e = rng.standard_normal((m, 2)) * core_sd[j]
        tail = rng.random(m) < prob[j]
        return e + tail[:, None] * rng.standard_normal((m, 2)) * tail_sd[j]

    for i, pf in enumerate(pairs):
        size = pf["sep_median"] * np.exp(pf["sep_log_sd"] * rng.standard_normal(m))
        angle = rng.uniform(0.0, 2.0 * np.pi, m)
        s = size[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)  # g_R - g_L
        margin = np.maximum(0.5 * size, 10.0 / ref)
        e_l, e_r = noise(pf["left"]), noise(pf["right"])
        # g_L = 0, g_R = s. Seen: |d - g_same| - |d - g_other| > margin.
        seen_l = _norm(s + e_l) - _norm(e_l) > margin  # swapped: d_L = s + e_L
        seen_r = _norm(e_r - s) - _norm(e_r) > margin  # swapped: d_R = e_R
        fp_l = np.mean(_norm(e_l) - _norm(e_l - s) > margin)  # d_L = e_L
        fp_r = np.mean(_norm(e_r) - _norm(s + e_r) > margin)  # d_R = s + e_R
        c_l = np.clip((pf["conf_L"] - fp_l) / (seen_l.mean() - fp_l), 0.0, 0.5)
        c_r = np.clip((pf["conf_R"] - fp_r) / (seen_r.mean() - fp_r), 0.0, 0.5)
        c_b = min(pf["swap_both"] / max((seen_l & seen_r).mean(), 1e-3), c_l, c_r)
        chains[:, i] = _swap_chains(float(c_l), float(c_r), float(c_b))
        both, left, right = chains[:, i]
        swap_rate[pf["left"]] = both + (1 - both) * left
        swap_rate[pf["right"]] = both + (1 - both) * right
    return (chains[0], chains[1], chains[2]), swap_rate


def _fit_temporal(
    doc: dict,
    path: Path,
    tab: dict[str, dict[str, float]],
    parts: dict[str, np.ndarray],
    json_weights: list[float],
    rhos: list[float],
) -> tuple[np.ndarray, np.ndarray, float]:
    """Core and tail temporal shares and the episode length (frames).

    The JSON's per-joint ac1/ac5/ac25 (14 joints) and its mean ACF at 1-100 frames are
    matched by the model ACF of each joint: its core, tail and swap variances (``parts``,
    per axis) weighted by rho_core(k), (p + (1 - p) lam^k) rho_tail(k) and lam_s^k, with
    lam = 1 - 1 / (L (1 - p)) for a 2-state chain of mean episode length L (fitted for
    tails, ``SWAP_EPISODE_FRAMES`` for swaps).
    """
    joints = [j for j, n in enumerate(JOINT_NAMES) if n not in EXCLUDED_JOINTS]
    lags = np.array([1, 5, 25])
    per_joint = np.array([[tab[JOINT_NAMES[j]][f"ac{k}"] for k in lags] for j in joints])
    mean_lags = np.asarray(_field(doc, path, "temporal_model", "acf_lags_frames"), float)
    mean_acf = np.asarray(_field(doc, path, "temporal_model", "acf_mean_14_joints"), float)
    if mean_lags.shape != mean_acf.shape:
        raise ValueError(
            f"{path}: fields 'temporal_model.acf_lags_frames' and "
            f"'temporal_model.acf_mean_14_joints' differ in length"
        )
    v = {k: np.asarray(val)[joints][:, None] for k, val in parts.items()}
    total = v["core"] + v["tail"] + v["swap"]

    def acf(theta: np.ndarray, k: np.ndarray) -> np.ndarray:  # (14, len(k))
        wc, wt = _softmax3(theta[0:2]), _softmax3(theta[2:4])
        length = math.exp(theta[4])
        lam = 1.0 - 1.0 / (length * (1.0 - v["prob"]))
        lam_s = 1.0 - 1.0 / (SWAP_EPISODE_FRAMES * (1.0 - v["swap_rate"]))
        rc = wc[1] * rhos[0] ** k + wc[2] * rhos[1] ** k
        rt = wt[1] * rhos[0] ** k + wt[2] * rhos[1] ** k
        tail = (v["prob"] + (1 - v["prob"]) * lam**k) * rt
        return (v["core"] * rc + v["tail"] * tail + v["swap"] * lam_s**k) / total

    def residuals(theta: np.ndarray) -> np.ndarray:
        joint_res = (acf(theta, lags) - per_joint).ravel()
        mean_res = acf(theta, mean_lags).mean(axis=0) - mean_acf
        return np.concatenate([joint_res, 2.0 * mean_res])

    start = np.log(np.maximum(json_weights, 1e-3))
    start = np.concatenate([start[1:] - start[0], start[1:] - start[0], [math.log(50.0)]])
    lower = np.array([-6.0, -6.0, -6.0, -6.0, math.log(10.0)])
    upper = np.array([8.0, 8.0, 8.0, 8.0, math.log(100.0)])
    theta = _least_squares(residuals, start, lower, upper)
    return _softmax3(theta[0:2]), _softmax3(theta[2:4]), float(math.exp(theta[4]))


def _softmax3(logits: np.ndarray) -> np.ndarray:
    """Shares (white, AR1, AR2) from two logits relative to white."""
    z = np.concatenate([[0.0], logits])
    z = np.exp(z - z.max())
    return z / z.sum()


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


def _swap_chains(c_l: float, c_r: float, c_b: float) -> tuple[float, float, float]:
    """Rates (both, left only, right only) of three independent chains such that
    P(left) = c_l, P(right) = c_r, P(left and right) = c_b (b = 0 if c_b < c_l c_r)."""
    lo, hi = 0.0, min(c_l, c_r, c_b)
    for _ in range(60):  # joint(b) = b + (c_l - b)(c_r - b) / (1 - b) rises with b
        b = 0.5 * (lo + hi)
        if b + (c_l - b) * (c_r - b) / (1 - b) < c_b:
            lo = b
        else:
            hi = b
    b = lo
    return b, (c_l - b) / (1 - b), (c_r - b) / (1 - b)


def _remove_swaps(
    tg: dict[str, float], c: float, sep_med: float, sep_log_sd: float, r20: float, r50: float
) -> dict[str, float]:
    """Targets of the non-swapped frames, given a swap share c whose error is the
    log-normal separation (median sep_med, log-sd sep_log_sd); h units."""

    def sep_sf(r: float) -> float:
        return 0.5 * math.erfc(math.log(r / sep_med) / (sep_log_sd * math.sqrt(2)))

    out = {"med": tg["med"], "q": (0.5 - c * (1 - sep_sf(tg["med"]))) / (1 - c)}
    sep_mean = sep_med * math.exp(sep_log_sd**2 / 2)
    out["mean"] = max((tg["mean"] - c * sep_mean) / (1 - c), 0.5 * tg["mean"])
    for key, r in (("f20", r20), ("f50", r50)):
        if key in tg:
            out[key] = max((tg[key] - c * sep_sf(r)) / (1 - c), 0.05 * tg[key])
    return out


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


def _fit_joint(
    core_shape: np.ndarray,
    tail_shape: np.ndarray,
    tg: dict[str, float],
    prior: np.ndarray,
    lam: np.ndarray,
    r20: float,
    r50: float,
    start: np.ndarray,
) -> np.ndarray:
    """theta = (log core scale, logit tail share, log tail width / core rms) fitted to
    log-ratio residuals of median (weight 2), mean, f20, f50 (those in tg)."""
    radii = np.array([tg["med"], r20, r50])

    def residuals(theta: np.ndarray) -> np.ndarray:
        core = math.exp(theta[0]) * core_shape
        tail = math.exp(theta[2]) * _rms(core) * tail_shape
        prob = _sigmoid(theta[1])
        sds = np.stack([core, np.sqrt(core**2 + tail**2)])
        sf, pdf, mean = _mix_norm_stats(np.array([1 - prob, prob]), sds, radii)
        # CDF miss at the target median, as a relative quantile error.
        res = [2.0 * (tg["q"] - (1 - sf[0])) / (tg["med"] * max(pdf[0], 1e-12))]
        if "mean" in tg:
            res.append(math.log(mean / tg["mean"]))
        for key, i in (("f20", 1), ("f50", 2)):
            if key in tg:
                res.append(math.log(max(sf[i], 1e-300) / tg[key]))
        return np.concatenate([res, lam * (theta - prior)])

    return _least_squares(residuals, start, np.array([-5.0, -12.0, -2.0]), np.array([5, 2, 5]))


def _norm(v: np.ndarray) -> np.ndarray:
    """(M, 2) -> (M,) Euclidean norms."""
    return np.hypot(v[:, 0], v[:, 1])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


# --------------------------------------------------------------------------- statistics


def noise_statistics(
    gts: list[np.ndarray], dets: list[np.ndarray], min_ac_frames: int = 0
) -> dict[str, float]:
    """Achieved error figures with the JSON's definitions, over sequences of (N, 17, 2) px.

    Joint-frames with NaN are ignored. Keys (``noise_targets`` has the same):
    ``median_err_px, mean_err_px, f20, f50, median_err_h, mean_err_h`` over all 17 joints;
    the same with ``_excl`` (``mean_err_excl_head_spine_px``) over the 14 joints outside
    ``EXCLUDED_JOINTS``; ``lr_conf_L/<pair>, lr_conf_R/<pair>, swap_both/<pair>`` and
    their mean ``lr_conf/<pair>``, plus ``frac_sep20/<pair>``; ``ac1, ac5, ac25`` (14
    joints); ``bbox_h_median``; ``common_mode_var_frac``; per joint ``median_px/<joint>``,
    ``mean_px/<joint>``, ``f50/<joint>``; ``conf_any_if_sep20/<pair>``: either side
    confused, among frames whose GT sides are >= 20 px apart (less sensitive to how
    often the views show the person side-on than ``lr_conf``).

    ``min_ac_frames``: sequences shorter than this are left out of the autocorrelations.
    Removing each sequence's mean removes slow error components from short sequences,
    so ``ac*`` of short clips is not comparable with the JSON's (Human3.6M takes of
    ~2,400 frames on average).
    """
    if len(gts) != len(dets) or not gts:
        raise ValueError(
            f"noise_statistics: expected equally long non-empty lists of sequences, "
            f"got {len(gts)} gts and {len(dets)} dets"
        )
    keep = np.array([n not in EXCLUDED_JOINTS for n in JOINT_NAMES])
    norms, norms_h, valids, heights = [], [], [], []
    conf = {name: np.zeros(3) for name, _, _ in LR_PAIRS}  # left, right, both counts
    sep20 = {name: 0 for name, _, _ in LR_PAIRS}
    conf_sep20 = {name: 0 for name, _, _ in LR_PAIRS}
    n_pair = {name: 0 for name, _, _ in LR_PAIRS}
    acs: dict[int, list[np.ndarray]] = {1: [], 5: [], 25: [], 100: []}
    cm_err, full_err = [], []
    for i, (g_in, d_in) in enumerate(zip(gts, dets, strict=True)):
        g = _check_poses(g_in, f"gts[{i}]")
        d = _check_poses(d_in, f"dets[{i}]")
        if g.shape != d.shape:
            raise ValueError(f"noise_statistics: gts[{i}] {g.shape} != dets[{i}] {d.shape}")
        valid = np.isfinite(g).all(-1) & np.isfinite(d).all(-1)  # (N, J)
        err = d - g
        norm = np.linalg.norm(np.where(valid[..., None], err, 0.0), axis=-1)
        full = valid.all(axis=1)
        h = np.where(full, g[..., 1].max(axis=1) - g[..., 1].min(axis=1), np.nan)
        norms.append(norm)
        norms_h.append(norm / h[:, None])
        valids.append(valid)
        heights.append(h[full])
        cm_err.append(err[full].mean(axis=1))
        full_err.append(err[full])
        for name, lj, rj in LR_PAIRS:
            ok = valid[:, lj] & valid[:, rj]
            gl, gr, dl, dr = g[ok, lj], g[ok, rj], d[ok, lj], d[ok, rj]
            sep = np.linalg.norm(gl - gr, axis=-1)
            margin = np.maximum(0.5 * sep, 10.0)
            on_l = np.linalg.norm(dl - gl, axis=-1) - np.linalg.norm(dl - gr, axis=-1) > margin
            on_r = np.linalg.norm(dr - gr, axis=-1) - np.linalg.norm(dr - gl, axis=-1) > margin
            conf[name] += [on_l.sum(), on_r.sum(), (on_l & on_r).sum()]
            sep20[name] += int((sep >= 20).sum())
            conf_sep20[name] += int(((on_l | on_r) & (sep >= 20)).sum())
            n_pair[name] += int(ok.sum())
        e = np.where(valid[:, keep, None], err[:, keep], 0.0)  # (N, 14, 2)
        cnt = valid[:, keep].sum(axis=0)[:, None]
        e0 = np.where(valid[:, keep, None], e - e.sum(axis=0) / np.maximum(cnt, 1), 0.0)
        den = (e0**2).sum(axis=0)
        for lag in acs:
            if e.shape[0] > lag + 1 and e.shape[0] >= min_ac_frames:
                num = (e0[:-lag] * e0[lag:]).sum(axis=0)
                acs[lag].append((num / np.where(den > 0, den, np.nan)).ravel())

    norm, norm_h, valid = (np.concatenate(a) for a in (norms, norms_h, valids))
    out: dict[str, float] = {}
    for suffix, cols in (("", np.ones(NUM_JOINTS, bool)), ("_excl", keep)):
        v = valid & cols
        x, xh = norm[v], norm_h[v]
        xh = xh[np.isfinite(xh)]
        out[f"median_err{suffix}_px"] = float(np.median(x))
        mean_key = "mean_err_excl_head_spine_px" if suffix else "mean_err_px"
        out[mean_key] = float(x.mean())
        out[f"f20{suffix}"] = float((x > 20).mean())
        out[f"f50{suffix}"] = float((x > 50).mean())
        out[f"median_err{suffix}_h"] = float(np.median(xh))
        out[f"mean_err{suffix}_h"] = float(xh.mean())
    for name, _, _ in LR_PAIRS:
        n = max(n_pair[name], 1)
        out[f"lr_conf_L/{name}"] = conf[name][0] / n
        out[f"lr_conf_R/{name}"] = conf[name][1] / n
        out[f"lr_conf/{name}"] = (conf[name][0] + conf[name][1]) / (2 * n)
        out[f"swap_both/{name}"] = conf[name][2] / n
        out[f"frac_sep20/{name}"] = sep20[name] / n
        out[f"conf_any_if_sep20/{name}"] = conf_sep20[name] / max(sep20[name], 1)
    for lag, values in acs.items():
        out[f"ac{lag}"] = float(np.nanmean(np.concatenate(values))) if values else math.nan
    out["bbox_h_median"] = float(np.median(np.concatenate(heights)))
    cm, fe = np.concatenate(cm_err), np.concatenate(full_err)
    out["common_mode_var_frac"] = float(cm.var(axis=0).sum() / fe.var(axis=0).sum(-1).mean())
    for j, name in enumerate(JOINT_NAMES):
        x = norm[valid[:, j], j]
        out[f"median_px/{name}"] = float(np.median(x))
        out[f"mean_px/{name}"] = float(x.mean())
        out[f"f50/{name}"] = float((x > 50).mean())
    return out


def noise_targets(path: str | Path, section: str = "all") -> dict[str, Any]:
    """The ``noise_statistics`` keys read from the JSON (float, or None when absent).

    Figures the JSON lacks are derived: ``f20_excl``/``f50_excl`` as the mean of the
    14 joints' f20/f50; ``median_err_excl_px``/``_h`` as the median of the 14 joints'
    pooled error, each joint's CDF interpolated through its med, p90, p99 (and, in px,
    f20, f50) points. Per-joint targets of Spine/Head are definition-corrected, Neck/Nose
    the best Thorax/Head blend. ``notes`` says which targets the model does not aim at.
    """
    path = Path(path)
    doc = _load_json(path)
    tab = _joint_table(doc, path, section)
    excl = [n for n in JOINT_NAMES if n not in EXCLUDED_JOINTS]
    overall = _field(doc, path, section, "overall")
    t: dict[str, Any] = {
        "median_err_px": overall.get("median_err_px"),
        "mean_err_px": overall.get("mean_err_px"),
        "f20": overall.get("f20"),
        "f50": overall.get("f50"),
        "median_err_h": overall.get("median_err_h"),
        "mean_err_h": overall.get("mean_err_h"),
        "mean_err_excl_head_spine_px": overall.get("mean_err_excl_head_spine_px"),
        "f20_excl": float(np.mean([tab[n]["f20"] for n in excl])),
        "f50_excl": float(np.mean([tab[n]["f50"] for n in excl])),
        "mean_err_excl_h": None,
    }
    pts = []
    for n in excl:
        r = tab[n]
        pts.append([(r["med"], 0.5), (r["p90"], 0.9), (r["p99"], 0.99)])
        pts[-1] += [(20.0, 1 - r["f20"]), (50.0, 1 - r["f50"])]
    t["median_err_excl_px"] = _pooled_median(pts)
    if "med_h" in tab[excl[0]] and "p99_h" in tab[excl[0]]:
        pts_h = [
            [(tab[n][c], q) for c, q in (("med_h", 0.5), ("p90_h", 0.9), ("p99_h", 0.99))]
            for n in excl
        ]
        t["median_err_excl_h"] = _pooled_median(pts_h)
    else:
        t["median_err_excl_h"] = None
    for name, _, _ in LR_PAIRS:
        pair = _field(doc, path, section, "lr_pairs", name)
        t[f"lr_conf_L/{name}"] = pair["conf_L"]
        t[f"lr_conf_R/{name}"] = pair["conf_R"]
        t[f"lr_conf/{name}"] = 0.5 * (pair["conf_L"] + pair["conf_R"])
        t[f"swap_both/{name}"] = pair["swap_both"]
        t[f"frac_sep20/{name}"] = _field(doc, path, "all", "lr_pairs", name).get("frac_sep20")
        t[f"conf_any_if_sep20/{name}"] = _field(doc, path, "all", "lr_pairs", name).get(
            "conf_any_if_sep20"
        )
    acf = _field(doc, path, "temporal_model", "acf_mean_14_joints")
    lags = _field(doc, path, "temporal_model", "acf_lags_frames")
    for lag in (1, 5, 25, 100):
        t[f"ac{lag}"] = float(acf[lags.index(lag)]) if lag in lags else None
    t["bbox_h_median"] = float(_field(doc, path, section, "bbox_h_px", "median"))
    t["common_mode_var_frac"] = _field(doc, path, section, "common_mode", "var_frac")
    spine = _field(doc, path, "definition_offsets", "Spine")
    head = _field(doc, path, "definition_offsets", "Head")
    blend = _field(doc, path, "header", "missing_joint", "Neck/Nose", "best_blend")
    for name in JOINT_NAMES:
        if name == "Spine":
            med, mean, f50 = spine[4], spine[3], None
        elif name == "Head":
            med, mean, f50 = head[4], head[3], tab[name]["f50"]
        elif name == "Neck/Nose":
            med, mean, f50 = blend["median_dist_px"], blend["mean_dist_px"], None
        else:
            med, mean, f50 = tab[name]["med"], tab[name]["mean_norm"], tab[name]["f50"]
        t[f"median_px/{name}"], t[f"mean_px/{name}"], t[f"f50/{name}"] = med, mean, f50
    raw = "JSON: 16 joints with Spine/Head definition offsets (not a model target)"
    t["notes"] = {
        k: raw for k in ("median_err_px", "mean_err_px", "f20", "f50", "median_err_h", "mean_err_h")
    }
    t["notes"]["common_mode_var_frac"] = "JSON: 16 joints, pooled incl. offsets"
    t["notes"]["mean_err_excl_h"] = "not in the JSON"
    return t


def _pooled_median(points: list[list[tuple[float, float]]]) -> float:
    """Median of an equal-weight pool of distributions given by (x, CDF) points each."""
    grid = np.linspace(0.0, max(x for p in points for x, _ in p), 20001)
    cdf = np.zeros_like(grid)
    for p in points:
        xs, qs = zip(*sorted([(0.0, 0.0), *p]), strict=True)
        cdf += np.interp(grid, xs, np.maximum.accumulate(np.array(qs)))
    cdf /= len(points)
    return float(np.interp(0.5, cdf, grid))


def compare_table(
    achieved: dict[str, Any], targets: dict[str, Any], keys: list[str] | None = None
) -> str:
    """Readable table: key, achieved, target, relative difference (and the target's note)."""
    notes = targets.get("notes", {})
    if keys is None:
        keys = [k for k, v in achieved.items() if isinstance(v, (int, float)) and k in targets]
    width = max(len(k) for k in keys) if keys else 10
    lines = [f"{'statistic':<{width}}  {'achieved':>10}  {'target':>10}  {'rel diff':>8}"]
    for key in keys:
        a, t = achieved.get(key), targets.get(key)
        a_s = f"{a:10.4g}" if isinstance(a, (int, float)) else f"{'-':>10}"
        t_s = f"{t:10.4g}" if isinstance(t, (int, float)) else f"{'-':>10}"
        rel = "-"
        if isinstance(a, (int, float)) and isinstance(t, (int, float)) and t != 0:
            rel = f"{(a - t) / abs(t):+.1%}"
        note = f"  ({notes[key]})" if key in notes else ""
        lines.append(f"{key:<{width}}  {a_s}  {t_s}  {rel:>8}{note}")
    return "\n".join(lines)
