"""OpenPose (``openpose``): a folder of per-frame ``*_keypoints.json`` files (one file
also works); BODY_25 (75 numbers) or COCO-18 (54 numbers); frame order from the last
number in the file name (``clip_2_keypoints.json`` before ``clip_10_keypoints.json``)::

    {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x, y, c, ...]}]}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from diffhpe.formats.mapping import TABLES
from diffhpe.formats.readers.common import (
    Parsed,
    Person,
    floats,
    frame_number,
    is_json_file,
    load_json,
)

_LAYOUTS = {25: (TABLES["body25"], "body25"), 18: (TABLES["coco18"], "coco18")}


def detect_openpose(path: Path, data: Any) -> bool:
    """A folder, or one JSON frame with a ``people`` list."""
    return path.is_dir() or (is_json_file(path) and isinstance(data, dict) and "people" in data)


def read_openpose(path: Path, data: Any) -> list[Parsed]:
    """Every frame file of a folder (or one file) -> one :class:`Parsed`, no track ids."""
    if path.is_dir():
        files = sorted(path.glob("*_keypoints.json")) or sorted(path.glob("*.json"))
        if not files:
            raise ValueError(f"{path}: no OpenPose *_keypoints.json files in this folder")
        numbered: dict[int, Path] = {}
        for f in files:
            stem = f.name.removesuffix(".json").removesuffix("_keypoints")
            frame = frame_number(stem, f"{f}: file name")
            if frame in numbered:
                raise ValueError(
                    f"{path}: files {numbered[frame].name} and {f.name} both have frame "
                    f"number {frame}"
                )
            numbered[frame] = f
        sources = [(frame, numbered[frame], None) for frame in sorted(numbered)]
    else:
        digits = re.findall(r"\d+", path.name)
        sources = [(int(digits[-1]) if digits else 0, path, data)]
    people: list[Person] = []
    layout = None
    for frame, f, content in sources:
        content = load_json(f) if content is None else content
        if not isinstance(content, dict) or not isinstance(content.get("people"), list):
            raise ValueError(f"{f}: expected an OpenPose frame {{'people': [...]}}")
        for k, person in enumerate(content["people"]):
            where = f"{f}: people[{k}] 'pose_keypoints_2d'"
            flat = floats(person.get("pose_keypoints_2d", []), where)
            if flat.size == 0:
                continue  # body estimation was off for this person
            if flat.ndim != 1 or flat.size % 3 or flat.size // 3 not in _LAYOUTS:
                raise ValueError(
                    f"{where}: expected 75 (BODY_25) or 54 (COCO-18) numbers, got {flat.size}"
                )
            if layout is None:
                layout = flat.size // 3
            elif flat.size // 3 != layout:
                raise ValueError(f"{where}: {flat.size // 3} joints where earlier had {layout}")
            rows = flat.reshape(-1, 3)
            people.append(Person(frame, None, rows[:, :2], rows[:, 2]))
    table, name = _LAYOUTS[layout or 25]
    frames = [frame for frame, _, _ in sources]
    return [Parsed(table, f"openpose/{name}", people, frames=frames)]
