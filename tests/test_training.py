"""End to end: the real training recipe on tiny models and a tiny benchmark, on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from diffhpe.checkpoint import load_checkpoint, unprefixed
from diffhpe.cli import main
from diffhpe.config import load_config
from diffhpe.models.factory import build_model, load_model
from diffhpe.training import train


def _cfg(bench: Path, out: Path, *overrides: str):
    cfg = load_config("tiny", [f"data.root={bench}", *overrides])
    cfg.out_dir = str(out)
    return cfg


@pytest.fixture(scope="module")
def mixste_ckpt(tiny_benchmark: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mixste")
    train(_cfg(tiny_benchmark, out), progress=False)
    return out / "best.safetensors"


def test_cli_trains_three_steps_and_evaluates(tiny_benchmark, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(
        [
            "train",
            "tiny",
            f"data.root={tiny_benchmark}",
            "train.max_steps=3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    for f in ("best.safetensors", "last.safetensors", "metrics.jsonl", "config.json"):
        assert (out / f).exists(), f
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "loss" in r] == [1, 2, 3]
    assert any("val_mpjpe_mm" in r for r in lines)
    rc = main(
        [
            "evaluate",
            str(out / "best.safetensors"),
            "--json",
            str(tmp_path / "eval.json"),
            "--quiet",
        ]
    )
    assert rc == 0
    summary = json.loads((tmp_path / "eval.json").read_text())
    assert summary["frames"] == 4 * (60 + 67)  # every frame of both test clips, 4 cameras, once
    m = summary["metrics_mm"]
    assert set(m["mpjpe"]["per_action"]) == {"walk", "wave"}
    assert m["mpjpe"]["frame_weighted"] > 0
    assert "frame_weighted" in capsys.readouterr().out


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return unprefixed(load_checkpoint(path)[0], "model.")


@pytest.mark.parametrize("kind", ["mixste", "diffhpe2d"])
def test_resume_is_exact(tiny_benchmark, tmp_path, kind):
    straight = tmp_path / "straight"
    train(_cfg(tiny_benchmark, straight, f"model.kind={kind}"), progress=False)
    cut = tmp_path / "cut"
    cfg = _cfg(tiny_benchmark, cut, f"model.kind={kind}")
    train(cfg, stop_after=2, progress=False)  # interrupted after step 2 (checkpointed)
    assert json.loads(load_checkpoint(cut / "last.safetensors")[1]["train_state"])["step"] == 2
    train(cfg, resume=True, progress=False)
    a, b = _weights(straight / "last.safetensors"), _weights(cut / "last.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # The optimizer state resumed too: identical moments.
    ta, tb = (
        load_checkpoint(straight / "last.safetensors")[0],
        load_checkpoint(cut / "last.safetensors")[0],
    )
    for k in (k for k in ta if k.startswith("optim.")):
        assert torch.equal(ta[k], tb[k]), k


def test_wrapper_keeps_backbone_frozen_and_checkpoint_self_contained(
    tiny_benchmark, tmp_path, mixste_ckpt
):
    backbone_before = _weights(mixste_ckpt)
    out = tmp_path / "wrapper"
    train(
        _cfg(tiny_benchmark, out, "model.kind=wrapper", f"model.backbone={mixste_ckpt}"),
        progress=False,
    )
    after = _weights(out / "last.safetensors")
    for k, v in backbone_before.items():
        assert torch.equal(after[f"backbone.{k}"], v), k
    # The denoiser and w did train: they moved away from their (seeded) initialisation.
    cfg = _cfg(tiny_benchmark, out, "model.kind=wrapper", f"model.backbone={mixste_ckpt}")
    torch.manual_seed(cfg.train.seed)
    init = build_model(cfg).state_dict()
    moved_keys = [
        k for k in after if not k.startswith("backbone.") and not torch.equal(init[k], after[k])
    ]
    assert any(k.startswith("embed_3d.") for k in moved_keys)
    assert any(k.startswith("denoiser.") for k in moved_keys)
    # A wrapper checkpoint rebuilds alone, even with the backbone file gone.
    moved = tmp_path / "moved.safetensors"
    mixste_ckpt.rename(moved)
    try:
        model, cfg = load_model(out / "best.safetensors")
        assert cfg.model.kind == "wrapper"
        x2d = torch.zeros(1, 9, 17, 2)
        assert model.condition(x2d, None).shape[:3] == (1, 9, 17)
    finally:
        moved.rename(mixste_ckpt)


def test_bad_resume_and_bad_checkpoint(tiny_benchmark, tmp_path):
    with pytest.raises(FileNotFoundError, match="no .*last.safetensors"):
        train(_cfg(tiny_benchmark, tmp_path / "none"), resume=True, progress=False)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.safetensors: not a readable safetensors"):
        load_model(bad)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")
def test_torchrun_two_processes_agree(tiny_benchmark, tmp_path):
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable, "-m", "torch.distributed.run",
        "--nproc_per_node", "2", "--master_port", "29517",
        "-m", "diffhpe", "train", "tiny", f"data.root={tiny_benchmark}", "model.kind=diffhpe2d",
        "train.max_steps=3", "--out", str(out), "--quiet",
    ]  # fmt: skip
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    # At the end, every rank compares its weights with rank 0's; the result is recorded.
    meta = load_checkpoint(out / "last.safetensors")[1]
    state = json.loads(meta["train_state"])
    assert state["world_size"] == 2
    assert state["ddp_max_weight_diff"] == 0.0
    assert state["step"] == 3


def test_init_from_starts_a_new_run_from_trained_weights(tiny_benchmark, tmp_path, mixste_ckpt):
    out = tmp_path / "finetune"
    cfg = _cfg(
        tiny_benchmark,
        out,
        f"train.init_from={mixste_ckpt}",
        "data.occlusion=mix",
        "train.max_steps=1",
    )
    from diffhpe.training import Trainer

    trainer = Trainer(cfg, progress=False)
    start = trainer.model.state_dict()
    for k, v in _weights(mixste_ckpt).items():
        assert torch.equal(start[k], v), k
    assert trainer.step == 0
    bad = _cfg(tiny_benchmark, out, f"train.init_from={mixste_ckpt}", "model.kind=diffhpe2d")
    with pytest.raises(ValueError, match="cannot start a 'diffhpe2d' run"):
        Trainer(bad, progress=False)


def test_wrapper_init_from_keeps_the_configured_backbone(tiny_benchmark, tmp_path, mixste_ckpt):
    """Fine-tuning a wrapper onto another MixSTE: `init_from` gives w and the denoiser, the
    frozen backbone is the one `model.backbone` names (not the source run's)."""
    from diffhpe.training import Trainer

    base = tmp_path / "wrapper"
    wcfg = _cfg(tiny_benchmark, base, "model.kind=wrapper", f"model.backbone={mixste_ckpt}")
    wcfg.train.max_steps = 2
    train(wcfg, progress=False)
    other = tmp_path / "mixste2"
    train(_cfg(tiny_benchmark, other, "train.seed=7", "train.max_steps=2"), progress=False)
    other_ckpt = other / "best.safetensors"
    cfg = _cfg(
        tiny_benchmark,
        tmp_path / "ft",
        "model.kind=wrapper",
        f"model.backbone={other_ckpt}",
        f"train.init_from={base / 'best.safetensors'}",
    )
    state = Trainer(cfg, progress=False).model.state_dict()
    src, bb = _weights(base / "best.safetensors"), _weights(other_ckpt)
    trainable = [k for k in src if not k.startswith("backbone.")]
    assert trainable and all(torch.equal(state[k], src[k]) for k in trainable)
    assert all(torch.equal(state[f"backbone.{k}"], v) for k, v in bb.items())
    assert any(not torch.equal(src[f"backbone.{k}"], v) for k, v in bb.items())


def test_sigterm_stops_cleanly_with_a_resumable_checkpoint(tiny_benchmark, tmp_path):
    """`kill` on a training run: it finishes the step, writes last.safetensors, exits 143,
    and --resume continues from that step."""
    import signal
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "diffhpe", "train", "tiny", f"data.root={tiny_benchmark}",
           "train.max_steps=100000", "train.log_every=1", "train.val_every=100000",
           "train.checkpoint_minutes=1000", "--out", str(out), "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = out / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and metrics.read_text().count('"loss"') >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-2000:]
    assert "--resume" in stdout
    state = json.loads(load_checkpoint(out / "last.safetensors")[1]["train_state"])
    assert state["step"] >= 3
    assert state["sessions"][-1]["end_step"] == state["step"]
    from diffhpe.training import Trainer

    cfg = _cfg(tiny_benchmark, out, "train.max_steps=100000")
    trainer = Trainer(cfg, progress=False)
    trainer.resume(out / "last.safetensors")
    assert trainer.step == state["step"]


def test_early_stop_ends_a_run_whose_validation_stopped_improving(
    tiny_benchmark, tmp_path, monkeypatch, capsys
):
    """`train.early_stop=N`: the run stops after N validations in a row without a new best,
    and says so (CLI line, `stop_reason` in the saved train state); best.safetensors is the
    best validation's step."""
    from diffhpe.training import Trainer

    scripted = iter([5.0, 4.0, 4.5, 4.0, 4.2, 3.0, 2.0, 1.0])  # best 4.0 at the 2nd validation
    monkeypatch.setattr(Trainer, "validate", lambda self: next(scripted))
    out = tmp_path / "es"
    args = ["train", "tiny", f"data.root={tiny_benchmark}", "train.max_steps=8"]
    args += ["train.val_every=1", "train.early_stop=3", "--out", str(out), "--quiet"]
    assert main(args) == 0
    state = json.loads(load_checkpoint(out / "last.safetensors")[1]["train_state"])
    assert state["step"] == 5  # 4.5, 4.0 (not < 4.0) and 4.2 after the best: stop at step 5
    assert state["stop_reason"] == "early_stop"
    assert [h["val_mpjpe_mm"] for h in state["history"]] == [5.0, 4.0, 4.5, 4.0, 4.2]
    assert load_checkpoint(out / "best.safetensors")[1]["step"] == "2"
    assert "converged: no better validation MPJPE in 3 validations" in capsys.readouterr().out

    # Off (the default): the same scores run to max_steps.
    scripted = iter([5.0, 4.0, 4.5, 4.0, 4.2, 3.0, 2.0, 1.0])
    result = train(
        _cfg(tiny_benchmark, tmp_path / "full", "train.max_steps=8", "train.val_every=1"),
        progress=False,
    )
    assert (result["step"], result["stop_reason"]) == (8, "max_steps")
    with pytest.raises(ValueError, match="train.early_stop must be >= 0"):
        _cfg(tiny_benchmark, tmp_path / "bad", "train.early_stop=-1")


def test_resume_warning_names_the_changed_settings(tiny_benchmark, tmp_path, capsys):
    from diffhpe.config import config_diff
    from diffhpe.training import Trainer

    out = tmp_path / "run"
    train(_cfg(tiny_benchmark, out, "train.max_steps=2"), stop_after=1, progress=False)
    capsys.readouterr()
    trainer = Trainer(_cfg(tiny_benchmark, out, "train.max_steps=3"), progress=False)
    trainer.resume(out / "last.safetensors")
    assert "train.max_steps: 2 -> 3" in capsys.readouterr().out
    Trainer(_cfg(tiny_benchmark, out, "train.max_steps=2"), progress=False).resume(
        out / "last.safetensors"
    )
    assert "different config" not in capsys.readouterr().out
    assert config_diff({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}, "d": 0}) == [
        "a.c: 2 -> 3",
        "d: None -> 0",
    ]


def test_resume_applies_the_new_plateau_settings(tiny_benchmark, tmp_path):
    """The saved LR scheduler carries its own patience/factor; resuming under a changed config
    uses the config's (as for every other setting), keeping the saved counters and lr."""
    from diffhpe.training import Trainer

    out = tmp_path / "run"
    train(_cfg(tiny_benchmark, out, "train.max_steps=2"), stop_after=1, progress=False)
    cfg = _cfg(
        tiny_benchmark, out, "train.max_steps=2", "train.plateau_patience=0",
        "train.plateau_factor=0.25", "train.min_lr=1e-7",
    )  # fmt: skip
    trainer = Trainer(cfg, progress=False)
    trainer.resume(out / "last.safetensors")
    assert (trainer.sched.patience, trainer.sched.factor) == (0, 0.25)
    assert trainer.sched.min_lrs == [1e-7]
    assert trainer.step == 1


def test_validation_can_use_the_training_occlusion(tiny_benchmark, tmp_path):
    """`data.val_occlusion`: clean 2D by default; "train" validates under the training
    pattern, with the same masks at every validation (a fixed stream)."""
    from diffhpe.training import Trainer

    def trainer(*extra: str) -> Trainer:
        t = Trainer(_cfg(tiny_benchmark, tmp_path / "v", *extra), progress=False)
        t.load_data()
        return t

    clean = trainer("data.occlusion=consecutive_frames")
    occluded = trainer("data.occlusion=consecutive_frames", "data.val_occlusion=train")
    assert occluded.val_occlusion == occluded.occlusion
    occluded.model.load_state_dict(clean.model.state_dict())
    first, again = occluded.validate(), occluded.validate()
    assert first == again  # the same masks each time
    assert first != clean.validate()  # the masks do reach the model
    with pytest.raises(ValueError, match="data.val_occlusion='elbows'"):
        trainer("data.val_occlusion=elbows")


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    """A write that fails midway leaves the previous file intact and no temporary file."""
    import diffhpe.checkpoint as ck

    path = tmp_path / "last.safetensors"
    ck.save_checkpoint(path, {"w": torch.ones(2)}, {"step": "1"})
    record = tmp_path / "train_state.json"
    ck.write_text_atomic(record, '{"step": 1}')

    def broken_save(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ck, "save_file", broken_save)
    with pytest.raises(OSError, match="disk full"):
        ck.save_checkpoint(path, {"w": torch.zeros(2)}, {"step": "2"})
    tensors, meta = ck.load_checkpoint(path)
    assert meta["step"] == "1" and torch.equal(tensors["w"], torch.ones(2))
    with pytest.raises(TypeError):
        ck.write_text_atomic(record, None)  # type: ignore[arg-type]
    assert json.loads(record.read_text()) == {"step": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.safetensors", "train_state.json"]


def test_fine_tune_records_the_hash_of_its_init_file(tiny_benchmark, tmp_path, mixste_ckpt):
    """A run started with ``train.init_from`` keeps that file's SHA-256 in its checkpoints,
    through a resume, so the page can tell when the file at that path was replaced later."""
    import shutil

    from diffhpe.checkpoint import file_sha256, read_metadata
    from diffhpe.experiments import _started_from, checkpoint_info

    init = tmp_path / "base" / "best.safetensors"
    init.parent.mkdir()
    shutil.copy(mixste_ckpt, init)
    sha = file_sha256(init)
    out = tmp_path / "ft"
    train(_cfg(tiny_benchmark, out, f"train.init_from={init}", "train.max_steps=3"), progress=False)
    for name in ("best.safetensors", "last.safetensors"):
        assert read_metadata(out / name)["init_from_sha256"] == sha
    assert _started_from(checkpoint_info(str(out / "best.safetensors"), "x")) == (
        f"`{init}` (SHA-256 {sha[:12]})"
    )
    shutil.copy(out / "best.safetensors", init)  # another checkpoint at the same path
    cfg = _cfg(tiny_benchmark, out, f"train.init_from={init}", "train.max_steps=6")
    train(cfg, resume=True, progress=False)
    assert read_metadata(out / "last.safetensors")["init_from_sha256"] == sha  # the original
    info = checkpoint_info(str(out / "best.safetensors"), "x")
    assert _started_from(info).endswith("; the file there now differs)")
    init.unlink()  # a resume reads its weights from last.safetensors, not from the init file
    cfg = _cfg(tiny_benchmark, out, f"train.init_from={init}", "train.max_steps=8")
    assert train(cfg, resume=True, progress=False)["step"] == 8
    assert read_metadata(out / "last.safetensors")["init_from_sha256"] == sha
    assert read_metadata(mixste_ckpt).get("init_from_sha256") is None  # trained from scratch
