"""The VideoPose3D ``.npz`` layout that the lifting community shares.

- ``data_3d_<name>.npz``: ``positions_3d[subject][action]`` = (N, J, 3) float world
  coordinates in metres (Human3.6M files hold J = 32 joints; we reduce them to 17).
- ``data_2d_<name>_<detector>.npz``: ``positions_2d[subject][action]`` = list of one
  (N, 17, 2) pixel array per camera, and ``metadata`` = dict with ``layout_name``,
  ``num_joints`` and ``keypoints_symmetry`` ([left joints], [right joints]).

Files we write load in their code with ``np.load(f, allow_pickle=True)[...].item()``;
we read theirs (and ours) with :func:`diffhpe.io.safe_npz.load_npz`, which never
executes code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.io.safe_npz import load_npz
from diffhpe.skeleton import H36M_32_TO_17, LEFT_JOINTS, NUM_JOINTS, RIGHT_JOINTS

Poses3D = dict[str, dict[str, np.ndarray]]
Poses2D = dict[str, dict[str, list[np.ndarray]]]


def _field(data: dict[str, Any], field: str, path: Path) -> Any:
    if field not in data:
        raise ValueError(f"{path}: missing field {field!r} (have {sorted(data)})")
    return data[field]


def _check_nested(tree: Any, path: Path, field: str) -> None:
    if not isinstance(tree, dict):
        raise ValueError(
            f"{path}: field {field!r} must be a dict of subjects, got {type(tree).__name__}"
        )
    for subject, actions in tree.items():
        if not isinstance(actions, dict):
            raise ValueError(f"{path}: {field}[{subject!r}] must be a dict of actions")


def reduce_to_17(poses: np.ndarray) -> np.ndarray:
    """(N, 32, C) Human3.6M mocap joints -> (N, 17, C); 17-joint input passes through."""
    if poses.shape[-2] == NUM_JOINTS:
        return poses
    if poses.shape[-2] == 32:
        return poses[..., list(H36M_32_TO_17), :]
    raise ValueError(f"expected 17 or 32 joints, got {poses.shape[-2]}")


def load_3d(path: str | Path) -> Poses3D:
    """``positions_3d`` of a VideoPose3D 3D file, reduced to 17 joints, float32."""
    path = Path(path)
    tree = _field(load_npz(path), "positions_3d", path)
    _check_nested(tree, path, "positions_3d")
    out: Poses3D = {}
    for subject, actions in tree.items():
        out[subject] = {}
        for action, arr in actions.items():
            arr = np.asarray(arr)
            if arr.ndim != 3 or arr.shape[-1] != 3:
                raise ValueError(
                    f"{path}: positions_3d[{subject!r}][{action!r}] has shape {arr.shape}, "
                    "expected (N, J, 3)"
                )
            try:
                out[subject][action] = reduce_to_17(arr).astype(np.float32)
            except ValueError as e:
                raise ValueError(f"{path}: positions_3d[{subject!r}][{action!r}]: {e}") from None
    return out


def load_2d(path: str | Path) -> tuple[Poses2D, dict[str, Any]]:
    """``(positions_2d, metadata)`` of a VideoPose3D 2D file, float32 pixels."""
    path = Path(path)
    data = load_npz(path)
    tree = _field(data, "positions_2d", path)
    meta = data.get("metadata", {})
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: field 'metadata' must be a dict")
    _check_nested(tree, path, "positions_2d")
    out: Poses2D = {}
    for subject, actions in tree.items():
        out[subject] = {}
        for action, cams in actions.items():
            if isinstance(cams, np.ndarray) and cams.ndim == 3:
                cams = [cams]
            views = []
            for i, arr in enumerate(cams):
                arr = np.asarray(arr)
                if arr.ndim != 3 or arr.shape[-1] < 2 or arr.shape[1] != NUM_JOINTS:
                    raise ValueError(
                        f"{path}: positions_2d[{subject!r}][{action!r}][{i}] has shape "
                        f"{arr.shape}, expected (N, 17, 2)"
                    )
                views.append(arr[..., :2].astype(np.float32))
            out[subject][action] = views
    return out, meta


def _atomic_savez(path: Path, **fields: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez_compressed(tmp, **fields)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_3d(path: str | Path, positions_3d: Poses3D) -> None:
    """Write ``data_3d_<name>.npz`` (atomically)."""
    tree = {
        s: {a: np.asarray(v, dtype=np.float32) for a, v in acts.items()}
        for s, acts in positions_3d.items()
    }
    _atomic_savez(Path(path), positions_3d=np.array(tree, dtype=object))


def save_2d(path: str | Path, positions_2d: Poses2D, layout_name: str = "h36m") -> None:
    """Write ``data_2d_<name>_<detector>.npz`` with VideoPose3D's ``metadata`` (atomically)."""
    tree = {
        s: {a: [np.asarray(v, dtype=np.float32) for v in views] for a, views in acts.items()}
        for s, acts in positions_2d.items()
    }
    metadata = {
        "layout_name": layout_name,
        "num_joints": NUM_JOINTS,
        "keypoints_symmetry": [list(LEFT_JOINTS), list(RIGHT_JOINTS)],
    }
    _atomic_savez(
        Path(path),
        positions_2d=np.array(tree, dtype=object),
        metadata=np.array(metadata, dtype=object),
    )
