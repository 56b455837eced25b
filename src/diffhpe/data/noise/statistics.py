"""Error figures of sampled detections, the JSON's targets for them, and a comparison.

``noise_statistics`` measures sequences with the JSON's definitions (its
``header.definitions``); ``noise_targets`` reads the same keys from the JSON;
``compare_table`` sets them side by side (``diffhpe data build`` prints it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.data.noise.figures import _field, _joint_table, _load_json
from diffhpe.data.noise.joints import EXCLUDED_JOINTS, LR_PAIRS, _check_poses
from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS


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
