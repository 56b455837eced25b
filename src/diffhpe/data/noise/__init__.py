"""Detector-like noise for exact 2D keypoints, fitted to Stacked Hourglass errors.

Exact 2D projections of motion capture become realistic "detected" 2D: heavy-tailed,
temporally correlated errors, scaled by the person's pixel height, with left/right swaps.

- ``model``: ``DetectorNoiseModel``, its parameters and ``sample`` (the equation is in
  its module docstring);
- ``processes``: the random processes ``sample`` draws (episodes, AR(1) mixtures, swaps);
- ``figures``: the statistics JSON read and validated, its figures in model units;
- ``fitting``: the fit of the parameters to those figures (``from_json``), with the
  numerical tools in ``numerics``;
- ``statistics``: achieved error figures, the JSON's targets, their comparison;
- ``joints``: the joint groups and ``(N, 17, 2)`` pixel arrays they all share.
"""

from diffhpe.data.noise.figures import SEPARATION_LOG_SD, SEPARATION_MEDIAN_H
from diffhpe.data.noise.fitting import SWAP_EPISODE_FRAMES, fit_parameters
from diffhpe.data.noise.joints import EXCLUDED_JOINTS, LR_PAIRS
from diffhpe.data.noise.model import FORMAT, DetectorNoiseModel
from diffhpe.data.noise.statistics import compare_table, noise_statistics, noise_targets

__all__ = [
    "EXCLUDED_JOINTS",
    "FORMAT",
    "LR_PAIRS",
    "SEPARATION_LOG_SD",
    "SEPARATION_MEDIAN_H",
    "SWAP_EPISODE_FRAMES",
    "DetectorNoiseModel",
    "compare_table",
    "fit_parameters",
    "noise_statistics",
    "noise_targets",
]
