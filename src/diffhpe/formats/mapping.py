"""Joint tables from detector skeletons to the 17 Human3.6M joints.

Shapes: T frames, N source joints, 17 Human3.6M joints (``diffhpe.skeleton.JOINT_NAMES``).

Every Human3.6M joint is an *affine combination* of source joints (weights summing to
1), so one ``(17, N)`` weight matrix maps a whole sequence at once and the mapping
commutes with image translations and scalings. Source skeletons, in their own order:

- ``coco17``: COCO keypoints, used by mmpose/RTMPose, Detectron2, Ultralytics YOLO-pose,
  AlphaPose (COCO model) and VideoPose3D's custom ``.npz``.
- ``body25``: OpenPose BODY_25 (has ``neck`` and ``mid_hip``, plus feet).
- ``coco18``: OpenPose COCO-18 (COCO-17 reordered plus ``neck``).
- ``halpe26``: AlphaPose Halpe-26 (COCO-17 plus ``head`` (top), ``neck``, ``hip``, feet).
- ``mediapipe33``: MediaPipe Pose / BlazePose landmarks.
- ``h36m17``: already Human3.6M order (identity).

Joints a format lacks are built from the ones it has:

- Pelvis = ``mid_hip``/``hip`` where the format has it, else mean(left_hip, right_hip).
- Thorax = ``neck`` where the format has it (OpenPose, Halpe), else the mid-shoulder.
- Spine = mean(Pelvis, Thorax).
- Neck/Nose = the nose: Human3.6M's joint 9 sits at the nose / upper neck.
- Head = Halpe's ``head`` where present, else a head-top estimate from the face,
  ``mid_eyes + HEAD_SCALE * (mid_eyes - Thorax)`` with ``HEAD_SCALE = 0.5``: in adults the
  eyes are ~0.19 m above the shoulder line and Human3.6M's head joint ~0.1 m above
  the eyes, so it continues the thorax-to-eyes line by about half its length.

A combined joint is missing (NaN, score 0) as soon as any source joint it uses is
missing; its score is the minimum of the scores of the joints it uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS

HEAD_SCALE = 0.5

COCO_17: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

BODY_25: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "mid_hip",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip

COCO_18: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip

HALPE_26: tuple[str, ...] = COCO_17 + (
    "head", "neck", "hip",
    "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
    "left_heel", "right_heel",
)  # fmt: skip

MEDIAPIPE_33: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer", "left_ear", "right_ear",
    "mouth_left", "mouth_right", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip

# An expression is (weights over source joint names, readable text).
_Expr = tuple[dict[str, float], str]


def _src(name: str) -> _Expr:
    return {name: 1.0}, name


def _mean(*parts: str | _Expr) -> _Expr:
    exprs = [_src(p) if isinstance(p, str) else p for p in parts]
    weights: dict[str, float] = {}
    for w, _ in exprs:
        for k, v in w.items():
            weights[k] = weights.get(k, 0.0) + v / len(exprs)
    return weights, f"mean({', '.join(text for _, text in exprs)})"


def _head_top(eyes: _Expr, thorax: _Expr) -> _Expr:
    """eyes + HEAD_SCALE * (eyes - thorax), an affine combination."""
    weights: dict[str, float] = {}
    for k, v in eyes[0].items():
        weights[k] = weights.get(k, 0.0) + (1 + HEAD_SCALE) * v
    for k, v in thorax[0].items():
        weights[k] = weights.get(k, 0.0) - HEAD_SCALE * v
    return weights, f"{eyes[1]} + {HEAD_SCALE}*({eyes[1]} - {thorax[1]})"


@dataclass(frozen=True)
class JointTable:
    """A source skeleton and how each Human3.6M joint is made from it.

    ``weights`` is (17, N): Human3.6M joint j = sum_n weights[j, n] * source joint n.
    ``expressions`` holds the readable formula of each Human3.6M joint.
    """

    name: str
    source_joints: tuple[str, ...]
    weights: np.ndarray
    expressions: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.source_joints)
        if self.weights.shape != (NUM_JOINTS, n):
            raise ValueError(
                f"JointTable {self.name!r}: weights must be ({NUM_JOINTS}, {n}), "
                f"got {self.weights.shape}"
            )
        if not np.allclose(self.weights.sum(1), 1.0):
            raise ValueError(f"JointTable {self.name!r}: every row of weights must sum to 1")
        if len(self.expressions) != NUM_JOINTS:
            raise ValueError(f"JointTable {self.name!r}: need {NUM_JOINTS} expressions")

    @property
    def num_source(self) -> int:
        return len(self.source_joints)

    @property
    def mapping(self) -> dict[str, str]:
        """Human3.6M joint name -> readable expression of the source joints used."""
        return dict(zip(JOINT_NAMES, self.expressions, strict=True))

    def inputs(self, joint: int) -> np.ndarray:
        """Indices of the source joints that Human3.6M joint ``joint`` uses."""
        return np.flatnonzero(self.weights[joint] != 0)


def _make_table(name: str, source: tuple[str, ...], spec: dict[str, _Expr]) -> JointTable:
    if set(spec) != set(JOINT_NAMES):
        raise ValueError(f"table {name!r}: spec must cover exactly {JOINT_NAMES}")
    weights = np.zeros((NUM_JOINTS, len(source)), dtype=np.float64)
    for j, joint in enumerate(JOINT_NAMES):
        for src, w in spec[joint][0].items():
            weights[j, source.index(src)] += w
    return JointTable(name, source, weights, tuple(spec[j][1] for j in JOINT_NAMES))


def _limbs() -> dict[str, _Expr]:
    """The 12 joints every format names directly (same names in all our tables)."""
    return {
        "RHip": _src("right_hip"),
        "RKnee": _src("right_knee"),
        "RAnkle": _src("right_ankle"),
        "LHip": _src("left_hip"),
        "LKnee": _src("left_knee"),
        "LAnkle": _src("left_ankle"),
        "LShoulder": _src("left_shoulder"),
        "LElbow": _src("left_elbow"),
        "LWrist": _src("left_wrist"),
        "RShoulder": _src("right_shoulder"),
        "RElbow": _src("right_elbow"),
        "RWrist": _src("right_wrist"),
    }


def _body_table(
    name: str,
    source: tuple[str, ...],
    pelvis: _Expr,
    thorax: _Expr,
    head: _Expr | None = None,
) -> JointTable:
    spec = _limbs()
    spec["Pelvis"] = pelvis
    spec["Thorax"] = thorax
    spec["Spine"] = _mean(pelvis, thorax)
    spec["Neck/Nose"] = _src("nose")
    spec["Head"] = head or _head_top(_mean("left_eye", "right_eye"), thorax)
    return _make_table(name, source, spec)


_MID_HIP = _mean("left_hip", "right_hip")
_MID_SHOULDER = _mean("left_shoulder", "right_shoulder")

COCO17_TABLE = _body_table("coco17", COCO_17, _MID_HIP, _MID_SHOULDER)
BODY25_TABLE = _body_table("body25", BODY_25, _src("mid_hip"), _src("neck"))
COCO18_TABLE = _body_table("coco18", COCO_18, _MID_HIP, _src("neck"))
HALPE26_TABLE = _body_table("halpe26", HALPE_26, _src("hip"), _src("neck"), _src("head"))
MEDIAPIPE33_TABLE = _body_table("mediapipe33", MEDIAPIPE_33, _MID_HIP, _MID_SHOULDER)
H36M17_TABLE = _make_table("h36m17", JOINT_NAMES, {j: _src(j) for j in JOINT_NAMES})

TABLES: dict[str, JointTable] = {
    t.name: t
    for t in (
        COCO17_TABLE,
        BODY25_TABLE,
        COCO18_TABLE,
        HALPE26_TABLE,
        MEDIAPIPE33_TABLE,
        H36M17_TABLE,
    )
}


def to_h36m(
    points: np.ndarray, scores: np.ndarray, table: JointTable
) -> tuple[np.ndarray, np.ndarray]:
    """(T, N, 2) source points + (T, N) scores -> (T, 17, 2) xy, (T, 17) score, float32.

    NaN points (or non-finite scores) are missing inputs. An output joint is missing
    (NaN, score 0) if any input it uses is missing; else its score is their minimum.
    """
    points = np.asarray(points, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    n = table.num_source
    if points.ndim != 3 or points.shape[1:] != (n, 2):
        raise ValueError(
            f"to_h36m({table.name}): points must have shape (T, {n}, 2), got {points.shape}"
        )
    if scores.shape != points.shape[:2]:
        raise ValueError(
            f"to_h36m({table.name}): scores must have shape {points.shape[:2]}, got {scores.shape}"
        )
    missing_in = ~np.isfinite(points).all(-1) | ~np.isfinite(scores)  # (T, N)
    used = table.weights != 0  # (17, N)
    missing_out = (missing_in.astype(np.float64) @ used.T.astype(np.float64)) > 0  # (T, 17)
    clean = np.where(missing_in[..., None], 0.0, points)
    xy = np.einsum("jn,tnc->tjc", table.weights, clean)
    clean_scores = np.where(missing_in, 0.0, scores)
    score = np.stack([clean_scores[:, table.inputs(j)].min(-1) for j in range(NUM_JOINTS)], axis=-1)
    xy[missing_out] = np.nan
    score[missing_out] = 0.0
    return xy.astype(np.float32), score.astype(np.float32)
