"""AlphaPose results (``alphapose``).

Halpe-26 (78 numbers), COCO-17 (51), Halpe-136 (its first 26 joints) or
COCO-WholeBody-133 (its first 17); ``idx`` is the track id (``--pose_track``);
PoseFlow's ``{image_name: [persons]}`` is accepted too::

    [{"image_id": "0.jpg", "category_id": 1, "keypoints": [x, y, s, ...78],
      "score": 2.9, "box": [x, y, w, h], "idx": [0.0]}]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diffhpe.formats.mapping import COCO17_TABLE, HALPE26_TABLE
from diffhpe.formats.readers.common import (
    Parsed,
    Person,
    first_record,
    floats,
    frame_number,
    is_alphapose_result,
    is_flat_result,
    is_json_file,
    json_record,
    load_json,
    track_id,
)

# AlphaPose keypoint counts -> (table, joints kept, name)
_LAYOUTS = {
    17: (COCO17_TABLE, 17, "coco17"),
    26: (HALPE26_TABLE, 26, "halpe26"),
    133: (COCO17_TABLE, 17, "coco-wholebody133"),  # the first 17 are COCO-17
    136: (HALPE26_TABLE, 26, "halpe136"),  # the first 26 are Halpe-26
}


def detect_alphapose(path: Path, data: Any) -> bool:
    """AlphaPose's result list, or PoseFlow's ``{image_name: [persons]}``."""
    if not is_json_file(path):
        return False
    if isinstance(data, dict):  # a "frames" key is the coco/mediapipe wrapper
        values = list(data.values())
        if "frames" in data or not values or not all(isinstance(v, list) for v in values):
            return False
        rec, _ = first_record(values)
        return isinstance(rec, dict) and "keypoints" in rec
    rec, _ = json_record(data)
    return is_flat_result(rec) and is_alphapose_result(rec)


def read_alphapose(path: Path, data: Any) -> list[Parsed]:
    """AlphaPose/PoseFlow results -> one :class:`Parsed` in the file's joint layout."""
    data = load_json(path) if data is None else data
    if isinstance(data, dict):  # PoseFlow: {image_name: [persons]}
        entries = [{**p, "image_id": name} for name, persons in data.items() for p in persons]
    elif isinstance(data, list):
        entries = data
    else:
        raise ValueError(f"{path}: expected a list of AlphaPose results")
    people: list[Person] = []
    layout = None
    for i, e in enumerate(entries):
        where = f"{path}: result {i}"
        if not isinstance(e, dict) or "image_id" not in e or "keypoints" not in e:
            raise ValueError(f"{where}: expected a dict with 'image_id' and 'keypoints'")
        kp = floats(e["keypoints"], f"{where} 'keypoints'")
        k = kp.size // 3
        if kp.ndim != 1 or kp.size % 3 or k not in _LAYOUTS:
            raise ValueError(
                f"{where}: 'keypoints' must be flat x, y, score for 17, 26, 133 or 136 "
                f"joints, got {kp.size} numbers"
            )
        if layout is None:
            layout = k
        elif k != layout:
            raise ValueError(f"{where}: {k} keypoints where earlier results had {layout}")
        _, keep, _ = _LAYOUTS[k]
        rows = kp.reshape(k, 3)[:keep]
        frame = frame_number(e["image_id"], f"{where} 'image_id'")
        track = track_id(e.get("idx"), f"{where} 'idx'")
        people.append(Person(frame, track, rows[:, :2], rows[:, 2]))
    table, _, name = _LAYOUTS[layout or 17]
    return [Parsed(table, f"alphapose/{name}", people, frames=[p.frame for p in people])]
