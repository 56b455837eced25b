"""Occlusion masks of paper section 5.2: rates, structure, mixtures, zeroing."""

from __future__ import annotations

import pytest
import torch

from diffhpe.data.occlusion import (
    PATTERNS,
    OcclusionSpec,
    apply_mask,
    mask_from_nan,
    occlude,
    run_length,
    sample_mask,
)
from diffhpe.skeleton import LEFT_ARM, RIGHT_LEG

ARM_LEG = sorted(LEFT_ARM + RIGHT_LEG)  # [1, 2, 3, 11, 12, 13]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _mask(pattern: str, batch: int, frames: int = 27, seed: int = 0) -> torch.Tensor:
    return sample_mask(OcclusionSpec((pattern,)), batch, frames, generator=_gen(seed))


def _run_bounds(frames_hit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) bool with one run per row -> (first frame, run length) per row."""
    first = frames_hit.int().argmax(dim=1)
    return first, frames_hit.sum(dim=1)


def test_none_is_all_visible() -> None:
    m = _mask("none", 8)
    assert m.shape == (8, 27, 17) and m.dtype == torch.bool and bool(m.all())


def test_random_rate() -> None:
    m = _mask("random", 2000)
    missing = (~m).float().mean().item()
    assert abs(missing - 0.2) < 0.01
    # Independent per joint: every joint's own rate is close to 0.2 too.
    per_joint = (~m).float().mean(dim=(0, 1))
    assert torch.all((per_joint - 0.2).abs() < 0.02)


def test_left_arm_right_leg_frames_and_joints() -> None:
    m = _mask("left_arm_right_leg", 2000)
    missing = ~m
    hit = missing.any(dim=2)  # (B, T)
    assert abs(hit.float().mean().item() - 0.4) < 0.02
    # Every affected frame loses exactly the 6 arm/leg joints and nothing else.
    assert torch.all(missing[hit].sum(dim=1) == 6)
    assert torch.all(missing[hit][:, ARM_LEG])
    other = [j for j in range(17) if j not in ARM_LEG]
    assert not missing[..., other].any()


def test_consecutive_right_leg_run_and_starts() -> None:
    b = 9000
    m = _mask("consecutive_right_leg", b)
    missing = ~m
    assert torch.all(missing.sum(dim=(1, 2)) == 30)  # 10 frames x 3 joints
    assert not missing[..., [j for j in range(17) if j not in RIGHT_LEG]].any()
    hit = missing[..., list(RIGHT_LEG)].all(dim=2)  # (B, T)
    first, length = _run_bounds(hit)
    assert torch.all(length == 10)
    # The 10 frames are consecutive: they are exactly first .. first + 9.
    t = torch.arange(27)
    expected = (t >= first[:, None]) & (t < first[:, None] + 10)
    assert torch.equal(hit, expected)
    # Starts are uniform over the 18 valid starts 0..17 (expected 500 each).
    counts = torch.bincount(first, minlength=27)
    assert counts[18:].sum() == 0
    assert torch.all((counts[:18] - b / 18).abs() < 100)


def test_consecutive_frames_run() -> None:
    m = _mask("consecutive_frames", 3000)
    missing = ~m
    hit = missing.any(dim=2)  # (B, T)
    assert torch.all(missing[hit].all(dim=1))  # all 17 joints in an affected frame
    first, length = _run_bounds(hit)
    assert torch.all(length == 5)
    t = torch.arange(27)
    assert torch.equal(hit, (t >= first[:, None]) & (t < first[:, None] + 5))
    assert set(first.tolist()) == set(range(23))  # 23 valid starts, all seen


def test_run_lengths_scale_with_frames() -> None:
    assert run_length(10 / 27, 27) == 10 and run_length(5 / 27, 27) == 5
    assert run_length(10 / 27, 81) == 30 and run_length(5 / 27, 81) == 15
    assert run_length(5 / 27, 1) == 1 and run_length(10 / 27, 2) == 1
    assert run_length(10 / 27, 35) == 13  # 12.96 rounds to nearest, not down
    leg = ~_mask("consecutive_right_leg", 50, frames=81)
    assert torch.all(leg[..., 1].sum(dim=1) == 30)
    frames = ~_mask("consecutive_frames", 50, frames=81)
    assert torch.all(frames.all(dim=2).sum(dim=1) == 15)
    single = ~_mask("consecutive_frames", 4, frames=1)
    assert bool(single.all())


def _classify(mask: torch.Tensor) -> list[str]:
    """Pattern that produced each (T, J) mask, from its structure alone."""
    out = []
    for missing in ~mask:
        joints = missing.any(dim=0).nonzero().flatten().tolist()
        frames = missing.any(dim=1)
        if not missing.any():
            out.append("none")
        elif bool(missing[frames].all()) and len(joints) == 17:
            out.append("consecutive_frames")
        elif joints == list(RIGHT_LEG):
            out.append("consecutive_right_leg")
        elif joints == ARM_LEG and bool(missing[frames][:, ARM_LEG].all()):
            out.append("left_arm_right_leg")
        else:
            out.append("random")
    return out


def test_mixture_proportions_uniform() -> None:
    b = 5000
    labels = _classify(sample_mask(OcclusionSpec.parse("mix"), b, 27, generator=_gen(3)))
    for name in PATTERNS:
        assert abs(labels.count(name) / b - 0.2) < 0.03, name


def test_mixture_proportions_weighted() -> None:
    b = 3000
    spec = OcclusionSpec.parse("random:1,consecutive_frames:2")
    labels = _classify(sample_mask(spec, b, 27, generator=_gen(4)))
    assert set(labels) == {"random", "consecutive_frames"}
    assert abs(labels.count("consecutive_frames") / b - 2 / 3) < 0.03


def test_same_seed_same_masks() -> None:
    spec = OcclusionSpec.parse("mix")
    a = sample_mask(spec, 64, 27, generator=_gen(7))
    b = sample_mask(spec, 64, 27, generator=_gen(7))
    c = sample_mask(spec, 64, 27, generator=_gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_parse_forms() -> None:
    assert OcclusionSpec.parse("random").patterns == ("random",)
    assert OcclusionSpec.parse(" none ").patterns == ("none",)
    for text in ("mix", "mixture"):
        spec = OcclusionSpec.parse(text)
        assert spec.patterns == PATTERNS and spec.probabilities == (0.2,) * 5
    spec = OcclusionSpec.parse("random:1, consecutive_frames:2")
    assert spec.patterns == ("random", "consecutive_frames")
    assert spec.weights == (1.0, 2.0)
    assert spec.probabilities == pytest.approx((1 / 3, 2 / 3))
    assert OcclusionSpec.parse(spec.to_string()) == spec
    assert OcclusionSpec.parse("random", p_random=0.5).p_random == 0.5
    # Lists (as read from YAML) are frozen into tuples of floats.
    from_lists = OcclusionSpec(["none", "random"], [1, 3])  # type: ignore[arg-type]
    assert from_lists == OcclusionSpec(("none", "random"), (1.0, 3.0))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("randm", "unknown occlusion pattern 'randm'.*consecutive_right_leg"),
        ("random:x", "weight of 'random'"),
        ("random:1,none", "every pattern or to none"),
        ("random:-1", "non-negative"),
        ("random,random", "repeated"),
        ("", "non-empty"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        OcclusionSpec.parse(text)


def test_spec_field_validation() -> None:
    with pytest.raises(ValueError, match="OcclusionSpec.weights: expected 2"):
        OcclusionSpec(("none", "random"), weights=(1.0,))
    with pytest.raises(ValueError, match="OcclusionSpec.p_random"):
        OcclusionSpec(("random",), p_random=1.5)
    with pytest.raises(ValueError, match="need the 17-joint"):
        sample_mask(OcclusionSpec(("left_arm_right_leg",)), 2, 27, joints=5)
    # Patterns that name no joint work for any J.
    assert sample_mask(OcclusionSpec(("random",)), 2, 9, joints=5).shape == (2, 9, 5)


def test_apply_mask_zeroes_exactly() -> None:
    x = torch.randn(4, 27, 17, 2, generator=_gen(1))
    x[0, 0, 0, 0] = float("nan")  # NaN of a missing joint must become 0 as well
    mask = _mask("random", 4, seed=2)
    mask[0, 0, 0] = False
    y = apply_mask(x, mask)
    assert torch.equal(y[mask], x[mask])
    assert torch.equal(y[~mask], torch.zeros_like(y[~mask]))
    with pytest.raises(ValueError, match="disagree"):
        apply_mask(x, mask[:, :5])
    with pytest.raises(ValueError, match="bool"):
        apply_mask(x, mask.float())


def test_mask_from_nan() -> None:
    x = torch.arange(2 * 3 * 4 * 2, dtype=torch.float32).reshape(2, 3, 4, 2) + 1.0
    x[1, 2, 3, 0] = float("nan")  # one coordinate is enough to drop the joint
    x[0, 1, 0, :] = float("nan")
    y, mask = mask_from_nan(x)
    expected = torch.ones(2, 3, 4, dtype=torch.bool)
    expected[1, 2, 3] = expected[0, 1, 0] = False
    assert torch.equal(mask, expected)
    assert torch.equal(y[1, 2, 3], torch.zeros(2)) and torch.equal(y[0, 1, 0], torch.zeros(2))
    assert torch.equal(y[mask], x[mask])


def test_occlude_combines_valid() -> None:
    x = torch.ones(3, 27, 17, 2)
    valid = torch.ones(3, 27, 17, dtype=torch.bool)
    valid[:, :, 0] = False
    y, mask = occlude(x, OcclusionSpec(("consecutive_frames",)), _gen(0), valid=valid)
    assert not mask[:, :, 0].any()
    assert torch.all((~mask[:, :, 1:]).sum(dim=(1, 2)) == 5 * 16)
    assert torch.equal(y, mask[..., None].float().expand_as(x))
