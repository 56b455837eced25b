"""The contract every registered sampler keeps (diffhpe.diffusion.registry.SAMPLERS).

Each test runs once per sampler, so a new registry entry is checked without new tests:
an oracle denoiser recovers the clean pose, the visited steps are valid and decreasing,
``start_step``, ``steps``, ``eta`` and ``clip_x0`` are honoured where the registry says so
(and change nothing where it says not), and every place that lists samplers offers it.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from diffhpe.config import DiffusionConfig, validate_sampling
from diffhpe.diffusion import (
    SAMPLERS,
    NoiseSchedule,
    make_schedule,
    predict_eps,
    prediction_target,
    sample,
)
from diffhpe.inference import make_sampler
from diffhpe.sampling import SamplingOverride, with_sampling

NAMES = list(SAMPLERS)
SHAPE = (2, 4, 17, 3)  # (B, T, J, C)
S = 50  # schedule steps


def _schedule() -> NoiseSchedule:
    return make_schedule("cosine", S)


def _build(name: str, steps: int = 5, eta: float = 1.0, clip_x0=None, start_step=None):  # noqa: ANN001, ANN202
    spec = SAMPLERS[name]
    return spec.build(_schedule(), steps=steps, eta=eta, clip_x0=clip_x0, start_step=start_step)


def _x0(seed: int = 0) -> Tensor:
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _oracle(schedule: NoiseSchedule, x0: Tensor, prediction: str = "eps"):  # noqa: ANN202
    """A perfect denoiser: it knows x0, so it outputs the exact target of its type."""

    def model(x_t: Tensor, t: Tensor, cond: object) -> Tensor:
        eps = predict_eps(schedule, x_t, x0, t)
        return prediction_target(schedule, x0, eps, t, prediction)

    return model


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_an_oracle_denoiser_recovers_the_clean_pose(name, prediction, eta):
    sampler = _build(name, steps=5, eta=eta)
    x0 = _x0(0)
    out = sample(sampler, _oracle(sampler.schedule, x0, prediction), None, SHAPE, _gen(1),
                 dtype=torch.float64, prediction=prediction)  # fmt: skip
    torch.testing.assert_close(out, x0, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("start_step", [None, 0, 1, 9, S - 1])
@pytest.mark.parametrize("steps", [1, 2, 5, S])
def test_visited_steps_are_valid_strictly_decreasing_and_are_the_ones_the_loop_runs(
    name, start_step, steps
):
    spec = SAMPLERS[name]
    if start_step is not None and "start_step" not in spec.honours:
        pytest.skip(f"{name} does not take start_step")
    start = S - 1 if start_step is None else start_step
    steps = min(steps, start + 1)  # no more steps than the range holds
    sampler = _build(name, steps=steps, start_step=start_step)
    ts = sampler.timesteps
    assert ts[0] == start and all(0 <= t < S for t in ts)
    assert all(a > b for a, b in zip(ts, ts[1:], strict=False))
    assert len(ts) == (steps if "steps" in spec.honours else start + 1)
    seen: list[int] = []

    def model(x_t: Tensor, t: Tensor, cond: object) -> Tensor:
        assert t.dtype == torch.long and t.shape == (SHAPE[0],) and len(set(t.tolist())) == 1
        seen.append(int(t[0]))
        return torch.zeros_like(x_t)

    sample(sampler, model, None, SHAPE, _gen(0))
    assert tuple(seen) == ts


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("start_step", [0, 4, 20])
def test_start_step_is_honoured_from_a_noised_estimate(name, start_step):
    if "start_step" not in SAMPLERS[name].honours:
        pytest.skip(f"{name} does not take start_step")
    sampler = _build(name, steps=1, start_step=start_step)
    assert sampler.timesteps[0] == start_step
    x0 = _x0(2)
    firsts: list[Tensor] = []
    out = sample(
        sampler, _oracle(sampler.schedule, x0), None, SHAPE, _gen(3),
        callback=lambda i, t, x_t, x0_pred: firsts.append(x_t) if i == 0 else None,
        x_start=x0,
    )  # fmt: skip
    torch.testing.assert_close(out, x0, rtol=0, atol=1e-5)
    abar = float(sampler.schedule.alphas_cumprod[start_step])
    # The first state is x_start noised by eq. (3) to start_step: not further from it.
    spread = (firsts[0] - abar**0.5 * x0).std().item()
    assert spread == pytest.approx((1 - abar) ** 0.5, rel=0.25)


@pytest.mark.parametrize("name", NAMES)
def test_eta_and_steps_change_the_samples_only_where_honoured(name):
    spec = SAMPLERS[name]
    x_T = _x0(7)

    def shrink(x_t: Tensor, t: Tensor, cond: object) -> Tensor:
        return 0.5 * x_t

    def run(**settings) -> Tensor:  # noqa: ANN003
        return sample(_build(name, **settings), shrink, None, SHAPE, _gen(1), x_T=x_T)

    same_eta = torch.equal(run(eta=0.0), run(eta=1.0))
    assert same_eta == ("eta" not in spec.honours)
    same_steps = torch.equal(run(steps=3, eta=0.0), run(steps=7, eta=0.0))
    assert same_steps == ("steps" not in spec.honours)


@pytest.mark.parametrize("name", NAMES)
def test_clip_x0_bounds_the_predicted_pose(name):
    spec = SAMPLERS[name]
    if "clip_x0" not in spec.honours:
        pytest.skip(f"{name} does not take clip_x0")
    big = 10.0 * _x0(4)
    preds: list[Tensor] = []
    sample(_build(name, clip_x0=0.5), _oracle(_schedule(), big), None, SHAPE, _gen(5),
           callback=lambda i, t, x_t, x0_pred: preds.append(x0_pred), dtype=torch.float64)  # fmt: skip
    assert preds and all(float(p.abs().max()) <= 0.5 + 1e-9 for p in preds)


@pytest.mark.parametrize("name", NAMES)
def test_the_config_path_builds_it_and_counts_its_steps(name):
    """Through DiffusionConfig: validated, built by make_sampler, and ``sample_steps``
    is the number of denoiser calls per hypothesis (what summaries report as steps)."""
    for start, init in ((None, "noise"), (12, "backbone")):
        d = with_sampling(DiffusionConfig(), sampler=name, init=init, start_step=start)
        validate_sampling(d, "wrapper")
        sampler = make_sampler(d)
        assert type(sampler) is type(_build(name))
        assert len(sampler.timesteps) == d.sample_steps
        assert SamplingOverride.of(d).describe()["steps"] == d.sample_steps


@pytest.mark.parametrize("name", NAMES)
def test_every_list_of_samplers_offers_it(name):
    """The command line, the manifest and config validation read the registry."""
    from diffhpe.cli import build_parser
    from diffhpe.experiments.manifest import _parse_sampler

    parser = build_parser()
    for command in ("evaluate", "lift", "ship"):
        args = parser.parse_args([command, "x", "--sampler", name])
        assert SamplingOverride.from_args(args).sampler == name
    assert _parse_sampler({"sampler": name}, "m").sampler == name
    validate_sampling(with_sampling(DiffusionConfig(), sampler=name))
    with pytest.raises(ValueError, match=f"diffusion.sampler must be .*'{name}'"):
        validate_sampling(DiffusionConfig(sampler="no-such-sampler"))
