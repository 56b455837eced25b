"""Shipping a wrapper into a package folder, with a model card measured, not typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diffhpe.config import load_config
from diffhpe.evaluation import EvalOptions
from diffhpe.lifting import Lifter
from diffhpe.shipping import model_card, ship
from diffhpe.training import train


@pytest.fixture(scope="module")
def wrapper_run(tiny_benchmark: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ship")
    m = load_config("tiny", [f"data.root={tiny_benchmark}"])
    m.out_dir = str(root / "mixste")
    train(m, progress=False)
    w = load_config("tiny", [f"data.root={tiny_benchmark}", "model.kind=wrapper",
                             f"model.backbone={root / 'mixste' / 'best.safetensors'}"])  # fmt: skip
    w.out_dir = str(root / "wrapper")
    train(w, progress=False)
    return root / "wrapper"


def test_ship_writes_weights_and_a_measured_card(wrapper_run, tmp_path):
    out = tmp_path / "models"
    sampling = {"sampler": "ddpm", "hypotheses": 3, "clip_x0": 1.0}
    info = ship(
        wrapper_run,
        out_dir=out,
        eval_opts=EvalOptions(split="test"),
        progress=False,
        sampling=sampling,
    )
    weights = out / "diffhpe-wrapper-open.safetensors"
    assert weights.exists() and info["bytes"] == weights.stat().st_size
    card = (out / "MODEL_CARD.md").read_text()
    mpjpe = info["test"]["metrics_mm"]["mpjpe"]["frame_weighted"]
    assert f"{mpjpe:.1f}" in card and "CC BY-SA 3.0" in card and "mocap.cs.cmu.edu" in card
    assert info["test_mixste"] is not None and "its MixSTE" in card
    two_d = {"det": "detected 2D", "gt": "exact 2D"}[info["test"]["data"]["detector"]]
    assert f"cameras: all four, {two_d}, no occlusion" in card  # which 2D the table used
    assert (
        json.loads((out / "MODEL_CARD.json").read_text())["sample"]["bound_mm"]
        >= info["sample"]["mpjpe_mm"]
    )
    assert model_card(info) == card
    # The shipped file alone rebuilds the wrapper, optimizer state dropped.
    lifter = Lifter.from_checkpoint(weights)
    assert lifter.cfg.model.kind == "wrapper"
    d = lifter.cfg.diffusion
    assert (d.sampler, d.hypotheses, d.clip_x0) == ("ddpm", 3, 1.0)  # shipped defaults
    assert info["test"]["sampling"]["hypotheses"] == 3 and "clipped to 1.0 m" in card
    assert info["bytes"] < (wrapper_run / "last.safetensors").stat().st_size
    # The card puts the training error at the best validation beside it (issue #16).
    for key in ("mixste", "wrapper"):
        fit = info[key]["train_mpjpe_mm_at_best"]
        assert fit is not None and fit > 0
        assert f"(training error there {fit:.1f} mm)" in card


def test_ship_cli(wrapper_run, tmp_path, capsys):
    from diffhpe.cli import main

    out = tmp_path / "cli_models"
    args = [
        "ship",
        str(wrapper_run),
        "--out",
        str(out),
        "--cameras",
        "54138969",
        "--hypotheses",
        "2",
    ]
    rc = main([*args, "--quiet"])
    assert rc == 0 and "shipped diffhpe-wrapper-open.safetensors" in capsys.readouterr().out
    info = json.loads((out / "MODEL_CARD.json").read_text())
    assert (
        info["test"]["data"]["cameras"] == ["54138969"]
        and info["test"]["sampling"]["hypotheses"] == 2
    )
    # The card names the command that reproduces it, flags included.
    assert info["command"] == f"diffhpe ship {wrapper_run} --cameras 54138969 -H 2"
    assert f"`{info['command']}`" in (out / "MODEL_CARD.md").read_text()


def test_ship_reads_a_committed_run_state_and_writes_nothing_without_one(wrapper_run, tmp_path):
    """A run folder as committed for finished runs (train_state.json, no last.safetensors)
    ships; a run without any training record is refused before the model is written."""
    import shutil

    run = tmp_path / "wrapper"
    run.mkdir()
    for name in ("best.safetensors", "train_state.json", "config.json"):
        shutil.copy(wrapper_run / name, run / name)
    out = tmp_path / "models"
    info = ship(run, out_dir=out, eval_opts=EvalOptions(split="test"), progress=False)
    assert info["wrapper"]["steps"] == json.loads((run / "train_state.json").read_text())["step"]
    weights = out / "diffhpe-wrapper-open.safetensors"
    before = weights.read_bytes()
    (run / "train_state.json").unlink()
    with pytest.raises(ValueError, match="no last.safetensors or train_state.json"):
        ship(run, out_dir=out, eval_opts=EvalOptions(split="test"), progress=False)
    assert weights.read_bytes() == before  # the shipped model is untouched
