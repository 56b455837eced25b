"""Reading and detector-noise speed: the timings the tests no longer assert.

Times, in this process, each over ``--repeats`` runs (median):

- ``load_motion`` of a long real CMU ASF/AMC clip (``01/01_06.amc``, over 2,000 frames)
  from ``../shared/data`` (the row says "missing" without it); bound 5 s;
- ``DetectorNoiseModel.from_json``: the fit to the tests' statistics fixture, and to the
  real Stacked Hourglass file when ``../shared`` has it; bound 2 s each;
- ``DetectorNoiseModel.sample`` on 100,000 frames (4 sequences of 25,000: the bundled
  sample's 2D walk played forwards and backwards) with the fixture's model; bound 2 s
  (1 M frames well under 20 s).

Usage::

    python benchmarks/reading_speed.py [--repeats 3] [--smoke] \\
        [--json benchmarks/results/reading-speed.json]

Prints one line per timing and writes the rows (what, size, median seconds, bound,
within) to ``--json``. Exit status 1 when a bound is exceeded. ``report.py`` does not
read this file: docs/PERFORMANCE.md has no section for it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import REPO, RESULTS, write_results

from diffhpe.data.noise import DetectorNoiseModel
from diffhpe.io.mocap import load_motion

SHARED = REPO.parent / "shared" / "data"
AMC_CLIP = SHARED / "cmu_asfamc" / "01" / "01_06.amc"
FIXTURE_JSON = REPO / "tests" / "fixtures" / "detector_noise" / "stacked_hourglass_h36m_subset.json"
REAL_JSON = SHARED / "detector_noise" / "stacked_hourglass_h36m.json"
SAMPLE = REPO / "src" / "diffhpe" / "assets" / "samples" / "cmu03_03_walk.npz"
READ_BOUND_S = 5.0
FIT_BOUND_S = 2.0
SAMPLE_BOUND_S = 2.0


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median seconds of ``repeats`` calls of ``fn``, and its last result."""
    seconds, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), out


def walk_2d(frames: int) -> np.ndarray:
    """(frames, 17, 2) px: the bundled sample's 2D keypoints, forwards then backwards."""
    with np.load(SAMPLE, allow_pickle=False) as f:
        clip = f["keypoints"].astype(np.float64)
    loop = np.concatenate([clip, clip[::-1]])
    return np.resize(loop, (frames, *clip.shape[1:]))


def row(what: str, size: str, seconds: float | None, bound: float) -> dict[str, Any]:
    within = None if seconds is None else seconds < bound
    shown = "missing" if seconds is None else f"{seconds:.3f} s"
    print(
        f"{what} ({size}): {shown}, bound {bound:g} s"
        + ("" if within is not False else " EXCEEDED")
    )
    return {"what": what, "size": size, "seconds": seconds, "bound_s": bound, "within": within}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    p.add_argument("--smoke", action="store_true", help="one run, 10,000 sampled frames")
    p.add_argument("--json", type=Path, default=RESULTS / "reading-speed.json")
    args = p.parse_args()
    repeats = 1 if args.smoke else args.repeats
    rows = []

    if AMC_CLIP.is_file():
        s, motion = timed(lambda: load_motion(AMC_CLIP, fps_out=None), repeats)
        rows.append(
            row("load_motion 01_06.amc", f"{len(motion.positions):,} frames", s, READ_BOUND_S)
        )
    else:
        rows.append(row("load_motion 01_06.amc", f"not at {AMC_CLIP}", None, READ_BOUND_S))

    s, model = timed(lambda: DetectorNoiseModel.from_json(FIXTURE_JSON), repeats)
    rows.append(row("DetectorNoiseModel.from_json", "tests' fixture", s, FIT_BOUND_S))
    if REAL_JSON.is_file():
        s, _ = timed(lambda: DetectorNoiseModel.from_json(REAL_JSON), repeats)
        rows.append(row("DetectorNoiseModel.from_json", "real statistics", s, FIT_BOUND_S))

    per_seq = 2_500 if args.smoke else 25_000
    seqs = [walk_2d(per_seq) for _ in range(4)]

    def sample_all() -> None:
        rng = np.random.default_rng(0)
        for g in seqs:
            model.sample(g, rng)

    s, _ = timed(sample_all, repeats)
    rows.append(row("DetectorNoiseModel.sample", f"4 x {per_seq:,} frames", s, SAMPLE_BOUND_S))

    out = write_results(
        args.json, "reading_speed", args.smoke, torch.get_num_threads(), False,
        repeats=repeats, rows=rows,
    )  # fmt: skip
    print(f"wrote {out}")
    return 1 if any(r["within"] is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
