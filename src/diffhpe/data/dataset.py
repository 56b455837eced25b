"""From VideoPose3D-layout files to model-ready sequences.

A sequence is one (subject, action, camera) take: normalised 2D inputs and
root-relative camera-frame 3D targets (metres), see :class:`PoseSequence`.
Works for the open benchmark (``diffhpe data build``) and for the community's
Human3.6M files (``data_3d_h36m.npz`` + ``data_2d_h36m_<detector>.npz``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffhpe.cameras import CAMERA_IDS, load_cameras, normalize_screen
from diffhpe.data.virtual import camera_from_dict
from diffhpe.data.windows import PoseSequence
from diffhpe.io.videopose3d import load_2d, load_3d

H36M_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("S1", "S5", "S6", "S7", "S8"),
    "test": ("S9", "S11"),
}


@dataclass(frozen=True)
class DataSource:
    """Where a dataset lives: the 3D file, the 2D file and how to name actions/cameras."""

    kind: str  # "open" or "h36m"
    root: Path
    detector: str = "det"

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def file_3d(self) -> Path:
        return self.root / f"data_3d_{self.kind}.npz"

    @property
    def file_2d(self) -> Path:
        return self.root / f"data_2d_{self.kind}_{self.detector}.npz"


def _subjects_and_extrinsics(source: DataSource, split: str) -> tuple[list[str], dict, dict, dict]:
    """Subjects of ``split``, {subject: {clip: extrinsics subject}}, {subject: {clip: action}},
    {subject: {clip: [virtual camera records]}} (empty for Human3.6M's own cameras)."""
    if source.kind == "open":
        meta_path = source.root / "benchmark.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(
                f"{meta_path}: cannot read the benchmark description ({e}); run `diffhpe data build`"
            ) from e
        if split not in meta["splits"]:
            raise ValueError(f"{meta_path}: unknown split {split!r}; have {sorted(meta['splits'])}")
        subjects = list(meta["splits"][split])
        extr = {
            s: {c: m["extrinsics"] for c, m in meta["clips"].get(s, {}).items()} for s in subjects
        }
        actions = {
            s: {c: m["action"] for c, m in meta["clips"].get(s, {}).items()} for s in subjects
        }
        virtual = {
            s: {c: m["cameras"] for c, m in meta["clips"].get(s, {}).items() if "cameras" in m}
            for s in subjects
        }
        return subjects, extr, actions, virtual
    if source.kind == "h36m":
        if split not in H36M_SPLITS:
            raise ValueError(f"Human3.6M split must be one of {sorted(H36M_SPLITS)}, got {split!r}")
        return list(H36M_SPLITS[split]), {}, {}, {}
    raise ValueError(f"unknown data kind {source.kind!r}; expected 'open' or 'h36m'")


def _pick_subjects(
    available: list[str], wanted: Sequence[str] | None, split: str, source: DataSource
) -> list[str]:
    """``wanted`` (in the split's order, each once), or every subject when None."""
    if wanted is None:
        return available
    wanted = [str(s) for s in wanted]
    unknown = [s for s in wanted if s not in available]
    if not wanted:
        raise ValueError(f"subjects (--subjects): none given; split {split!r} has {available}")
    if unknown:
        raise ValueError(
            f"{source.root}: unknown subjects {unknown} for split {split!r} (--subjects); "
            f"available: {available}"
        )
    return [s for s in available if s in wanted]


def load_sequences(
    source: DataSource,
    split: str,
    cameras: tuple[str, ...] | None = None,
    stride: int = 1,
    subjects: Sequence[str] | None = None,
) -> list[PoseSequence]:
    """All (subject, action, camera) sequences of ``split``, frames subsampled by ``stride``.

    2D: pixels -> :func:`normalize_screen`; NaN (joint outside the image) is kept and
    becomes a missing keypoint downstream. 3D: world -> camera frame with the extrinsics
    the clip was rendered with (Human3.6M: the subject's own), minus the pelvis.
    ``subjects``: only these subjects of the split (None: all); an unknown one is an
    error naming the split's subjects.
    """
    split_subjects, extrinsics, action_names, virtual = _subjects_and_extrinsics(source, split)
    subjects = _pick_subjects(split_subjects, subjects, split, source)
    pos3d = load_3d(source.file_3d)
    pos2d, _ = load_2d(source.file_2d)
    virtual_ids = sorted(
        {r["id"] for clips in virtual.values() for recs in clips.values() for r in recs}
    )
    known = virtual_ids or list(CAMERA_IDS)
    cam_ids = cameras or known
    unknown = set(cam_ids) - set(known)
    if unknown:
        raise ValueError(
            f"{source.root}: unknown camera ids {sorted(unknown)}; expected some of {known}"
        )
    seqs: list[PoseSequence] = []
    for subject in subjects:
        if subject not in pos3d:
            raise ValueError(f"{source.file_3d}: subject {subject!r} of split {split!r} is missing")
        if subject not in pos2d:
            raise ValueError(f"{source.file_2d}: subject {subject!r} of split {split!r} is missing")
        for clip, world in pos3d[subject].items():
            if clip not in pos2d[subject]:
                raise ValueError(
                    f"{source.file_2d}: positions_2d[{subject!r}] lacks action {clip!r}"
                )
            views = pos2d[subject][clip]
            records = virtual.get(subject, {}).get(clip)
            if records:  # a virtual-camera build: each view's own camera
                where = f"{source.root / 'benchmark.json'}: clips.{subject}.{clip}.cameras"
                cams = {r["id"]: camera_from_dict(r, r["id"], where) for r in records}
            else:
                cams = load_cameras(extrinsics.get(subject, {}).get(clip, subject))
            action = action_names.get(subject, {}).get(clip, clip.split(" ")[0])
            for ci, cid in enumerate(cams):
                if cid not in cam_ids or ci >= len(views):
                    continue
                uv = views[ci]
                n = min(len(uv), len(world))  # Human3.6M 2D files can be a frame longer
                cam = cams[cid]
                x3d = cam.world_to_camera(world[:n].astype(np.float64))
                x3d = x3d - x3d[:, :1]
                x2d = normalize_screen(uv[:n].astype(np.float64), cam.width, cam.height)
                seqs.append(
                    PoseSequence(
                        pose2d=x2d[::stride].astype(np.float32),
                        pose3d=x3d[::stride].astype(np.float32),
                        action=action,
                        subject=subject,
                        camera=cid,
                        name=f"{subject}/{clip}/{cid}",
                    )
                )
    if not seqs:
        raise ValueError(f"{source.root}: split {split!r} has no sequences")
    return seqs
