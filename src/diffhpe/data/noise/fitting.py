"""Fitting the detector-noise model to the statistics JSON (``figures``).

The fit behind ``DetectorNoiseModel.from_json`` (deterministic, < 1 s), at the JSON's
median person height (315 px):

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

import math
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.data.noise.figures import (
    _field,
    _joint_table,
    _joint_targets,
    _load_json,
    _pair_figures,
    _shapes,
    _temporal_model,
)
from diffhpe.data.noise.joints import EXCLUDED_JOINTS
from diffhpe.data.noise.numerics import (
    _least_squares,
    _logit,
    _mix_norm_stats,
    _norm,
    _rms,
    _sigmoid,
    _softmax3,
)
from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS, joint_index

# Mean swap episode length (frames at 50 Hz); the JSON does not measure it. A per-frame
# detector flickers while a pose stays ambiguous: 0.2 s.
SWAP_EPISODE_FRAMES = 10.0


def fit_parameters(path: str | Path, section: str = "all") -> dict[str, Any]:
    """``DetectorNoiseModel`` keyword arguments fitted to the JSON's figures of one section.

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

    return dict(
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
