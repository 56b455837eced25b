"""The results page's learning-curve section (issue 16): curves read from train states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from diffhpe.config import load_config
from diffhpe.experiments import section_learning
from diffhpe.experiments.manifest import load_manifest
from diffhpe.training import train
from diffhpe.training.state import TrainState, elapsed_curve


def test_elapsed_curve_adds_earlier_sessions():
    history = [
        {"step": 10, "val_mpjpe_mm": 90.0, "time_s": 1800.0},
        {"step": 20, "val_mpjpe_mm": 80.0, "time_s": 3600.0, "train_mpjpe_mm": 70.0},
        {"step": 30, "val_mpjpe_mm": 75.0, "time_s": 900.0},  # a resumed session
    ]
    pts = elapsed_curve(history)
    assert [p.step for p in pts] == [10, 20, 30]
    assert [p.hours for p in pts] == [0.5, 1.0, 1.25]
    assert [p.train_mm for p in pts] == [None, 70.0, None]
    assert TrainState(history=tuple(history)).elapsed_curve() == pts
    # No session records: every interval counts the given threads.
    assert [p.core_hours for p in elapsed_curve(history, threads=2)] == [1.0, 2.0, 2.5]


def test_core_hours_count_each_sessions_threads():
    history = [
        {"step": 10, "val_mpjpe_mm": 90.0, "time_s": 1800.0},  # before any session record
        {"step": 20, "val_mpjpe_mm": 80.0, "time_s": 3600.0},
        {"step": 30, "val_mpjpe_mm": 75.0, "time_s": 1800.0},  # resumed with 4 threads
        {"step": 40, "val_mpjpe_mm": 70.0, "time_s": 2700.0},
    ]
    sessions = [
        {"start_step": 10, "end_step": 20, "environment": {"threads": 2}},
        {"start_step": 20, "end_step": 40, "environment": {"threads": 4}},
    ]
    pts = TrainState(history=tuple(history), sessions=tuple(sessions)).elapsed_curve(threads=8)
    assert [p.hours for p in pts] == [0.5, 1.0, 1.5, 1.75]
    # 0.5 h x 2 (first record's threads), 0.5 h x 2, 0.5 h x 4, 0.25 h x 4
    assert [p.core_hours for p in pts] == [1.0, 2.0, 4.0, 5.0]


def _manifest(tmp_path: Path, bench: Path, runs: dict[str, str]) -> Path:
    path = tmp_path / "m.yaml"
    body = {"data_root": str(bench), "learning": {"runs": runs, "note": "Tiny runs."}}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def test_section_reads_runs_and_draws(tmp_path, tiny_benchmark):
    cfg = load_config(
        "tiny",
        [f"data.root={tiny_benchmark}", "train.max_steps=4", "train.val_every=2",
         "train.train_eval_windows=8"],
    )  # fmt: skip
    cfg.out_dir = str(tmp_path / "run")
    train(cfg, progress=False)
    best = tmp_path / "run" / "best.safetensors"
    m = load_manifest(
        _manifest(tmp_path, tiny_benchmark, {"tiny": str(best), "gone": "nowhere/best.safetensors"})
    )
    curves = section_learning.collect(m)
    assert curves is not None and [c.label for c in curves] == ["tiny", "gone"]
    tiny, gone = curves
    assert gone.missing and "nowhere/best.safetensors" in gone.missing
    assert tiny.step == 4 and tiny.batch == cfg.train.batch_size
    assert [p.step for p in tiny.points] == [2, 4]
    assert all(p.train_mm is not None and p.train_mm > 0 for p in tiny.points)
    state = json.loads((tmp_path / "run" / "train_state.json").read_text())
    assert [p.val_mm for p in tiny.points] == [h["val_mpjpe_mm"] for h in state["history"]]
    assert tiny.size.startswith("MixSTE ") and tiny.params > 0
    lines, figures = section_learning.render(m, curves, tmp_path / "out")
    text = "\n".join(lines)
    assert text.startswith("## 6. Learning curves") and "Tiny runs." in text
    assert "| tiny |" in text and "not run: `nowhere/best.safetensors`" in text
    assert figures == [tmp_path / "out" / "figures" / "learning_curves.png"]
    assert figures[0].stat().st_size > 1000


def test_learning_block_errors_name_the_field(tmp_path, tiny_benchmark):
    path = _manifest(tmp_path, tiny_benchmark, {})
    with pytest.raises(ValueError, match=r"learning\.runs"):
        load_manifest(path)
    assert section_learning.collect(load_manifest(_manifest(tmp_path, tiny_benchmark, {"a": "b"})))
