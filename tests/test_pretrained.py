"""The model shipped inside the package: loads with no download, lifts the bundled sample."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from diffhpe.lifting import Lifter, pretrained_path

MODELS = Path(str(resources.files("diffhpe") / "assets" / "models"))
SAMPLE = Path(str(resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz"))


def test_shipped_model_is_small_and_documented():
    path = pretrained_path()
    assert path.stat().st_size < 20 * 2**20
    card = (MODELS / "MODEL_CARD.md").read_text()
    assert "CC BY-SA 3.0" in card and "mocap.cs.cmu.edu" in card


def test_shipped_model_lifts_the_sample_within_the_cards_bound():
    bound = json.loads((MODELS / "MODEL_CARD.json").read_text())["sample"]["bound_mm"]
    lifter = Lifter.from_pretrained()
    assert lifter.cfg.model.kind == "wrapper"
    with np.load(SAMPLE, allow_pickle=False) as f:
        res = lifter.lift(f["keypoints"], tuple(int(v) for v in f["image_size"]))
        gt = f["gt3d"]
    mpjpe = np.linalg.norm(res.pose3d - gt, axis=-1).mean() * 1000
    assert mpjpe < bound, f"sample MPJPE {mpjpe:.1f} mm exceeds the card's bound {bound} mm"
    assert res.uncertainty.shape == (400, 17) and (res.uncertainty[:, 1:] > 0).all()  # root is 0
