"""Video writers: RGB frames to ``.gif`` (Pillow), ``.mp4`` (imageio-ffmpeg) or ``.png``.

Frames are ``(H, W, 3)`` uint8 RGB, from any iterable (a generator is consumed once).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

VIDEO_SUFFIXES = (".gif", ".mp4", ".png")


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
