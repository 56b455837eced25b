"""``diffusion.pose_scale``: the diffusion runs on poses / pose_scale (issue 16), in
training, sampling (start, clipping, output) and the denoising profile."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from diffhpe.config import DiffusionConfig, load_config
from diffhpe.diffusion import make_schedule
from diffhpe.inference import predict
from diffhpe.training.batch import TrainBatch, accumulate_gradients

B, T, J = 2, 5, 17


def _pose(seed: int = 0) -> Tensor:
    """(B, T, J, 3) root-relative poses in metres, some coordinates beyond 0.6 m."""
    x = torch.randn(B, T, J, 3, generator=torch.Generator().manual_seed(seed)) * 0.4
    return x - x[..., :1, :]


class OracleWrapper(nn.Module):
    """A wrapper whose conditioning is the true pose (metres) and whose denoiser outputs
    the exact x0 of the diffusion space, ``pose / scale``; its 'MixSTE estimate' is the
    true pose plus an offset, so a warm start that ignores the scale starts elsewhere."""

    def __init__(self, pose: Tensor, scale: float) -> None:
        super().__init__()
        self.pose, self.scale = pose, scale

    def condition(self, x2d: Tensor, visible: Tensor | None = None) -> Tensor:
        return self.pose

    def condition_and_estimate(self, x2d: Tensor, visible: Tensor | None = None):
        return self.pose, self.pose + 0.05

    def forward(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        return cond / self.scale


@pytest.mark.parametrize("scale", [1.0, 0.25, 3.0])
@pytest.mark.parametrize("init", ["noise", "backbone"])
def test_sampling_returns_metres_and_clips_in_metres(scale, init):
    pose = _pose()
    model = OracleWrapper(pose, scale)
    diff = DiffusionConfig(sampler="ddim", sample_steps=3, eta=0.0, hypotheses=2,
                           prediction="x0", pose_scale=scale, init=init,
                           start_step=5 if init == "backbone" else None)  # fmt: skip
    x2d = torch.zeros(B, T, J, 2)
    got = predict(model, x2d, None, diff, torch.Generator().manual_seed(1)).pose
    torch.testing.assert_close(got, pose, atol=1e-5, rtol=0)
    # clip_x0 is in metres whatever the scale: the oracle's x0 is cut at +-0.6 m.
    diff.clip_x0 = 0.6
    clipped = predict(model, x2d, None, diff, torch.Generator().manual_seed(1)).pose
    assert float(pose.abs().max()) > 0.7
    want = pose.clamp(-0.6, 0.6)
    torch.testing.assert_close(clipped, want - want[..., :1, :], atol=1e-5, rtol=0)


class ZeroX0(nn.Module):
    """A diffusion model predicting x0 = 0 (times a parameter, for a gradient)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))

    def condition(self, x2d: Tensor, visible: Tensor | None = None) -> Tensor:
        return x2d

    def forward(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        return torch.zeros_like(x_t) * self.w


def test_training_regresses_the_scaled_pose():
    """With x0 = 0 predicted, the loss is the mean square of the target: x3d / scale."""
    pose = _pose(2)
    batch = TrainBatch(torch.zeros(B, T, J, 2), torch.ones(B, T, J, dtype=torch.bool), pose,
                       torch.ones(B, T, dtype=torch.bool))  # fmt: skip
    sched = make_schedule("cosine", 50)
    model = ZeroX0()
    losses = {
        s: accumulate_gradients(
            model, model, batch, 0, torch.Generator().manual_seed(0), sched, "x0", pose_scale=s
        )  # fmt: skip
        for s in (1.0, 0.5)
    }
    assert losses[1.0] == pytest.approx(float((pose**2).mean()), rel=1e-5)
    assert losses[0.5] == pytest.approx(4 * losses[1.0], rel=1e-5)


def test_pose_scale_must_be_positive():
    with pytest.raises(ValueError, match="diffusion.pose_scale must be a finite number > 0"):
        load_config("tiny", ["diffusion.pose_scale=0"])
    assert load_config("tiny", ["diffusion.pose_scale=0.25"]).diffusion.pose_scale == 0.25


@pytest.mark.parametrize("prediction", ["x0", "eps"])
@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_denoising_profile_step_converts_to_metres(prediction, scale):
    """An oracle exact in the diffusion space (x0 / scale) has zero eps and x0 error: a
    step that noised metres (eps error) or returned x0 unscaled (x0 error) fails."""
    from diffhpe.evaluation import one_step_errors

    pose, t = _pose(3), 20
    sched = make_schedule("cosine", 50)
    eps = torch.randn(pose.shape, generator=torch.Generator().manual_seed(4))

    class Exact(nn.Module):
        """Outputs the true x0 or eps of the space poses are scaled into by ``space``."""

        def __init__(self, space: float) -> None:
            super().__init__()
            self.space = space

        def forward(self, x_t: Tensor, steps: Tensor, cond: Tensor) -> Tensor:
            return pose / self.space if prediction == "x0" else eps

    diff = DiffusionConfig(prediction=prediction, pose_scale=scale, clip_x0=None)
    eps_err, x0_err, clipped = one_step_errors(Exact(scale), sched, diff, pose, pose, eps, t)
    assert eps_err.shape == x0_err.shape == (B, T)
    assert float(eps_err.max()) < 1e-8 and float(x0_err.max()) < 1e-5
    torch.testing.assert_close(clipped, x0_err)
    diff.clip_x0 = 0.6  # metres: the clipped error is what clipping the true pose costs
    _, _, clipped = one_step_errors(Exact(scale), sched, diff, pose, pose, eps, t)
    cut = pose.clamp(-0.6, 0.6)
    want = ((cut - cut[..., :1, :]) - pose).norm(dim=-1).mean(-1)
    torch.testing.assert_close(clipped, want, atol=1e-5, rtol=0)
    assert float(want.max()) > 0.01
