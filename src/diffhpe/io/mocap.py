"""Motion-capture clips (ASF/AMC, BVH) as the 17 Human3.6M joints, metres, z up.

Shapes: N frames, P forward-kinematics (FK) points of a file's own skeleton, J = 17.

Pipeline of :func:`load_motion`:

1. read the file and run FK on its FULL skeleton (:mod:`diffhpe.io.asfamc`,
   :mod:`diffhpe.io.bvh`) -> :class:`Kinematics`, (N, P, 3) in file units and axes;
2. map to the 17 joints with the skeleton kind's joint map (below; steps 2-4 are
   :func:`diffhpe.io.kinematics.to_h36m`);
3. scale to metres; turn the file's y-up world into z up with the proper rotation
   (x, y, z) -> (x, -z, y) (det = +1, so left stays left);
4. put the floor at z = 0: the floor is the 1st percentile over frames of the per-frame
   lowest foot point (the ankles' FK points and all their descendants: heel, toes, end
   sites). A percentile, not the minimum, so one glitch frame does not lift the clip;
   x and y are left as in the file;
5. resample linearly in time from the file's rate (120 Hz here) to ``fps_out``.

Joint maps: each Human3.6M joint is an expression over FK point names, terms joined
by ``+``: ``"name"``, ``"0.5*a + 0.5*b"`` (weights sum to 1: an affine combination,
so it commutes with the rigid change of axes), and ``"name@(x, y, z)"``: the point
plus an offset (file units) in that point's local frame. FK point names:

- ASF/AMC: ``root``; ``<bone>:start`` and ``<bone>:end`` for each bone (a bone starts
  where its parent ends; local frame = the bone's global rotation L).
- BVH: each joint's name (its origin; local frame = the joint's global rotation, the
  frame its children's offsets live in), ``<joint>:end`` for an End Site.

===========  ============================  ====================  =========================
H36M joint   acclaim (CMU, HDM05 ASF/AMC)  daz (cgspeed BVH)     cmu131 (bvh11 BVH)
===========  ============================  ====================  =========================
Pelvis       root                          hip                   Hips
R/LHip       r/lfemur:start                r/lThigh              Right/LeftHip
R/LKnee      r/ltibia:start                r/lShin               Right/LeftKnee
R/LAnkle     r/lfoot:start                 r/lFoot               Right/LeftAnkle
Spine        mid upperback (1)             mid abdomen-chest (1) Chest (1)
Thorax       lowerneck:start               neck                  lowerneck
Neck/Nose    mid upperneck:start-head:end  mid head-Head (2)     mid Neck-Head:end
Head         head:end                      head@(0, 18, 0) (3)   Head:end
R/LShoulder  r/lhumerus:start              r/lShldr              Right/LeftShoulder
R/LElbow     r/lradius:start               r/lForeArm            Right/LeftElbow
R/LWrist     r/lwrist:start                r/lHand               Right/LeftWrist
===========  ============================  ====================  =========================

(1) Spine is the point nearest half way between pelvis and thorax along the spine
chain. CMU has three ~equal bones lowerback/upperback/thorax between root and
lowerneck, so half way is the middle of upperback; Daz has hip -20.7- abdomen -11.7-
chest -22.2- neck (cm), half way (27.3) is 0.8 cm from the abdomen-chest midpoint; the
cmu131 file collapses the thorax bone, so Chest (start of upperback) is exactly half
way between Hips and lowerneck.
(2) Neck/Nose is half way between the top of the neck and the top of the head
(Human3.6M's thorax-nose and nose-head segments are about equal): for CMU the middle
of upperneck start .. head end (= the head bone's start on a straight neck).
(3) The Daz template has no head-top End Site (only the eyes, 8 cm up and 8 cm forward
of ``head``); the top of the head is taken 18 cm up the head's local y axis
(eye-to-vertex ~10 cm, an adult's), a fixed template point, so it is rigid.

The ``generic`` BVH fallback (:data:`GENERIC_CANDIDATES`) takes, per joint, the first
present name of a candidate list (Mixamo, MotionBuilder, CMU and Daz spellings; case,
``_`` and spaces ignored) and a length unit from ``unit_scale`` or, if None, the
heuristic of :func:`guess_unit_scale`.

Body check (:func:`check_body_scale`, run by :func:`load_motion` on every clip): after
the unit conversion the body must be human-sized, its height (ankle to top of the head
along the bones, median over frames) in ``BODY_HEIGHT_RANGE`` metres and its median thigh
(hip to knee) in ``THIGH_RANGE``. Otherwise the units are wrong (e.g. a Daz-style BVH
written at 1/128 scale read as centimetres has 6 mm legs) and loading fails with
an error naming the file, the metres per unit used and the scale found. An explicit
``unit_scale`` is the caller's word: outside the ranges it warns instead.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffhpe.io import asfamc, bvh
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

# The kinematics (re-exported) live in diffhpe.io.kinematics, shared with the readers.
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

ACCLAIM_JOINT_MAP: dict[str, str] = {
    "Pelvis": "root",
    "RHip": "rfemur:start",
    "RKnee": "rtibia:start",
    "RAnkle": "rfoot:start",
    "LHip": "lfemur:start",
    "LKnee": "ltibia:start",
    "LAnkle": "lfoot:start",
    "Spine": "0.5*upperback:start + 0.5*upperback:end",
    "Thorax": "lowerneck:start",
    "Neck/Nose": "0.5*upperneck:start + 0.5*head:end",
    "Head": "head:end",
    "LShoulder": "lhumerus:start",
    "LElbow": "lradius:start",
    "LWrist": "lwrist:start",
    "RShoulder": "rhumerus:start",
    "RElbow": "rradius:start",
    "RWrist": "rwrist:start",
}

DAZ_HEAD_TOP = "head@(0, 18, 0)"
DAZ_JOINT_MAP: dict[str, str] = {
    "Pelvis": "hip",
    "RHip": "rThigh",
    "RKnee": "rShin",
    "RAnkle": "rFoot",
    "LHip": "lThigh",
    "LKnee": "lShin",
    "LAnkle": "lFoot",
    "Spine": "0.5*abdomen + 0.5*chest",
    "Thorax": "neck",
    "Neck/Nose": f"0.5*head + 0.5*{DAZ_HEAD_TOP}",
    "Head": DAZ_HEAD_TOP,
    "LShoulder": "lShldr",
    "LElbow": "lForeArm",
    "LWrist": "lHand",
    "RShoulder": "rShldr",
    "RElbow": "rForeArm",
    "RWrist": "rHand",
}
DAZ_UNIT = 0.01  # centimetres: leg 87 units, standing height ~1.6 m (see the report)

CMU131_JOINT_MAP: dict[str, str] = {
    "Pelvis": "Hips",
    "RHip": "RightHip",
    "RKnee": "RightKnee",
    "RAnkle": "RightAnkle",
    "LHip": "LeftHip",
    "LKnee": "LeftKnee",
    "LAnkle": "LeftAnkle",
    "Spine": "Chest",
    "Thorax": "lowerneck",
    "Neck/Nose": "0.5*Neck + 0.5*Head:end",
    "Head": "Head:end",
    "LShoulder": "LeftShoulder",
    "LElbow": "LeftElbow",
    "LWrist": "LeftWrist",
    "RShoulder": "RightShoulder",
    "RElbow": "RightElbow",
    "RWrist": "RightWrist",
}
# bvh11's SOURCE.md says "scaled to 1 m", but these files hold CMU's own units: with
# metres the person would be 25 m tall, with CMU units 1.6 m.
CMU131_UNIT = CMU_UNIT

_SIDES = {"L": ("Left", "l", "L_", "left_", "l_"), "R": ("Right", "r", "R_", "right_", "r_")}
_GENERIC_SIDED: dict[str, tuple[str, ...]] = {
    "Hip": ("UpLeg", "Thigh", "Hip", "UpperLeg"),
    "Knee": ("Leg", "Knee", "Shin", "LowLeg", "LowerLeg"),
    "Ankle": ("Foot", "Ankle"),
    "Shoulder": ("Arm", "UpArm", "UpperArm", "Shldr", "Humerus", "Shoulder"),
    "Elbow": ("ForeArm", "Elbow", "LowArm", "LowerArm", "Radius"),
    "Wrist": ("Hand", "Wrist"),
}


def _generic_candidates() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {
        "Pelvis": ("Hips", "Hip", "Pelvis", "Root"),
        "Spine": ("Spine1", "Chest", "Spine", "abdomen", "Torso"),
        "Thorax": ("Neck", "LowerNeck", "Neck1"),
        "Neck/Nose": ("0.5*Head + 0.5*Head:end", "0.5*Head + 0.5*HeadTop_End"),
        "Head": ("Head:end", "HeadTop_End", "HeadTop", "Head_End"),
    }
    for side, prefixes in _SIDES.items():
        for joint, stems in _GENERIC_SIDED.items():
            out[side + joint] = tuple(p + s for s in stems for p in prefixes)
    return {name: out[name] for name in JOINT_NAMES}


# H36M joint -> candidate expressions, the first whose names all exist wins.
GENERIC_CANDIDATES: dict[str, tuple[str, ...]] = _generic_candidates()

# Metres per unit of the BVH kinds whose unit the file does not state.
KIND_UNITS: dict[str, float] = {"daz": DAZ_UNIT, "cmu131": CMU131_UNIT}

JOINT_MAPS: dict[str, dict[str, str]] = {
    "acclaim": ACCLAIM_JOINT_MAP,
    "daz": DAZ_JOINT_MAP,
    "cmu131": CMU131_JOINT_MAP,
}
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


def bvh_joint_map(names: tuple[str, ...] | list[str]) -> tuple[str, dict[str, str]]:
    """(skeleton kind, joint map) for a BVH's FK point names: daz, cmu131 or generic."""
    have = set(names)
    for kind in ("daz", "cmu131"):
        jm = JOINT_MAPS[kind]
        if all(n in have for e in jm.values() for n in expression_points(e)):
            return kind, jm
    norm = {re.sub(r"[\s_]", "", n).lower(): n for n in names}

    def resolve(expr: str) -> str | None:
        terms = []
        for w, name, off in parse_expression(expr):
            real = norm.get(re.sub(r"[\s_]", "", name).lower())
            if real is None:
                return None
            off_s = "" if off is None else "@({}, {}, {})".format(*off)
            terms.append(f"{w}*{real}{off_s}")
        return " + ".join(terms)

    jm: dict[str, str] = {}
    lacking = []
    for joint, cands in GENERIC_CANDIDATES.items():
        found = next((r for c in cands if (r := resolve(c)) is not None), None)
        if found is None:
            lacking.append(f"{joint}: one of {list(cands)}")
        else:
            jm[joint] = found
    if lacking:
        raise ValueError(
            "unknown BVH skeleton: cannot place "
            + "; ".join(lacking)
            + f". Known layouts: daz needs {sorted(_names(DAZ_JOINT_MAP))}, "
            + f"cmu131 needs {sorted(_names(CMU131_JOINT_MAP))}. File joints: {sorted(names)}"
        )
    return "generic", jm


def _names(joint_map: dict[str, str]) -> set[str]:
    return {n for e in joint_map.values() for n in expression_points(e)}


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
