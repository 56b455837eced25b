import numpy as np
import pytest
import torch
from torch import nn

from diffhpe.cameras import normalize_screen
from diffhpe.config import load_config
from diffhpe.lifting import Lifter, blend_weights, window_starts


class FrameLocal(nn.Module):
    """A deterministic per-frame 'lifter': (x, y) -> (x, y, 0)."""

    def forward(self, x2d: torch.Tensor, visible: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([x2d, torch.zeros_like(x2d[..., :1])], dim=-1)


@pytest.mark.parametrize("n", [1, 8, 9, 10, 31, 100])
def test_windows_cover_every_frame(n):
    L, stride = 9, 3
    s = window_starts(n, L, stride)
    covered = np.zeros(n, int)
    for a in s:
        covered[a : min(a + L, n)] += 1
    assert covered.min() >= 1
    if n >= L:
        assert s[-1] == n - L and np.all(np.diff(s) <= stride)


def test_blend_weights_positive_and_peaked():
    w = blend_weights(27)
    assert w.min() > 0 and w.argmax() == 13 and np.allclose(w, w[::-1])


def test_lift_reproduces_a_frame_local_model_exactly_across_windows():
    cfg = load_config("tiny", ["data.length=9"])
    lifter = Lifter(FrameLocal(), cfg, batch_windows=4, stride=3)
    rng = np.random.default_rng(0)
    xy = rng.uniform(100, 900, size=(47, 17, 2))
    xy[5, 3] = np.nan  # a missing keypoint
    res = lifter.lift(xy, (1000, 1002))
    expect = normalize_screen(np.nan_to_num(xy, nan=0.0), 1000, 1002)
    expect[5, 3] = 0.0  # missing -> zeroed input
    expect3 = np.concatenate([expect, np.zeros((47, 17, 1))], -1)
    expect3 -= expect3[:, :1]
    missing = ~res.visible
    assert missing.sum() == 1 and missing[5, 3]
    # Blending identical per-frame predictions gives them back: no seams anywhere.
    ok = np.ones((47, 17), bool)
    ok[5, 3] = False
    assert np.allclose(res.pose3d[ok], expect3[ok], atol=1e-5)
    assert np.abs(res.pose3d[5, 3, :2] - (0 - expect[5, 0])).max() < 1e-5
    assert np.all(res.uncertainty == 0)


def test_short_sequence_and_bad_input():
    cfg = load_config("tiny")
    lifter = Lifter(FrameLocal(), cfg)
    xy = 500.0 + np.random.default_rng(0).uniform(-100, 100, (3, 17, 2))
    out = lifter.lift(xy, (1000, 1000))
    assert out.pose3d.shape == (3, 17, 3)
    with pytest.raises(ValueError, match=r"\(N, 17, 2\)"):
        lifter.lift(np.zeros((3, 16, 2)), (1000, 1000))
    with pytest.raises(ValueError, match="image_size"):
        lifter.lift(np.zeros((3, 17, 2)), (0, 1000))


def test_sampler_settings_reach_the_sampler():
    from diffhpe.config import DiffusionConfig
    from diffhpe.inference import make_sampler

    s = make_sampler(DiffusionConfig(sampler="ddim", sample_steps=4, eta=0.5, clip_x0=1.5))
    assert len(s.timesteps) == 4 and s.eta == 0.5 and s.clip_x0 == 1.5
    assert make_sampler(DiffusionConfig(sampler="ddpm")).clip_x0 is None
