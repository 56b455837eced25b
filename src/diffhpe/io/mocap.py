"""Motion-capture clips (ASF/AMC, BVH) as the 17 Human3.6M joints, metres, z up.

Shapes: N frames, P forward-kinematics (FK) points of a file's own skeleton, J = 17.

Pipeline of :func:`load_motion`:

1. read the file and run FK on its FULL skeleton (:mod:`diffhpe.io.asfamc`,
   :mod:`diffhpe.io.bvh`) -> :class:`Kinematics`, (N, P, 3) in file units and axes;
2. map to the 17 joints with the skeleton kind's joint map (see below; steps 2-4 are
   :func:`diffhpe.io.kinematics.to_h36m`);
3. scale to metres; turn the file's y-up world into z up with the proper rotation
   (x, y, z) -> (x, -z, y) (det = +1, so left stays left);
4. put the floor at z = 0: the floor is the 1st percentile over frames of the per-frame
   lowest foot point (the ankles' FK points and all their descendants: heel, toes, end
   sites). A percentile, not the minimum, so one glitch frame does not lift the clip;
   x and y are left as in the file;
5. resample linearly in time from the file's rate (120 Hz here) to ``fps_out``.

Joint maps (:mod:`diffhpe.io.joint_maps`, re-exported here): one per skeleton kind,
``acclaim`` (CMU and HDM05 ASF/AMC), ``daz`` and ``cmu131`` (BVH), and a ``generic``
BVH fallback that matches common joint names; each kind's length unit is here
(:data:`KIND_UNITS`; a generic BVH's from ``unit_scale`` or :func:`guess_unit_scale`).

Body check (:func:`check_body_scale`, run by :func:`load_motion` on every clip): after
the unit conversion the body must be human-sized, its height (ankle to top of the head
along the bones, median over frames) in ``BODY_HEIGHT_RANGE`` metres and its median thigh
(hip to knee) in ``THIGH_RANGE``. Otherwise the units are wrong (e.g. a Daz-style BVH
written at 1/128 scale read as centimetres has 6 mm legs) and loading fails with
an error naming the file, the metres per unit used and the scale found. An explicit
``unit_scale`` is the caller's word: outside the ranges it warns instead.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffhpe.io import asfamc, bvh
from diffhpe.io.joint_maps import (
    ACCLAIM_JOINT_MAP,
    CMU131_JOINT_MAP,
    DAZ_HEAD_TOP,
    DAZ_JOINT_MAP,
    GENERIC_CANDIDATES,
    JOINT_MAPS,
    bvh_joint_map,
)
from diffhpe.io.kinematics import (
    FLOOR_PERCENTILE,
    Y_UP_TO_Z_UP,
    Kinematics,
    axis_rotation,
    euler_matrix,
    evaluate_joint_map,
    expression_points,
    floor_points,
    parse_expression,
    to_h36m,
)
from diffhpe.skeleton import JOINT_NAMES

# Re-exported: the kinematics live in diffhpe.io.kinematics (shared with the readers),
# the joint maps in diffhpe.io.joint_maps.
__all__ = [
    "ACCLAIM_JOINT_MAP",
    "ADULT_LEG",
    "BODY_HEIGHT_RANGE",
    "CMU131_JOINT_MAP",
    "CMU131_UNIT",
    "CMU_UNIT",
    "DAZ_HEAD_TOP",
    "DAZ_JOINT_MAP",
    "DAZ_UNIT",
    "FLOOR_PERCENTILE",
    "GENERIC_CANDIDATES",
    "JOINT_MAPS",
    "KIND_UNITS",
    "Kinematics",
    "Motion",
    "THIGH_RANGE",
    "UNIT_CANDIDATES",
    "Y_UP_TO_Z_UP",
    "axis_rotation",
    "body_measures",
    "bvh_joint_map",
    "check_body_scale",
    "euler_matrix",
    "evaluate_joint_map",
    "expression_points",
    "floor_points",
    "guess_unit_scale",
    "load_motion",
    "parse_expression",
    "resample",
    "to_h36m",
]

# Metres per file unit. CMU/VICON Acclaim: 1 unit = 1/0.45 inch (``:units length 0.45``).
CMU_UNIT = 0.0254 / 0.45
DAZ_UNIT = 0.01  # centimetres: leg 87 units, standing height ~1.6 m (see the report)

# bvh11's SOURCE.md says "scaled to 1 m", but these files hold CMU's own units: with
# metres the person would be 25 m tall, with CMU units 1.6 m.
CMU131_UNIT = CMU_UNIT

# Metres per unit of the BVH kinds whose unit the file does not state.
KIND_UNITS: dict[str, float] = {"daz": DAZ_UNIT, "cmu131": CMU131_UNIT}

# Candidate metre-per-unit scales of the generic heuristic.
UNIT_CANDIDATES: dict[str, float] = {
    "m": 1.0,
    "cm": 0.01,
    "mm": 0.001,
    "inch": 0.0254,
    "cmu": CMU_UNIT,
}

# A human body after the unit conversion (metres): height from the ankles to the top of
# the head along the bones, and the thigh (hip to knee); medians over frames.
BODY_HEIGHT_RANGE = (0.5, 2.6)
THIGH_RANGE = (0.15, 0.8)
# An adult's leg (hip-knee-ankle; the open mocap's are 0.80-0.93 m): the "1x" of the scale
# an error reports. Legs, not height: template points (Daz's head top) do not scale.
ADULT_LEG = 0.8


@dataclass
class Motion:
    """One clip as the 17 Human3.6M joints: (N, 17, 3) float64, metres, z up, floor z=0."""

    positions: np.ndarray
    fps: float
    name: str
    source: str
    skeleton_kind: str


def guess_unit_scale(rest_positions: np.ndarray, height_m: float = 1.7) -> float:
    """Metres per unit from a rest pose (P, 3), y up: the candidate scale of
    :data:`UNIT_CANDIDATES` whose vertical extent is nearest (in ratio) to ``height_m``.
    """
    extent = float(np.ptp(rest_positions[:, 1]))
    if not extent > 0:
        raise ValueError("rest pose has no vertical extent; pass unit_scale explicitly")
    scales = np.array(list(UNIT_CANDIDATES.values()))
    return float(scales[np.argmin(np.abs(np.log(extent * scales / height_m)))])


def body_measures(positions: np.ndarray) -> tuple[float, float, float]:
    """(height, leg, thigh) of (N, 17, 3) joints in their units, medians over frames: the
    ankle-to-head-top length along the bones (mean of the legs, hip to pelvis not
    counted, then pelvis-spine-thorax-neck/nose-head), the mean hip-knee-ankle length
    and the mean hip-knee length."""
    x = np.asarray(positions, dtype=np.float64)
    x = x[:: max(1, len(x) // 2000)]  # a few thousand frames are plenty for a median

    def seg(a: str, b: str) -> np.ndarray:
        return np.linalg.norm(x[:, JOINT_NAMES.index(a)] - x[:, JOINT_NAMES.index(b)], axis=-1)

    thigh = 0.5 * (seg("LHip", "LKnee") + seg("RHip", "RKnee"))
    leg = thigh + 0.5 * (seg("LKnee", "LAnkle") + seg("RKnee", "RAnkle"))
    trunk = (
        seg("Pelvis", "Spine") + seg("Spine", "Thorax") + seg("Thorax", "Neck/Nose")
        + seg("Neck/Nose", "Head")
    )  # fmt: skip
    return float(np.median(leg + trunk)), float(np.median(leg)), float(np.median(thigh))


def check_body_scale(
    positions: np.ndarray, source: str | Path, metres_per_unit: float, how: str,
    strict: bool = True,
) -> None:  # fmt: skip
    """A human-sized body (module docstring), else a ValueError (``strict``) or a warning
    naming ``source``, the ``metres_per_unit`` used (``how``: where it came from) and the
    scale found relative to an adult."""
    height, leg, thigh = body_measures(positions)
    lo, hi = BODY_HEIGHT_RANGE
    tlo, thi = THIGH_RANGE
    if lo <= height <= hi and tlo <= thigh <= thi:
        return
    ratio = leg / ADULT_LEG
    scale = f"1/{1 / ratio:.3g} of" if 0 < ratio < 1 else f"{ratio:.3g} times"
    text = (
        f"{source}: read at {metres_per_unit:g} m per file unit ({how}), the body is "
        f"{height:.3g} m tall with {leg:.3g} m legs and a {thigh:.3g} m thigh (a person: "
        f"{lo}-{hi} m tall, thigh {tlo}-{thi} m); scale found: about {scale} an adult's size "
        f"(legs of {ADULT_LEG} m), so the file's units are not these; pass unit_scale= "
        "(metres per file unit) with the right one"
    )
    if strict:
        raise ValueError(text)
    warnings.warn(text, UserWarning, stacklevel=3)


def resample(positions: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """(N, J, 3) -> (M, J, 3), M = floor((N - 1) * dst / src) + 1, linear in time.

    Output frame k is at time k / dst_fps; frames that land on a source frame are
    copied exactly.
    """
    positions = np.asarray(positions)
    if positions.ndim < 1 or positions.shape[0] == 0:
        raise ValueError(f"resample: positions must have at least one frame, got {positions.shape}")
    if not (src_fps > 0 and dst_fps > 0):
        raise ValueError(f"resample: fps must be positive, got src={src_fps} dst={dst_fps}")
    n = positions.shape[0]
    m = int(np.floor((n - 1) * dst_fps / src_fps + 1e-9)) + 1
    s = np.arange(m) * src_fps / dst_fps  # source frame index of each output frame
    near = np.round(s)
    s = np.where(np.abs(s - near) < 1e-9, near, s)  # snap float noise onto source frames
    i0 = np.minimum(np.floor(s).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (s - i0).reshape((m,) + (1,) * (positions.ndim - 1))
    return (1.0 - w) * positions[i0] + w * positions[i1]


def _find_asf(amc: Path) -> Path:
    found = sorted(amc.parent.glob("*.asf")) + sorted(amc.parent.glob("*.ASF"))
    found = sorted(set(found))
    if len(found) != 1:
        what = "no .asf" if not found else f"{len(found)} .asf files ({[f.name for f in found]})"
        raise ValueError(f"{amc}: found {what} in {amc.parent}; pass asf= explicitly")
    return found[0]


def load_motion(
    path: str | Path,
    asf: str | Path | None = None,
    fps_out: float | None = 50.0,
    *,
    unit_scale: float | None = None,
    amc_fps: float = 120.0,
) -> Motion:
    """Read an ``.amc`` (with its ``.asf``) or ``.bvh`` clip as a :class:`Motion`.

    ``asf``: the skeleton of an ``.amc``; None takes the single ``.asf`` in its folder.
    ``fps_out``: output rate (None keeps the file's). ``unit_scale``: metres per file
    unit, overriding the kind's (needed only for unusual generic BVH). ``amc_fps``: AMC
    files do not store their rate; CMU and HDM05 record at 120 Hz.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such motion file")
    ext = path.suffix.lower()
    if ext == ".amc":
        asf_path = Path(asf) if asf is not None else _find_asf(path)
        if not asf_path.is_file():
            raise ValueError(f"{path}: skeleton file {asf_path} does not exist")
        skel = asfamc.read_asf(asf_path)
        kin = asfamc.forward_kinematics(skel, asfamc.read_amc(path, skel), fps=amc_fps)
        kind, joint_map, scale = "acclaim", ACCLAIM_JOINT_MAP, skel.metres_per_unit
        how = f"the ASF's ':units length {skel.length_unit:g}'"
    elif ext == ".bvh":
        data = bvh.read_bvh(path)
        kin = bvh.forward_kinematics(data)
        kind, joint_map = bvh_joint_map(kin.names)
        if unit_scale is not None:
            scale = unit_scale
        elif kind in KIND_UNITS:
            scale = KIND_UNITS[kind]
            how = f"the unit of {kind} BVH files"
        else:
            scale = guess_unit_scale(bvh.rest_pose(data))
            how = "guessed from the rest pose's height"
    elif ext == ".asf":
        raise ValueError(f"{path}: an .asf holds only the skeleton; pass the .amc and asf=")
    else:
        raise ValueError(f"{path}: unknown motion format {ext!r}; expected .amc or .bvh")
    if unit_scale is not None:  # also overrides the ASF's own units
        scale = unit_scale
        how = "unit_scale given"
    positions = to_h36m(kin, joint_map, scale)
    check_body_scale(positions, path, scale, how, strict=unit_scale is None)
    fps = kin.fps
    if fps_out is not None and fps_out != fps:
        positions = resample(positions, fps, fps_out)
        fps = float(fps_out)
    return Motion(positions, float(fps), path.stem, str(path), kind)
