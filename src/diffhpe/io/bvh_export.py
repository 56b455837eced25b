"""Write lifted 3D joints as a BVH animation of the Human3.6M skeleton (Blender, MotionBuilder).

:func:`write_bvh` turns absolute joint positions (T, 17, 3) in metres, world frame
(z up, :mod:`diffhpe.trajectory`) or camera frame (x right, y down, z forward), into a
Biovision hierarchy with constant bone lengths (each bone's median length over the
sequence), the root translation on the pelvis and per-frame joint rotations; forward
kinematics of the file gives back the input with every bone rescaled to its median
length (:func:`normalize_bones`), to float precision.

The hierarchy (from :data:`diffhpe.skeleton.PARENTS`, names from
:data:`~diffhpe.skeleton.JOINT_NAMES` with ``/`` as ``_``)::

    Pelvis (root: position + rotation)
      RPelvis > RHip > RKnee > RAnkle > End Site      (the same on the left)
      Spine > Thorax > Neck_Nose > Head > End Site
                     LClavicle > LShoulder > LElbow > LWrist > End Site  (and right)

``RPelvis``/``LPelvis``/``LClavicle``/``RClavicle`` sit where their parent is (OFFSET 0)
and carry the bones pelvis-hip and thorax-shoulder: a BVH joint turns all of its
children together, so a joint with several children (pelvis, thorax) needs one
rotating joint per extra child to put every child where the input has it. In Blender
each becomes the bone from the pelvis to the hip, or from the thorax to the shoulder.

Rotations: the rest pose is a T-pose facing +Z with Y up (legs down, arms sideways).
The pelvis turns the spine exactly onto the input and the hip line as near as it
can; the thorax likewise with the neck and the shoulder line; every other joint turns
its one bone by the shortest rotation from where its parent leaves it (no twist about
the bone; 17 joints do not say how a bone is rolled). Each local rotation goes to
Euler angles with :class:`scipy.spatial.transform.Rotation`, intrinsic, in the order
the joint's CHANNELS list (``Zrotation Xrotation Yrotation`` is R = Rz Rx Ry): Z X Y for
the root, and for every other joint the axis of its bone in the middle, so that a limb
bending by 90 degrees stays far from gimbal lock (:func:`rotation_orders`); kept
continuous over time
(:func:`continuous_euler`: no jumps of 360 or of the 180-degree twin solution), so
animation tools that interpolate between keys do not spin. Ends (ankles, wrists, head) have no bone after them: their rotation is
identity and their End Site a short foot/hand/head stub.

Axes: ``up="y"`` (default) writes Y up, as Blender's BVH importer expects by default
(Forward -Z, Up Y), and most BVH tools; ``up="z"`` writes Z up (import in Blender with
Up Z, Forward Y). World (x, y, z) becomes BVH (x, z, -y) with Y up, the world as is
with Z up. Units: metres times ``scale`` (100 for centimetres). The root OFFSET is 0,
so readers that add the position channels to the OFFSET and readers that replace it
agree.

Needs scipy (``pip install 'diffhpe[bvh]'``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

# BVH joints in file order: (name, parent BVH index, H36M joint it sits on, H36M joint of
# the bone its OFFSET spans (None: OFFSET 0), rest direction of that bone, Y up).
_X, _Y = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
_NX, _NY = (-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)
_LAYOUT: tuple[tuple[str, int, int, int | None, tuple[float, float, float]], ...] = (
    ("Pelvis", -1, 0, None, _Y),
    ("RPelvis", 0, 0, None, _NX),
    ("RHip", 1, 1, 1, _NX),
    ("RKnee", 2, 2, 2, _NY),
    ("RAnkle", 3, 3, 3, _NY),
    ("LPelvis", 0, 0, None, _X),
    ("LHip", 5, 4, 4, _X),
    ("LKnee", 6, 5, 5, _NY),
    ("LAnkle", 7, 6, 6, _NY),
    ("Spine", 0, 7, 7, _Y),
    ("Thorax", 9, 8, 8, _Y),
    ("Neck_Nose", 10, 9, 9, _Y),
    ("Head", 11, 10, 10, _Y),
    ("LClavicle", 10, 8, None, _X),
    ("LShoulder", 13, 11, 11, _X),
    ("LElbow", 14, 12, 12, _X),
    ("LWrist", 15, 13, 13, _X),
    ("RClavicle", 10, 8, None, _NX),
    ("RShoulder", 17, 14, 14, _NX),
    ("RElbow", 18, 15, 15, _NX),
    ("RWrist", 19, 16, 16, _NX),
)
# End Sites of the leaves, metres, Y up: a foot forward, hands along the arm, head up.
_END_SITES = {"RAnkle": (0.0, -0.05, 0.12), "LAnkle": (0.0, -0.05, 0.12), "Head": (0.0, 0.1, 0.0),
              "LWrist": (0.08, 0.0, 0.0), "RWrist": (-0.08, 0.0, 0.0)}  # fmt: skip

BVH_NAMES: tuple[str, ...] = tuple(row[0] for row in _LAYOUT)
# BVH joint name of each of the 17 Human3.6M joints (the hub joints are extra).
H36M_TO_BVH: dict[str, str] = {
    JOINT_NAMES[row[3]]: row[0] for row in _LAYOUT if row[3] is not None
} | {JOINT_NAMES[0]: "Pelvis"}

# Y-up rest frame -> Z-up: (x, y, z) -> (x, -z, y); facing +Z becomes facing -Y.
_Y_TO_Z = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
_CAMERA_TO_WORLDLIKE = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
_WORLD_TO_YUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def require_scipy() -> None:
    """Raise ImportError (with the install line) unless scipy is importable."""
    _rotation()


def _rotation():  # noqa: ANN202 - scipy's Rotation, imported lazily
    try:
        from scipy.spatial.transform import Rotation
    except ImportError:
        raise ImportError(
            "writing BVH needs scipy for the rotation maths: pip install 'diffhpe[bvh]'"
        ) from None
    return Rotation


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(17,) median length of the bone into each joint over the sequence (0 for the root)."""
    j = np.asarray(joints, dtype=np.float64)
    out = np.zeros(NUM_JOINTS)
    for c, p in enumerate(PARENTS):
        if p >= 0:
            out[c] = float(np.median(np.linalg.norm(j[:, c] - j[:, p], axis=-1)))
    return out


def _unit(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """(T, 3) unit vectors; rows too short to have a direction take ``fallback``'s."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 1e-9, v / np.maximum(n, 1e-12), fallback)


def normalize_bones(joints: Any, lengths: Any = None) -> np.ndarray:
    """(T, 17, 3) with every bone rescaled to ``lengths`` (default: its median length,
    :func:`bone_lengths`), keeping its direction and the root position: what the BVH
    of :func:`write_bvh` reproduces."""
    j = np.asarray(joints, dtype=np.float64)
    lengths = bone_lengths(j) if lengths is None else np.asarray(lengths, dtype=np.float64)
    out = j.copy()
    for c, p in enumerate(PARENTS):
        if p >= 0:
            d = _unit(j[:, c] - j[:, p], np.array([0.0, 1.0, 0.0]))
            out[:, c] = out[:, p] + lengths[c] * d
    return out


def to_bvh_axes(joints: Any, frame: str = "world", up: str = "y") -> np.ndarray:
    """(..., 3) metres in ``frame`` ("world": z up; "camera": x right, y down, z forward)
    -> the axes of the BVH file (``up`` "y" or "z"), metres."""
    j = np.asarray(joints, dtype=np.float64)
    if frame not in ("world", "camera"):
        raise ValueError(f"frame must be 'world' or 'camera', got {frame!r}")
    if up not in ("y", "z"):
        raise ValueError(f"up must be 'y' or 'z', got {up!r}")
    world = j @ _CAMERA_TO_WORLDLIKE.T if frame == "camera" else j
    return world @ _WORLD_TO_YUP.T if up == "y" else world


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) shortest rotations taking unit vectors a (T, 3) onto b (T, 3)."""
    Rotation = _rotation()
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1)
    c = np.einsum("ti,ti->t", a, b)
    angle = np.arctan2(s, c)
    # Opposite vectors: any axis perpendicular to a.
    perp = np.cross(a, np.array([1.0, 0.0, 0.0]))
    perp = np.where(
        (np.linalg.norm(perp, axis=-1) < 1e-6)[:, None],
        np.cross(a, np.array([0.0, 1.0, 0.0])),
        perp,
    )
    axis = np.where((s < 1e-9)[:, None], perp, axis)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    return Rotation.from_rotvec(axis * angle[:, None]).as_matrix()


def _basis(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """(T, 3, 3) orthonormal columns: primary, secondary made orthogonal, their cross."""
    e1 = primary / np.linalg.norm(primary, axis=-1, keepdims=True)
    s = secondary - np.einsum("ti,ti->t", secondary, e1)[:, None] * e1
    n = np.linalg.norm(s, axis=-1, keepdims=True)
    any_perp = np.cross(e1, np.array([0.0, 0.0, 1.0]))
    any_perp = np.where(
        np.linalg.norm(any_perp, axis=-1, keepdims=True) < 1e-6,
        np.cross(e1, np.array([1.0, 0.0, 0.0])), any_perp,
    )  # fmt: skip
    s = np.where(n > 1e-9, s / np.maximum(n, 1e-12), any_perp)
    s = s / np.linalg.norm(s, axis=-1, keepdims=True)
    return np.stack([e1, s, np.cross(e1, s)], axis=-1)


def _global_rotations(x: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """(T, B, 3, 3) global rotation of every BVH joint so that every bone of the
    bone-length-normalised ``x`` (T, 17, 3) leaves its joint along the input direction.
    ``rest`` (B, 3) unit rest directions of each BVH joint's OFFSET (file axes)."""
    t = len(x)
    G = np.zeros((t, len(_LAYOUT), 3, 3))

    def direction(child: int) -> np.ndarray:  # H36M bone into ``child``, unit, (T, 3)
        return _unit(x[:, child] - x[:, PARENTS[child]], np.array([0.0, 1.0, 0.0]))

    owner = {b: [] for b in range(len(_LAYOUT))}  # bones whose OFFSET each joint turns
    for b, (_name, parent, _at, _bone, _d) in enumerate(_LAYOUT):
        if parent >= 0:
            owner[parent].append(b)
    for b, (name, parent, _at, _bone, _d) in enumerate(_LAYOUT):
        kids = owner[b]
        if name in ("Pelvis", "Thorax"):  # primary child exact, the side line as near as can be
            main = next(k for k in kids if _LAYOUT[k][3] is not None)
            left = "LPelvis" if name == "Pelvis" else "LClavicle"
            right = "RPelvis" if name == "Pelvis" else "RClavicle"
            li = BVH_NAMES.index(left) + 1  # the hip / shoulder after the hub
            ri = BVH_NAMES.index(right) + 1
            side = x[:, _LAYOUT[li][3]] - x[:, _LAYOUT[ri][3]]
            obs = _basis(direction(_LAYOUT[main][3]), side)
            ref = _basis(np.broadcast_to(rest[main], (t, 3)), np.broadcast_to(rest[li], (t, 3)))
            G[:, b] = obs @ np.swapaxes(ref, -1, -2)
            continue
        Gp = G[:, parent] if parent >= 0 else np.broadcast_to(np.eye(3), (t, 3, 3))
        if not kids:  # an end: identity local rotation
            G[:, b] = Gp
            continue
        (k,) = kids  # every other joint turns exactly one bone
        bone = _LAYOUT[k][3]
        a = Gp @ rest[k]
        G[:, b] = _swing(a, direction(bone)) @ Gp
    return G


def continuous_euler(eul: np.ndarray) -> np.ndarray:
    """(T, B, 3) intrinsic Euler angles (three different axes) in degrees -> the same
    rotations with angles that move as little as possible from frame to frame: of the
    two triplets giving each rotation, (a, b, c) and (a + 180, 180 - b, c + 180), and of
    their copies 360 degrees apart, the nearest to the previous frame's."""
    out = np.array(eul, dtype=np.float64)
    alt = out + np.array([180.0, 0.0, 180.0])
    alt[..., 1] = 180.0 - out[..., 1]
    for t in range(1, len(out)):
        prev = out[t - 1]
        a = out[t] + 360.0 * np.round((prev - out[t]) / 360.0)
        b = alt[t] + 360.0 * np.round((prev - alt[t]) / 360.0)
        pick = np.abs(b - prev).sum(-1) < np.abs(a - prev).sum(-1)
        out[t] = np.where(pick[:, None], b, a)
    return out


_MIDDLE = {"X": "ZXY", "Y": "ZYX", "Z": "XZY"}  # Euler order with the bone's axis in the middle


def rotation_orders(rest: np.ndarray) -> tuple[str, ...]:
    """Euler order of each BVH joint: intrinsic, the axis of the bone it turns in the
    middle (a limb bends about the other two, far from gimbal lock: a knee bent 90
    degrees in Z X Y would sit on it); the root Z X Y."""
    orders = []
    for b, row in enumerate(_LAYOUT):
        kids = [k for k, r in enumerate(_LAYOUT) if r[1] == b]
        if row[1] < 0:
            orders.append("ZXY")
            continue
        axis = rest[kids[0]] if kids else rest[b]
        orders.append(_MIDDLE["XYZ"[int(np.argmax(np.abs(axis)))]])
    return tuple(orders)


def bvh_motion(
    joints: Any, frame: str = "world", up: str = "y", scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """The numbers of the file: ``offsets`` (B, 3) and ``motion`` (T, 3 + 3 B) in file
    units and degrees (root position, then the angles of each BVH joint in file order,
    each in its Euler order), the bone-length-normalised input in file axes and units
    (T, 17, 3), and the Euler orders (:func:`rotation_orders`)."""
    Rotation = _rotation()
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (NUM_JOINTS, 3) or len(j) == 0:
        raise ValueError(f"joints: expected shape (T, 17, 3) with T >= 1, got {j.shape}")
    if not np.isfinite(j).all():
        raise ValueError("joints: contain NaN or infinite values (no root trajectory?)")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be > 0, got {scale}")
    x = to_bvh_axes(j, frame, up) * scale
    lengths = bone_lengths(x)
    x = normalize_bones(x, lengths)
    rest_y = np.array([row[4] for row in _LAYOUT])
    rest = rest_y @ _Y_TO_Z.T if up == "z" else rest_y
    offsets = np.array(
        [
            np.zeros(3) if row[3] is None else lengths[row[3]] * rest[b]
            for b, row in enumerate(_LAYOUT)
        ]
    )
    G = _global_rotations(x, rest)
    local = G.copy()
    for b, row in enumerate(_LAYOUT):
        if row[1] >= 0:
            local[:, b] = np.swapaxes(G[:, row[1]], -1, -2) @ G[:, b]
    t, nb = local.shape[:2]
    orders = rotation_orders(rest)
    eul = np.zeros((t, nb, 3))
    with warnings.catch_warnings():  # gimbal lock: the angles still give the same rotation
        warnings.simplefilter("ignore", UserWarning)
        for order in set(orders):
            idx = [b for b in range(nb) if orders[b] == order]
            r = Rotation.from_matrix(local[:, idx].reshape(-1, 3, 3))
            eul[:, idx] = r.as_euler(order, degrees=True).reshape(t, len(idx), 3)
    eul = continuous_euler(eul)
    motion = np.concatenate([x[:, 0], eul.reshape(t, nb * 3)], axis=1)
    return offsets, motion, x, orders


def _name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


def write_bvh(
    path: str | Path,
    joints: Any,
    fps: float,
    frame: str = "world",
    root: Any = None,
    up: str = "y",
    scale: float = 1.0,
) -> Path:
    """Write ``joints`` (T, 17, 3) metres as a BVH file at ``fps`` frames per second.

    ``frame``: "world" (z up, e.g. ``LiftResult.pose3d_world``) or "camera" (x right,
    y down, z forward). ``root`` (T, 3): added to every joint first, for root-relative
    joints (e.g. ``pose3d`` with ``root_cam``, frame "camera"). ``up``: "y" (Blender's
    default import) or "z"; ``scale``: file units per metre. See the module notes.
    """
    if not (isinstance(fps, int | float) and np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a number > 0, got {fps!r}")
    j = np.asarray(joints, dtype=np.float64)
    if root is not None:
        r = np.asarray(root, dtype=np.float64)
        if r.shape != (len(j), 3):
            raise ValueError(f"root: expected shape ({len(j)}, 3), got {r.shape}")
        j = j + r[:, None]
    offsets, motion, _, orders = bvh_motion(j, frame, up, scale)
    end_y = {k: np.array(v) * scale for k, v in _END_SITES.items()}
    lines = ["HIERARCHY"]
    children = {b: [k for k, row in enumerate(_LAYOUT) if row[1] == b] for b in range(len(_LAYOUT))}

    def emit(b: int, depth: int) -> None:
        pad = "  " * depth
        name, parent = _name(_LAYOUT[b][0]), _LAYOUT[b][1]
        lines.append(f"{pad}{'ROOT' if parent < 0 else 'JOINT'} {name}")
        lines.append(f"{pad}{{")
        o = offsets[b]
        lines.append(f"{pad}  OFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}")
        channels = " ".join(f"{a}rotation" for a in orders[b])
        if parent < 0:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {channels}")
        else:
            lines.append(f"{pad}  CHANNELS 3 {channels}")
        for k in children[b]:
            emit(k, depth + 1)
        if not children[b]:
            e = end_y[_LAYOUT[b][0]]
            e = e @ _Y_TO_Z.T if up == "z" else e
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET {e[0]:.6f} {e[1]:.6f} {e[2]:.6f}")
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    emit(0, 0)
    lines += ["MOTION", f"Frames: {len(motion)}", f"Frame Time: {1.0 / fps:.8f}"]
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in motion)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n" + body + "\n", encoding="utf-8")
    return path
