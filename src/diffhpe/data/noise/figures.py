"""The detector-noise statistics JSON: reading, validating, and its figures in model units.

The file is ``shared/data/detector_noise/stacked_hourglass_h36m.json`` (its
``header.definitions`` defines every statistic). Every reader raises ``ValueError``
naming the file and the dotted field that is missing or malformed.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from diffhpe.data.noise.joints import EXCLUDED_JOINTS, LR_PAIRS
from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS, joint_index

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
_TEMPORAL_RE = re.compile(
    r"([\d.]+) pc white \+ ([\d.]+) pc AR\(1\) rho ([\d.]+)/frame.*?\+ "
    r"([\d.]+) pc AR\(1\) rho ([\d.]+)/frame"
)


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
