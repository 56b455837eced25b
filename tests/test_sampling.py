"""The one sampling-override type (diffhpe.sampling.SamplingOverride): config, command
line, reproducing commands, descriptions and the evaluation options built from it."""

from __future__ import annotations

import argparse
from dataclasses import asdict, fields

import pytest

from diffhpe.config import DiffusionConfig, load_config
from diffhpe.evaluation import EvalOptions
from diffhpe.experiments.cache import evaluate_command
from diffhpe.sampling import COMMAND_KEYS, FLAGS, SamplingOverride, with_sampling
from diffhpe.shipping import ship_command

WARM = SamplingOverride(
    sampler="ddim", steps=2, eta=1.0, hypotheses=5, clip_x0=1.0, init="backbone", start_step=5
)


def test_eval_options_hold_the_override_fields_in_the_cache_key_order():
    """EvalOptions keeps its flat fields (its asdict is the experiments' cache key), and
    they are exactly the override's: one more setting cannot be added to only one."""
    names = [f.name for f in fields(EvalOptions)]
    sampling = names[names.index("hypotheses") : names.index("start_step") + 1]
    assert set(sampling) == set(SamplingOverride.keys())
    assert [f.key for f in FLAGS] == sampling  # the command line's order
    opts = EvalOptions(**WARM.describe(), data_root="d")
    assert opts.sampling == WARM and asdict(opts)["steps"] == 2
    assert EvalOptions(sampler="ddpm", steps=3).sampling == SamplingOverride(
        sampler="ddpm", steps=3
    )


def test_apply_resolves_like_the_config_and_describes_the_result():
    d = DiffusionConfig(init="backbone", start_step=5, sample_steps=3, clip_x0=1.0)
    ddpm = SamplingOverride(sampler="ddpm", clip_x0=0).apply(d)
    assert (ddpm.sample_steps, ddpm.clip_x0, ddpm.start_step) == (6, None, 5)
    noise = SamplingOverride(init="noise", sampler="ddpm").apply(d)
    assert (noise.start_step, noise.sample_steps) == (None, 50)
    assert SamplingOverride().apply(d) == d
    assert SamplingOverride(steps=4).apply(d) == with_sampling(d, sample_steps=4)
    assert list(SamplingOverride.of(d).describe()) == [
        "sampler", "steps", "eta", "hypotheses", "aggregation", "clip_x0", "init", "start_step"
    ]  # fmt: skip
    assert SamplingOverride.of(d).as_config()["sample_steps"] == 3
    assert SamplingOverride.of(d).describe(COMMAND_KEYS["lift"]) == {
        "hypotheses": 5, "sampler": "ddim", "steps": 3, "aggregation": "mean",
        "init": "backbone", "start_step": 5,
    }  # fmt: skip
    with pytest.raises(ValueError, match=r"diffusion.sample_steps must be in 1\.\.6"):
        SamplingOverride(steps=7).apply(d)
    cfg = load_config("tiny", ["model.kind=diffhpe2d"])
    with pytest.raises(ValueError, match="init='backbone' needs a wrapper"):
        SamplingOverride(init="backbone", start_step=3, steps=2).apply_to(cfg)
    assert SamplingOverride(hypotheses=2).apply_to(cfg).diffusion.hypotheses == 2


def test_config_names_round_trip_and_unknown_ones_are_errors():
    assert SamplingOverride.from_config(WARM.config_overrides()) == WARM
    assert "sample_steps" in WARM.config_overrides() and "steps" not in WARM.config_overrides()
    with pytest.raises(ValueError, match=r"unknown sampling settings \['steps'\]"):
        SamplingOverride.from_config({"steps": 3})


def test_flags_reproduce_the_settings_through_the_parser():
    """to_flags -> argparse -> from_args gives the override back, for every command."""
    for command, keys in COMMAND_KEYS.items():
        p = argparse.ArgumentParser()
        SamplingOverride.add_arguments(p, command)
        given = SamplingOverride(**{k: v for k, v in WARM.describe().items() if k in keys})
        argv = " ".join(given.to_flags(command)).split()
        assert SamplingOverride.from_args(p.parse_args(argv)) == given
    assert WARM.to_flags() == [
        "-H 5", "--sampler ddim", "--steps 2", "--eta 1.0", "--clip-x0 1", "--init backbone",
        "--start-step 5",
    ]  # fmt: skip
    assert SamplingOverride(aggregation="median").to_flags("ship") == []  # ship has no flag


def test_reproducing_commands_use_the_override():
    line = evaluate_command(EvalOptions(**WARM.describe(), data_root="d"), "c.safetensors")
    assert "--occlusion none -H 5 --sampler ddim --steps 2 --eta 1.0 --clip-x0 1 --init " \
        "backbone --start-step 5 --batch-size" in line  # fmt: skip
    ship = ship_command("runs/w", {"sampler": "ddim", "sample_steps": 2, "hypotheses": 5}, ["1"])
    assert ship == "diffhpe ship runs/w --cameras 1 --sampler ddim --steps 2 -H 5"
    assert ship_command("runs/w", WARM, None).endswith("--init backbone --start-step 5")


def test_labels_name_files_as_before():
    assert SamplingOverride(sampler="ddpm", steps=5, clip_x0=0).label() == "ddpm-noclip"
    assert SamplingOverride(sampler="ddim", steps=5, clip_x0=1.5).label() == "ddim5-clip1.5"
    assert SamplingOverride(steps=2, init="backbone", start_step=5).label() == (
        "default2-from-backbone5"
    )
    assert SamplingOverride(hypotheses=3).label() == "default"  # the caller adds -H


@pytest.mark.parametrize(
    ("given", "needs_cfg", "message"),
    [
        ({"sampler": "ddpm", "steps": 3}, False,
         "--steps applies to ddim only: DDPM runs every step from its start; drop --steps or "
         "use --sampler ddim"),
        ({"sampler": "ddpm", "eta": 0.5}, False, "--eta applies to ddim only: DDPM"),
        ({"steps": 0}, False, "--steps must be >= 1, got 0"),
        ({"init": "noise", "start_step": 3}, False,
         "--start-step applies to --init backbone only: from pure noise"),
        ({"eta": 0.5}, True,
         "--eta applies to ddim only, and x samples with DDPM (every step); drop --eta or add "
         "--sampler ddim"),
        ({"start_step": 3}, True, "--start-step applies to --init backbone only (x starts from"),
    ],
)  # fmt: skip
def test_checks_keep_their_messages(given, needs_cfg, message):
    cfg = load_config("tiny", ["model.kind=wrapper", "diffusion.sampler=ddpm"])
    with pytest.raises(ValueError) as err:
        SamplingOverride(**given).check(cfg if needs_cfg else None, "x")
    assert message in str(err.value)
    mixste = load_config("tiny", ["model.kind=mixste"])
    with pytest.raises(ValueError, match=r"^-H/--hypotheses, --oracle: m is a MixSTE"):
        SamplingOverride(hypotheses=2).check(mixste, "m", also_given=("--oracle",))
    SamplingOverride().check(mixste, "m")
