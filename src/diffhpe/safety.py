"""Guards against silent wrong answers: input sanity, output paths, resource bounds.

One place for the checks that every way in shares (``diffhpe lift``, the Python API
:meth:`diffhpe.lifting.Lifter.lift`, video input):

- **Input sanity** (:func:`check_image_size`, :func:`check_keypoints`): the image size
  must be two finite numbers in ``MIN_IMAGE_SIDE..MAX_IMAGE_SIDE`` pixels; a sequence
  with no visible keypoint, or whose visible keypoints coincide at one point in every
  frame (e.g. all zeros), is refused. A frame whose visible keypoints lie mostly
  (more than half) outside the image grown by ``OUTSIDE_MARGIN`` on every side is
  flagged: more than half of the frames flagged is an error, fewer a warning.
- **Suspect frames** (:func:`suspect_frames`): a frame whose keypoints lie mostly
  outside the image (as above) or that has fewer than ``MIN_VISIBLE_JOINTS`` visible
  joints is lifted but flagged: :meth:`diffhpe.lifting.Lifter.lift` returns a per-frame
  ``suspect`` (N,) and NaN ``uncertainty`` there, so the output never looks confident.
- **Output paths** (:func:`check_output_path`, :func:`check_output_dir`): checked
  before any work (extension, a folder that exists or can be created and is writable,
  not an input file); :func:`atomic_path` writes beside the target and renames. These
  live in :mod:`diffhpe.output_paths` and are re-exported here.
- **Resource bounds** (:func:`check_hypotheses`, :func:`check_sampling_memory`): at most
  ``MAX_HYPOTHESES`` hypotheses, and the estimated memory of one batch of sampling
  (``hypotheses x windows x frames x 17 joints x denoiser width x 4 bytes x
  ACTIVATION_FACTOR``) at most ``MEMORY_FRACTION`` of the machine's memory (of the
  GPU's for a CUDA device), refused before anything is allocated.

Every check is vectorised numpy over the whole sequence (a few ms for 100,000 frames).
"""

from __future__ import annotations

import math
import os
import warnings
from numbers import Real
from typing import Any

import numpy as np

from diffhpe.output_paths import (
    OutputPathError,
    atomic_path,
    check_distinct_outputs,
    check_output_dir,
    check_output_path,
    write_text_atomic,
)

# Re-exported: the output-path checks and atomic writes live in diffhpe.output_paths.
__all__ = [
    "ACTIVATION_FACTOR",
    "MAX_HYPOTHESES",
    "MAX_IMAGE_SIDE",
    "MEMORY_FRACTION",
    "MIN_IMAGE_SIDE",
    "MIN_PERSON_PX",
    "MIN_PERSON_SHARE",
    "MIN_VISIBLE_JOINTS",
    "NUM_JOINTS",
    "OUTSIDE_MARGIN",
    "OutputPathError",
    "atomic_path",
    "check_device",
    "check_distinct_outputs",
    "check_hypotheses",
    "check_image_size",
    "check_keypoints",
    "check_lift_input",
    "check_lift_memory",
    "check_output_dir",
    "check_output_path",
    "check_sampling_memory",
    "memory_bytes",
    "sampling_memory_bytes",
    "suspect_frames",
    "write_text_atomic",
]

NUM_JOINTS = 17
MIN_IMAGE_SIDE = 16  # pixels: below, no detector output is meaningful
MAX_IMAGE_SIDE = 100_000  # pixels: above, the size is a unit or typing mistake
OUTSIDE_MARGIN = 0.5  # a keypoint up to half the image size beyond an edge is still "near"
MIN_VISIBLE_JOINTS = 8  # of 17: with fewer a frame's 3D is mostly guessed (flagged suspect)
# A person whose median extent is below both MIN_PERSON_PX and MIN_PERSON_SHARE of the
# image's longer side is no pose to lift (typically normalised coordinates given as pixels).
MIN_PERSON_PX = 8.0
MIN_PERSON_SHARE = 0.02
MAX_HYPOTHESES = 1000  # -H ceiling: beyond, the mean/median no longer changes
MEMORY_FRACTION = 0.75  # of the machine's memory (the GPU's for CUDA) one batch may take
# Live float32 denoiser activations per (hypothesis, window, frame, joint, channel): the
# shipped model's peak resident growth measured 3.9x (H=800) to 5.7x (H=200) of one such
# tensor on the CPU; 6 keeps the estimate at or above what was measured.
ACTIVATION_FACTOR = 6


# ----------------------------------------------------------------------- input sanity
def _num(v: Any) -> str:
    return str(int(v)) if isinstance(v, (int, np.integer)) else f"{float(v):g}"


def check_image_size(image_size: Any, name: str = "image_size") -> tuple[float, float]:
    """``(width, height)`` as two finite numbers in ``MIN_IMAGE_SIDE..MAX_IMAGE_SIDE``
    pixels, or a ValueError naming ``name``."""
    if image_size is None:
        raise ValueError(
            f"{name} is required: the (width, height) in pixels of the image the keypoints are in"
        )
    try:
        values = tuple(image_size)
    except TypeError:
        raise ValueError(f"{name} must be (width, height) in pixels, got {image_size!r}") from None
    if len(values) != 2 or not all(
        isinstance(v, (Real, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in values
    ):
        raise ValueError(
            f"{name} must be two numbers (width, height) in pixels, got {image_size!r}"
        )
    w, h = (float(v) for v in values)
    if not (math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
        raise ValueError(f"{name} must be two positive finite numbers, got {image_size!r}")
    if min(w, h) < MIN_IMAGE_SIDE or max(w, h) > MAX_IMAGE_SIDE:
        raise ValueError(
            f"{name} {_num(values[0])}x{_num(values[1])} is not a plausible image size: each side "
            f"must be in {MIN_IMAGE_SIDE}..{MAX_IMAGE_SIDE} pixels"
        )
    return w, h


def check_keypoints(
    xy: Any,
    image_size: Any,
    name: str = "keypoints",
    size_name: str = "image_size",
    stacklevel: int = 2,
) -> np.ndarray:
    """Check a ``(N, 17, 2)`` pixel sequence (NaN = missing) against its image size.

    Returns the boolean ``(N,)`` mask of frames whose visible keypoints lie mostly
    outside the image (with ``OUTSIDE_MARGIN``); warns about them when they are at most
    half of the frames with a visible keypoint, raises ValueError when they are more.
    Raises ValueError for a bad shape or image size, no visible keypoint at all, or
    visible keypoints that coincide at one point in every frame.
    """
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 2):
        raise ValueError(f"{name}: keypoints must have shape (N, 17, 2), got {arr.shape}")
    if len(arr) == 0:
        raise ValueError(f"{name}: the sequence has no frames")
    w, h = check_image_size(image_size, size_name)
    visible = np.isfinite(arr).all(-1)  # (N, J)
    count = visible.sum(-1)  # (N,)
    framed = count > 0
    if not framed.any():
        raise ValueError(
            f"{name}: no visible keypoint in any of the {len(arr)} frames (all missing, or "
            "all below the score threshold)"
        )
    pts = np.where(visible[..., None], arr, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without keypoints: NaN
        spread = np.nanmax(pts, axis=1) - np.nanmin(pts, axis=1)  # (N, 2)
    coincide = framed & (np.nan_to_num(spread, nan=0.0).max(-1) <= 1e-6 * max(w, h))
    if coincide[framed].all():
        where = arr[framed][0][visible[framed][0]][0]
        raise ValueError(
            f"{name}: in every frame all visible keypoints are the same point (e.g. "
            f"({where[0]:g}, {where[1]:g}) px): not a person; check the input's coordinates"
        )
    extent = np.nan_to_num(spread, nan=0.0).max(-1)  # (N,) the person's size, px
    several = count >= 2
    size = float(np.median(extent[several])) if several.any() else None
    if size is not None and size < min(MIN_PERSON_PX, MIN_PERSON_SHARE * max(w, h)):
        raise ValueError(
            f"{name}: the person spans only {size:.2g} px (median over frames) in a "
            f"{w:g}x{h:g} image: keypoints in normalised units? give pixels, or the right "
            "image size"
        )
    outside = _outside_frames(arr, visible, w, h)
    n_out, n_framed = int(outside.sum()), int(framed.sum())
    if n_out:
        first = ", ".join(str(i) for i in np.flatnonzero(outside)[:5])
        more = ", ..." if n_out > 5 else ""
        text = (
            f"{name}: in {n_out} of {n_framed} frames most visible keypoints lie far outside "
            f"the {w:g}x{h:g} image (beyond {OUTSIDE_MARGIN:.0%} of its size; frames "
            f"{first}{more})"
        )
        if 2 * n_out > n_framed:
            raise ValueError(f"{text}: wrong image size or coordinates in another unit?")
        warnings.warn(f"{text}; their 3D is unreliable", UserWarning, stacklevel=stacklevel + 1)
    return outside


def _outside_frames(arr: np.ndarray, visible: np.ndarray, w: float, h: float) -> np.ndarray:
    """(N,) frames whose visible keypoints lie mostly (more than half) beyond the image
    grown by ``OUTSIDE_MARGIN`` on every side."""
    mx, my = OUTSIDE_MARGIN * w, OUTSIDE_MARGIN * h
    x, y = arr[..., 0], arr[..., 1]
    with np.errstate(invalid="ignore"):
        far = visible & ((x < -mx) | (x > w + mx) | (y < -my) | (y > h + my))
    count = visible.sum(-1)
    return (count > 0) & (2 * far.sum(-1) > count)


def suspect_frames(xy: Any, image_size: Any) -> np.ndarray:
    """(N,) bool: frames whose 3D cannot be trusted, from the same geometry as
    :func:`check_keypoints`: most visible keypoints far outside the image, or fewer than
    ``MIN_VISIBLE_JOINTS`` visible joints (none at all included). Call after
    :func:`check_keypoints` has accepted the sequence."""
    arr = np.asarray(xy, dtype=np.float64)
    w, h = check_image_size(image_size)
    visible = np.isfinite(arr).all(-1)
    return _outside_frames(arr, visible, w, h) | (visible.sum(-1) < MIN_VISIBLE_JOINTS)


def check_lift_input(lifter: Any, xy: Any, image_size: Any) -> np.ndarray:
    """The checks of :meth:`diffhpe.lifting.Lifter.lift`: :func:`check_keypoints`, then
    the hypotheses and the memory of one batch of windows (diffusion models only).
    Returns :func:`suspect_frames` (N,), warning once when some frames have fewer than
    ``MIN_VISIBLE_JOINTS`` visible joints (frames far outside warned already)."""
    outside = check_keypoints(xy, image_size, name="lift", stacklevel=3)
    check_lift_memory(lifter, len(np.asarray(xy)))
    suspect = suspect_frames(xy, image_size)
    few = suspect & ~outside
    if few.any():
        first = ", ".join(str(i) for i in np.flatnonzero(few)[:5])
        more = ", ..." if few.sum() > 5 else ""
        warnings.warn(
            f"lift: {int(few.sum())} of {len(few)} frames have fewer than {MIN_VISIBLE_JOINTS} "
            f"visible joints (frames {first}{more}); they are flagged suspect, with NaN "
            "uncertainty",
            UserWarning,
            stacklevel=3,
        )
    return suspect


def check_lift_memory(
    lifter: Any, frames: int, fix: str = "use fewer hypotheses or a smaller Lifter.batch_windows"
) -> None:
    """Hypotheses and the memory of one batch of ``lifter`` lifting ``frames`` frames
    (diffusion models only; a MixSTE makes one pose per window)."""
    model = getattr(lifter, "model", None)
    if model is None or not hasattr(model, "condition"):
        return
    hyps = int(lifter.diffusion.hypotheses)
    check_hypotheses(hyps, "hypotheses")
    length, stride = int(lifter.length), int(lifter.stride)
    windows = 1 if frames <= length else -(-(frames - length) // stride) + 1  # window_starts
    check_sampling_memory(
        hyps,
        min(windows, int(lifter.batch_windows)),
        length,
        int(lifter.cfg.model.denoiser.channels),
        device=getattr(lifter, "device", "cpu"),
        fix=fix,
    )


# -------------------------------------------------------------------- resource bounds
def check_hypotheses(hypotheses: int | None, flag: str = "-H/--hypotheses") -> None:
    """``hypotheses`` (None: the checkpoint's) in ``1..MAX_HYPOTHESES``."""
    if hypotheses is None:
        return
    if isinstance(hypotheses, bool) or not isinstance(hypotheses, (int, np.integer)):
        raise ValueError(f"{flag} must be an integer, got {hypotheses!r}")
    if not 1 <= hypotheses <= MAX_HYPOTHESES:
        raise ValueError(
            f"{flag} must be in 1..{MAX_HYPOTHESES} (diffhpe.safety.MAX_HYPOTHESES), "
            f"got {hypotheses}"
        )


def memory_bytes(device: Any = "cpu") -> int | None:
    """Total memory of ``device``: the GPU's for CUDA, else the machine's RAM (None when
    unknown)."""
    if str(device).startswith("cuda"):
        try:
            import torch

            return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
        except Exception:  # noqa: BLE001 - unknown: no bound rather than a crash
            return None
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def sampling_memory_bytes(hypotheses: int, windows: int, frames: int, channels: int) -> int:
    """Estimated peak bytes of sampling one batch: every hypothesis of every window runs
    through the denoiser at once (float32, ``ACTIVATION_FACTOR`` live activations)."""
    return (
        int(hypotheses) * int(windows) * int(frames) * NUM_JOINTS * max(int(channels), 3)
        * 4 * ACTIVATION_FACTOR
    )  # fmt: skip


def check_sampling_memory(
    hypotheses: int,
    windows: int,
    frames: int,
    channels: int,
    device: Any = "cpu",
    fix: str = "use fewer hypotheses (-H) or a smaller batch (--batch-size)",
) -> int:
    """Refuse (ValueError) a batch whose :func:`sampling_memory_bytes` exceeds
    ``MEMORY_FRACTION`` of :func:`memory_bytes`; returns the estimate."""
    need = sampling_memory_bytes(hypotheses, windows, frames, channels)
    total = memory_bytes(device)
    if total is not None and need > MEMORY_FRACTION * total:
        raise ValueError(
            f"{hypotheses} hypotheses x {windows} windows of {frames} frames need an "
            f"estimated {need / 2**30:.1f} GiB, more than {MEMORY_FRACTION:.0%} of the "
            f"{total / 2**30:.1f} GiB of {'GPU ' if str(device).startswith('cuda') else ''}"
            f"memory here (diffhpe.safety.MEMORY_FRACTION); {fix}"
        )
    return need


def check_device(device: str, flag: str = "--device") -> None:
    """A torch device that exists here: a clear error instead of torch's AssertionError."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"{flag} {device!r}: not a device (cpu, cuda, cuda:N): {e}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "torch is built without CUDA" if torch.version.cuda is None else "no GPU found"
            raise ValueError(
                f"{flag} {device}: CUDA is not available here ({why}); use --device cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"{flag} {device}: there are {torch.cuda.device_count()} CUDA device(s) here"
            )
