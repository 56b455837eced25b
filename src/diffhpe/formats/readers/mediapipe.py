"""MediaPipe Pose (``mediapipe``): 33 landmarks, normalised to [0, 1] (``image_size``
required; z is ignored).

JSON: a list of frames (``null``/``[]`` when nobody is seen), each a list of 33
landmarks (or a list of such lists for several people, or a dict with ``frame`` and
``landmarks``); optionally wrapped in ``{"width", "height", "fps", "frames": [...]}``.
CSV: one row per landmark, header required, landmark by index (0-32) or name
(``left_shoulder``); ``visibility`` optional::

    [[{"x": 0.51, "y": 0.22, "z": -0.3, "visibility": 0.99}, ...33], null, ...]
    frame,landmark,x,y,z,visibility
    0,0,0.51,0.22,-0.3,0.99

A CSV header with some MediaPipe columns but not all (e.g. no ``y``) is an error naming
what is missing, never read as another layout. The files ``diffhpe lift VIDEO --save-2d``
writes are read back: its ``.json`` is the layout above; its ``.npz`` holds
``landmarks`` (T, 33, 2) pixels, ``scores``, ``image_size`` and ``fps``
(:func:`diffhpe.video.save_detections`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.formats.mapping import MEDIAPIPE33_TABLE, MEDIAPIPE_33
from diffhpe.formats.readers.arrays import header_column
from diffhpe.formats.readers.common import (
    FRAME_KEYS,
    Parsed,
    Person,
    csv_float,
    csv_int,
    floats,
    fps_from_meta,
    frame_number,
    is_json_file,
    is_landmark_record,
    json_record,
    load_json,
    npz_fields,
    size_from_meta,
)

_FRAME_COLS = ("frame", "frame_index", "frame_id")
_LANDMARK_COLS = ("landmark", "index", "landmark_index", "landmark_id", "joint", "id")


def detect_mediapipe(path: Path, data: Any) -> bool:
    """Saved video detections (``.npz`` with ``landmarks``), a MediaPipe CSV header, or a
    JSON list of landmark records (after ``coco``; the ``frames`` wrapper is the registry's)."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "landmarks" in npz_fields(path)  # diffhpe lift VIDEO --save-2d x.npz
    if suffix == ".csv":
        return _csv_columns(path, required=False) is not None
    if not is_json_file(path) or isinstance(data, dict):
        return False
    rec, _ = json_record(data)
    return is_landmark_record(rec)


def read_mediapipe(path: Path, data: Any) -> list[Parsed]:
    """MediaPipe JSON, CSV or saved ``.npz`` detections -> one :class:`Parsed`."""
    if path.suffix.lower() == ".npz":
        return [_read_npz(path)]
    if path.suffix.lower() == ".csv":
        people, frames = _read_csv(path)
        meta: Any = {}
    else:
        data = load_json(path) if data is None else data
        meta = data if isinstance(data, dict) else {}
        frames_raw = data.get("frames") if isinstance(data, dict) else data
        if not isinstance(frames_raw, list):
            raise ValueError(
                f"{path}: expected a list of MediaPipe frames (or {{'frames': [...]}})"
            )
        people, frames = _read_json(path, frames_raw)
    pts = [p.points for p in people]
    if pts and np.nanmax(np.abs(np.concatenate(pts)), initial=0.0) > 10:
        raise ValueError(
            f"{path}: MediaPipe coordinates must be normalised to [0, 1], but some exceed "
            "10 (pixels?); convert them or use format='array'"
        )
    return [
        Parsed(
            MEDIAPIPE33_TABLE,
            "mediapipe",
            people,
            frames=frames,
            image_size=size_from_meta(meta, f"{path}: top level"),
            fps=fps_from_meta(meta, f"{path}: top level"),
            normalised=True,
        )
    ]


def _read_npz(path: Path) -> Parsed:
    """Video detections saved by ``diffhpe lift VIDEO --save-2d x.npz``: 33 landmarks in
    pixels (NaN: nobody), their visibility, the image size and the frame rate."""
    from diffhpe.video import load_detections  # here: diffhpe.video imports diffhpe.formats

    det = load_detections(path)
    return Parsed(
        MEDIAPIPE33_TABLE,
        "mediapipe",
        image_size=det.image_size,
        fps=det.fps,
        dense=(det.landmarks.astype(np.float64), det.scores.astype(np.float64)),
    )


def _landmarks(value: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """33 landmark dicts -> points (33, 2), scores (33,) (visibility, else presence, else 1)."""
    if not isinstance(value, list) or len(value) != 33:
        raise ValueError(f"{where}: expected 33 landmarks, got {str(value)[:60]}")
    pts = np.full((33, 2), np.nan)
    sc = np.ones(33)
    for i, lm in enumerate(value):
        if not isinstance(lm, dict) or "x" not in lm or "y" not in lm:
            raise ValueError(f"{where}[{i}]: expected a landmark {{'x', 'y', ...}}")
        pts[i] = floats([lm["x"], lm["y"]], f"{where}[{i}]")
        conf = lm.get("visibility", lm.get("presence"))
        if conf is not None:
            sc[i] = float(floats(conf, f"{where}[{i}] visibility"))
    return pts, sc


def _read_json(path: Path, frames_raw: list) -> tuple[list[Person], list[int]]:
    people: list[Person] = []
    frames: list[int] = []
    for i, entry in enumerate(frames_raw):
        where = f"{path}: frame entry {i}"
        frame = i
        if isinstance(entry, dict):
            key = next((k for k in FRAME_KEYS if k in entry), None)
            frame = i if key is None else frame_number(entry[key], f"{where} {key!r}")
            entry = entry.get("landmarks", entry.get("pose_landmarks"))
        frames.append(frame)
        if not entry:
            continue  # nobody seen in this frame
        if not isinstance(entry, list):
            raise ValueError(f"{where}: expected a list of 33 landmarks, got {str(entry)[:60]}")
        persons = entry if isinstance(entry[0], list) else [entry]
        for k, lms in enumerate(persons):
            pts, sc = _landmarks(lms, f"{where} person {k}")
            people.append(Person(frame, None, pts, sc))
    return people, frames


def _csv_columns(path: Path, required: bool) -> dict[str, str] | None:
    """Column names {frame, landmark, x, y[, visibility]} of a MediaPipe CSV header.

    Not ``required`` (format detection): None for a header that is not MediaPipe's (no
    MediaPipe column, or Human3.6M joint columns); a MediaPipe header that lacks a needed
    column is an error naming it, never read as another layout.
    """
    with path.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), [])
    cols = {c.strip().lower(): c for c in header}
    frame = next((cols[c] for c in _FRAME_COLS if c in cols), None)
    landmark = next((cols[c] for c in _LANDMARK_COLS if c in cols), None)
    missing = [
        what
        for what, have in (
            (f"a frame column (one of {list(_FRAME_COLS)})", frame),
            (f"a landmark column (one of {list(_LANDMARK_COLS)})", landmark),
            ("'x'", cols.get("x")),
            ("'y'", cols.get("y")),
        )
        if have is None
    ]
    if missing:
        hints = (*_FRAME_COLS, *_LANDMARK_COLS, "x", "y", "z", "visibility", "presence")
        mediapipe_like = any(h in cols for h in hints) and not any(
            header_column(c) is not None for c in header
        )
        if required or mediapipe_like:
            raise ValueError(
                f"{path}: MediaPipe CSV header {[c.strip() for c in header]} lacks "
                f"{' and '.join(missing)}; a MediaPipe CSV needs a frame column, a landmark "
                "column, 'x' and 'y' (optional 'visibility')"
            )
        return None
    out = {"frame": frame, "landmark": landmark, "x": cols["x"], "y": cols["y"]}
    if "visibility" in cols:
        out["visibility"] = cols["visibility"]
    return out


def _read_csv(path: Path) -> tuple[list[Person], list[int]]:
    cols = _csv_columns(path, required=True)
    assert cols is not None
    by_frame: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            where = f"{path}: line {line}"
            frame = frame_number(csv_int(row[cols["frame"]]), f"{where} frame")
            lm = row[cols["landmark"]].strip()
            if lm.isdigit() and int(lm) < 33:
                j = int(lm)
            elif lm.lower() in MEDIAPIPE_33:
                j = MEDIAPIPE_33.index(lm.lower())
            else:
                raise ValueError(f"{where}: landmark {lm!r} is not 0-32 or a MediaPipe name")
            pts, sc = by_frame.setdefault(frame, (np.full((33, 2), np.nan), np.zeros(33)))
            if not np.isnan(pts[j]).all():
                raise ValueError(f"{where}: landmark {lm} appears twice in frame {frame}")
            pts[j] = [csv_float(row[cols["x"]], where), csv_float(row[cols["y"]], where)]
            vis = row[cols["visibility"]] if "visibility" in cols else ""
            sc[j] = 1.0 if vis is None or not vis.strip() else csv_float(vis, where)
    people = [Person(fr, None, p, s) for fr, (p, s) in sorted(by_frame.items())]
    return people, sorted(by_frame)
