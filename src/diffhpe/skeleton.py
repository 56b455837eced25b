"""The 17-joint Human3.6M skeleton used everywhere in diffhpe.

Shape legend used across the package: B batch, T frames, J joints (17), C coordinates
or channels. Every pose tensor is laid out ``(B, T, J, C)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "Pelvis",
    "RHip",
    "RKnee",
    "RAnkle",
    "LHip",
    "LKnee",
    "LAnkle",
    "Spine",
    "Thorax",
    "Neck/Nose",
    "Head",
    "LShoulder",
    "LElbow",
    "LWrist",
    "RShoulder",
    "RElbow",
    "RWrist",
)
NUM_JOINTS = len(JOINT_NAMES)

# Shoulders hang from the thorax, as in VideoPose3D's reduced Human3.6M skeleton.
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
LEFT_JOINTS: tuple[int, ...] = (4, 5, 6, 11, 12, 13)
RIGHT_JOINTS: tuple[int, ...] = (1, 2, 3, 14, 15, 16)

# Human3.6M's 32 mocap joints reduce to these 17 (VideoPose3D convention).
H36M_32_TO_17: tuple[int, ...] = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)

# Bone index groups of the occlusion patterns (paper section 5.2).
LEFT_ARM: tuple[int, ...] = (11, 12, 13)
RIGHT_LEG: tuple[int, ...] = (1, 2, 3)


def joint_index(name: str) -> int:
    """Index of a joint by its Human3.6M name (``KeyError`` naming the valid ones)."""
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown joint {name!r}; expected one of {JOINT_NAMES}") from None


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree: parents, left/right sides and the derived bone structure."""

    parents: tuple[int, ...] = PARENTS
    left: tuple[int, ...] = LEFT_JOINTS
    right: tuple[int, ...] = RIGHT_JOINTS
    names: tuple[str, ...] = JOINT_NAMES

    def __post_init__(self) -> None:
        j = len(self.parents)
        if len(self.names) != j:
            raise ValueError(f"{len(self.names)} names for {j} joints")
        if len(self.left) != len(self.right):
            raise ValueError("left and right joint lists differ in length")
        for i, p in enumerate(self.parents):
            if p >= i:
                raise ValueError(f"joint {i}: parent {p} must come before its child")

    @property
    def num_joints(self) -> int:
        return len(self.parents)

    @cached_property
    def bones(self) -> np.ndarray:
        """(S, 2) int array of (child, parent) for every non-root joint: S = J - 1 = 16."""
        return np.array([(c, p) for c, p in enumerate(self.parents) if p >= 0], dtype=np.int64)

    @cached_property
    def mirror_perm(self) -> np.ndarray:
        """(J,) permutation swapping left and right joints (an involution)."""
        perm = np.arange(self.num_joints)
        perm[list(self.left)] = self.right
        perm[list(self.right)] = self.left
        return perm

    @cached_property
    def symmetric_bone_pairs(self) -> np.ndarray:
        """(S_left, 2) indices into ``bones`` of (left bone, right bone) pairs, eq. (13).

        For Human3.6M: pelvis-hip, thigh, shin, thorax-shoulder, upper arm, forearm.
        """
        bone_of_child = {int(c): i for i, (c, _) in enumerate(self.bones)}
        pairs = [
            (bone_of_child[lj], bone_of_child[rj])
            for lj, rj in zip(self.left, self.right, strict=True)
        ]
        return np.array(pairs, dtype=np.int64)

    def adjacency(self, self_loops: bool = True, normalize: bool = True) -> np.ndarray:
        """(J, J) float32 undirected bone adjacency.

        With ``normalize``, returns D^-1/2 A D^-1/2 (A including the identity when
        ``self_loops``), the symmetric normalisation of Kipf & Welling.
        """
        j = self.num_joints
        a = np.zeros((j, j), dtype=np.float64)
        for c, p in self.bones:
            a[c, p] = a[p, c] = 1.0
        if self_loops:
            a += np.eye(j)
        if normalize:
            d = a.sum(1)
            inv = np.where(d > 0, 1.0 / np.sqrt(np.maximum(d, 1e-12)), 0.0)
            a = inv[:, None] * a * inv[None, :]
        return a.astype(np.float32)


H36M = Skeleton()


def mirror_poses(x: np.ndarray, skeleton: Skeleton = H36M, axis_to_flip: int = 0) -> np.ndarray:
    """Left/right mirror of poses ``(..., J, C)``: negate one coordinate, swap sides.

    For camera-frame 3D (x right) and normalised 2D (x right), flipping axis 0 is the
    horizontal mirror used for augmentation.
    """
    out = x[..., skeleton.mirror_perm, :].copy()
    out[..., axis_to_flip] *= -1
    return out
