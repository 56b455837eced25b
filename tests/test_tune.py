"""``diffhpe tune``: Optuna search on the validation split (issue 19 item 5)."""

from __future__ import annotations

import csv
import json
import math

import pytest

from diffhpe.cli import main
from diffhpe.config import load_config

optuna = pytest.importorskip("optuna")

from diffhpe.tuning import SEARCH_SPACE, describe_space, search_params, suggest  # noqa: E402

# Tiny runs: 4 steps, validation on 16 windows, no training-error pass.
FAST = ["train.train_eval_windows=0", "train.val_every=2"]


def test_tune_runs_two_trials_and_resumes_the_study(tiny_benchmark, tmp_path, capsys):
    db = tmp_path / "study.db"
    storage = f"sqlite:///{db}"
    argv = ["tune", "tiny", f"data.root={tiny_benchmark}", *FAST, "--trials", "2",
            "--storage", storage, "--study-name", "t", "--steps", "4",
            "--out", str(tmp_path / "runs"), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| trial | state" in out and "best: trial" in out
    study = optuna.load_study(study_name="t", storage=storage)
    assert len(study.trials) == 2
    for t in study.trials:  # each trial trained in its own folder, on its own settings
        assert (tmp_path / "runs" / f"trial-{t.number}" / "best.safetensors").exists()
        assert set(t.params) == {"train.lr", "train.batch_size", "model.mixste.dim",
                                 "model.mixste.depth"}  # fmt: skip
        assert t.user_attrs["steps"] == 4
    # Resume: the same command with one more trial adds to the stored study.
    argv[argv.index("--trials") + 1] = "1"
    assert main([*argv, "--minutes-per-trial", "5"]) == 0
    study = optuna.load_study(study_name="t", storage=storage)
    assert len(study.trials) == 3
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    assert math.isfinite(study.best_value) and study.best_value > 0
    # The resumed sampler does not repeat the first draws.
    assert study.trials[2].params != study.trials[0].params
    # Results beside the study: CSV and JSON with all three trials.
    rows = list(csv.DictReader(open(tmp_path / "study-t.csv", encoding="utf-8")))
    assert [int(r["trial"]) for r in rows] == [0, 1, 2]
    doc = json.loads((tmp_path / "study-t.json").read_text())
    assert doc["best_value"] == pytest.approx(study.best_value)
    assert len(doc["trials"]) == 3 and "validation" in doc["objective"]
    assert doc["minutes_per_trial"] == 5 and doc["steps_per_trial"] == 4
    run = json.loads((tmp_path / "runs" / "trial-2" / "config.json").read_text())
    assert run["train"]["max_minutes"] == 5 and run["train"]["max_steps"] == 4
    drawn = study.trials[2].params  # the trial trained with what it drew
    assert run["train"]["lr"] == pytest.approx(drawn["train.lr"])
    assert run["model"]["mixste"]["dim"] == drawn["model.mixste.dim"]


def test_tune_bad_storage_is_a_clear_error(tiny_benchmark, tmp_path, capsys):
    base = ["tune", "tiny", f"data.root={tiny_benchmark}", "--trials", "1", "--out", str(tmp_path)]
    assert main([*base, "--storage", "study.db"]) == 2
    err = capsys.readouterr().err
    assert "--storage 'study.db': expected a database URL such as sqlite:///study.db" in err
    (tmp_path / "afile").write_text("x")
    assert main([*base, "--storage", f"sqlite:///{tmp_path}/afile/study.db"]) == 2
    assert "afile is not a folder" in capsys.readouterr().err
    assert main([*base, "--storage", "nosuchdb://host/x"]) == 2
    assert "--storage 'nosuchdb://host/x': cannot open the study" in capsys.readouterr().err
    assert not list(tmp_path.glob("trial-*"))  # nothing trained


def test_a_diverging_trial_fails_and_the_study_goes_on(tiny_benchmark, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path}/f.db"
    argv = ["tune", "tiny", f"data.root={tiny_benchmark}", *FAST, "train.lr=1e12", "--trials",
            "1", "--steps", "4", "--storage", storage, "--out", str(tmp_path / "runs")]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "trial 0: failed (step" in out and "| 0     | FAIL" in out
    (trial,) = optuna.load_study(study_name="tiny", storage=storage).trials
    assert trial.state.name == "FAIL" and "lower train.lr" in trial.user_attrs["error"]
    assert "train.lr" not in trial.params  # fixed by the override, not searched


def test_tune_never_selects_on_test(tiny_benchmark, tmp_path, capsys):
    argv = ["tune", "tiny", f"data.root={tiny_benchmark}", "data.val_split=test", "--trials", "1",
            "--storage", f"sqlite:///{tmp_path}/s.db"]  # fmt: skip
    assert main(argv) == 2
    assert "never test" in capsys.readouterr().err


def test_search_space_per_model_kind():
    for preset, kind in (
        ("tiny", "mixste"),
        ("wrapper-cpu", "wrapper"),
        ("diffhpe2d-cpu", "diffhpe2d"),
    ):
        cfg = load_config(preset)
        keys = [p.key for p in search_params(cfg)]
        assert keys[:2] == ["train.lr", "train.batch_size"]
        assert keys[2:] == [p.key for p in SEARCH_SPACE[kind]]
        assert len(describe_space(cfg)) == len(keys)
    cfg = load_config("tiny")
    # A fixed (overridden) key is not searched.
    assert "train.lr" not in [p.key for p in search_params(cfg, {"train.lr"})]
    # A draw stays around the preset and loads as a valid config.
    trial = optuna.trial.FixedTrial(
        {"train.lr": 2e-3, "train.batch_size": 16, "model.mixste.dim": 4, "model.mixste.depth": 3}
    )
    params = suggest(trial, cfg)
    assert params["model.mixste.dim"] == 4
    load_config("tiny", [f"{k}={json.dumps(v)}" for k, v in params.items()])
    study = optuna.create_study()
    for _ in range(5):
        t = study.ask()
        p = suggest(t, load_config("wrapper-cpu"))
        assert 2.7e-4 / 4 <= p["train.lr"] <= 2.7e-4 * 4
        assert (
            p["model.denoiser.channels"] in (16, 32, 64)
            and 4 <= p["model.denoiser.num_blocks"] <= 16
        )
        assert 0.0 <= p["model.denoiser.dropout"] <= 0.4
        study.tell(t, 1.0)
