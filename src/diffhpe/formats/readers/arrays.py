"""Plain arrays in Human3.6M order (``array``).

``.npy`` (T, 17, 2 or 3), a diffhpe sample ``.npz`` (``diffhpe data sample``:
``keypoints`` (T, 17, 2), ``image_size``, ``fps``), or ``.csv`` with one row per frame
of 34 or 51 numbers (x0, y0[, s0], x1, ...). Without a header the columns are in
Human3.6M order. A header must name every column as a joint and a coordinate, in any
order: the joint by its Human3.6M name (``diffhpe.skeleton.JOINT_NAMES``, case and
punctuation ignored) or index 0-16, the coordinate ``x``, ``y`` or ``score`` (also
``conf``, ``confidence``, ``visibility``, ``c``, ``s``, ``v``, ``p``), e.g. ``Pelvis_x``,
``RKnee.y``, ``x_LWrist``, ``0_score``; columns are reordered by their names. Unknown,
repeated or missing columns are errors naming them.
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.formats.mapping import H36M17_TABLE
from diffhpe.formats.readers.common import (
    Parsed,
    check_image_size,
    csv_float,
    floats,
    fps_from_meta,
    npz_fields,
)
from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS


def detect_array(path: Path, data: Any) -> bool:
    """``.npy``, a diffhpe sample ``.npz``, or a ``.csv`` that is not MediaPipe's (after
    ``mediapipe``)."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "keypoints" in npz_fields(path)  # diffhpe data sample: Human3.6M order, pixels
    return suffix in (".npy", ".csv")


def read_array(path: Path, data: Any) -> list[Parsed]:
    """(T, 17, 2|3) in Human3.6M order from ``.npy``, a per-frame ``.csv`` or a sample."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"{path}: not a plain numeric .npy array ({e})") from e
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{path}: expected a numeric array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if arr.ndim != 3 or arr.shape[1] != NUM_JOINTS or arr.shape[2] not in (2, 3):
            raise ValueError(
                f"{path}: expected an array of shape (T, 17, 2 or 3) in Human3.6M joint "
                f"order, got {arr.shape}"
            )
    elif suffix == ".csv":
        arr = _read_csv(path)
    elif suffix == ".npz":
        return [_read_sample(path)]
    else:
        raise ValueError(f"{path}: format 'array' reads .npy, .csv or .npz, got {suffix!r}")
    sc = arr[..., 2] if arr.shape[2] == 3 else np.ones(arr.shape[:2])
    return [Parsed(H36M17_TABLE, "array", dense=(arr[..., :2], sc))]


def _read_sample(path: Path) -> Parsed:
    """A diffhpe sample (``diffhpe data sample``): ``keypoints`` (T, 17, 2) pixels in
    Human3.6M order, NaN where missing; ``image_size`` (2,) and ``fps`` when present."""
    try:
        with np.load(path, allow_pickle=False) as f:
            fields = {k: f[k] for k in f.files if k in ("keypoints", "image_size", "fps")}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a plain-array .npz ({e})") from None
    if "keypoints" not in fields:
        raise ValueError(f"{path}: missing field 'keypoints' (T, 17, 2) of a diffhpe sample")
    arr = floats(fields["keypoints"], f"{path}: field 'keypoints'")
    if arr.ndim != 3 or arr.shape[1] != NUM_JOINTS or arr.shape[2] not in (2, 3):
        raise ValueError(
            f"{path}: field 'keypoints' must have shape (T, 17, 2 or 3) in Human3.6M joint "
            f"order, got {arr.shape}"
        )
    size = None
    if "image_size" in fields:
        size = check_image_size(
            tuple(fields["image_size"].reshape(-1).tolist()), f"{path}: field 'image_size'"
        )
    fps = None
    if "fps" in fields:
        fps = fps_from_meta({"fps": float(fields["fps"])}, f"{path}: field")
    sc = arr[..., 2] if arr.shape[2] == 3 else np.ones(arr.shape[:2])
    return Parsed(H36M17_TABLE, "array", image_size=size, fps=fps, dense=(arr[..., :2], sc))


def _read_csv(path: Path) -> np.ndarray:
    """Rows of 34/51 numbers -> (T, 17, 2|3); a header naming the columns (``JOINT_x``,
    ``JOINT_y``, ``JOINT_score`` by Human3.6M name or index 0-16, any order) reorders them."""
    rows: list[list[float]] = []
    order: np.ndarray | None = None  # column of each (joint, coordinate) when named
    width: int | None = None
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if not row or not any(c.strip() for c in row):
                continue
            where = f"{path}: line {line}"
            if not rows and order is None and not _all_numbers(row):
                order = _header_order(path, row)
                width = len(row)
                continue
            if width is not None and len(row) != width:
                raise ValueError(
                    f"{where}: {len(row)} values where the header names {width} columns"
                )
            if width is None and len(row) not in (34, 51):
                raise ValueError(
                    f"{where}: expected 34 (x, y) or 51 (x, y, score) numbers per frame for "
                    f"17 Human3.6M joints, got {len(row)}"
                )
            values = [csv_float(c, where) for c in row]
            rows.append(values if order is None else [values[i] for i in order])
    if not rows:
        raise ValueError(f"{path}: no frames")
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"{path}: rows mix 34 and 51 numbers")
    arr = np.asarray(rows, dtype=np.float64)
    return arr.reshape(len(rows), NUM_JOINTS, arr.shape[1] // NUM_JOINTS)


_COORD_ALIASES: dict[str, str] = {
    "x": "x", "y": "y", "score": "score", "scores": "score", "conf": "score",
    "confidence": "score", "c": "score", "s": "score", "p": "score", "prob": "score",
    "likelihood": "score", "v": "score", "vis": "score", "visibility": "score",
}  # fmt: skip
_COORDS = ("x", "y", "score")
_JOINT_KEYS = {re.sub(r"[^a-z0-9]", "", n.lower()): j for j, n in enumerate(JOINT_NAMES)}
_HEADER_SEPS = " _.-:/"


def _header_joint(text: str) -> int | None:
    """A Human3.6M joint index from a name (``Neck/Nose``, ``lknee``) or ``0``-``16``."""
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    if key.isdigit():
        return int(key) if int(key) < NUM_JOINTS else None
    return _JOINT_KEYS.get(key)


def header_column(name: str) -> tuple[int, str] | None:
    """``Pelvis_x``, ``x_Pelvis``, ``0_x``, ``x0``, ``RKnee.score`` -> (joint, coordinate)."""
    text = name.strip().lower()
    for alias in sorted(_COORD_ALIASES, key=len, reverse=True):
        coord = _COORD_ALIASES[alias]
        if text.endswith(alias):
            joint = _header_joint(text[: -len(alias)].rstrip(_HEADER_SEPS))
            if joint is not None and text[: -len(alias)].strip(_HEADER_SEPS):
                return joint, coord
        if text.startswith(alias):
            joint = _header_joint(text[len(alias) :].lstrip(_HEADER_SEPS))
            if joint is not None and text[len(alias) :].strip(_HEADER_SEPS):
                return joint, coord
    return None


def _header_order(path: Path, header: list[str]) -> np.ndarray:
    """Column index of each (joint, coordinate) in Human3.6M order, from a header that
    names every column; unknown, repeated or missing columns are errors naming them."""
    found: dict[tuple[int, str], int] = {}
    unknown: list[str] = []
    for i, name in enumerate(header):
        parsed = header_column(name)
        if parsed is None:
            unknown.append(name.strip())
        elif parsed in found:
            j, c = parsed
            raise ValueError(
                f"{path}: header columns {header[found[parsed]].strip()!r} and "
                f"{name.strip()!r} both name {JOINT_NAMES[j]} {c}"
            )
        else:
            found[parsed] = i
    expected = (
        "columns named JOINT_x, JOINT_y (optionally JOINT_score) for the 17 Human3.6M "
        f"joints {list(JOINT_NAMES)} (or their indices 0-16), in any order"
    )
    if unknown:
        raise ValueError(
            f"{path}: unknown header columns {unknown}; a keypoint CSV header needs {expected}"
        )
    coords = _COORDS if any(c == "score" for _, c in found) else _COORDS[:2]
    missing = [
        f"{JOINT_NAMES[j]}_{c}" for j in range(NUM_JOINTS) for c in coords if (j, c) not in found
    ]
    if missing:
        raise ValueError(
            f"{path}: header lacks the columns {missing}; a keypoint CSV header needs {expected}"
        )
    return np.array([found[(j, c)] for j in range(NUM_JOINTS) for c in coords])


def _all_numbers(row: list[str]) -> bool:
    try:
        [float(c) for c in row if c.strip()]
    except ValueError:
        return False
    return True
