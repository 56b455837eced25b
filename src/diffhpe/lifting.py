"""Lift whole 2D keypoint sequences of any length to 3D (the engine behind ``diffhpe lift``).

A sequence ``(N, 17, 2)`` in pixels is normalised with its image size, cut into
overlapping windows of the model's L frames, lifted in batches, and blended back with
tapered weights so there is no seam at window borders. Memory is bounded by the batch
of windows in flight, not by N (the output itself is ``(N, 17, 3)``).

Missing keypoints (NaN) are zeroed and flagged as not visible, exactly like the
occlusions the models were trained with. Keypoints that jump to someone else
(:mod:`diffhpe.identity`) are made missing the same way and their frames flagged.
The per-joint uncertainty is the hypotheses' spread, calibrated into a predicted RMS
error when the model has a calibration file (:mod:`diffhpe.uncertainty`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

from diffhpe.cameras import normalize_screen
from diffhpe.config import DiffusionConfig, RunConfig
from diffhpe.diffusion import hypothesis_std
from diffhpe.diffusion.reproj import screen_intrinsics
from diffhpe.identity import IdentityJumps, find_identity_jumps, mask_jumps
from diffhpe.inference import is_diffusion, make_sampler, predict
from diffhpe.models.factory import load_model
from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS
from diffhpe.trajectory import Intrinsics, root_trajectory
from diffhpe.uncertainty import UncertaintyCalibration, calibration_path

PRETRAINED = {"default": "diffhpe-wrapper-open.safetensors"}


def pretrained_path(name: str = "default") -> Path:
    """Path of a model shipped with the package."""
    if name not in PRETRAINED:
        raise KeyError(f"no shipped model {name!r}; available: {sorted(PRETRAINED)}")
    path = Path(str(resources.files("diffhpe") / "assets" / "models" / PRETRAINED[name]))
    if not path.exists():
        raise FileNotFoundError(f"shipped model {name!r} is missing from the installation ({path})")
    return path


@dataclass
class LiftResult:
    """3D poses of one sequence, camera frame, metres, root-relative (pelvis at 0).

    pose3d: (N, 17, 3); uncertainty: (N, 17) metres, the predicted RMS 3D error of each
    joint when the model has a calibration (``uncertainty_info["kind"] == "calibrated"``),
    else the raw ``spread``; spread: (N, 17) per-joint std across hypotheses in metres
    (zeros for a deterministic model); window_spread: (N, 17) metres, how much the
    overlapping windows that cover a frame disagree (weighted std); visible: (N, 17) bool,
    what the model saw (input visibility, minus identity jumps). identity_jump: (N,) bool,
    frames where keypoints jumped to someone else (:mod:`diffhpe.identity`);
    identity_jump_joints: (N, 17) bool, the keypoints masked for it.
    suspect: (N,) bool, frames whose input cannot be trusted
    (:func:`diffhpe.safety.suspect_frames`: most keypoints far outside the image, or fewer
    than ``MIN_VISIBLE_JOINTS`` visible joints); their pose is still given, but their
    ``uncertainty`` is NaN so it never reads as a confident estimate.
    root_cam: (N, 3) the pelvis in the camera frame, metres (:mod:`diffhpe.trajectory`:
    least-squares reprojection, smoothed); pose3d_world: (N, 17, 3) absolute joints in a
    world frame with z up and the floor at z = 0; trajectory: how both were made
    (intrinsics, camera-to-world transform). NaN where no root could be estimated.
    """

    pose3d: np.ndarray
    uncertainty: np.ndarray
    visible: np.ndarray
    suspect: np.ndarray | None = None
    root_cam: np.ndarray | None = None
    pose3d_world: np.ndarray | None = None
    trajectory: dict | None = None
    spread: np.ndarray | None = None
    window_spread: np.ndarray | None = None
    identity_jump: np.ndarray | None = None
    identity_jump_joints: np.ndarray | None = None
    uncertainty_info: dict | None = None

    def __post_init__(self) -> None:
        n = len(self.pose3d)
        if self.suspect is None:
            self.suspect = np.zeros(n, dtype=bool)
        if self.spread is None:
            self.spread = self.uncertainty
        if self.window_spread is None:
            self.window_spread = np.zeros_like(self.spread)
        if self.identity_jump_joints is None:
            self.identity_jump_joints = np.zeros((n, NUM_JOINTS), dtype=bool)
        if self.identity_jump is None:
            self.identity_jump = self.identity_jump_joints.any(1)

    def uncertainty_for_display(self) -> np.ndarray:
        """``uncertainty`` for pictures that need numbers: NaN (suspect frames) becomes the
        sequence's largest finite uncertainty, so those frames show the widest spread."""
        finite = np.isfinite(self.uncertainty)
        top = float(self.uncertainty[finite].max()) if finite.any() else 0.0
        return np.where(finite, self.uncertainty, top).astype(np.float32)


def window_starts(n: int, length: int, stride: int) -> np.ndarray:
    """Starts of windows of ``length`` covering ``0..n-1`` with ``stride``; the last window
    ends on the last frame. Sequences shorter than ``length`` get one window at 0."""
    if n <= length:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n - length + 1, stride)
    if starts[-1] != n - length:
        starts = np.append(starts, n - length)
    return starts.astype(np.int64)


def blend_weights(length: int) -> np.ndarray:
    """(L,) tapered weights: highest mid-window, small but positive at the edges, so each
    frame leans on the windows where it has the most context on both sides."""
    t = (np.arange(length) + 0.5) / length
    return (np.sin(np.pi * t) ** 2 + 1e-3).astype(np.float64)


class Lifter:
    """A trained model + sampling settings, ready to lift sequences.

    ``Lifter.from_checkpoint(path).lift(xy, image_size=(w, h))``.
    """

    def __init__(
        self,
        model: nn.Module,
        cfg: RunConfig,
        diffusion: DiffusionConfig | None = None,
        device: str | torch.device = "cpu",
        batch_windows: int = 64,
        stride: int | None = None,
        seed: int = 0,
        compile: bool = False,
        identity_check: bool = True,
        calibration: UncertaintyCalibration | None = None,
        model_sha256: str = "",
        calibration_note: str = "no calibration file for this model",
    ) -> None:
        self.model = model.to(device).eval()
        if compile:  # optional torch.compile of the denoiser; warns and runs eagerly on failure
            denoiser = getattr(self.model, "denoiser", None)
            if denoiser is not None:
                denoiser.enable_compile()
        self.cfg = cfg
        self.diffusion = diffusion or cfg.diffusion
        self.device = torch.device(device)
        self.length = cfg.data.length
        self.batch_windows = batch_windows
        self.stride = stride or max(1, self.length // 3)
        self.seed = seed
        self.identity_check = identity_check  # mask keypoints that jump to someone else
        self.calibration = calibration  # spread -> predicted RMS error (diffhpe.uncertainty)
        self.model_sha256 = model_sha256
        self.calibration_note = calibration_note  # why there is none, when there is none

    @classmethod
    def from_checkpoint(cls, path: str | Path, **kwargs) -> Lifter:
        """Load a checkpoint, and its uncertainty calibration when one lies beside it
        (:func:`diffhpe.uncertainty.calibration_path`; unreadable: a warning, raw spread)."""
        model, cfg = load_model(path)
        cal_path = calibration_path(path)
        if "calibration" not in kwargs and cal_path.exists():
            from diffhpe.checkpoint import file_sha256

            try:
                kwargs["calibration"] = UncertaintyCalibration.load(cal_path)
                kwargs.setdefault("model_sha256", file_sha256(path))
            except ValueError as e:
                warnings.warn(f"{e}; the uncertainty is the raw spread", UserWarning, stacklevel=2)
                kwargs.setdefault("calibration_note", str(e))
        return cls(model, cfg, **kwargs)

    def uncertainty_setup(self) -> tuple[UncertaintyCalibration | None, dict]:
        """The calibration that applies to the current model and sampling settings (None:
        raw spread) and what the output says about it (``kind``, ``note``)."""
        cal = self.calibration
        if cal is None:
            return None, {"kind": "spread", "note": self.calibration_note}
        why = cal.mismatch(self.model_sha256, self.diffusion)
        if why is not None:
            return None, {"kind": "spread", "note": why}
        info = {
            "kind": "calibrated",
            "note": "predicted RMS 3D error per joint: sqrt((a_j spread)^2 + "
            "(c_j window_spread)^2 + b_j(visible)^2), fitted on the validation split "
            "(docs/UNCERTAINTY.md)",
            "fitted_on": cal.fitted_on,
        }
        return cal, info

    @classmethod
    def from_pretrained(cls, name: str = "default", **kwargs) -> Lifter:
        """The model shipped inside the package (no download): see ``assets/models``."""
        return cls.from_checkpoint(pretrained_path(name), **kwargs)

    def _windows(self, x: np.ndarray, vis: np.ndarray, starts: np.ndarray) -> Iterator[tuple]:
        """Batches of (start indices, x2d (B, L, J, 2), visible (B, L, J)), edge-padded."""
        n, L = len(x), self.length
        offsets = np.arange(L)
        for lo in range(0, len(starts), self.batch_windows):
            s = starts[lo : lo + self.batch_windows]
            idx = np.minimum(s[:, None] + offsets[None], n - 1)  # edge-pad short sequences
            yield s, torch.from_numpy(x[idx]), torch.from_numpy(vis[idx])

    @torch.inference_mode()
    def lift(
        self,
        xy: np.ndarray,
        image_size: tuple[int, int],
        focal: float | None = None,
        fps: float | None = None,
    ) -> LiftResult:
        """(N, 17, 2) pixels (NaN = missing) + (width, height) -> :class:`LiftResult`.

        ``focal`` (pixels) and ``fps`` shape the root trajectory: the focal length
        (default: a guess from the image size) and the time scale of its smoothing
        (default 50 frames/s); see :mod:`diffhpe.trajectory`. With the aggregation
        ``'reproj'`` the hypotheses are also chosen through that camera. ``fps`` also
        sets the speeds of the identity-jump check (:mod:`diffhpe.identity`; off with
        ``Lifter.identity_check = False``), which warns once when it masks keypoints."""
        from diffhpe.safety import check_lift_input, suspect_frames  # CLI, Python API, video

        suspect = check_lift_input(self, xy, image_size)  # sizes, geometry, memory; (N,)
        xy = np.asarray(xy, dtype=np.float64)
        if xy.ndim != 3 or xy.shape[1:] != (NUM_JOINTS, 2):
            raise ValueError(f"lift: keypoints must have shape (N, 17, 2), got {xy.shape}")
        if len(xy) == 0:
            raise ValueError("lift: the sequence has no frames")
        w, h = image_size
        if w <= 0 or h <= 0:
            raise ValueError(f"lift: image_size must be positive (width, height), got {image_size}")
        jumps = self.identity_jumps(xy, fps)
        if jumps.count:
            xy = mask_jumps(xy, jumps)
            suspect = np.asarray(suspect, dtype=bool) | suspect_frames(xy, image_size)
        visible = np.isfinite(xy).all(-1)
        x = np.where(visible[..., None], normalize_screen(xy, w, h), 0.0).astype(np.float32)
        n, L = len(x), self.length
        starts = window_starts(n, L, self.stride)
        weights = blend_weights(L)
        acc = np.zeros((n, NUM_JOINTS, 3))
        acc_unc = np.zeros((n, NUM_JOINTS))
        acc_sq = np.zeros((n, NUM_JOINTS))  # weighted sum of |pose|^2: window disagreement
        wsum = np.zeros(n)
        gen = torch.Generator().manual_seed(self.seed)
        sampler = make_sampler(self.diffusion) if is_diffusion(self.model) else None
        # aggregation 'reproj': the camera of the root trajectory, in normalised units.
        camera = screen_intrinsics(Intrinsics.from_image(image_size, focal), w, h)
        for s, xb, vb in self._windows(x, visible, starts):
            pred = predict(
                self.model, xb.to(self.device), vb.to(self.device), self.diffusion, gen, sampler,
                keep_hypotheses=True, camera=camera,
            )  # fmt: skip
            pose = pred.pose.cpu().numpy().astype(np.float64)  # (B, L, J, 3)
            unc = (
                hypothesis_std(pred.hypotheses).cpu().numpy()
                if pred.hypotheses is not None and pred.hypotheses.shape[0] > 1
                else np.zeros(pose.shape[:3])
            )
            # Scatter-add every window's real frames (padding of short sequences dropped).
            frame = s[:, None] + np.arange(L)[None]  # (B, L)
            real = frame < n
            w = np.broadcast_to(weights, frame.shape)[real]  # (R,)
            np.add.at(acc, frame[real], w[:, None, None] * pose[real])
            np.add.at(acc_unc, frame[real], w[:, None] * unc[real])
            np.add.at(acc_sq, frame[real], w[:, None] * (pose[real] ** 2).sum(-1))
            np.add.at(wsum, frame[real], w)
        mean = acc / wsum[:, None, None]
        pose3d = mean.astype(np.float32)
        spread = (acc_unc / wsum[:, None]).astype(np.float32)
        var_win = acc_sq / wsum[:, None] - (mean**2).sum(-1)
        window_spread = np.sqrt(np.maximum(var_win, 0.0)).astype(np.float32)
        window_spread[suspect] = np.nan
        spread[suspect] = np.nan  # suspect input: no confident-looking uncertainty
        cal, unc_info = self.uncertainty_setup()
        unc = spread if cal is None else cal.apply(spread, window_spread, visible)
        unc = unc.astype(np.float32)
        # Where the person is: root by reprojection (suspect frames left out), world frame.
        traj = root_trajectory(
            pose3d, xy, image_size, focal=focal, fps=fps or 50.0,
            weights=np.where(np.asarray(suspect, dtype=bool)[:, None], 0.0, visible),
        )  # fmt: skip
        return LiftResult(
            pose3d=pose3d, uncertainty=unc, visible=visible, suspect=suspect,
            root_cam=traj.root_cam.astype(np.float32),
            pose3d_world=traj.pose_world(pose3d).astype(np.float32), trajectory=traj.meta(),
            spread=spread, window_spread=window_spread, identity_jump=jumps.frames,
            identity_jump_joints=jumps.joints, uncertainty_info=unc_info,
        )  # fmt: skip

    def identity_jumps(self, xy: np.ndarray, fps: float | None) -> IdentityJumps:
        """:func:`diffhpe.identity.find_identity_jumps` of (N, 17, 2) pixels (nothing
        when ``identity_check`` is off), with one warning when some are found."""
        if not self.identity_check:
            none = np.zeros(xy.shape[:2], dtype=bool)
            return IdentityJumps(none, none.any(1), none.any(1))
        jumps = find_identity_jumps(xy, fps)
        if jumps.count:
            warnings.warn(
                f"lift: identity jumps (keypoints leap onto someone else, or left/right "
                f"swaps) in {jumps.describe()}; those keypoints are treated as missing and "
                "the frames flagged identity_jump",
                UserWarning,
                stacklevel=4,  # identity_jumps <- lift <- torch's inference_mode <- caller
            )
        return jumps


def save_result(path: str | Path, result: LiftResult, meta: dict) -> Path:
    """Write a lift to ``.npz`` (plain arrays) or ``.json``: the 3D joints (N, 17, 3) in
    metres, camera frame, root-relative; per-joint uncertainty (N, 17) in metres; input
    visibility; the per-frame ``suspect`` flag (NaN uncertainty there; ``null`` in
    JSON); the raw hypothesis ``spread`` and ``window_spread`` (N, 17) and what ``uncertainty`` is
    (``uncertainty_info`` in the metadata: calibrated or raw spread, and why); the
    per-frame ``identity_jump`` flag and the masked ``identity_jump_joints`` (N, 17);
    the root trajectory ``root_cam`` (N, 3) and world-frame joints
    ``pose3d_world`` (N, 17, 3) with how they were made (``trajectory``); joint names;
    and ``meta`` (input mapping, image size, model, sampler)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "units": "metres",
        "frame": "camera (x right, y down, z forward), root-relative (Pelvis at 0)",
        "joint_names": list(JOINT_NAMES),
        **meta,
    }
    if result.uncertainty_info is not None:
        info["uncertainty_info"] = result.uncertainty_info
    info["identity_jump_frames"] = int(np.asarray(result.identity_jump, dtype=bool).sum())
    if result.root_cam is not None:
        info["trajectory"] = {
            "root_cam": "the pelvis, camera frame, metres (pose3d + root_cam = absolute)",
            "pose3d_world": "absolute joints, world frame: z up, floor z = 0, metres",
            **(result.trajectory or {}),
        }
    if path.suffix == ".json":
        doc = {
            **info,
            "pose3d": np.round(result.pose3d.astype(np.float64), 5).tolist(),
            "visible": result.visible.tolist(),
            "suspect": np.asarray(result.suspect, dtype=bool).tolist(),
            "identity_jump": np.asarray(result.identity_jump, dtype=bool).tolist(),
            "identity_jump_joints": np.asarray(result.identity_jump_joints, dtype=bool).tolist(),
        }
        # NaN (suspect frames, no root) -> null
        for key in ("uncertainty", "spread", "window_spread", "root_cam", "pose3d_world"):
            value = getattr(result, key)
            if value is not None:
                rounded = np.round(np.asarray(value, dtype=np.float64), 5)
                doc[key] = np.where(np.isfinite(rounded), rounded, None).tolist()
        path.write_text(json.dumps(doc), encoding="utf-8")
    elif path.suffix == ".npz":
        np.savez_compressed(
            path,
            pose3d=result.pose3d,
            uncertainty=result.uncertainty,
            visible=result.visible,
            suspect=np.asarray(result.suspect, dtype=bool),
            spread=np.asarray(result.spread, dtype=np.float32),
            window_spread=np.asarray(result.window_spread, dtype=np.float32),
            identity_jump=np.asarray(result.identity_jump, dtype=bool),
            identity_jump_joints=np.asarray(result.identity_jump_joints, dtype=bool),
            **{k: v for k in ("root_cam", "pose3d_world") if (v := getattr(result, k)) is not None},
            joint_names=np.array(JOINT_NAMES),
            meta=np.array(json.dumps(info)),
        )
    else:
        raise ValueError(f"{path}: output must end in .npz or .json")
    return path
