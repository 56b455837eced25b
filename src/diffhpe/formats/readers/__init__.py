"""The keypoint readers: one module per format family, one registry line per format.

Each reader has ``detect(path, data) -> bool`` and ``read(path, data) -> list[Parsed]``;
``data`` is the file's JSON when it has a JSON suffix, else None. :data:`READERS` is
walked in its order and the first reader whose ``detect`` accepts the input names the
format, so a ``detect`` may assume that every reader before it declined. A JSON
document ``{"frames": [...], ...}`` that no reader claims by its keys is detected by its
frames, and only readers with ``framed=True`` accept that wrapper.

Adding a format: one module here with ``detect_NAME`` and ``read_NAME``, and one line in
:data:`READERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffhpe.formats.readers.alphapose import detect_alphapose, read_alphapose
from diffhpe.formats.readers.arrays import detect_array, read_array
from diffhpe.formats.readers.coco import (
    detect_coco,
    detect_coco_results,
    read_coco,
    read_coco_results,
)
from diffhpe.formats.readers.common import JSON_SUFFIXES, Parsed, is_json_file, npz_fields
from diffhpe.formats.readers.mediapipe import detect_mediapipe, read_mediapipe
from diffhpe.formats.readers.openpose import detect_openpose, read_openpose
from diffhpe.formats.readers.videopose3d import detect_vp3d, read_vp3d


@dataclass(frozen=True)
class Reader:
    """One keypoint format: its ``format=`` name, detection and reader."""

    name: str
    detect: Callable[[Path, Any], bool]
    read: Callable[[Path, Any], list[Parsed]]
    description: str
    framed: bool = False  # accepts {"width", "height", "fps", "frames": [...]}


READERS: tuple[Reader, ...] = (
    Reader("coco", detect_coco, read_coco, "COCO-17: mmpose/RTMPose, Detectron2, YOLO-pose", True),
    Reader("coco-results", detect_coco_results, read_coco_results, "COCO keypoint results"),
    Reader("openpose", detect_openpose, read_openpose, "OpenPose BODY_25/COCO-18 folder or file"),
    Reader("mediapipe", detect_mediapipe, read_mediapipe, "MediaPipe Pose 33 landmarks", True),
    Reader("alphapose", detect_alphapose, read_alphapose, "AlphaPose/PoseFlow results"),
    Reader("vp3d", detect_vp3d, read_vp3d, "VideoPose3D custom .npz"),
    Reader("array", detect_array, read_array, "Human3.6M-order .npy/.csv or diffhpe sample"),
)  # fmt: skip
FORMATS: tuple[str, ...] = tuple(r.name for r in READERS)
BY_NAME: dict[str, Reader] = {r.name: r for r in READERS}


def detect(path: Path, data: Any) -> str:
    """The format name of ``path`` (``data``: its JSON, or None), or a ValueError."""
    name = _first_accepting(path, data)
    if name is not None:
        return name
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        raise ValueError(
            f"{path}: cannot recognise the keypoint layout of this JSON; pass "
            f"format= one of {FORMATS} (see diffhpe.formats.keypoints for layouts)"
        )
    raise ValueError(
        f"{path}: cannot tell the keypoint format from the extension {suffix!r}; expected "
        f"an OpenPose folder, .json, .jsonl, .npz, .npy or .csv, or pass format= one of "
        f"{FORMATS}"
    )


def _first_accepting(path: Path, data: Any) -> str | None:
    for reader in READERS:
        if reader.detect(path, data):
            return reader.name
    if is_json_file(path) and isinstance(data, dict) and "frames" in data:
        inner = _first_accepting(path, data["frames"])
        return inner if inner is not None and BY_NAME[inner].framed else None
    return None


_3D_FIELDS = {
    "pose3d": "a 3D lift result (diffhpe lift output: 'pose3d' (N, 17, 3) metres)",
    "positions_3d": "3D motion (VideoPose3D 'positions_3d', e.g. data_3d_open.npz)",
}


def refuse_3d(path: Path, data: Any) -> None:
    """3D files written by diffhpe (lift results, 3D benchmark files) are not 2D
    keypoints: say so instead of a puzzling layout error."""
    if path.is_dir():
        return
    if path.suffix.lower() == ".npz":
        fields = npz_fields(path)
    elif isinstance(data, dict):
        fields = set(data)
    else:
        return
    for key, what in _3D_FIELDS.items():
        if key in fields and "positions_2d" not in fields and "keypoints" not in fields:
            raise ValueError(
                f"{path}: this is {what}, not 2D keypoints; read_keypoints reads 2D keypoint "
                "files (open this one with numpy.load or json, or lift the 2D input it came from)"
            )


__all__ = ["BY_NAME", "FORMATS", "READERS", "Parsed", "Reader", "detect", "refuse_3d"]
