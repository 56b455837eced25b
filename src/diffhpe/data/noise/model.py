"""The detector-noise model: its parameters, and drawing detections from exact 2D.

Shapes: N frames of ONE continuous sequence of one camera, J = 17 joints
(``diffhpe.skeleton.JOINT_NAMES``), 2 pixel coordinates (x right, y down): ``(N, J, 2)``.
Noise is drawn per sequence, before windows are cut into the package's ``(B, T, J, C)``.

The figures come from ``shared/data/detector_noise/stacked_hourglass_h36m.json``
(Stacked Hourglass detections on Human3.6M against the projected ground truth; its
``header.definitions`` defines every statistic). Every spread is in units of the
person's pixel height ``h_t = max y - min y`` of the 17 ground-truth joints in frame t
(the JSON's ``*_h`` columns), so a person half as tall gets half the error. For joint j,
axis a, frame t the detection is

    d_tja = g_t,s(t,j),a + h_t * (w_ja u_tja + o_tj v_ja y_tja + m_a c_ta + b_ja)

- ``u``, ``c`` (core, common mode) and ``y`` (tail): unit-variance Gaussian processes,
  white + AR(1) rho 0.862 + AR(1) rho 0.9845 per 50 Hz frame (the JSON's
  ``temporal_model``), independent per joint and axis except ``c``, shared by all joints;
- ``w``: within-sequence core sd; ``b ~ N(0, seq_sd)``: a constant per-sequence offset
  (the JSON's ``sd_seqmean``); ``m``: the shared per-frame shift (``common_mode``);
- ``o_tj``: 0/1 tail episodes (a 2-state Markov chain, mean length
  ``outlier_episode_frames``) that add the wide Gaussian ``v y``: the marginal is a
  two-component Gaussian scale mixture (core + heavy tail);
- ``s(t, j)``: j itself, or its other-side twin during a left/right swap episode (the
  detection then sits at the twin's ground truth plus j's noise).

Fitted to the JSON by ``fitting`` (``DetectorNoiseModel.from_json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.data.noise.fitting import fit_parameters
from diffhpe.data.noise.joints import LR_PAIRS, _check_poses, _person_height
from diffhpe.data.noise.processes import _episodes, _swap, _UnitProcess
from diffhpe.skeleton import NUM_JOINTS

FORMAT = "diffhpe.detector_noise.v1"

_CHUNK = 1 << 15  # frames drawn at once: bounds memory on long sequences


@dataclass
class DetectorNoiseModel:
    """Parameters of the detector-noise model (module docstring); spreads in units of h.

    J = 17 joints, P = 6 left/right pairs (``LR_PAIRS``); arrays are float64.
    """

    core_sd: np.ndarray
    """(J, 2) within-sequence core sd per axis."""
    seq_sd: np.ndarray
    """(J,) sd of the constant per-sequence offset, per axis."""
    common_sd: np.ndarray
    """(2,) sd of the per-frame shift shared by all joints."""
    outlier_prob: np.ndarray
    """(J,) share of frames inside a tail episode."""
    outlier_sd: np.ndarray
    """(J, 2) sd added during a tail episode."""
    swap_both: np.ndarray
    """(P,) share of frames with both sides of the pair swapped."""
    swap_left: np.ndarray
    """(P,) share of frames with (also) the left detection on the right joint."""
    swap_right: np.ndarray
    """(P,) same for the right detection on the left joint."""
    core_temporal_weights: tuple[float, float, float] = (0.131, 0.269, 0.600)
    """Variance shares of white noise and the two AR(1) components of the core and the
    common mode."""
    tail_temporal_weights: tuple[float, float, float] = (0.131, 0.269, 0.600)
    """Same for the Gaussian inside tail episodes."""
    temporal_rhos: tuple[float, float] = (0.862, 0.9845)
    """Per-frame (50 Hz) coefficients of the two AR(1) components."""
    outlier_episode_frames: float = 50.0
    swap_episode_frames: float = 10.0
    ref_height_px: float = 315.0
    """Median person height of the source figures (px): px targets = h-units * this."""
    source: str = ""

    def __post_init__(self) -> None:
        shapes = {
            "core_sd": (NUM_JOINTS, 2),
            "seq_sd": (NUM_JOINTS,),
            "common_sd": (2,),
            "outlier_prob": (NUM_JOINTS,),
            "outlier_sd": (NUM_JOINTS, 2),
            "swap_both": (len(LR_PAIRS),),
            "swap_left": (len(LR_PAIRS),),
            "swap_right": (len(LR_PAIRS),),
        }
        for name, shape in shapes.items():
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != shape or not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ValueError(
                    f"DetectorNoiseModel.{name}: expected finite non-negative values of "
                    f"shape {shape}, got shape {arr.shape}"
                )
            setattr(self, name, arr)
        for name in ("outlier_prob", "swap_both", "swap_left", "swap_right"):
            if np.any(getattr(self, name) >= 1.0):
                raise ValueError(f"DetectorNoiseModel.{name}: rates must be < 1")
        for name in ("core_temporal_weights", "tail_temporal_weights"):
            w = tuple(float(x) for x in getattr(self, name))
            if len(w) != 3 or min(w) < 0 or abs(sum(w) - 1.0) > 1e-6:
                raise ValueError(
                    f"DetectorNoiseModel.{name}: expected 3 non-negative shares summing "
                    f"to 1, got {w}"
                )
            setattr(self, name, w)
        self.temporal_rhos = tuple(float(r) for r in self.temporal_rhos)
        if len(self.temporal_rhos) != 2 or not all(0 < r < 1 for r in self.temporal_rhos):
            raise ValueError(
                f"DetectorNoiseModel.temporal_rhos: expected 2 values in (0, 1), "
                f"got {self.temporal_rhos}"
            )
        for name in ("outlier_episode_frames", "swap_episode_frames", "ref_height_px"):
            if not float(getattr(self, name)) >= 1.0:
                raise ValueError(f"DetectorNoiseModel.{name}: expected >= 1")

    # ------------------------------------------------------------------ fitting

    @classmethod
    def from_json(cls, path: str | Path, section: str = "all") -> DetectorNoiseModel:
        """Fit the model to the JSON's figures of one ``section`` (``fit_parameters``)."""
        return cls(**fit_parameters(path, section))

    # ------------------------------------------------------------------ sampling

    def sample(self, gt2d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(N, 17, 2) exact pixels of one sequence of one camera -> (N, 17, 2) detections.

        Joints whose ground truth is NaN stay NaN (and are never swapped onto).
        """
        gt = _check_poses(gt2d, "gt2d")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng: expected numpy.random.Generator, got {type(rng).__name__}")
        n = gt.shape[0]
        if n == 0:
            return gt.copy()
        h = _person_height(gt)  # (N,)

        # Episode states over the whole sequence: booleans, cheap even for 1 M frames.
        tail_on = _episodes(rng, n, self.outlier_prob, self.outlier_episode_frames)
        both = _episodes(rng, n, self.swap_both, self.swap_episode_frames)
        left = _episodes(rng, n, self.swap_left, self.swap_episode_frames) | both
        right = _episodes(rng, n, self.swap_right, self.swap_episode_frames) | both
        offset = rng.standard_normal((NUM_JOINTS, 2)) * self.seq_sd[:, None]

        w_core, w_tail, rhos = (
            self.core_temporal_weights,
            self.tail_temporal_weights,
            self.temporal_rhos,
        )
        core = _UnitProcess(rng, NUM_JOINTS * 2, w_core, rhos)
        tail = _UnitProcess(rng, NUM_JOINTS * 2, w_tail, rhos)
        common = _UnitProcess(rng, 2, w_core, rhos)
        err = np.empty((n, NUM_JOINTS, 2))
        for s in range(0, n, _CHUNK):
            e = min(n, s + _CHUNK)
            m = e - s
            z = core.draw(m).reshape(m, NUM_JOINTS, 2) * self.core_sd
            z += tail.draw(m).reshape(m, NUM_JOINTS, 2) * self.outlier_sd * tail_on[s:e, :, None]
            z += common.draw(m)[:, None, :] * self.common_sd
            z += offset
            err[s:e] = z
        err *= np.nan_to_num(h, nan=0.0)[:, None, None]

        det = _swap(gt, left, right) + err
        det[~np.isfinite(gt).all(axis=-1)] = np.nan
        dtype = np.asarray(gt2d).dtype
        return det.astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)

    # ------------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable parameters (``from_dict`` inverts it exactly)."""
        out: dict[str, Any] = {"format": FORMAT}
        for name in _FIELDS:
            value = getattr(self, name)
            out[name] = value.tolist() if isinstance(value, np.ndarray) else value
            if isinstance(value, tuple):
                out[name] = list(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorNoiseModel:
        """Rebuild from ``to_dict``; unknown or missing keys are errors."""
        if not isinstance(data, dict):
            raise ValueError(f"DetectorNoiseModel.from_dict: expected a dict, got {type(data)}")
        if data.get("format") != FORMAT:
            raise ValueError(
                f"DetectorNoiseModel.from_dict: field 'format' must be {FORMAT!r}, "
                f"got {data.get('format')!r}"
            )
        keys = set(data) - {"format"}
        unknown, missing = keys - set(_FIELDS), set(_FIELDS) - keys
        if unknown or missing:
            raise ValueError(
                f"DetectorNoiseModel.from_dict: unknown fields {sorted(unknown)}, "
                f"missing fields {sorted(missing)}"
            )
        return cls(**{name: data[name] for name in _FIELDS})


_FIELDS: tuple[str, ...] = tuple(DetectorNoiseModel.__dataclass_fields__)
