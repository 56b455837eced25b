"""Missing keypoints end to end (issue #15): masks reach both networks, whole-window
absences in training and testing, and the training engine's schedule, gradient
accumulation and training-error log (issue #16)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from diffhpe.config import load_config
from diffhpe.data.occlusion import (
    ABSENCE_DRAWS,
    JOINT_GROUPS,
    OcclusionSpec,
    occlude,
    sample_mask,
)
from diffhpe.lifting import Lifter
from diffhpe.models.denoiser import DenoiserConfig
from diffhpe.models.lifters import DiffHPEWrapper
from diffhpe.models.mixste import MixSTE, MixSTEConfig
from diffhpe.skeleton import JOINT_NAMES
from diffhpe.training import Trainer, cosine_factor, train

B, T, J = 3, 9, 17


def _mixste(mask_token: bool, seed: int = 0) -> MixSTE:
    torch.manual_seed(seed)
    cfg = MixSTEConfig(dim=16, depth=2, heads=2, num_frames=T, dropout=0.0, drop_path=0.0,
                       mask_token=mask_token)  # fmt: skip
    return MixSTE(cfg).eval()


def _wrapper(backbone: MixSTE, use_visibility: bool) -> DiffHPEWrapper:
    torch.manual_seed(1)
    dcfg = DenoiserConfig(
        in_channels=DiffHPEWrapper.denoiser_in_channels(backbone, use_visibility),
        channels=8, num_blocks=2, step_embed_dim=16, dropout=0.0, num_frames=T, num_joints=J,
    )  # fmt: skip
    return DiffHPEWrapper(backbone, dcfg, use_visibility=use_visibility).eval()


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(B, T, J, 2, generator=torch.Generator().manual_seed(3)) * 0.3
    visible = torch.ones(B, T, J, dtype=torch.bool)
    visible[:, :, 9] = False  # Neck/Nose missing in every frame
    return x, visible


def test_all_masked_joint_gives_the_same_output_whatever_coordinate_is_under_it():
    model = _mixste(mask_token=True)
    x, visible = _inputs()
    outs = []
    for value in (0.0, 0.7, -5.0, 1e3):
        xv = x.clone()
        xv[:, :, 9] = value
        with torch.no_grad():
            outs.append(model(xv, visible))
    for o in outs[1:]:
        torch.testing.assert_close(o, outs[0], rtol=0, atol=1e-6)
    # ... while the same coordinate changes the output when the joint is visible.
    xv = x.clone()
    xv[:, :, 9] = 0.7
    with torch.no_grad():
        assert not torch.allclose(model(xv), model(x), atol=1e-4)


def test_the_mask_reaches_mixste_and_missing_differs_from_the_origin():
    model = _mixste(mask_token=True)
    x, visible = _inputs()
    x[:, :, 9] = 0.0  # a missing joint is zeroed by every input path
    with torch.no_grad():
        masked = model(x, visible)
        at_origin = model(x)  # the same zeros, said to be visible
    assert (masked - at_origin).abs().max() > 1e-3


def test_a_mixste_without_mask_token_ignores_visible():
    """Checkpoints trained before masks keep their behaviour (and their weights load)."""
    model = _mixste(mask_token=False)
    assert "missing_embed" not in dict(model.named_parameters())
    x, visible = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(model(x, visible), model(x), rtol=0, atol=0)


@pytest.mark.parametrize("part", ["backbone", "denoiser"])
def test_the_mask_reaches_both_networks_of_the_wrapper(part):
    # Each case gives the mask to one network only, so dropping it there fails the test.
    backbone = _mixste(mask_token=part == "backbone")
    model = _wrapper(backbone, use_visibility=part == "denoiser")
    x, visible = _inputs()
    x[:, :, 9] = 0.0
    with torch.no_grad():
        with_mask = model.condition(x, visible)
        without = model.condition(x, torch.ones_like(visible))
        cond_b, est = model.condition_and_estimate(x, visible)
    assert (with_mask - without).abs().max() > 1e-4
    torch.testing.assert_close(cond_b, with_mask)
    if part == "backbone":
        torch.testing.assert_close(est, backbone(x, visible))


def test_wrapper_channel_count_follows_use_visibility():
    backbone = _mixste(mask_token=True)
    assert DiffHPEWrapper.denoiser_in_channels(backbone, True) == 2 * 16 + 1
    dcfg = DenoiserConfig(in_channels=32, channels=8, num_blocks=2, num_frames=T, num_joints=J)
    with pytest.raises(ValueError, match="= 33, got 32"):
        DiffHPEWrapper(backbone, dcfg, use_visibility=True)


# ------------------------------------------------------------------ occlusion patterns
def test_missing_joint_pattern_removes_exactly_that_joint_in_every_frame():
    spec = OcclusionSpec.parse("missing:Neck/Nose")
    mask = sample_mask(spec, 4, T)
    assert not mask[:, :, JOINT_NAMES.index("Neck/Nose")].any()
    assert mask.sum() == 4 * T * (J - 1)
    group = sample_mask(OcclusionSpec.parse("missing:left_arm"), 2, T)
    assert (~group).nonzero()[:, 2].unique().tolist() == list(JOINT_GROUPS["left_arm"])


def test_missing_patterns_parse_with_weights_and_round_trip():
    spec = OcclusionSpec.parse("none:2,missing:Neck/Nose:1")
    assert spec.patterns == ("none", "missing:Neck/Nose")
    assert spec.probabilities == pytest.approx((2 / 3, 1 / 3))
    assert OcclusionSpec.parse(spec.to_string()) == spec
    with pytest.raises(ValueError, match="unknown joint or group 'Nose'"):
        OcclusionSpec.parse("missing:Nose")
    with pytest.raises(ValueError, match="unknown occlusion pattern 'absnt'"):
        OcclusionSpec.parse("absnt")


def test_absent_removes_one_listed_group_for_the_whole_window():
    gen = torch.Generator().manual_seed(0)
    mask = sample_mask(OcclusionSpec.parse("absent"), 2000, T, generator=gen)
    missing = ~mask
    # The same joints are missing in every frame of a window.
    assert torch.equal(missing, missing[:, :1].expand_as(missing))
    groups = {tuple(g) for _, members in ABSENCE_DRAWS for g in members}
    seen = {tuple(torch.nonzero(w[0]).flatten().tolist()) for w in missing}
    assert seen <= groups
    # Every single joint is drawn (the 0.45 kind alone gives each ~26 of 2000 windows).
    singles = {s for s in seen if len(s) == 1}
    assert singles == {(j,) for j in range(J)}
    sides = sum(len(s) == 6 for s in (tuple(torch.nonzero(w[0]).flatten()) for w in missing))
    assert 0.05 < sides / 2000 < 0.15  # the "side" kind has probability 0.10


def test_occlude_combines_absences_with_joints_already_missing():
    x = torch.ones(2, T, J, 2)
    valid = torch.ones(2, T, J, dtype=torch.bool)
    valid[:, 0, 0] = False
    out, mask = occlude(x, OcclusionSpec.parse("missing:RWrist"), valid=valid)
    assert not mask[:, :, 16].any() and not mask[:, 0, 0].any()
    assert (out[~mask] == 0).all() and (out[mask] == 1).all()


# ------------------------------------------------------------------ every input path
def test_lifter_passes_nan_keypoints_to_the_model_as_masked(tmp_path, monkeypatch):
    model = _mixste(mask_token=True)
    seen: list[torch.Tensor] = []
    original = model.forward

    def spy(x2d, visible=None):
        seen.append(visible.clone())
        return original(x2d, visible)

    monkeypatch.setattr(model, "forward", spy)
    lifter = Lifter(model, load_config("tiny", ["model.kind=mixste", "data.length=9"]))
    xy = np.random.default_rng(0).uniform(100, 900, size=(20, J, 2))
    xy[:, 9] = np.nan
    xy[3, 4] = np.nan
    result = lifter.lift(xy, image_size=(1000, 1000))
    vis = torch.cat([v.reshape(-1, J) for v in seen])
    assert not vis[:, 9].any()
    assert not result.visible[:, 9].any() and not result.visible[3, 4]
    assert result.visible.sum() == 20 * (J - 1) - 1 and np.isfinite(result.pose3d).all()


# ------------------------------------------------------------------ training engine
def test_cosine_factor_warms_up_then_decays_to_the_floor():
    assert cosine_factor(0, 10, 110, 0.01) == pytest.approx(0.1)
    assert cosine_factor(9, 10, 110, 0.01) == pytest.approx(1.0)
    assert cosine_factor(10, 10, 110, 0.01) == pytest.approx(1.0)
    assert cosine_factor(60, 10, 110, 0.01) == pytest.approx(0.01 + 0.99 * 0.5)
    assert cosine_factor(110, 10, 110, 0.01) == pytest.approx(0.01)
    assert cosine_factor(500, 10, 110, 0.01) == pytest.approx(0.01)
    assert cosine_factor(5, 0, 10, 0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))


def _cfg(bench: Path, out: Path, *overrides: str):
    cfg = load_config("tiny", [f"data.root={bench}", *overrides])
    cfg.out_dir = str(out)
    return cfg


def test_micro_batches_give_the_whole_batch_update(tiny_benchmark, tmp_path):
    grads = []
    for micro in (0, 3):  # 8 windows: one pass, or passes of 3 + 3 + 2
        cfg = _cfg(tiny_benchmark, tmp_path / f"m{micro}", f"train.micro_batch={micro}",
                   "model.mixste.mask_token=true", "data.occlusion=absent")  # fmt: skip
        trainer = Trainer(cfg, progress=False)
        trainer.load_data()
        trainer.opt.step = lambda: None  # keep the gradients of one step, unapplied
        loss = trainer.train_step()
        grads.append((loss, {n: p.grad.clone() for n, p in trainer.model.named_parameters()}))
    assert grads[1][0] == pytest.approx(grads[0][0], rel=1e-5)
    for n in grads[0][1]:
        torch.testing.assert_close(grads[1][1][n], grads[0][1][n], rtol=1e-4, atol=1e-7)


def test_cosine_run_logs_training_error_beside_validation(tiny_benchmark, tmp_path):
    out = tmp_path / "run"
    cfg = _cfg(tiny_benchmark, out, "train.schedule=cosine", "train.warmup_steps=2",
               "train.train_eval_windows=8", "model.mixste.mask_token=true",
               "data.occlusion=none:1,absent:1", "data.train_extra_detectors=[gt]")  # fmt: skip
    train(cfg, progress=False)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    vals = [r for r in rows if "val_mpjpe_mm" in r]
    assert [r["step"] for r in vals] == [3, 6]
    assert all(r["train_mpjpe_mm"] > 0 for r in vals)
    lrs = [r["lr"] for r in rows if "lr" in r]
    assert lrs[0] == pytest.approx(1e-3 * 1.0)  # after step 1 of a 2-step warm-up
    assert lrs[-1] == pytest.approx(1e-6)  # cosine reached min_lr at max_steps
    state = json.loads((out / "train_state.json").read_text())
    assert all("train_mpjpe_mm" in h for h in state["history"])


def test_cosine_resume_is_exact(tiny_benchmark, tmp_path):
    overrides = ("train.schedule=cosine", "train.warmup_steps=2", "train.micro_batch=3")
    straight = tmp_path / "straight"
    train(_cfg(tiny_benchmark, straight, *overrides), progress=False)
    cut = tmp_path / "cut"
    cfg = _cfg(tiny_benchmark, cut, *overrides)
    train(cfg, stop_after=2, progress=False)
    train(cfg, resume=True, progress=False)
    from diffhpe.checkpoint import load_checkpoint

    a, b = (
        load_checkpoint(straight / "last.safetensors")[0],
        load_checkpoint(cut / "last.safetensors")[0],
    )
    for k in (k for k in a if k.startswith("model.")):
        assert torch.equal(a[k], b[k]), k


def test_config_rejects_bad_schedule_settings():
    with pytest.raises(ValueError, match="train.schedule must be 'plateau' or 'cosine'"):
        load_config("tiny", ["train.schedule=linear"])
    with pytest.raises(ValueError, match="train.warmup_steps must be in 0..train.max_steps-1"):
        load_config("tiny", ["train.warmup_steps=6"])
    with pytest.raises(ValueError, match="train.micro_batch must be >= 0"):
        load_config("tiny", ["train.micro_batch=-1"])


def test_evaluate_measures_a_joint_missing_in_every_frame_and_a_family(tiny_benchmark, tmp_path):
    from diffhpe.cli import main

    out = tmp_path / "run"
    train(_cfg(tiny_benchmark, out, "model.mixste.mask_token=true", "data.occlusion=absent"),
          progress=False)  # fmt: skip
    results = {}
    for name, flags in {
        "clean": [],
        "nose": ["--occlusion", "missing:Neck/Nose"],
        "coco": ["--family", "coco"],
    }.items():
        path = tmp_path / f"{name}.json"
        rc = main(
            ["evaluate", str(out / "best.safetensors"), *flags, "--json", str(path), "--quiet"]
        )
        assert rc == 0
        results[name] = json.loads(path.read_text())
    assert results["nose"]["occlusion_test"] == "missing:Neck/Nose"
    assert results["coco"]["family"] == "coco"
    mpjpe = {k: v["metrics_mm"]["mpjpe"]["frame_weighted"] for k, v in results.items()}
    # Different inputs, different (finite) errors on the same frames.
    assert len({round(v, 6) for v in mpjpe.values()}) == 3
    assert all(np.isfinite(v) and v > 0 for v in mpjpe.values())


@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_a_diffusion_model_trains_and_samples_with_another_prediction(
    tiny_benchmark, tmp_path, prediction
):
    out = tmp_path / prediction
    cfg = _cfg(tiny_benchmark, out, "model.kind=diffhpe2d", f"diffusion.prediction={prediction}")
    result = train(cfg, progress=False)
    assert math.isfinite(result["best_val_mpjpe_mm"])
    from diffhpe.models.factory import load_model

    _, back = load_model(out / "best.safetensors")
    assert back.diffusion.prediction == prediction
    with pytest.raises(ValueError, match="diffusion.prediction must be 'eps', 'x0' or 'v'"):
        load_config("tiny", ["diffusion.prediction=score"])


def test_init_from_a_checkpoint_without_a_mask_token(tiny_benchmark, tmp_path):
    """A fine-tune may add the mask token to a MixSTE trained before it; any other
    mismatch stays an error."""
    old = tmp_path / "old"
    train(_cfg(tiny_benchmark, old), progress=False)
    cfg = _cfg(tiny_benchmark, tmp_path / "new", "model.mixste.mask_token=true",
               f"train.init_from={old / 'best.safetensors'}")  # fmt: skip
    trainer = Trainer(cfg, progress=False)
    from diffhpe.checkpoint import load_checkpoint, unprefixed

    before = unprefixed(load_checkpoint(old / "best.safetensors")[0], "model.")
    for k, v in before.items():
        assert torch.equal(trainer.model.state_dict()[k], v), k
    assert trainer.model.missing_embed is not None
    bad = _cfg(tiny_benchmark, tmp_path / "bad", "model.mixste.dim=16", "model.mixste.heads=2",
               f"train.init_from={old / 'best.safetensors'}")  # fmt: skip
    with pytest.raises((ValueError, RuntimeError), match="size mismatch|do not match"):
        Trainer(bad, progress=False)
