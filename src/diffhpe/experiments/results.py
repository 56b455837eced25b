"""Every evaluation the page shows, gathered once all sections have collected theirs.

The page builds one :class:`Results` after the collect step of every section and before
any rendering; the claims and the returned numbers read it, nothing writes to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from diffhpe.experiments.cache import Evaluation, metric
from diffhpe.experiments.manifest import MATRIX_METRICS, TABLE2_METRICS, TABLE4_METRIC
from diffhpe.metrics import metric_spec

C = TypeVar("C")


@dataclass(frozen=True)
class Collected(Generic[C]):
    """What one section's ``collect`` gathered: its evaluations and its "not run" lines."""

    cells: C
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Results:
    """Every evaluation the page shows, by section (None: not run)."""

    table2: Mapping[str, Evaluation | None] = field(default_factory=dict)
    patterns: tuple[str, ...] = ()  # the manifest's occlusion patterns; (): no occlusion block
    table4: Mapping[str, Mapping[str, Evaluation | None]] = field(default_factory=dict)
    matrices: Mapping[str, Mapping[tuple[str, str], Evaluation | None]] = field(
        default_factory=dict
    )
    sampling: Mapping[tuple[str, int], Evaluation | None] = field(default_factory=dict)
    sampling_mixste: Evaluation | None = None
    denoising: Mapping[str, dict[str, Any]] = field(default_factory=dict)


def grid(
    cells: Mapping[tuple[str, str], Evaluation | None], patterns: tuple[str, ...], name: str
) -> np.ndarray:
    """(P, P) frame-weighted ``name`` (mm), rows = training pattern; NaN where not run."""
    p = patterns
    return np.array([[metric(cells.get((a, b)), name) for b in p] for a in p], dtype=np.float64)


def matrix(r: Results, model: str, name: str) -> np.ndarray:
    """(P, P) frame-weighted ``name`` (mm) of ``model``, rows = training pattern."""
    return grid(r.matrices[model], r.patterns, name)


def numbers(r: Results) -> dict[str, Any]:
    """The frame-weighted metrics (mm) behind the page, JSON-ready (NaN where not run)."""
    shown = [*TABLE2_METRICS, *(f"{k}_gt" for k in TABLE2_METRICS if metric_spec(k).of_pose)]

    def pick(e: Evaluation | None) -> dict[str, float]:
        return {k: metric(e, k) for k in shown}

    return {
        "table2": {k: pick(e) for k, e in r.table2.items()},
        "table4": {
            c: {p: metric(e, TABLE4_METRIC) for p, e in cells.items()}
            for c, cells in r.table4.items()
        },
        "matrices": {k: {n: matrix(r, k, n).tolist() for n in MATRIX_METRICS} for k in r.matrices},
        "sampling": {f"{s}-H{h}": pick(e) for (s, h), e in r.sampling.items()},
    }
