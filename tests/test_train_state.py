"""The training run's record (train_state.json): one typed reader and writer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from diffhpe.training.state import TrainState, training_hardware, training_time

ENV = {"cpu": "CPU X", "threads": 2, "torch": "2.13.0", "gpu": None}
KEYS = [
    "step", "best", "optimizer", "scheduler", "data_rng", "history", "sessions",
    "stop_reason", "world_size", "ddp_max_weight_diff",
]  # fmt: skip


def _state() -> TrainState:
    history = ({"step": 2, "val_mpjpe_mm": 120.5, "time_s": 3.0, "train_mpjpe_mm": 99.0},)
    session = {"started_utc": "2024-01-01T00:00:00Z", "start_step": 0, "end_step": 2,
               "seconds": 4.5, "environment": ENV}  # fmt: skip
    return TrainState(
        step=2, best=120.5, optimizer={"param_groups": [], "scalars": {}},
        scheduler={"best": np.float64(120.5), "last": torch.tensor([1.0, 2.0])},
        data_rng={"state": {"state": 7}}, history=history, sessions=(session,),
        stop_reason="max_steps", world_size=1, ddp_max_weight_diff=None,
    )  # fmt: skip


def test_the_record_keeps_its_keys_order_and_values():
    state = _state()
    d = state.to_dict()
    assert list(d) == KEYS
    assert isinstance(d["history"], list) and isinstance(d["sessions"], list)
    text = state.to_json(indent=1)
    back = json.loads(text)
    assert back["scheduler"] == {"best": 120.5, "last": [1.0, 2.0]}  # numpy and tensors
    again = TrainState.from_json(text)
    assert again.to_json(indent=1) == text
    assert TrainState.from_json(state.to_json()).to_json() == state.to_json()


def test_read_tolerates_older_records(tmp_path: Path):
    """Runs saved before sessions and stop reasons lack them; retired keys are ignored."""
    old = {"step": 40, "best": 80.0, "optimizer": {}, "scheduler": {}, "data_rng": {},
           "windows_rng": {}, "history": [{"step": 20, "val_mpjpe_mm": 90.0, "time_s": 5.0},
                                          {"step": 40, "val_mpjpe_mm": 80.0, "time_s": 9.0}],
           "world_size": 1, "ddp_max_weight_diff": None}  # fmt: skip
    path = tmp_path / "train_state.json"
    path.write_text(json.dumps(old, indent=1))
    state = TrainState.read(path)
    assert (state.step, state.stop_reason, state.sessions) == (40, None, ())
    assert state.training_seconds() == 9.0
    assert state.hardware() == "not recorded"
    assert state.validation_curve() == [(20, 90.0), (40, 80.0)]
    empty = TrainState.from_dict({})
    assert (empty.step, empty.history, empty.training_seconds()) == (None, (), None)


def test_bad_records_are_errors_naming_the_file(tmp_path: Path):
    path = tmp_path / "train_state.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="train_state.json: expected a JSON object"):
        TrainState.read(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="train_state.json: not valid JSON"):
        TrainState.read(path)


def test_time_and_hardware_from_the_logs():
    assert training_time([{"time_s": 10.0}, {"time_s": 20.0}, {"time_s": 15.0}]) == 35.0
    assert training_hardware([{"start_step": 5, "environment": ENV}]).endswith(
        "(steps 0-5: not recorded)"
    )
    assert _state().hardware() == "CPU X, 2 threads, torch 2.13.0, no GPU"


def test_shipping_reads_the_record_without_the_experiments_package():
    code = "import sys, diffhpe.shipping; print('diffhpe.experiments' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
