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

Matplotlib is needed only for drawing (``pip install diffhpe[viz]``). The geometry
(:func:`camera_to_display`, :func:`scene_box`, :func:`view_basis`, colours) is in
:mod:`diffhpe.viz.geometry` (numpy only, shared with :mod:`diffhpe.viz.html`) and the
writers (:func:`save_video`) in :mod:`diffhpe.viz.encode`; both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.skeleton import H36M, Skeleton
from diffhpe.viz.encode import VIDEO_SUFFIXES, save_video
from diffhpe.viz.geometry import (
    CENTER_COLOR,
    FLOOR_COLOR,
    GT_COLOR,
    LEFT_COLOR,
    RIGHT_COLOR,
    TRACK_COLOR,
    SceneBox,
    as_array,
    camera_to_display,
    check_inputs,
    scene_box,
    screen_limits,
    show_track,
    side_colors,
    to_display,
    view_basis,
)

# Re-exported: the geometry and the writers lived here before viz.geometry and viz.encode.
__all__ = [
    "CENTER_COLOR",
    "FLOOR_COLOR",
    "GT_COLOR",
    "LEFT_COLOR",
    "RIGHT_COLOR",
    "TRACK_COLOR",
    "VIDEO_SUFFIXES",
    "PoseRenderer",
    "SceneBox",
    "as_array",
    "camera_to_display",
    "check_inputs",
    "render",
    "render_frames",
    "save_video",
    "scene_box",
    "screen_limits",
    "show_track",
    "side_colors",
    "to_display",
    "view_basis",
]


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


def render(path: str | Path, pose3d: Any, *, fps: float = 25, **kwargs: Any) -> Path:
    """:func:`render_frames` then :func:`save_video`; a ``.png`` path renders only the middle frame."""
    if Path(path).suffix.lower() == ".png":
        p3 = check_inputs(pose3d, skeleton=kwargs.get("skeleton", H36M))[0]
        idx = _frame_indices(kwargs.pop("frames", None), p3.shape[0])
        if not idx:
            raise ValueError("frames: selects no frame")
        kwargs["frames"] = [idx[len(idx) // 2]]
    return save_video(path, render_frames(pose3d, **kwargs), fps)
