"""COCO-17 detector outputs (``coco``) and the COCO keypoint results format (``coco-results``).

``coco`` - COCO-17 keypoints from mmpose/RTMPose, Detectron2 and Ultralytics YOLO-pose:

- mmpose demo ``--save-predictions`` (``meta_info`` may give ``ori_shape`` (h, w)) or
  the inferencer's per-video list (``img_id`` also accepted for ``frame_id``)::

    {"meta_info": {...}, "instance_info": [{"frame_id": 1, "instances": [
        {"keypoints": [[x, y], ...17], "keypoint_scores": [s, ...17], "track_id": 3}]}]}
    [{"frame_id": 0, "instances": [...]}, ...]

- the inferencer's ``predictions`` (one list of instances per image)::

    {"predictions": [[{"keypoints": [[x, y], ...], "keypoint_scores": [...]}], ...]}

- Detectron2 ``outputs["instances"]`` written per image (``width``/``height`` give
  the image size; the frame number comes from ``image_id``/``file_name``)::

    [{"file_name": "frame_000001.jpg", "width": 1920, "height": 1080,
      "instances": [{"pred_keypoints": [[x, y, s], ...17], "score": 0.99}]}]
    [{"image_id": 1, "pred_keypoints": [[[x, y, s], ...17], ...], "scores": [...]}]

- Ultralytics ``Results.summary()`` per frame (``track_id`` when tracking; if every
  coordinate is in [0, 1] the file was written with ``normalize=True`` and needs
  ``image_size``), or ``Results.keypoints.data.tolist()`` per frame ``(T, P, 17, 3)``::

    [[{"name": "person", "confidence": 0.9, "track_id": 1,
       "keypoints": {"x": [...17], "y": [...17], "visible": [...17]}}], [], ...]
    [[[[x, y, conf], ...17], ...persons], ...frames]

``coco-results`` - the COCO keypoint results format (``image_id`` is the frame number;
the third value is a confidence or a visibility flag, compared to ``score_threshold``)::

    [{"image_id": 3, "category_id": 1, "keypoints": [x1, y1, v1, ...51], "score": 0.8}]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.formats.mapping import COCO17_TABLE
from diffhpe.formats.readers.common import (
    FRAME_KEYS,
    Parsed,
    Person,
    TrackId,
    floats,
    fps_from_meta,
    frame_number,
    is_alphapose_result,
    is_flat_result,
    is_json_file,
    is_landmark_record,
    is_normalised,
    json_record,
    keypoint_rows,
    load_json,
    size_from_meta,
    track_id,
)

_INSTANCE_KEYS = ("instances", "results", "detections", "predictions")


def detect_coco(path: Path, data: Any) -> bool:
    """mmpose/Detectron2/YOLO JSON (OpenPose's ``people`` key wins)."""
    if not is_json_file(path):
        return False
    if isinstance(data, dict):
        return "people" not in data and ("instance_info" in data or "predictions" in data)
    rec, depth = json_record(data)
    if isinstance(rec, (int, float)) and depth == 4:
        return True  # YOLO .tolist() per frame: (T, P, 17, 3)
    if not isinstance(rec, dict):
        return False
    if any(k in rec for k in ("instances", "predictions", "pred_keypoints")):
        return True
    if is_landmark_record(rec) or is_flat_result(rec):
        return False  # MediaPipe, COCO results or AlphaPose
    return "keypoints" in rec or any(k in rec for k in ("results", "detections"))


def detect_coco_results(path: Path, data: Any) -> bool:
    """A list of flat COCO-17 results, or ``{"annotations": [...]}`` (after ``coco``)."""
    if not is_json_file(path):
        return False
    if isinstance(data, dict):
        return "people" not in data and "annotations" in data
    rec, _ = json_record(data)
    return not is_landmark_record(rec) and is_flat_result(rec) and not is_alphapose_result(rec)


def read_coco(path: Path, data: Any) -> list[Parsed]:
    """mmpose/RTMPose, Detectron2 and Ultralytics YOLO-pose, all COCO-17."""
    data = load_json(path) if data is None else data
    meta: dict = {}
    frames_raw = data
    if isinstance(data, dict):
        meta = {**data, **(data.get("meta_info") or {})}
        for key in ("instance_info", "predictions", "frames"):
            if key in data:
                frames_raw = data[key]
                break
        else:
            raise ValueError(
                f"{path}: expected 'instance_info', 'predictions' or 'frames' at the top "
                f"level of a COCO-17 keypoint file, got keys {sorted(data)[:10]}"
            )
    if not isinstance(frames_raw, list):
        raise ValueError(f"{path}: expected a list of frames, got {type(frames_raw).__name__}")
    first = next((e for e in frames_raw if e is not None), None)
    if (
        isinstance(first, dict)
        and ("keypoints" in first or "pred_keypoints" in first)
        and not any(k in first for k in FRAME_KEYS)
    ):
        frames_raw = [frames_raw]  # mmpose on one image: a bare list of instances
    expanded: list[Any] = []
    for entry in frames_raw:
        preds = entry.get("predictions") if isinstance(entry, dict) else None
        if isinstance(preds, list) and all(isinstance(p, list) for p in preds):
            expanded.extend(preds)  # mmpose inferencer result: a batch of images
        else:
            expanded.append(entry)

    size = size_from_meta(meta, f"{path}: meta")
    ids: list[int | None] = []
    instances_per_frame: list[list[Any]] = []
    for i, entry in enumerate(expanded):
        where = f"{path}: frame entry {i}"
        if entry is None:
            ids.append(None)
            instances_per_frame.append([])
        elif isinstance(entry, list):
            ids.append(None)
            instances_per_frame.append(entry)
        elif isinstance(entry, dict):
            key = next((k for k in FRAME_KEYS if k in entry), None)
            ids.append(None if key is None else frame_number(entry[key], f"{where} {key!r}"))
            if size is None:
                size = size_from_meta(entry, where)
            instances_per_frame.append(_frame_instances(entry, where))
        else:
            raise ValueError(f"{where}: expected a list or dict, got {type(entry).__name__}")
    use_ids = all(f is not None for f in ids)
    frames = [f if use_ids else i for i, f in enumerate(ids)]  # type: ignore[misc]

    people: list[Person] = []
    kinds: set[str] = set()
    for frame, instances in zip(frames, instances_per_frame, strict=True):
        for k, inst in enumerate(instances):
            where = f"{path}: frame {frame} instance {k}"
            kind, pts, sc, track = _coco_instance(inst, where)
            kinds.add(kind)
            people.append(Person(frame, track, pts, sc))
    kind = "+".join(sorted(kinds)) or "mmpose"
    normalised = kind == "yolo" and is_normalised(people)
    return [
        Parsed(
            table=COCO17_TABLE,
            source_format=f"coco/{kind}",
            people=people,
            frames=frames,
            image_size=size,
            fps=fps_from_meta(meta, f"{path}: meta"),
            normalised=normalised,
        )
    ]


def _frame_instances(entry: dict, where: str) -> list[Any]:
    """The instances of one frame dict (mmpose, Detectron2 or wrapped YOLO)."""
    for key in _INSTANCE_KEYS:
        if key in entry:
            inst = entry[key]
            if not isinstance(inst, list):
                raise ValueError(f"{where}: {key!r} must be a list of instances")
            return inst
    if "pred_keypoints" in entry:  # Detectron2 fields of a whole image: (P, 17, 3)
        kps = entry["pred_keypoints"]
        if not isinstance(kps, list):
            raise ValueError(f"{where}: 'pred_keypoints' must be a (P, 17, 3) list")
        return [{"pred_keypoints": kp} for kp in kps]
    raise ValueError(
        f"{where}: expected one of {_INSTANCE_KEYS} or 'pred_keypoints', got keys "
        f"{sorted(entry)[:10]}"
    )


def _coco_instance(inst: Any, where: str) -> tuple[str, np.ndarray, np.ndarray, TrackId]:
    """One person of a COCO-17 detector output -> (kind, points (17, 2), scores, track)."""
    n = COCO17_TABLE.num_source
    if isinstance(inst, list):  # YOLO keypoints.data.tolist(): (17, 3)
        pts, sc = keypoint_rows(inst, n, where)
        return "yolo", pts, sc, None
    if not isinstance(inst, dict):
        raise ValueError(f"{where}: expected an instance dict, got {type(inst).__name__}")
    track = track_id(inst.get("track_id"), f"{where} 'track_id'")
    if "pred_keypoints" in inst:
        pts, sc = keypoint_rows(inst["pred_keypoints"], n, f"{where} 'pred_keypoints'")
        return "detectron2", pts, sc, track
    kp = inst.get("keypoints")
    if isinstance(kp, dict):  # Ultralytics summary()
        if "x" not in kp or "y" not in kp:
            raise ValueError(f"{where}: 'keypoints' dict needs 'x' and 'y' lists")
        x, y = floats(kp["x"], f"{where} keypoints.x"), floats(kp["y"], f"{where} keypoints.y")
        vis = kp.get("visible")
        sc = np.ones(n) if vis is None else floats(vis, f"{where} keypoints.visible")
        if not (x.shape == y.shape == sc.shape == (n,)):
            raise ValueError(f"{where}: keypoints x, y, visible must each hold {n} numbers")
        return "yolo", np.stack([x, y], -1), sc, track
    if kp is not None:  # mmpose: (17, 2) + keypoint_scores, or (17, 3)
        pts, sc = keypoint_rows(kp, n, f"{where} 'keypoints'")
        if "keypoint_scores" in inst:
            sc = floats(inst["keypoint_scores"], f"{where} 'keypoint_scores'")
            if sc.shape != (n,):
                raise ValueError(f"{where}: 'keypoint_scores' must hold {n} numbers")
        return "mmpose", pts, sc, track
    raise ValueError(
        f"{where}: expected 'keypoints' or 'pred_keypoints', got keys {sorted(inst)[:10]}"
    )


def read_coco_results(path: Path, data: Any) -> list[Parsed]:
    """COCO keypoint results: one flat 51-number result per person and image."""
    data = load_json(path) if data is None else data
    entries = data.get("annotations") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of COCO keypoint results")
    people: list[Person] = []
    n = COCO17_TABLE.num_source
    for i, e in enumerate(entries):
        where = f"{path}: result {i}"
        if not isinstance(e, dict) or "image_id" not in e or "keypoints" not in e:
            raise ValueError(f"{where}: expected a dict with 'image_id' and 'keypoints'")
        kp = floats(e["keypoints"], f"{where} 'keypoints'")
        if kp.shape != (3 * n,):
            raise ValueError(f"{where}: 'keypoints' must hold {3 * n} numbers, got {kp.size}")
        frame = frame_number(e["image_id"], f"{where} 'image_id'")
        track = track_id(e.get("track_id"), f"{where} 'track_id'")
        people.append(Person(frame, track, kp.reshape(n, 3)[:, :2], kp.reshape(n, 3)[:, 2]))
    return [Parsed(COCO17_TABLE, "coco-results", people, frames=[p.frame for p in people])]
