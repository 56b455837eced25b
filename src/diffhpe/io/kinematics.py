"""Forward kinematics shared by the motion-capture readers, and FK points -> the 17 joints.

Shapes: N frames, P forward-kinematics (FK) points of a file's own skeleton, J = 17.

- :class:`Kinematics`: what a reader's FK gives (:mod:`diffhpe.io.asfamc`,
  :mod:`diffhpe.io.bvh`): positions and global rotations of every FK point, in the
  file's units and axes; :func:`euler_matrix` composes the rotations both formats use.
- Joint expressions (the joint maps of :mod:`diffhpe.io.mocap`): ``"name"``,
  ``"0.5*a + 0.5*b"`` (weights sum to 1) and ``"name@(x, y, z)"`` (an offset in the
  point's local frame); :func:`to_h36m` evaluates a map, scales to metres, turns the
  y-up file into z up and puts the floor at z = 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from diffhpe.skeleton import JOINT_NAMES

# Proper rotation from a y-up world to Human3.6M's z up: (x, y, z) -> (x, -z, y).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
FLOOR_PERCENTILE = 1.0


@dataclass
class Kinematics:
    """FK of a file's full skeleton in file units and axes.

    positions (N, P, 3); rotations (N, P, 3, 3), the global frame of each point in which
    local offsets are given; names (P,); parents (P,), parent point index or -1.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    positions: np.ndarray
    rotations: np.ndarray
    fps: float
    source: str

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"{self.source}: no FK point {name!r}") from None


def axis_rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """(N,) angles in radians -> (N, 3, 3) right-handed rotations about ``x``, ``y``, ``z``."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    if axis == "x":
        rows = ((one, zero, zero), (zero, c, -s), (zero, s, c))
    elif axis == "y":
        rows = ((c, zero, s), (zero, one, zero), (-s, zero, c))
    elif axis == "z":
        rows = ((c, -s, zero), (s, c, zero), (zero, zero, one))
    else:
        raise ValueError(f"rotation axis must be 'x', 'y' or 'z', got {axis!r}")
    return np.stack([np.stack(r, -1) for r in rows], -2)


def euler_matrix(angles: np.ndarray, axes: str, *, intrinsic: bool) -> np.ndarray:
    """(N, K) radians about ``axes`` (K letters, e.g. ``"zxy"``) -> (N, 3, 3).

    ``intrinsic``: R = R_first @ R_second @ ... (BVH channel order). Otherwise the first
    listed rotation is applied first to column vectors: R = ... @ R_second @ R_first
    (Acclaim ``axis``/``dof`` order).
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim != 2 or angles.shape[1] != len(axes):
        raise ValueError(f"angles must be (N, {len(axes)}) for axes {axes!r}, got {angles.shape}")
    out = np.broadcast_to(np.eye(3), (angles.shape[0], 3, 3)).copy()
    for k, ax in enumerate(axes.lower()):
        r = axis_rotation(ax, angles[:, k])
        out = out @ r if intrinsic else r @ out
    return out


_TERM = re.compile(
    r"^\s*(?:(?P<w>[0-9.eE-]+)\s*\*\s*)?(?P<name>[^@*()]+?)\s*(?:@\s*\((?P<off>[^()]*)\))?\s*$"
)


def parse_expression(expr: str) -> list[tuple[float, str, np.ndarray | None]]:
    """``"0.5*a + 0.5*b@(0, 1, 0)"`` -> [(weight, point name, local offset or None)]."""
    terms: list[tuple[float, str, np.ndarray | None]] = []
    for part in expr.split("+"):
        m = _TERM.match(part)
        if m is None:
            raise ValueError(f"joint expression {expr!r}: cannot parse term {part.strip()!r}")
        off = None
        if m["off"] is not None:
            vals = [float(v) for v in m["off"].split(",")]
            if len(vals) != 3:
                raise ValueError(f"joint expression {expr!r}: offset needs 3 values")
            off = np.array(vals)
        terms.append((float(m["w"]) if m["w"] else 1.0, m["name"].strip(), off))
    total = sum(w for w, _, _ in terms)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"joint expression {expr!r}: weights sum to {total}, expected 1")
    return terms


def expression_points(expr: str) -> list[str]:
    """FK point names an expression uses."""
    return [name for _, name, _ in parse_expression(expr)]


def evaluate_joint_map(kin: Kinematics, joint_map: dict[str, str]) -> np.ndarray:
    """(N, 17, 3) Human3.6M joints from FK points, in the file's units and axes."""
    missing = [j for j in JOINT_NAMES if j not in joint_map]
    if missing:
        raise ValueError(f"joint map lacks Human3.6M joints {missing}")
    out = np.zeros((kin.positions.shape[0], len(JOINT_NAMES), 3))
    for j, joint in enumerate(JOINT_NAMES):
        for w, name, off in parse_expression(joint_map[joint]):
            p = kin.index(name)
            point = kin.positions[:, p]
            if off is not None:
                point = point + kin.rotations[:, p] @ off
            out[:, j] += w * point
    return out


def _descendants(parents: tuple[int, ...], roots: list[int]) -> list[int]:
    keep = set(roots)
    for i, p in enumerate(parents):  # parents come before children
        if p in keep:
            keep.add(i)
    return sorted(keep)


def floor_points(kin: Kinematics, joint_map: dict[str, str]) -> list[int]:
    """FK point indices of the feet: the ankles' points and all their descendants."""
    roots = [kin.index(n) for j in ("LAnkle", "RAnkle") for n in expression_points(joint_map[j])]
    return _descendants(kin.parents, roots)


def to_h36m(kin: Kinematics, joint_map: dict[str, str], metres_per_unit: float) -> np.ndarray:
    """(N, 17, 3) metres, z up, floor at z = 0, from a y-up file's FK (module docstring)."""
    if not metres_per_unit > 0:
        raise ValueError(f"metres_per_unit must be positive, got {metres_per_unit}")
    joints = evaluate_joint_map(kin, joint_map) * metres_per_unit @ Y_UP_TO_Z_UP.T
    feet = kin.positions[:, floor_points(kin, joint_map)] * metres_per_unit @ Y_UP_TO_Z_UP.T
    floor = np.percentile(feet[..., 2].min(axis=1), FLOOR_PERCENTILE)
    joints[..., 2] -= floor
    return joints
