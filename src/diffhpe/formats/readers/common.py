"""What every keypoint reader shares: the parsed form, value parsing, record signatures.

A reader turns a file into :class:`Parsed` (people in the source skeleton, before
cleaning, people selection and joint mapping); ``diffhpe.formats.keypoints`` assembles
those into ``Keypoints2D``. Shapes: N source joints.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.formats.mapping import COCO17_TABLE, JointTable

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
FRAME_KEYS = ("frame_id", "img_id", "image_id", "frame", "frame_index", "file_name", "img_path")

TrackId = int | str | None


@dataclass
class Person:
    """One detected person in one frame, in the source skeleton: points (N, 2), scores (N,)."""

    frame: int
    track: TrackId
    points: np.ndarray
    scores: np.ndarray


@dataclass
class Parsed:
    """What a reader found before cleaning, people selection and joint mapping."""

    table: JointTable
    source_format: str
    people: list[Person] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # every frame the file covers
    image_size: tuple[int, int] | None = None
    fps: float | None = None
    normalised: bool = False
    # Dense fast path (arrays): points (T, N, 2), scores (T, N), frames 0..T-1, one track.
    dense: tuple[np.ndarray, np.ndarray] | None = None
    track: TrackId = None


# ------------------------------------------------------------------------ values


def check_image_size(value: Any, where: str) -> tuple[int, int]:
    """(width, height) positive integers, or a ValueError naming ``where``."""
    try:
        w, h = value
        ok = all(float(v) > 0 and float(v) == int(v) for v in (w, h))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{where}: expected (width, height) positive integers, got {value!r}")
    return int(w), int(h)


def load_json(path: Path) -> Any:
    """A ``.json`` document, or the list of a ``.jsonl``/``.ndjson`` file's lines."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable JSON file ({e})") from e


def floats(value: Any, where: str) -> np.ndarray:
    """Numbers (JSON null -> NaN) as a float64 array, or a ValueError naming ``where``."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected numbers, got {str(value)[:80]}") from None


def frame_number(value: Any, where: str) -> int:
    """An int, or the last run of digits of a name ('frame_000012.jpg' -> 12)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        digits = re.findall(r"\d+", Path(value).stem)
        if digits:
            return int(digits[-1])
    raise ValueError(
        f"{where}: {value!r} is not a frame number; expected an integer or a name "
        "containing one (e.g. 'frame_000012.jpg')"
    )


def track_id(value: Any, where: str) -> TrackId:
    """An int or str track id (AlphaPose's ``[0.0]`` -> 0), or None."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # AlphaPose writes idx as [0.0]
        return track_id(value[0], where) if value else None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value
    raise ValueError(f"{where}: track id {value!r} is not an integer or a string")


def size_from_meta(meta: Any, where: str) -> tuple[int, int] | None:
    """(width, height) from the usual metadata keys, if any."""
    if not isinstance(meta, dict):
        return None
    for wk, hk in (("width", "height"), ("w", "h"), ("image_width", "image_height")):
        if wk in meta and hk in meta:
            return check_image_size((meta[wk], meta[hk]), f"{where}[{wk!r}, {hk!r}]")
    for key in ("image_size", "img_size"):
        if key in meta:
            return check_image_size(meta[key], f"{where}[{key!r}]")
    for key in ("ori_shape", "img_shape"):  # mmpose: (height, width[, channels])
        if key in meta and isinstance(meta[key], (list, tuple)) and len(meta[key]) >= 2:
            h, w = meta[key][:2]
            return check_image_size((w, h), f"{where}[{key!r}]")
    return None


def fps_from_meta(meta: Any, where: str) -> float | None:
    """``meta["fps"]`` as a positive float, or None when absent."""
    if isinstance(meta, dict) and meta.get("fps") is not None:
        fps = meta["fps"]
        if not isinstance(fps, (int, float)) or not fps > 0:
            raise ValueError(f"{where}['fps']: expected a positive number, got {fps!r}")
        return float(fps)
    return None


def keypoint_rows(value: Any, n: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) or (n, 3) rows, or n*3 flat numbers -> points (n, 2), scores (n,)."""
    arr = floats(value, where)
    if arr.ndim == 1 and arr.size == 3 * n:
        arr = arr.reshape(n, 3)
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] not in (2, 3):
        raise ValueError(
            f"{where}: expected {n} keypoints as [[x, y(, score)], ...] or {3 * n} flat "
            f"numbers, got shape {arr.shape}"
        )
    scores = arr[:, 2] if arr.shape[1] == 3 else np.ones(n)
    return arr[:, :2], scores


def is_normalised(people: list[Person]) -> bool:
    """No finite coordinate exceeds 1 and some are positive: no pixel image is that
    small, so these are normalised coordinates."""
    if not people:
        return False
    pts = np.concatenate([p.points for p in people])
    pts = pts[np.isfinite(pts)]
    return pts.size > 0 and 0.0 < pts.max() <= 1.0


def csv_float(text: str, where: str) -> float:
    """A CSV cell as a float (empty -> NaN), or a ValueError naming ``where``."""
    try:
        return float(text) if text.strip() else math.nan
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a number") from None


def csv_int(text: str) -> int | str:
    """A CSV cell as an int when it is one, else the stripped text."""
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


# ------------------------------------------------------------- files and records


def is_json_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in JSON_SUFFIXES


def npz_fields(path: Path) -> set[str]:
    """The field names of an ``.npz`` (nothing is loaded or unpickled)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return set(f.files)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e})") from None
    except AttributeError:  # a plain .npy array saved under an .npz name
        raise ValueError(f"{path}: not an .npz archive (a single .npy array?)") from None


def first_record(data: Any, depth: int = 0) -> tuple[Any, int]:
    """The first dict or number inside nested lists, and how many lists hold it."""
    if isinstance(data, list):
        for item in data:
            rec, d = first_record(item, depth + 1)
            if rec is not None:
                return rec, d
        return None, depth
    return data, depth


def json_record(data: Any) -> tuple[Any, int]:
    """:func:`first_record` of a JSON list (a dict document has none: (None, 0))."""
    return (None, 0) if isinstance(data, dict) else first_record(data)


def is_landmark_record(rec: Any) -> bool:
    """A MediaPipe landmark or frame record; it wins over a ``keypoints`` key."""
    return isinstance(rec, dict) and (
        any(k in rec for k in ("landmarks", "pose_landmarks")) or ("x" in rec and "y" in rec)
    )


def is_flat_result(rec: Any) -> bool:
    """A results-list record (COCO results or AlphaPose): ``image_id`` and a flat
    ``keypoints`` list of numbers."""
    if not isinstance(rec, dict) or "keypoints" not in rec or "image_id" not in rec:
        return False
    kp = rec["keypoints"]
    return isinstance(kp, list) and bool(kp) and not isinstance(kp[0], list)


def is_alphapose_result(rec: dict) -> bool:
    """A flat result only AlphaPose writes: a track ``idx``, a ``box``, a file name as
    ``image_id``, or a keypoint count other than COCO-17's 51 numbers."""
    return (
        "idx" in rec
        or "box" in rec
        or isinstance(rec["image_id"], str)
        or len(rec["keypoints"]) != 3 * COCO17_TABLE.num_source
    )
