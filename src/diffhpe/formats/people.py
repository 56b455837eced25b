"""The people of any ``diffhpe lift`` input: one entry for keypoint files, diffhpe samples,
videos and saved video detections.

Shapes: T frames, 17 Human3.6M joints (``diffhpe.skeleton.JOINT_NAMES``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

import numpy as np

from diffhpe.formats.keypoints import read_keypoints


class LiftInput(TypedDict, total=False):
    """One person to lift: ``xy`` (T, 17, 2) pixels (NaN where missing), ``image_size``
    (width, height) or None, ``mapping`` (the source joints of each Human3.6M joint),
    ``fps``, ``name`` (file stem, ``STEM_trackID`` when several), ``gt3d`` (T, 17, 3) metres
    or None; ``format`` (readers), ``focal`` (samples), ``video`` (videos) when known."""

    xy: np.ndarray
    image_size: tuple[int, ...] | None
    mapping: str | dict[str, str]
    fps: float | None
    name: str
    gt3d: np.ndarray | None
    format: str
    focal: float | None
    video: Path | None


def read_people(
    path: str | Path,
    *,
    format: str | None = None,
    image_size: tuple[int, int] | None = None,
    score_threshold: float = 0.3,
    save_2d: str | Path | None = None,
    report: Callable[[str], None] | None = None,
) -> list[LiftInput]:
    """Every person of ``path``: a video (MediaPipe Pose), saved video detections
    (``.npz`` with ``landmarks``), a diffhpe sample (``.npz`` with ``keypoints``: read
    as is, with its ground truth and focal length) or any :func:`read_keypoints` format.

    ``image_size`` (width, height) is used when the file does not give one (a sample:
    it wins over the file's). ``save_2d`` writes a video's detections (.npz or .json).
    ``report`` receives what a command line shows: the video's detection summary and
    the files written.
    """
    from diffhpe.io.safe_npz import load_npz
    from diffhpe.video import VIDEO_SUFFIXES, is_video  # here: diffhpe.video imports formats

    path = Path(path)
    if is_video(path):
        return [_read_video(path, score_threshold, save_2d, report)]
    fields = load_npz(path) if path.suffix == ".npz" else {}
    if "landmarks" in fields:  # video detections saved by `diffhpe lift --save-2d`
        return [_read_video(path, score_threshold, save_2d, report)]
    if save_2d:
        raise ValueError(
            f"save_2d: only for a video input {VIDEO_SUFFIXES} or saved detections, got {path}"
        )
    if "keypoints" in fields:  # a diffhpe sample (diffhpe data sample)
        size = tuple(int(v) for v in fields["image_size"]) if "image_size" in fields else None
        return [
            {
                "xy": np.asarray(fields["keypoints"], dtype=np.float64),
                "image_size": tuple(image_size) if image_size else size,
                "mapping": "Human3.6M 17 joints (diffhpe sample)",
                "fps": float(fields.get("fps", 50.0)),
                "name": path.stem,
                "gt3d": fields.get("gt3d"),
                "focal": float(fields["focal"]) if "focal" in fields else None,
            }
        ]
    people = read_keypoints(
        path, format=format, image_size=image_size, score_threshold=score_threshold
    )
    out: list[LiftInput] = []
    for k in people:
        name = path.stem if len(people) == 1 else f"{path.stem}_track{k.track_id}"
        out.append(
            {"xy": k.xy, "image_size": k.image_size, "mapping": k.mapping, "fps": k.fps,
             "name": name, "gt3d": None, "format": k.source_format}
        )  # fmt: skip
    return out


def _read_video(
    path: Path,
    score_threshold: float,
    save_2d: str | Path | None,
    report: Callable[[str], None] | None,
) -> LiftInput:
    """The person of a video (detected with MediaPipe Pose) or of saved detections (.npz)."""
    from diffhpe.video import detect_video, is_video, load_detections, save_detections

    say = report or _quiet
    video = None
    if is_video(path):
        start = time.perf_counter()
        det = detect_video(path)
        seconds = time.perf_counter() - start
        n, found = det.num_frames, int(det.detected.sum())
        w, h = det.image_size
        say(
            f"{path.name}: {w}x{h}, {det.fps:g} fps; a person in {found} of {n} frames "
            f"({100 * found / n:.0f} %); detection {n / max(seconds, 1e-9):.1f} frames/s"
        )
        video = path
    else:
        det = load_detections(path)
    if save_2d:
        from diffhpe.safety import atomic_path

        with atomic_path(save_2d) as tmp:
            save_detections(tmp, det)
        say(f"wrote {save_2d}")
    if not det.detected.any():
        raise ValueError(f"{path}: no person detected in any frame")
    k = det.to_keypoints2d(score_threshold)
    return {"xy": k.xy, "image_size": k.image_size, "mapping": k.mapping, "fps": k.fps,
            "name": path.stem, "gt3d": None, "format": k.source_format, "video": video}  # fmt: skip


def _quiet(line: str) -> None:
    """A ``report`` that shows nothing."""
