"""Joint maps: which points of a motion file's own skeleton make the 17 Human3.6M joints.

Each Human3.6M joint is an expression over FK (forward kinematics) point names, terms
joined by ``+``: ``"name"``, ``"0.5*a + 0.5*b"`` (weights sum to 1: an affine combination,
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
heuristic of :func:`diffhpe.io.mocap.guess_unit_scale`.
"""

from __future__ import annotations

import re

from diffhpe.io.kinematics import expression_points, parse_expression
from diffhpe.skeleton import JOINT_NAMES

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

JOINT_MAPS: dict[str, dict[str, str]] = {
    "acclaim": ACCLAIM_JOINT_MAP,
    "daz": DAZ_JOINT_MAP,
    "cmu131": CMU131_JOINT_MAP,
}


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
