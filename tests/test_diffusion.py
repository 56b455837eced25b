"""Tests of the diffusion core: schedules, loss, DDPM/DDIM samplers, aggregation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from diffhpe.diffusion import (
    DDIMSampler,
    DDPMSampler,
    NoiseSchedule,
    add_noise,
    aggregate,
    cosine_schedule,
    hypothesis_std,
    linear_schedule,
    make_schedule,
    oracle_best,
    predict_eps,
    predict_x0,
    sample,
    sample_hypotheses,
    tile_cond,
    training_loss,
)

SHAPE = (2, 4, 17, 3)  # (B, T, J, C)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _x0(seed: int = 0, shape: tuple[int, ...] = SHAPE) -> Tensor:
    return torch.randn(shape, generator=_gen(seed), dtype=torch.float64)


def _oracle(schedule: NoiseSchedule, x0: Tensor):
    """A perfect noise predictor: it knows x0, so eps follows from eq. (3)."""

    def model(x_t: Tensor, t: Tensor, cond: object) -> Tensor:
        return predict_eps(schedule, x_t, x0, t)

    return model


def _shrink(x_t: Tensor, t: Tensor, cond: object) -> Tensor:
    """A fixed, imperfect predictor so that samplers do not collapse onto one x0."""
    return 0.5 * x_t


# --- schedules ---------------------------------------------------------------------------


def _abar(u: int, T: int = 50, s: float = 0.008) -> float:
    return math.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2


def test_cosine_schedule_values():
    sch = cosine_schedule()
    assert sch.num_steps == 50
    for name in ("betas", "alphas_cumprod", "posterior_variance", "k1", "k2"):
        table = getattr(sch, name)
        assert table.dtype == torch.float64 and table.shape == (50,)
    assert bool((sch.betas > 0).all()) and bool((sch.betas <= 0.5).all())
    ab = sch.alphas_cumprod
    assert bool((ab[1:] < ab[:-1]).all())
    # Golden values: the paper's alpha_1 and alpha_T computed by hand from the formula.
    assert ab[0].item() == pytest.approx(_abar(1) / _abar(0), rel=1e-12)
    assert ab[0].item() == pytest.approx(0.9982524864661346, rel=1e-12)
    # Raw betas of the last three steps are 0.555, 0.750 and 1.0: all clipped to 0.5.
    assert 1 - _abar(48) / _abar(47) > 0.5 > 1 - _abar(47) / _abar(46)
    assert sch.betas[-3:].tolist() == [0.5, 0.5, 0.5]
    assert sch.betas[-4].item() == pytest.approx(1 - _abar(47) / _abar(46), rel=1e-12)
    assert ab[-1].item() == pytest.approx(_abar(47) / _abar(0) * 0.5**3, rel=1e-12)
    assert ab[-1].item() == pytest.approx(0.001089764782174073, rel=1e-12)


def test_schedule_derived_constants():
    sch = cosine_schedule(T=10)
    b, ab = sch.betas, sch.alphas_cumprod
    assert sch.posterior_variance[0].item() == 0.0
    t = 4
    assert sch.posterior_variance[t].item() == pytest.approx(
        (b[t] * (1 - ab[t - 1]) / (1 - ab[t])).item(), rel=1e-12
    )
    assert sch.k1[t].item() == pytest.approx(1 / math.sqrt(1 - b[t].item()), rel=1e-12)
    assert sch.k2[t].item() == pytest.approx(b[t].item() / math.sqrt(1 - ab[t].item()), rel=1e-12)
    assert sch.alphas_cumprod_prev[0].item() == 1.0
    assert sch.alphas_cumprod_prev[t].item() == ab[t - 1].item()


def test_linear_schedule_values():
    ddpm = linear_schedule(1000)
    assert ddpm.betas[0].item() == pytest.approx(1e-4) and ddpm.betas[-1].item() == pytest.approx(
        0.02
    )
    short = linear_schedule(50)  # rescaled by 1000 / 50
    assert short.betas[0].item() == pytest.approx(0.002, rel=1e-12)
    assert short.betas[-1].item() == pytest.approx(0.4, rel=1e-12)
    assert short.betas[1].item() == pytest.approx(0.002 + 0.398 / 49, rel=1e-12)
    raw = linear_schedule(4, 0.1, 0.4, rescale=False)
    assert raw.betas.tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert raw.alphas_cumprod[-1].item() == pytest.approx(0.9 * 0.8 * 0.7 * 0.6)


def test_make_schedule_and_validation():
    assert torch.equal(make_schedule("cosine", 20).betas, cosine_schedule(20).betas)
    assert torch.equal(make_schedule("linear", 50).betas, linear_schedule(50).betas)
    with pytest.raises(ValueError, match="unknown schedule 'quad'"):
        make_schedule("quad", 50)
    with pytest.raises(ValueError, match="linear_schedule"):
        linear_schedule(10)  # 0.02 * 100 = 2 is not a valid beta
    with pytest.raises(ValueError, match="T must be an integer"):
        cosine_schedule(0)
    with pytest.raises(ValueError, match=r"every beta must lie in \(0, 1\)"):
        NoiseSchedule(torch.tensor([0.1, 1.0]))


# --- forward process and loss ------------------------------------------------------------


def test_add_noise_then_predict_x0_recovers_x0():
    sch = cosine_schedule()
    x0, noise = _x0(0), _x0(1)
    t = torch.tensor([0, 49])
    x_t = add_noise(sch, x0, noise, t)
    ab = sch.alphas_cumprod
    expected = ab[49].sqrt() * x0[1] + (1 - ab[49]).sqrt() * noise[1]
    torch.testing.assert_close(x_t[1], expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(predict_x0(sch, x_t, noise, t), x0, rtol=0, atol=1e-6)
    torch.testing.assert_close(predict_eps(sch, x_t, x0, t), noise, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="t must lie in 0..49"):
        add_noise(sch, x0, noise, torch.tensor([0, 50]))
    with pytest.raises(ValueError, match="noise shape"):
        add_noise(sch, x0, noise[:, :2], 3)


def test_training_loss_oracle_and_zero_models():
    sch = cosine_schedule()
    x0 = _x0(0)
    oracle_loss = training_loss(sch, _oracle(sch, x0), x0, None, generator=_gen(3))
    assert oracle_loss.item() < 1e-10
    big = _x0(1, (64, 8, 17, 3)).float()
    zero_loss = training_loss(sch, lambda x, t, c: torch.zeros_like(x), big, None, _gen(4))
    assert zero_loss.item() == pytest.approx(1.0, abs=0.05)  # E[eps^2] = 1
    assert zero_loss.dim() == 0


def test_training_loss_details_and_mask():
    sch = cosine_schedule()
    x0 = _x0(0, (3, 5, 17, 3))
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    lin = nn.Linear(3, 3).double()

    def model(x_t: Tensor, t: Tensor, cond: object) -> Tensor:
        return lin(x_t)  # frame-wise, so padded frames cannot leak into valid ones

    loss, details = training_loss(sch, model, x0, None, _gen(5), mask=mask, return_details=True)
    garbage = x0.clone()
    garbage[~mask] = float("nan")
    garbage[0, 3] = 1e6
    loss_g = training_loss(sch, model, garbage, None, _gen(5), mask=mask)
    assert torch.isfinite(loss_g) and loss_g.item() == loss.item()
    # Exact reference from the same draws (t first, then eps), valid frames only.
    g = _gen(5)
    t = torch.randint(0, 50, (3,), generator=g)
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    sq = (model(add_noise(sch, x0, eps, t), t, None) - eps) ** 2
    assert torch.equal(details["t"], t)
    assert loss.item() == pytest.approx(sq[mask].mean().item(), rel=1e-12)
    assert details["loss_per_sample"][2].item() == pytest.approx(sq[2, 0].mean().item(), rel=1e-12)
    with pytest.raises(ValueError, match="mask must be"):
        training_loss(sch, model, x0, None, mask=mask[:, :4])


def test_training_loss_gradients_flow():
    sch = cosine_schedule()
    lin = nn.Linear(3, 3)
    loss = training_loss(sch, lambda x, t, c: lin(x), _x0(0).float(), None, _gen(0))
    loss.backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum().item() > 0
    assert lin.bias.grad is not None and lin.bias.grad.abs().sum().item() > 0


# --- samplers ----------------------------------------------------------------------------


def test_ddpm_oracle_recovers_x0():
    sch = cosine_schedule()
    x0 = _x0(0)
    sampler = DDPMSampler(sch)
    assert sampler.timesteps == tuple(range(49, -1, -1))
    seen: list[tuple[int, int]] = []
    out = sample(
        sampler,
        _oracle(sch, x0),
        None,
        SHAPE,
        _gen(1),
        callback=lambda i, t, x_t, x0_pred: seen.append((i, t)),
        dtype=torch.float64,
    )
    torch.testing.assert_close(out, x0, rtol=0, atol=1e-5)
    assert seen == list(enumerate(range(49, -1, -1)))


@pytest.mark.parametrize("num_steps", [1, 5, 50])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_oracle_recovers_x0(num_steps: int, eta: float):
    sch = cosine_schedule()
    x0 = _x0(0)
    out = sample(
        DDIMSampler(sch, num_steps, eta),
        _oracle(sch, x0),
        None,
        SHAPE,
        _gen(2),
        dtype=torch.float64,
    )
    torch.testing.assert_close(out, x0, rtol=0, atol=1e-5)


def test_ddim_timesteps_and_validation():
    sch = cosine_schedule()
    assert DDIMSampler(sch, 1).timesteps == (49,)
    five = DDIMSampler(sch, 5)
    assert five.timesteps == (49, 37, 25, 12, 0)
    assert five.prev_timesteps == (37, 25, 12, 0, -1)
    assert DDIMSampler(sch, 50).timesteps == tuple(range(49, -1, -1))
    for steps in range(1, 51):
        ts = DDIMSampler(sch, steps).timesteps
        assert len(set(ts)) == steps and ts[0] == 49
    for bad in (0, 51):
        with pytest.raises(ValueError, match="num_steps"):
            DDIMSampler(sch, bad)
    with pytest.raises(ValueError, match="eta"):
        DDIMSampler(sch, 5, eta=-0.1)


def test_ddim_eta0_deterministic_ddpm_stochastic():
    sch = cosine_schedule()
    x_T = _x0(7)
    ddim = DDIMSampler(sch, 10, eta=0.0)
    a = sample(ddim, _shrink, None, SHAPE, _gen(1), x_T=x_T)
    b = sample(ddim, _shrink, None, SHAPE, _gen(2), x_T=x_T)
    assert torch.equal(a, b)
    ddpm = DDPMSampler(sch)
    c = sample(ddpm, _shrink, None, SHAPE, _gen(1), x_T=x_T)
    d = sample(ddpm, _shrink, None, SHAPE, _gen(2), x_T=x_T)
    e = sample(ddpm, _shrink, None, SHAPE, _gen(1), x_T=x_T)
    assert (c - d).abs().max().item() > 1e-2
    assert torch.equal(c, e)


def test_ddim_full_eta1_matches_ddpm():
    """With every step and eta = 1, DDIM's transitions are DDPM's: same draws, same path."""
    sch = cosine_schedule()
    ddpm = sample(DDPMSampler(sch), _shrink, None, SHAPE, _gen(3), dtype=torch.float64)
    ddim = sample(DDIMSampler(sch, 50, eta=1.0), _shrink, None, SHAPE, _gen(3), dtype=torch.float64)
    torch.testing.assert_close(ddim, ddpm, rtol=1e-9, atol=1e-9)


def test_ddpm_step_matches_eq5():
    sch = cosine_schedule()
    x_t, eps = _x0(0), _x0(1)
    t = 20
    mean, _ = DDPMSampler(sch).step(eps, 0, x_t)  # t = 0: no noise, mean only
    k1, k2 = sch.k1[0].item(), sch.k2[0].item()
    torch.testing.assert_close(mean, k1 * (x_t - k2 * eps), rtol=0, atol=1e-12)
    x_prev, x0_pred = DDPMSampler(sch).step(eps, t, x_t, _gen(9))
    z = torch.randn(x_t.shape, generator=_gen(9), dtype=torch.float64)
    expected = sch.k1[t] * (x_t - sch.k2[t] * eps) + sch.posterior_variance[t].sqrt() * z
    torch.testing.assert_close(x_prev, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(x0_pred, predict_x0(sch, x_t, eps, t), rtol=0, atol=1e-12)
    clipped, x0_c = DDPMSampler(sch, clip_x0=0.1).step(eps, t, x_t, _gen(9))
    assert x0_c.abs().max().item() <= 0.1
    assert not torch.allclose(clipped, x_prev)


# --- hypotheses --------------------------------------------------------------------------


class CountingModel:
    """Records every call: how many, and which conditioning storage/shape it got."""

    def __init__(self) -> None:
        self.calls = 0
        self.ptrs: set[int] = set()
        self.cond_batches: set[int] = set()

    def __call__(self, x_t: Tensor, t: Tensor, cond: dict[str, Tensor]) -> Tensor:
        self.calls += 1
        self.ptrs.add(cond["feat"].data_ptr())
        self.cond_batches.add(cond["feat"].shape[0])
        assert t.shape == (x_t.shape[0],)
        return 0.5 * x_t


def test_sample_hypotheses_batches_once_and_reuses_cond():
    sch = cosine_schedule(T=20)
    counting = CountingModel()
    cond = {"feat": torch.randn(2, 4, 17, 8), "flag": True}
    hyps = sample_hypotheses(DDPMSampler(sch), counting, cond, SHAPE, 3, _gen(0))
    assert hyps.shape == (3, *SHAPE)
    assert counting.calls == 20  # steps, not steps x H
    assert len(counting.ptrs) == 1 and counting.cond_batches == {6}
    # The hypotheses of one window differ from each other.
    assert (hyps[0] - hyps[1]).abs().min().item() > 0
    assert (hyps[1] - hyps[2]).abs().max().item() > 1e-2
    counting = CountingModel()
    sample_hypotheses(DDIMSampler(sch, 4), counting, cond, SHAPE, 3, _gen(0))
    assert counting.calls == 4


def test_sample_hypotheses_layout_matches_cond():
    """A cond-aware oracle (cond = x0 of each window) recovers each window in every h."""
    sch = cosine_schedule()
    x0 = _x0(0, (3, 2, 17, 3))

    def model(x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        return predict_eps(sch, x_t, cond, t)

    hyps = sample_hypotheses(DDPMSampler(sch), model, x0, x0.shape, 4, _gen(1), dtype=torch.float64)
    torch.testing.assert_close(hyps, x0.expand(4, *x0.shape), rtol=0, atol=1e-5)


def test_tile_cond_is_hypothesis_major():
    cond = torch.arange(6.0).reshape(3, 2)
    tiled = tile_cond(cond, 2)
    assert tiled.tolist() == [[0, 1], [2, 3], [4, 5], [0, 1], [2, 3], [4, 5]]
    nested = tile_cond((cond, {"a": cond[:, :1]}, None), 2)
    assert nested[0].shape == (6, 2) and nested[1]["a"].shape == (6, 1) and nested[2] is None
    with pytest.raises(ValueError, match="B=4"):
        tile_cond(cond, 2, batch=4)
    with pytest.raises(ValueError, match="ndarray"):
        import numpy as np

        tile_cond(np.zeros((3, 2)), 2)


# --- aggregation -------------------------------------------------------------------------


def _hand_hyps() -> Tensor:
    """(H=4, B=1, T=1, J=2, C=3) with known mean and median."""
    values = [
        [[0, 0, 0], [1, 0, 0]],
        [[0, 0, 0], [3, 2, 0]],
        [[0, 0, 0], [2, 10, 0]],
        [[0, 0, 0], [10, 4, 4]],
    ]
    return torch.tensor(values, dtype=torch.float64).reshape(4, 1, 1, 2, 3)


def test_aggregate_mean_and_median_exact():
    hyps = _hand_hyps()
    assert aggregate(hyps)[0, 0, 1].tolist() == [4.0, 4.0, 1.0]
    assert aggregate(hyps, "median")[0, 0, 1].tolist() == [2.5, 3.0, 0.0]
    assert aggregate(hyps[:3], "median")[0, 0, 1].tolist() == [2.0, 2.0, 0.0]
    assert aggregate(hyps, "mean").shape == (1, 1, 2, 3)
    with pytest.raises(ValueError, match="unknown method 'best'"):
        aggregate(hyps, "best")
    with pytest.raises(ValueError, match="H, B, T, J, C"):
        aggregate(hyps[0])


def test_oracle_best_picks_closest_root_relative():
    hyps = _hand_hyps().repeat(1, 2, 1, 1, 1)  # B = 2
    target = torch.zeros(2, 1, 2, 3, dtype=torch.float64)
    target[0, 0, 1] = torch.tensor([3.0, 2.0, 0.0])
    # Window 1: target is hypothesis 3 shifted globally, which root-relative MPJPE ignores,
    # so hypothesis 3 must win although hypothesis 0 is nearer in absolute coordinates.
    target[1] = hyps[3, 1] + torch.tensor([-8.0, -3.0, -3.0], dtype=torch.float64)
    absolute = (hyps[:, 1] - target[1]).norm(dim=-1).mean(dim=(1, 2))
    assert absolute[0] < absolute[3]
    best = oracle_best(hyps, target)
    assert torch.equal(best[0], hyps[1, 0])
    assert torch.equal(best[1], hyps[3, 1])
    with pytest.raises(ValueError, match="target"):
        oracle_best(hyps, target[:1])


def test_hypothesis_std():
    hyps = _hand_hyps()
    std = hypothesis_std(hyps)
    assert std.shape == (1, 1, 2)
    assert std[0, 0, 0].item() == 0.0
    # Population variances of x (1,3,2,10), y (0,2,10,4), z (0,0,0,4): 12.5, 14, 3.
    assert std[0, 0, 1].item() == pytest.approx(math.sqrt(12.5 + 14.0 + 3.0), rel=1e-12)
    assert hypothesis_std(hyps[:1]).abs().max().item() == 0.0


# --- warm start from a clean estimate (SDEdit-style) ------------------------------------


def test_samplers_start_at_start_step():
    sch = cosine_schedule()
    assert DDPMSampler(sch, start_step=9).timesteps == tuple(range(9, -1, -1))
    four = DDIMSampler(sch, 4, start_step=9)
    assert four.timesteps == (9, 6, 3, 0) and four.prev_timesteps == (6, 3, 0, -1)
    assert DDIMSampler(sch, 1, start_step=0).timesteps == (0,)
    with pytest.raises(ValueError, match=r"num_steps must be an integer in 1\.\.10"):
        DDIMSampler(sch, 11, start_step=9)
    for bad in (-1, 50):
        with pytest.raises(ValueError, match="start_step"):
            DDIMSampler(sch, 1, start_step=bad)
        with pytest.raises(ValueError, match="start_step"):
            DDPMSampler(sch, start_step=bad)


def test_sample_from_x_start_noises_it_to_the_first_step():
    """The first state is a draw of q(x_t0 | x_start), eq. (3): mean sqrt(abar) x_start,
    std sqrt(1 - abar); an oracle then recovers its x0 from there."""
    sch = cosine_schedule()
    start = torch.full((400, 4, 17, 3), 0.7, dtype=torch.float64)
    firsts: list[Tensor] = []
    sampler = DDIMSampler(sch, 3, eta=1.0, start_step=10)
    x0 = _x0(3, start.shape)
    out = sample(
        sampler,
        _oracle(sch, x0),
        None,
        tuple(start.shape),
        _gen(4),
        callback=lambda i, t, x_t, x0_pred: firsts.append(x_t) if i == 0 else None,
        x_start=start,
    )
    abar = float(sch.alphas_cumprod[10])
    x_t0 = firsts[0]
    assert abs(float(x_t0.mean()) - abar**0.5 * 0.7) < 0.01
    assert abs(float(x_t0.std()) - (1 - abar) ** 0.5) < 0.01
    torch.testing.assert_close(out, x0, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="x_T or x_start"):
        sample(sampler, _shrink, None, SHAPE, x_T=_x0(0), x_start=_x0(1))
    with pytest.raises(ValueError, match="x_start shape"):
        sample(sampler, _shrink, None, SHAPE, x_start=_x0(0, (1, 4, 17, 3)))


def test_sample_hypotheses_start_each_hypothesis_from_its_window_estimate():
    sch = cosine_schedule()
    start = torch.stack([torch.full((4, 17, 3), -2.0), torch.full((4, 17, 3), 3.0)])
    hyps = sample_hypotheses(
        DDIMSampler(sch, 1, eta=0.0, start_step=0),
        lambda x_t, t, cond: torch.zeros_like(x_t),  # eps = 0: x0 = x_t0 / sqrt(abar_0)
        None,
        (2, 4, 17, 3),
        3,
        _gen(5),
        x_start=start,
    )
    assert hyps.shape == (3, 2, 4, 17, 3)
    noise_sd = ((1 - float(sch.alphas_cumprod[0])) / float(sch.alphas_cumprod[0])) ** 0.5
    for h in range(3):  # window b's hypotheses sit around window b's estimate
        assert (hyps[h] - start).abs().max() < 6 * noise_sd
    assert not torch.equal(hyps[0], hyps[1])  # noised independently per hypothesis


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_every_prediction_type_recovers_the_data_with_its_oracle(prediction):
    """An oracle that outputs the exact target of its prediction type makes the training
    loss 0 and the samplers return x_0, whatever the type (issue #16: x0/v options)."""
    from diffhpe.diffusion import (
        DDIMSampler,
        eps_from_output,
        make_schedule,
        predict_eps,
        prediction_target,
        sample,
        training_loss,
    )
    from diffhpe.diffusion.schedule import gather

    sched = make_schedule("cosine", 50)
    x0 = torch.randn(2, 5, 17, 3, generator=torch.Generator().manual_seed(0)) * 0.3

    def oracle(x_t, t, cond):
        eps = predict_eps(sched, x_t, x0, t)
        return prediction_target(sched, x0, eps, t, prediction)

    loss = training_loss(sched, oracle, x0, None, torch.Generator().manual_seed(1),
                         prediction=prediction)  # fmt: skip
    assert float(loss) < 1e-8
    out = sample(DDIMSampler(sched, 10), oracle, None, tuple(x0.shape),
                 torch.Generator().manual_seed(2), prediction=prediction)  # fmt: skip
    torch.testing.assert_close(out, x0, atol=1e-4, rtol=0)
    # v's definition: v = sqrt(abar) eps - sqrt(1 - abar) x0, and eps comes back from it.
    t = torch.tensor([10, 40])
    noise = torch.randn_like(x0)
    a = gather(sched.sqrt_alphas_cumprod, t, x0)
    b = gather(sched.sqrt_one_minus_alphas_cumprod, t, x0)
    x_t = a * x0 + b * noise
    target = prediction_target(sched, x0, noise, t, prediction)
    torch.testing.assert_close(eps_from_output(sched, target, x_t, t, prediction), noise,
                               atol=1e-5, rtol=0)  # fmt: skip
    with pytest.raises(ValueError, match="prediction must be one of"):
        prediction_target(sched, x0, noise, t, "score")
