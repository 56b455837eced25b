"""2D joint-definition families: what a detector marks, versus the motion-capture joints.

Shapes: B windows, T frames, J = 17 Human3.6M joints. ``x2d (B, T, J, 2)`` normalised
screen coordinates (any linear image coordinates work), ``x3d (B, T, J, 3)`` root-relative
camera-frame metres (x right, y down, z forward), ``valid (B, T, J)`` bool.

Real detectors do not mark the joints that motion capture computes. A family turns the
2D of the mocap joints into the 2D a detector family gives, in Human3.6M order:

- ``exact``: the mocap joints themselves.
- ``mpii``: an MPII-trained detector (Stacked Hourglass, the figures of
  ``../shared/data/detector_noise/stacked_hourglass_h36m.json``). Its ``definition_offsets``
  fit each detected joint as the mocap joint plus a fixed combination of the differences
  to other mocap joints (:data:`MPII_OFFSETS`, copied from that file and checked against
  it by the tests): its "Spine" is 77 % of the way to the thorax (MPII's thorax), its
  "Head" is the head top moved away from the thorax, its hips are pulled towards the
  pelvis. MPII has no nose: ``Neck/Nose`` is missing.
- ``coco``: a COCO-17 detector (what ``diffhpe lift`` reads from mmpose, YOLO-pose,
  Detectron2, AlphaPose, OpenPose, MediaPipe), mapped to Human3.6M by exactly the
  table ``diffhpe lift`` uses (:data:`diffhpe.formats.mapping.COCO17_TABLE`). The COCO
  keypoints are placed on the mocap body by :func:`coco_keypoints` with the offsets of
  :data:`COCO_PLACEMENT` (assumed, documented: the JSON has no COCO figures).

3D offsets (nose in front of the face, eyes, ears) reach 2D by the window's own
weak-perspective scale: per frame, ``s`` fits ``x2d ~ s * x3d[..., :2] + c`` over the
valid joints, so a 3D displacement ``d`` moves the 2D point by ``s * d[:2]`` (exact for a
person far from the camera compared with their size; Human3.6M's ~5 m with a ~0.3 m
face gives < 1 % error).
"""

from __future__ import annotations

import math

import numpy as np

from diffhpe.formats.mapping import COCO17_TABLE, COCO_17, to_h36m
from diffhpe.skeleton import JOINT_NAMES

FAMILIES: tuple[str, ...] = ("exact", "mpii", "coco")

# definition_offsets of stacked_hourglass_h36m.json: joint -> (other joints, coefs);
# detected = mocap + sum coef * (other - mocap).
MPII_OFFSETS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "Spine": (("Thorax",), (0.773,)),
    "Head": (("Neck/Nose", "Thorax"), (0.394, -0.457)),
    "RHip": (("Pelvis",), (0.314,)),
    "LHip": (("Pelvis",), (0.227,)),
    "RAnkle": (("RKnee",), (0.106,)),
    "LAnkle": (("LKnee",), (0.135,)),
    "RShoulder": (("Thorax",), (-0.127,)),
    "LShoulder": (("Thorax",), (-0.108,)),
}
MPII_MISSING: tuple[str, ...] = ("Neck/Nose",)

# Where the COCO keypoints sit on the mocap body (assumptions; metres, or fractions).
# Mocap "Neck/Nose" lies on the head's axis half way from the top of the neck to the
# head top; the face points along ``forward`` (left x up, from shoulders and spine).
COCO_PLACEMENT: dict[str, float] = {
    "nose_forward": 0.10,  # nose tip in front of the head axis
    "nose_up": 0.0,  # along Neck/Nose -> Head, as a fraction of that segment
    "eye_forward": 0.08,
    "eye_up": 0.35,
    "eye_half_distance": 0.032,  # half the interpupillary distance (adults ~63 mm)
    "ear_forward": -0.01,
    "ear_up": 0.25,
    "ear_half_distance": 0.075,  # half the head's width at the ears
    "hip_widening": 0.20,  # COCO hips (annotated on the body's outline) lie outside
    # the hip joint centres: hip + 0.2 * (hip - pelvis)
}

_J = {name: i for i, name in enumerate(JOINT_NAMES)}


def weak_perspective_scale(x2d: np.ndarray, x3d: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(B, T, 1, 1)`` per-frame scale ``s`` of ``x2d ~ s * x3d[..., :2] + c`` (least
    squares over the valid joints; 0 where fewer than two are valid)."""
    w = valid[..., None].astype(np.float64)  # (B, T, J, 1)
    n = np.maximum(w.sum(2, keepdims=True), 1.0)
    a = x3d[..., :2].astype(np.float64)
    b = x2d.astype(np.float64)
    a = (a - (a * w).sum(2, keepdims=True) / n) * w
    b = (b - (b * w).sum(2, keepdims=True) / n) * w
    num = (a * b).sum((2, 3), keepdims=True)
    den = (a * a).sum((2, 3), keepdims=True)
    enough = (valid.sum(-1) >= 2)[..., None, None]
    return np.where(enough & (den > 1e-12), num / np.maximum(den, 1e-12), 0.0)


def mpii_family(x2d: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x2d, valid) as an MPII-trained detector marks them (:data:`MPII_OFFSETS`)."""
    out, ok = x2d.copy(), valid.copy()
    for joint, (others, coefs) in MPII_OFFSETS.items():
        j = _J[joint]
        for other, c in zip(others, coefs, strict=True):
            k = _J[other]
            out[..., j, :] += c * (x2d[..., k, :] - x2d[..., j, :])
            ok[..., j] &= valid[..., k]
    for joint in MPII_MISSING:
        ok[..., _J[joint]] = False
    return np.where(ok[..., None], out, 0.0).astype(x2d.dtype), ok


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def coco_keypoints(x2d: np.ndarray, x3d: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(B, T, 17, 2)`` COCO-17 keypoints (:data:`diffhpe.formats.mapping.COCO_17` order)
    placed on the mocap body (:data:`COCO_PLACEMENT`); NaN where a joint they use is
    missing."""
    p = COCO_PLACEMENT
    x2 = np.where(valid[..., None], x2d, np.nan).astype(np.float64)
    s = weak_perspective_scale(x2d, x3d, valid)[..., 0]  # (B, T, 1)

    def j2(name: str) -> np.ndarray:
        return x2[..., _J[name], :]

    def j3(name: str) -> np.ndarray:
        return x3d[..., _J[name], :].astype(np.float64)

    left = _unit(j3("LShoulder") - j3("RShoulder") + j3("LHip") - j3("RHip"))
    up = _unit(j3("Thorax") - j3("Pelvis"))
    forward = _unit(np.cross(left, up))
    axis = j3("Head") - j3("Neck/Nose")  # along the head, 3D
    base2 = j2("Neck/Nose")

    def face(fwd: float, upf: float, side: float) -> np.ndarray:
        d = fwd * forward + upf * axis + side * left  # (B, T, 3) metres
        return base2 + s * d[..., :2]

    hip_w = p["hip_widening"]
    pts = {
        "nose": face(p["nose_forward"], p["nose_up"], 0.0),
        "left_eye": face(p["eye_forward"], p["eye_up"], p["eye_half_distance"]),
        "right_eye": face(p["eye_forward"], p["eye_up"], -p["eye_half_distance"]),
        "left_ear": face(p["ear_forward"], p["ear_up"], p["ear_half_distance"]),
        "right_ear": face(p["ear_forward"], p["ear_up"], -p["ear_half_distance"]),
        "left_hip": j2("LHip") + hip_w * (j2("LHip") - j2("Pelvis")),
        "right_hip": j2("RHip") + hip_w * (j2("RHip") - j2("Pelvis")),
    }
    same = {
        "left_shoulder": "LShoulder", "right_shoulder": "RShoulder",
        "left_elbow": "LElbow", "right_elbow": "RElbow",
        "left_wrist": "LWrist", "right_wrist": "RWrist",
        "left_knee": "LKnee", "right_knee": "RKnee",
        "left_ankle": "LAnkle", "right_ankle": "RAnkle",
    }  # fmt: skip
    for coco, h36m in same.items():
        pts[coco] = j2(h36m)
    # The face needs the head and a torso frame: missing if any joint it uses is.
    face_ok = np.ones(x2d.shape[:2], dtype=bool)
    for name in ("Neck/Nose", "Head", "LShoulder", "RShoulder", "LHip", "RHip", "Thorax"):
        face_ok &= valid[..., _J[name]]
    for name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"):
        pts[name] = np.where(face_ok[..., None], pts[name], np.nan)
    return np.stack([pts[name] for name in COCO_17], axis=-2)


def coco_family(
    x2d: np.ndarray, x3d: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(x2d, valid) of a COCO-17 detector mapped to Human3.6M by ``diffhpe lift``'s table."""
    coco = coco_keypoints(x2d, x3d, valid)
    lead = coco.shape[:-2]
    flat = coco.reshape(-1, len(COCO_17), 2)
    xy, _ = to_h36m(flat, np.ones(flat.shape[:2]), COCO17_TABLE)
    xy = xy.reshape(*lead, len(JOINT_NAMES), 2)
    ok = np.isfinite(xy).all(-1)
    return np.where(ok[..., None], xy, 0.0).astype(x2d.dtype), ok


def apply_family(
    family: str, x2d: np.ndarray, x3d: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(x2d, valid)`` of ``family`` (one of :data:`FAMILIES`) for mocap-joint 2D."""
    if family == "exact":
        return x2d, valid
    if family == "mpii":
        return mpii_family(x2d, valid)
    if family == "coco":
        return coco_family(x2d, x3d, valid)
    raise ValueError(f"unknown 2D definition family {family!r}; expected one of {FAMILIES}")


def parse_families(text: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """``"exact:2,mpii:1,coco:1"`` (or ``"exact"``) -> names and normalised probabilities."""
    names: list[str] = []
    weights: list[float] = []
    for item in text.split(","):
        name, sep, weight = (part.strip() for part in item.partition(":"))
        if name not in FAMILIES:
            raise ValueError(
                f"2D definition families {text!r}: unknown family {name!r}; expected some of "
                f"{FAMILIES}, optionally weighted as 'name:weight,...'"
            )
        try:
            w = float(weight) if sep else 1.0
        except ValueError:
            raise ValueError(f"2D definition families {text!r}: bad weight {weight!r}") from None
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"2D definition families {text!r}: weights must be >= 0")
        names.append(name)
        weights.append(w)
    if len(set(names)) != len(names) or sum(weights) <= 0:
        raise ValueError(
            f"2D definition families {text!r}: each family once, weights with a positive sum"
        )
    total = sum(weights)
    return tuple(names), tuple(w / total for w in weights)
