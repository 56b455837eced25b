"""VideoPose3D's custom ``.npz`` (``vp3d``, ``prepare_data_2d_custom.py``).

COCO-17 order (``metadata["layout_name"] == "h36m"``: Human3.6M order), one result per
video, ``track_id`` = video name, image size from ``video_metadata``; read without
pickle code execution::

    positions_2d = {"video.mp4": {"custom": [array (T, 17, 2)]}}
    metadata = {"layout_name": "coco", "video_metadata": {"video.mp4": {"w": 1920, "h": 1080}}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.formats.mapping import COCO17_TABLE, H36M17_TABLE
from diffhpe.formats.readers.common import Parsed, floats, npz_fields, size_from_meta
from diffhpe.io.safe_npz import load_npz


def detect_vp3d(path: Path, data: Any) -> bool:
    """Any other ``.npz`` (saved detections and diffhpe samples are not)."""
    return path.suffix.lower() == ".npz" and not {"landmarks", "keypoints"} & npz_fields(path)


def read_vp3d(path: Path, data: Any) -> list[Parsed]:
    """VideoPose3D ``.npz``: one result per video (custom) or per subject/action/camera."""
    content = load_npz(path)  # never unpickles code
    if "positions_2d" not in content:
        raise ValueError(f"{path}: missing field 'positions_2d' (have {sorted(content)})")
    tree = content["positions_2d"]
    meta = content.get("metadata", {})
    if not isinstance(tree, dict) or not isinstance(meta, dict):
        raise ValueError(f"{path}: 'positions_2d' and 'metadata' must be dicts")
    layout = str(meta.get("layout_name", "coco")).lower()
    tables = {"coco": COCO17_TABLE, "h36m": H36M17_TABLE}
    if layout not in tables:
        raise ValueError(
            f"{path}: metadata['layout_name'] is {layout!r}; expected 'coco' or 'h36m'"
        )
    video_meta = meta.get("video_metadata") or {}
    if not isinstance(video_meta, dict):
        raise ValueError(f"{path}: metadata['video_metadata'] must be a dict of videos")
    out = []
    for video, inner in tree.items():
        if not isinstance(inner, dict):
            raise ValueError(f"{path}: positions_2d[{video!r}] must be a dict")
        size = size_from_meta(video_meta.get(video), f"{path}: video_metadata[{video!r}]")
        for key, arrays in inner.items():
            if not isinstance(arrays, (list, tuple)):
                arrays = [arrays]
            for cam, arr in enumerate(arrays):
                where = f"{path}: positions_2d[{video!r}][{key!r}][{cam}]"
                arr = floats(arr, where)
                if arr.ndim != 3 or arr.shape[1] != 17 or arr.shape[2] not in (2, 3):
                    raise ValueError(f"{where}: expected shape (T, 17, 2 or 3), got {arr.shape}")
                sc = arr[..., 2] if arr.shape[2] == 3 else np.ones(arr.shape[:2])
                simple = key == "custom" and len(arrays) == 1
                out.append(
                    Parsed(
                        tables[layout],
                        "vp3d",
                        image_size=size,
                        dense=(arr[..., :2], sc),
                        track=str(video) if simple else f"{video}/{key}/{cam}",
                    )
                )
    return out
