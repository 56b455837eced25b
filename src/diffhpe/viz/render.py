"""Pictures of 3D results: side-by-side 2D input and 3D prediction as GIF, MP4 or PNG.

Shapes: T frames, J joints (17). ``pose3d`` and ``gt3d`` are ``(T, J, 3)`` metres in
the camera frame (x right, y down, z forward), ``pose2d`` is ``(T, J, 2)`` in image
pixels (or any 2D unit: the blank canvas then fits the keypoints), ``uncertainty`` is
``(T, J)`` metres (std across diffusion hypotheses) and every output image is
``(H, W, 3)`` uint8 RGB.

Display axes: the camera frame is shown upright with ``display = (x, z, -y)``, i.e.
display X = camera x (right), display Y = camera z (depth, away from the camera),
display Z = -camera y (up). This is a right-handed frame with Z up, so the person
stands on a floor at their lowest joint. Absolute joints in a world frame (z up, floor
z = 0: ``LiftResult.pose3d_world``, :mod:`diffhpe.trajectory`) are drawn with
``frame="world"``: as they are, on that floor, with the pelvis's track over the floor
(the person moves through the scene). The 3D view is an orthographic projection
done here in numpy and drawn with 2D matplotlib artists: a sphere of radius r then
projects to a disc of radius r exactly, and a frame costs a few milliseconds.

Matplotlib is needed only for drawing (``pip install diffhpe[viz]``); the geometry
helpers (:func:`camera_to_display`, :func:`scene_box`, :func:`view_basis`) use numpy
only, so :mod:`diffhpe.viz.html` shares them without matplotlib.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.skeleton import H36M, Skeleton

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
LEFT_COLOR = "#0072B2"  # blue
RIGHT_COLOR = "#D55E00"  # vermillion
CENTER_COLOR = "#3C3C3C"  # dark grey: pelvis, spine, neck, head
GT_COLOR = "#8C8C8C"  # grey, dashed
FLOOR_COLOR = "#D9D9D9"
TRACK_COLOR = "#009E73"  # bluish green: the pelvis's path over the floor

VIDEO_SUFFIXES = (".gif", ".mp4", ".png")


# --------------------------------------------------------------------------- inputs
def as_array(
    x: Any, name: str, shape: tuple[int | None, ...], allow_nan: bool = False
) -> np.ndarray:
    """``x`` (numpy or torch) as a float64 array of ``shape`` (None: any size), or ValueError.

    ``allow_nan``: NaN marks a missing value (infinities are still refused)."""
    if hasattr(x, "detach"):  # torch tensor: leave autograd and the device behind
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    ok = a.ndim == len(shape) and all(
        s is None or s == n for s, n in zip(shape, a.shape, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {tuple(a.shape)}")
    if np.isinf(a).any() or (not allow_nan and np.isnan(a).any()):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return a


def check_inputs(
    pose3d: Any,
    pose2d: Any = None,
    uncertainty: Any = None,
    gt3d: Any = None,
    skeleton: Skeleton = H36M,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Validate shapes ``(T, J, 3)``, ``(T, J, 2)``, ``(T, J)``, ``(T, J, 3)`` and equal T."""
    j = skeleton.num_joints
    p3 = as_array(pose3d, "pose3d", (None, j, 3))
    t = p3.shape[0]
    if t == 0:
        raise ValueError("pose3d: expected at least one frame, got T = 0")
    # 2D keypoints may be missing (NaN, e.g. a joint or frame the detector lost): not drawn.
    p2 = None if pose2d is None else as_array(pose2d, "pose2d", (t, j, 2), allow_nan=True)
    unc = None if uncertainty is None else as_array(uncertainty, "uncertainty", (t, j))
    if unc is not None and (unc < 0).any():
        raise ValueError("uncertainty: expected a non-negative std per joint (metres)")
    gt = None if gt3d is None else as_array(gt3d, "gt3d", (t, j, 3))
    return p3, p2, unc, gt


def side_colors(skeleton: Skeleton = H36M) -> tuple[list[str], list[str]]:
    """Colours per joint (J,) and per bone (S,): a bone takes its child's side."""
    joint = [CENTER_COLOR] * skeleton.num_joints
    for j in skeleton.left:
        joint[j] = LEFT_COLOR
    for j in skeleton.right:
        joint[j] = RIGHT_COLOR
    bone = [joint[c] for c, _ in skeleton.bones]
    return joint, bone


# ------------------------------------------------------------------------- geometry
def camera_to_display(x: np.ndarray) -> np.ndarray:
    """(..., 3) camera frame (x right, y down, z forward) -> display (x, z, -y), Z up."""
    return np.stack([x[..., 0], x[..., 2], -x[..., 1]], axis=-1)


def to_display(x: np.ndarray, frame: str = "camera") -> np.ndarray:
    """(..., 3) points -> display coordinates (Z up): the camera frame through
    :func:`camera_to_display`, a world frame (z up) as it is."""
    if frame == "world":
        return np.asarray(x, dtype=np.float64)
    if frame == "camera":
        return camera_to_display(x)
    raise ValueError(f"frame: expected 'camera' or 'world', got {frame!r}")


def show_track(pose3d: np.ndarray, frame: str = "camera", track: bool | None = None) -> bool:
    """Whether to draw the pelvis's track: ``track``, or when None, when the pelvis moves
    more than 5 cm over the floor (never for root-relative poses)."""
    if track is not None:
        return bool(track)
    xy = to_display(pose3d[:, 0], frame)[:, :2]
    return bool(np.ptp(xy, axis=0).max() > 0.05) if len(xy) else False


def view_basis(elev: float, azim: float) -> np.ndarray:
    """(3, 3) rows: screen right, screen up and the unit vector towards the viewer.

    Angles in degrees with matplotlib's meaning: azim = -90, elev = 0 looks along
    display +Y, i.e. from the camera that recorded the 2D input.
    """
    e, a = np.deg2rad(elev), np.deg2rad(azim)
    toward = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    right = np.array([-np.sin(a), np.cos(a), 0.0])
    up = np.cross(toward, right)
    return np.stack([right, up, toward])


@dataclass(frozen=True)
class SceneBox:
    """A cube in display coordinates holding every point of a sequence, computed once.

    ``center`` (3,), ``half`` the half side in metres, ``floor`` the display height
    of the lowest joint (the ground the person stands on).
    """

    center: np.ndarray
    half: float
    floor: float

    @property
    def limits(self) -> np.ndarray:
        """(3, 2) [min, max] per display axis (X right, Y depth, Z up)."""
        return np.stack([self.center - self.half, self.center + self.half], axis=1)

    def corners(self) -> np.ndarray:
        """(8, 3) the cube's corners."""
        lim = self.limits
        idx = np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T
        return np.stack([lim[0, idx[:, 0]], lim[1, idx[:, 1]], lim[2, idx[:, 2]]], axis=1)


def scene_box(
    pose3d: np.ndarray,
    uncertainty: np.ndarray | None = None,
    gt3d: np.ndarray | None = None,
    margin: float = 0.1,
    min_half: float = 0.25,
    frame: str = "camera",
) -> SceneBox:
    """The steady 3D frame of a whole sequence: one cube for all frames, so nothing jumps.

    Points are ``(T, J, 3)`` metres in ``frame`` (see :func:`to_display`); each joint is
    padded by its std when given. In the world frame the floor is z = 0.
    """
    pts = to_display(pose3d, frame).reshape(-1, 3)
    pad = np.zeros(len(pts)) if uncertainty is None else np.asarray(uncertainty).reshape(-1)
    lo, hi = (pts - pad[:, None]).min(0), (pts + pad[:, None]).max(0)
    floor = pts[:, 2].min()
    if gt3d is not None:
        g = to_display(gt3d, frame).reshape(-1, 3)
        lo, hi = np.minimum(lo, g.min(0)), np.maximum(hi, g.max(0))
        floor = min(floor, g[:, 2].min())
    if frame == "world":  # the fitted floor, in the box
        floor = 0.0
        lo[2], hi[2] = min(lo[2], 0.0), max(hi[2], 0.0)
    half = max(float((hi - lo).max()) / 2 * (1 + margin), min_half)
    return SceneBox(center=(lo + hi) / 2, half=half, floor=float(floor))


def screen_limits(
    box: SceneBox, basis: np.ndarray, aspect: float
) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of the projected cube plus 4 %, widened to ``aspect`` = width / height."""
    s = (box.corners() - box.center) @ basis[:2].T  # (8, 2) screen coordinates
    w, h = 2.08 * np.abs(s[:, 0]).max(), 2.08 * np.abs(s[:, 1]).max()
    w, h = max(w, h * aspect), max(h, w / aspect)
    return -w / 2, w / 2, -h / 2, h / 2


# -------------------------------------------------------------------------- drawing
class PoseRenderer:
    """One matplotlib figure, reused for every frame: artists are updated, not recreated.

    Left panel (when ``pose2d`` is given): the 2D skeleton over ``video_frames`` or over
    a blank canvas of ``image_size`` (W, H) (default: the keypoints' bounding box).
    Right panel: the 3D prediction seen from a fixed ``elev``/``azim`` inside the
    :class:`SceneBox` of the whole sequence, with discs of radius
    ``uncertainty_scale * std`` and the ground truth dashed grey.
    """

    def __init__(
        self,
        pose3d: Any,
        pose2d: Any = None,
        image_size: tuple[int, int] | None = None,
        uncertainty: Any = None,
        gt3d: Any = None,
        size: tuple[int, int] = (640, 360),
        elev: float = 15.0,
        azim: float = -65.0,
        uncertainty_scale: float = 1.0,
        skeleton: Skeleton = H36M,
        show_counter: bool = True,
        frame: str = "camera",
        track: bool | None = None,
    ) -> None:
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError("rendering needs matplotlib: pip install 'diffhpe[viz]'") from None
        self.pose3d, self.pose2d, self.uncertainty, self.gt3d = check_inputs(
            pose3d, pose2d, uncertainty, gt3d, skeleton
        )
        w, h = int(size[0]), int(size[1])
        if w < 16 or h < 16:
            raise ValueError(f"size: expected (width, height) of at least 16 pixels, got {size}")
        if uncertainty_scale <= 0:
            raise ValueError(f"uncertainty_scale: expected > 0, got {uncertainty_scale}")
        if image_size is not None and (len(image_size) != 2 or min(image_size) <= 0):
            raise ValueError(f"image_size: expected (width, height) > 0, got {image_size}")
        self.size = (w, h)
        self.skeleton = skeleton
        self.num_frames = self.pose3d.shape[0]
        self.uncertainty_scale = float(uncertainty_scale)
        self.basis = view_basis(elev, azim)
        self.frame = frame
        self.box = scene_box(self.pose3d, self.uncertainty, self.gt3d, frame=frame)
        self.track = show_track(self.pose3d, frame, track)
        self._joint_colors, self._bone_colors = side_colors(skeleton)

        dpi = 100
        self.fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor="white")
        self.canvas = FigureCanvasAgg(self.fig)
        split = 0.5 if self.pose2d is not None else 0.0
        self.ax3d = self.fig.add_axes((split, 0.0, 1.0 - split, 1.0))
        self.ax2d = self.fig.add_axes((0.0, 0.0, split, 1.0)) if split else None
        self.image_size = image_size
        self._setup_3d(show_counter)
        if self.ax2d is not None:
            self._setup_2d()

    # ---------------------------------------------------------------- 3D panel
    def _setup_3d(self, show_counter: bool) -> None:
        from matplotlib.collections import EllipseCollection, LineCollection

        ax = self.ax3d
        ax.set_axis_off()
        bbox = ax.get_position()
        aspect = (bbox.width * self.size[0]) / (bbox.height * self.size[1])
        x0, x1, y0, y1 = screen_limits(self.box, self.basis, aspect)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
        self.limits2d = (x0, x1, y0, y1)  # fixed once: checked by the tests
        self._draw_floor()

        n_bones = len(self.skeleton.bones)
        if self.uncertainty is not None:
            j = self.skeleton.num_joints
            self._discs = EllipseCollection(
                np.zeros(j),
                np.zeros(j),
                np.zeros(j),
                units="xy",
                offsets=np.zeros((j, 2)),
                offset_transform=ax.transData,
                facecolors=self._joint_colors,
                edgecolors="none",
                alpha=0.3,
                zorder=1,
            )
            ax.add_collection(self._discs)
        if self.gt3d is not None:
            self._gt = LineCollection(
                np.zeros((n_bones, 2, 2)), colors=GT_COLOR, linewidths=1.5,
                linestyles=(0, (3, 2)), zorder=2,
            )  # fmt: skip
            ax.add_collection(self._gt)
        self._bones3d = LineCollection(np.zeros((n_bones, 2, 2)), linewidths=3.0, zorder=3)
        ax.add_collection(self._bones3d)
        self._joints3d = ax.scatter(
            np.zeros(self.skeleton.num_joints), np.zeros(self.skeleton.num_joints),
            s=10, c=self._joint_colors, zorder=4, linewidths=0,
        )  # fmt: skip
        self._counter = (
            ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=8, color="#333")
            if show_counter
            else None
        )
        self._legend()

    def _project(self, x_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(J, 3) metres (camera or world frame) -> (J, 2) screen coordinates and (J,)
        depth (larger = nearer)."""
        p = (to_display(x_cam, self.frame) - self.box.center) @ self.basis.T
        return p[:, :2], p[:, 2]

    def _draw_floor(self) -> None:
        """A 5x5 grid on the floor plane under the person, drawn once."""
        from matplotlib.collections import LineCollection

        lim, z = self.box.limits, self.box.floor
        ticks_x, ticks_y = np.linspace(*lim[0], 6), np.linspace(*lim[1], 6)
        segs = [[(x, lim[1, 0], z), (x, lim[1, 1], z)] for x in ticks_x]
        segs += [[(lim[0, 0], y, z), (lim[0, 1], y, z)] for y in ticks_y]
        s = (np.asarray(segs) - self.box.center) @ self.basis[:2].T
        self.ax3d.add_collection(LineCollection(s, colors=FLOOR_COLOR, linewidths=0.8, zorder=0))
        if self.track:  # the pelvis over the floor, the whole way (current spot: _update_3d)
            g = to_display(self.pose3d[:, 0], self.frame)
            g[:, 2] = z
            s = (g - self.box.center) @ self.basis[:2].T
            self.ax3d.plot(s[:, 0], s[:, 1], color=TRACK_COLOR, lw=1.2, zorder=0.5)
            self._here = self.ax3d.scatter([s[0, 0]], [s[0, 1]], s=18, c=TRACK_COLOR, zorder=0.6)
        # Axis triad at a floor corner, named by camera axes: display X, Y, Z = x, z, -y
        # (world frame: x, y, z).
        o = np.array([lim[0, 0], lim[1, 0], z])
        names = ("x", "y", "z") if self.frame == "world" else ("x", "z", "-y")
        for d, label in zip(((1, 0, 0), (0, 1, 0), (0, 0, 1)), names, strict=True):
            q = np.stack([o, o + 0.3 * self.box.half * np.asarray(d)]) - self.box.center
            q = q @ self.basis[:2].T
            self.ax3d.plot(q[:, 0], q[:, 1], color="#999", lw=1, zorder=0)
            self.ax3d.text(q[1, 0], q[1, 1], label, fontsize=7, color="#777")

    def _legend(self) -> None:
        from matplotlib.lines import Line2D

        items = [Line2D([], [], color=LEFT_COLOR, lw=3), Line2D([], [], color=RIGHT_COLOR, lw=3)]
        labels = ["left", "right"]
        if self.gt3d is not None:
            items.append(Line2D([], [], color=GT_COLOR, lw=1.5, ls=(0, (3, 2))))
            labels.append("ground truth")
        if self.uncertainty is not None:
            items.append(
                Line2D([], [], color=CENTER_COLOR, marker="o", ls="", alpha=0.3, markersize=8)
            )
            scale = "" if self.uncertainty_scale == 1 else f"{self.uncertainty_scale:g} "
            labels.append(f"{scale}std")
        self.ax3d.legend(items, labels, loc="upper right", fontsize=7, frameon=False)

    def _update_3d(self, t: int) -> None:
        xy, depth = self._project(self.pose3d[t])
        bones = self.skeleton.bones
        # Painter's order: far bones first, so the near limb covers the far one.
        order = np.argsort(depth[bones].mean(1))
        self._bones3d.set_segments(xy[bones[order]])
        self._bones3d.set_colors([self._bone_colors[i] for i in order])
        self._joints3d.set_offsets(xy)
        if self.uncertainty is not None:
            d = 2 * self.uncertainty_scale * self.uncertainty[t]
            self._discs.set_offsets(xy)
            self._discs.set_widths(d)
            self._discs.set_heights(d)
        if self.gt3d is not None:
            gxy, _ = self._project(self.gt3d[t])
            self._gt.set_segments(gxy[bones])
        if self.track:
            g = to_display(self.pose3d[t, 0], self.frame)
            g[2] = self.box.floor
            self._here.set_offsets(((g - self.box.center) @ self.basis[:2].T)[None])
        if self._counter is not None:
            self._counter.set_text(f"frame {t + 1}/{self.num_frames}")

    # ---------------------------------------------------------------- 2D panel
    def _setup_2d(self) -> None:
        from matplotlib.collections import LineCollection

        ax = self.ax2d
        assert ax is not None and self.pose2d is not None
        ax.set_xticks([])
        ax.set_yticks([])
        for s in ax.spines.values():
            s.set_color("#BBBBBB")
        self._image = None
        if self.image_size is not None:
            self._set_canvas(0, self.image_size[0], 0, self.image_size[1])
        else:
            pts = self.pose2d.reshape(-1, 2)
            pts = pts[np.isfinite(pts).all(-1)]
            if len(pts) == 0:  # every 2D keypoint missing: any canvas will do
                pts = np.array([[0.0, 0.0], [1.0, 1.0]])
            lo, hi = pts.min(0), pts.max(0)
            pad = 0.1 * max(float((hi - lo).max()), 1e-6)
            self._set_canvas(lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
        n_bones = len(self.skeleton.bones)
        self._bones2d = LineCollection(
            np.zeros((n_bones, 2, 2)), colors=self._bone_colors, linewidths=2.0, zorder=3
        )
        ax.add_collection(self._bones2d)
        self._joints2d = ax.scatter(
            np.zeros(self.skeleton.num_joints), np.zeros(self.skeleton.num_joints),
            s=8, c=self._joint_colors, zorder=4, linewidths=0,
        )  # fmt: skip

    def _set_canvas(self, x0: float, x1: float, y0: float, y1: float) -> None:
        assert self.ax2d is not None
        self.ax2d.set_xlim(x0, x1)
        self.ax2d.set_ylim(y1, y0)  # image rows grow downwards
        self.ax2d.set_aspect("equal", adjustable="box")

    def _update_2d(self, t: int, image: np.ndarray | None) -> None:
        assert self.ax2d is not None and self.pose2d is not None
        if image is not None:
            if image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(f"video_frames: expected (H, W, 3) RGB frames, got {image.shape}")
            if self._image is None:
                h, w = image.shape[:2]
                self._image = self.ax2d.imshow(
                    image, extent=(0, w, h, 0), interpolation="bilinear", zorder=0
                )
                self._set_canvas(0, w, 0, h)
            else:
                self._image.set_data(image)
        xy = self.pose2d[t]
        self._bones2d.set_segments(xy[self.skeleton.bones])
        self._joints2d.set_offsets(xy)

    # ------------------------------------------------------------------ output
    def draw(self, t: int, image: np.ndarray | None = None) -> np.ndarray:
        """(H, W, 3) uint8 RGB picture of frame ``t`` (``image``: the video frame under 2D)."""
        if not 0 <= t < self.num_frames:
            raise ValueError(f"frames: index {t} outside [0, {self.num_frames})")
        self._update_3d(t)
        if self.ax2d is not None:
            self._update_2d(t, image)
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        self.fig.clear()


def _frame_indices(frames: Iterable[int] | slice | None, num_frames: int) -> list[int]:
    if frames is None:
        return list(range(num_frames))
    if isinstance(frames, slice):
        return list(range(num_frames))[frames]
    idx = [int(i) for i in frames]
    bad = [i for i in idx if not 0 <= i < num_frames]
    if bad:
        raise ValueError(f"frames: indices {bad[:5]} outside [0, {num_frames})")
    return idx


class _VideoReader:
    """Random access to an array/sequence of frames, or forward-only access to an iterator."""

    def __init__(self, video: Any) -> None:
        self.indexable = hasattr(video, "__getitem__") and hasattr(video, "__len__")
        self.video = video if self.indexable else iter(video)
        self.cursor = -1
        self.current: np.ndarray | None = None

    def __call__(self, t: int) -> np.ndarray:
        if self.indexable:
            if t >= len(self.video):
                raise ValueError(f"video_frames: has {len(self.video)} frames, frame {t} asked")
            return np.asarray(self.video[t])
        if t < self.cursor:
            raise ValueError("frames: must not go backwards when video_frames is an iterator")
        while self.cursor < t:
            try:
                self.current = np.asarray(next(self.video))
            except StopIteration:
                raise ValueError(
                    f"video_frames: ended after {self.cursor + 1} frames, frame {t} asked"
                ) from None
            self.cursor += 1
        assert self.current is not None
        return self.current


def render_frames(
    pose3d: Any,
    pose2d: Any = None,
    image_size: tuple[int, int] | None = None,
    uncertainty: Any = None,
    gt3d: Any = None,
    frames: Iterable[int] | slice | None = None,
    video_frames: Any = None,
    size: tuple[int, int] = (640, 360),
    elev: float = 15.0,
    azim: float = -65.0,
    uncertainty_scale: float = 1.0,
    skeleton: Skeleton = H36M,
    frame: str = "camera",
    track: bool | None = None,
) -> Iterator[np.ndarray]:
    """Yield one ``(H, W, 3)`` uint8 picture per selected frame (all frames by default).

    ``size`` = (W, H) of the output; see :class:`PoseRenderer` for the panels. The 3D
    view (angles and limits) is fixed once from the whole sequence, not per frame.
    ``video_frames`` is an array/sequence or an iterator of RGB frames (then ``frames``
    must be increasing). ``frame``: "camera" (default) or "world" (z up, floor z = 0),
    ``track``: draw the pelvis's path over the floor (default: when it moves).
    """
    if video_frames is not None and pose2d is None:
        raise ValueError("video_frames: given without pose2d; pass the 2D keypoints to draw on it")
    renderer = PoseRenderer(
        pose3d, pose2d, image_size, uncertainty, gt3d, size, elev, azim, uncertainty_scale,
        skeleton, frame=frame, track=track,
    )  # fmt: skip
    video = None if video_frames is None else _VideoReader(video_frames)
    try:
        for t in _frame_indices(frames, renderer.num_frames):
            yield renderer.draw(t, None if video is None else video(t))
    finally:
        renderer.close()


# --------------------------------------------------------------------------- saving
def _middle(frames_iter: Iterable[np.ndarray]) -> np.ndarray:
    """The middle item of a sequence, or of an iterator while holding only half of it."""
    if isinstance(frames_iter, Sequence) or isinstance(frames_iter, np.ndarray):
        if len(frames_iter) == 0:
            raise ValueError("frames_iter: no frames to save")
        return frames_iter[len(frames_iter) // 2]
    kept: deque[np.ndarray] = deque()
    n = 0
    for f in frames_iter:
        kept.append(f)
        n += 1
        while len(kept) > n - n // 2:  # keep items n // 2 .. n - 1
            kept.popleft()
    if not kept:
        raise ValueError("frames_iter: no frames to save")
    return kept[0]


def _check_frame(f: Any, size: tuple[int, int] | None) -> np.ndarray:
    a = np.asarray(f)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
        raise ValueError(
            f"frames_iter: expected (H, W, 3) uint8 RGB frames, got {a.shape} {a.dtype}"
        )
    if size is not None and a.shape[:2] != size:
        raise ValueError(f"frames_iter: frame of size {a.shape[:2]} after frames of {size}")
    return a


def save_video(path: str | Path, frames_iter: Iterable[np.ndarray], fps: float = 25) -> Path:
    """Write RGB frames to ``.gif`` (Pillow), ``.mp4`` (imageio-ffmpeg) or ``.png`` (middle one).

    GIF stores delays in 1/100 s, so fps above 50 plays slower in most viewers.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"path {str(path)!r}: expected a suffix in {VIDEO_SUFFIXES}")
    if not fps > 0:
        raise ValueError(f"fps: expected > 0, got {fps}")
    path.parent.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    if suffix == ".png":
        Image.fromarray(_check_frame(_middle(frames_iter), None)).save(path)
        return path
    if suffix == ".gif":
        it = iter(frames_iter)
        first = next(it, None)
        if first is None:
            raise ValueError("frames_iter: no frames to save")
        first = _check_frame(first, None)
        shape = first.shape[:2]
        rest = (Image.fromarray(_check_frame(f, shape)) for f in it)
        Image.fromarray(first).save(
            path, save_all=True, append_images=rest, duration=round(1000 / fps), loop=0
        )
        return path
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ImportError(
            f"writing {str(path)!r} needs imageio-ffmpeg: install the video extra "
            "(pip install 'diffhpe[video]') or save a .gif instead"
        ) from None
    writer = None
    shape: tuple[int, int] | None = None
    try:
        for f in frames_iter:
            a = _check_frame(f, shape)
            if writer is None:
                shape = a.shape[:2]
                if shape[0] % 2 or shape[1] % 2:
                    raise ValueError(f"frames_iter: mp4 (yuv420p) needs even sizes, got {shape}")
                writer = imageio_ffmpeg.write_frames(
                    str(path), (shape[1], shape[0]), fps=fps, codec="libx264",
                    pix_fmt_in="rgb24", macro_block_size=1,
                )  # fmt: skip
                writer.send(None)  # start the generator (it runs ffmpeg)
            writer.send(np.ascontiguousarray(a))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError("frames_iter: no frames to save")
    return path


def render(path: str | Path, pose3d: Any, *, fps: float = 25, **kwargs: Any) -> Path:
    """:func:`render_frames` then :func:`save_video`; a ``.png`` path renders only the middle frame."""
    if Path(path).suffix.lower() == ".png":
        p3 = check_inputs(pose3d, skeleton=kwargs.get("skeleton", H36M))[0]
        idx = _frame_indices(kwargs.pop("frames", None), p3.shape[0])
        if not idx:
            raise ValueError("frames: selects no frame")
        kwargs["frames"] = [idx[len(idx) // 2]]
    return save_video(path, render_frames(pose3d, **kwargs), fps)
