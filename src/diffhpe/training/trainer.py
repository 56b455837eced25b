"""``diffhpe train``: one loop for MixSTE, DiffHPE-2D and DiffHPE-Wrapper.

- MixSTE is trained with MPJPE (paper: the official recipe without the hand-tuned
  weighted loss); the diffusion models with the DDPM noise-prediction L2 loss of paper
  section 3.4 (``diffhpe.diffusion.training_loss``), the wrapper's MixSTE frozen.
- Adam with weight decay 1e-6; the learning rate reduced on plateaus of the validation
  MPJPE (section 4.2) or warm-up + cosine (`train.schedule`). Checkpoints are selected on
  the validation split only.
- ``out_dir/last.safetensors``: the full training state (model, optimizer, scheduler,
  RNG states, step), written atomically every ``train.checkpoint_minutes`` and at the
  end; ``--resume`` continues from it exactly. ``out_dir/best.safetensors``: the model
  at the best validation MPJPE so far (what evaluation and shipping use).
- Runs unchanged under ``torchrun --nproc_per_node N``: DDP with gloo on CPU and NCCL
  on GPU; ``train.batch_size`` is the global batch, split across processes.

The parts: :mod:`diffhpe.training.data` (windows), :mod:`diffhpe.training.batch` (a batch and
its loss), :mod:`diffhpe.training.validation`, :mod:`diffhpe.training.lr_schedule`,
:mod:`diffhpe.training.distributed`, :mod:`diffhpe.training.log` (metrics.jsonl, TensorBoard, the
bar), :mod:`diffhpe.training.checkpoint` (init weights, resume checks),
:mod:`diffhpe.training.stop` (when training ends); this module holds the run's state, the
loop and its checkpoints.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from diffhpe.checkpoint import (
    load_checkpoint,
    optimizer_from_tensors,
    optimizer_to_tensors,
    prefixed,
    save_checkpoint,
    unprefixed,
    write_text_atomic,
)
from diffhpe.config import RunConfig, config_to_json
from diffhpe.data.occlusion import OcclusionSpec
from diffhpe.data.windows import EvalWindows, TrainWindows
from diffhpe.diffusion import make_schedule
from diffhpe.hardware import environment
from diffhpe.inference import is_diffusion
from diffhpe.models.factory import build_model, model_metadata
from diffhpe.training.batch import accumulate_gradients, training_batch
from diffhpe.training.checkpoint import (
    load_init_weights,
    resumable_state,
    warn_config_changes,
)
from diffhpe.training.data import load_training_data
from diffhpe.training.distributed import max_weight_diff, setup_distributed
from diffhpe.training.log import TrainLog
from diffhpe.training.lr_schedule import apply_schedule_settings, make_lr_scheduler
from diffhpe.training.state import TrainState
from diffhpe.training.stop import StopSignals, stop_reason, validations_since_best
from diffhpe.training.validation import windows_mpjpe


class Trainer:
    """Holds the model, data, optimizer and RNG states of one training run."""

    def __init__(self, cfg: RunConfig, progress: bool = True, load_init: bool = True) -> None:
        """``load_init=False`` skips ``train.init_from`` (a resumed run takes its weights and
        the init file's recorded hash from ``last.safetensors``; the file need not exist)."""
        self.cfg = cfg
        self.progress = progress
        self.dist, self.device = setup_distributed(cfg.train.device)
        if cfg.train.threads > 0:
            torch.set_num_threads(cfg.train.threads)
        self.out = Path(cfg.out_dir)
        # Same init on every process: seed before building the model.
        torch.manual_seed(cfg.train.seed)
        self.model = build_model(cfg).to(self.device)
        self.init_sha256: str | None = None  # train.init_from's hash, kept in checkpoints
        if cfg.train.init_from and load_init:  # a new run: fresh optimizer, step 0
            path = Path(cfg.train.init_from)
            self.init_sha256 = load_init_weights(self.model, cfg.model.kind, path)
        self.diffusion = is_diffusion(self.model)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.net: nn.Module = self.model
        if self.dist.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.opt = torch.optim.Adam(
            self.params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay
        )
        self.sched = make_lr_scheduler(self.opt, cfg.train)
        self.schedule = make_schedule(cfg.diffusion.schedule, cfg.diffusion.num_steps).to(
            self.device
        )
        self.occlusion = OcclusionSpec.parse(cfg.data.occlusion)
        val_occ = (
            cfg.data.occlusion if cfg.data.val_occlusion == "train" else cfg.data.val_occlusion
        )
        try:
            self.val_occlusion = OcclusionSpec.parse(val_occ)
        except ValueError as e:
            raise ValueError(f"data.val_occlusion={cfg.data.val_occlusion!r}: {e}") from None
        # Per-process streams: data order and diffusion/occlusion noise differ by rank.
        self.data_rng = np.random.default_rng([cfg.train.seed, self.dist.rank])
        self.gen = torch.Generator().manual_seed(cfg.train.seed * 1000 + self.dist.rank)
        torch.manual_seed(cfg.train.seed * 1000 + 17 + self.dist.rank)  # dropout stream
        self.step = 0
        self.best = math.inf
        self.history: list[dict[str, Any]] = []
        # Why the last `fit` ended: "early_stop" (validation converged), "max_steps",
        # "max_minutes", "signal" or "interrupted" (``stop_after``); None while training.
        self.stop_reason: str | None = None
        # One record per `fit` call (a resumed run has several): steps, wall time, hardware.
        self.sessions: list[dict[str, Any]] = []
        self._session_start = time.time()
        self.stop_signals = StopSignals()  # SIGTERM / SIGINT during `fit`
        self.windows: TrainWindows | None = None
        self.val: EvalWindows | None = None
        self.train_eval: EvalWindows | None = None  # fixed training windows (train_error)
        self.per_rank_batch = max(1, cfg.train.batch_size // self.dist.world)
        self.ddp_weight_diff: float | None = None

    # ----------------------------------------------------------------- data
    def load_data(self) -> None:
        """Training, validation and training-error windows (:mod:`diffhpe.training.data`)."""
        self.windows, self.val, self.train_eval = load_training_data(self.cfg)

    # ----------------------------------------------------------- one step
    def train_step(self) -> float:
        """One optimizer step on a fresh batch (:mod:`diffhpe.training.batch`); its loss."""
        assert self.windows is not None
        batch = training_batch(
            self.windows, self.per_rank_batch, self.data_rng, self.occlusion, self.gen,
            self.device,
        )  # fmt: skip
        self.net.train()
        self.opt.zero_grad(set_to_none=True)
        total = accumulate_gradients(
            self.model, self.net, batch, self.cfg.train.micro_batch, self.gen,
            self.schedule if self.diffusion else None, self.cfg.diffusion.prediction,
            self.cfg.diffusion.pose_scale,
        )  # fmt: skip
        if self.cfg.train.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.params, self.cfg.train.grad_clip)
        self.opt.step()
        self.step += 1
        if self.cfg.train.schedule == "cosine":
            self.sched.step()
        return total

    # ----------------------------------------------------------- validation
    @torch.inference_mode()
    def validate(self) -> float:
        """Validation MPJPE (mm), identical on every process (computed on rank 0, broadcast)."""
        assert self.val is not None
        return self._windows_mpjpe(self.val, self.cfg.data.val_max_windows or len(self.val))

    @torch.inference_mode()
    def train_error(self) -> float | None:
        """MPJPE (mm) on the fixed training windows (``train.train_eval_windows``), in eval
        mode with validation's 2D, occlusion and sampler: beside :meth:`validate`, it says
        whether the model fits its training data. None when off."""
        if self.train_eval is None:
            return None
        return self._windows_mpjpe(self.train_eval, len(self.train_eval))

    def _windows_mpjpe(self, windows: EvalWindows, limit: int) -> float:
        """MPJPE (mm) over the first ``limit`` of ``windows`` (fixed sampling and occlusion
        seeds: the same noise and masks at every call), broadcast from rank 0."""
        value = torch.zeros(1, dtype=torch.float64)
        if self.dist.main:
            value[0] = windows_mpjpe(
                self.model, windows, limit, self.cfg.train.batch_size, self.cfg.diffusion,
                self.schedule if self.diffusion else None, self.val_occlusion, self.device,
            )  # fmt: skip
        if self.dist.world > 1:
            dist.broadcast(value, src=0)
        return float(value[0])

    # ----------------------------------------------------------- checkpoints
    def _model_tensors(self) -> dict[str, Tensor]:
        return prefixed(self.model.state_dict(), "model.")

    def _metadata(self) -> dict[str, str]:
        meta = model_metadata(self.cfg, self.model)
        if self.init_sha256:
            meta["init_from_sha256"] = self.init_sha256
        return meta

    def save_best(self) -> None:
        meta = self._metadata()
        meta["step"] = str(self.step)
        meta["val_mpjpe_mm"] = f"{self.best:.4f}"
        save_checkpoint(self.out / "best.safetensors", self._model_tensors(), meta)

    def save_last(self) -> None:
        if self.sessions:  # the session in progress, up to this step
            self.sessions[-1]["end_step"] = self.step
            self.sessions[-1]["seconds"] = round(time.time() - self._session_start, 1)
        tensors = self._model_tensors()
        opt_tensors, opt_info = optimizer_to_tensors(self.opt)
        tensors.update(opt_tensors)
        tensors["rng.torch"] = torch.get_rng_state()
        tensors["rng.gen"] = self.gen.get_state()
        meta = self._metadata()
        state = TrainState(
            step=self.step,
            best=self.best if math.isfinite(self.best) else None,
            optimizer=opt_info,
            scheduler=self.sched.state_dict(),
            data_rng=self.data_rng.bit_generator.state,
            history=tuple(self.history),
            sessions=tuple(self.sessions),
            stop_reason=self.stop_reason,
            world_size=self.dist.world,
            ddp_max_weight_diff=self.ddp_weight_diff,
        )
        meta["train_state"] = state.to_json()
        save_checkpoint(self.out / "last.safetensors", tensors, meta)
        # The same record as text, small enough to keep beside best.safetensors when the
        # full state is not kept (docs/RESULTS.md reads either): steps, times, stop reason.
        write_text_atomic(self.out / "train_state.json", state.to_json(indent=1))

    def resume(self, path: Path) -> None:
        """Continue from ``path`` (a ``last.safetensors``): weights, optimizer, scheduler,
        RNG states, counters and logs; the settings are the config in use."""
        tensors, meta = load_checkpoint(path)
        warn_config_changes(path, meta, self.cfg)
        self.model.load_state_dict(unprefixed(tensors, "model."))
        # The init file's hash when the run started (the file may have changed since).
        self.init_sha256 = meta.get("init_from_sha256")
        state = resumable_state(path, meta)
        optimizer_from_tensors(self.opt, tensors, state.optimizer)
        self.sched.load_state_dict(state.scheduler)
        apply_schedule_settings(self.sched, self.opt, self.cfg.train)  # the config's win
        torch.set_rng_state(tensors["rng.torch"])
        self.gen.set_state(tensors["rng.gen"])
        self.data_rng.bit_generator.state = state.data_rng
        self.step = int(state.step)
        self.best = math.inf if state.best is None else float(state.best)
        self.history = list(state.history)
        self.sessions = list(state.sessions)
        self.stop_reason = None  # training goes on

    def validations_since_best(self) -> int:
        """Validations after the best one so far (0 when the latest is the best)."""
        return validations_since_best(self.history)

    # ----------------------------------------------------------- the loop
    def fit(self, resume: bool = False, stop_after: int | None = None) -> dict[str, Any]:
        """Train until ``train.max_steps`` (or ``max_minutes``); ``stop_after`` steps
        (this call) simulates an interruption after a checkpoint."""
        cfg = self.cfg.train
        if self.windows is None:
            self.load_data()
        last = self.out / "last.safetensors"
        if resume:
            if not last.exists():
                raise FileNotFoundError(f"--resume: no {last} to resume from")
            self.resume(last)
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(
                json.dumps(json.loads(config_to_json(self.cfg)), indent=1)
            )
        t_start = time.time()
        t_ckpt = time.time()
        start_step = self.step
        env = environment(str(self.device))
        env.update(world_size=self.dist.world, device=str(self.device))
        self.sessions.append(
            {
                "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
                "start_step": start_step,
                "end_step": start_step,
                "seconds": 0.0,
                "environment": env,
            }
        )
        self._session_start = t_start
        log = TrainLog(
            self.out, self.dist.main, cfg.max_steps, self.step, f"train {self.cfg.model.kind}",
            show=self.progress and self.dist.main,
        )  # fmt: skip
        loss_ema, t_last, n_win = None, time.time(), 0
        self.stop_signals.install()
        try:
            while self.step < cfg.max_steps:
                loss = self.train_step()
                n_win += self.per_rank_batch * self.dist.world
                loss_ema = loss if loss_ema is None else 0.95 * loss_ema + 0.05 * loss
                if not math.isfinite(loss):
                    raise FloatingPointError(f"step {self.step}: loss is {loss}; lower train.lr")
                log.advance()
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    rate = n_win / max(time.time() - t_last, 1e-9)
                    t_last, n_win = time.time(), 0
                    log.training(self.step, loss_ema, self.opt.param_groups[0]["lr"], rate)
                if self.step % cfg.val_every == 0 or self.step == cfg.max_steps:
                    self._validation_round(t_start, log)
                minutes = (time.time() - t_start) / 60
                self.stop_reason = stop_reason(
                    cfg, self.step, self.history, minutes, self.step - start_step, stop_after,
                    self.stop_signals.received,
                )  # fmt: skip
                if self.stop_reason:
                    break  # last.safetensors is written once, below
                if self.dist.main and time.time() - t_ckpt > 60 * cfg.checkpoint_minutes:
                    self.save_last()
                    t_ckpt = time.time()
            if self.stop_reason is None:  # the loop never ran: already at max_steps
                self.stop_reason = "max_steps"
            self.ddp_weight_diff = max_weight_diff(self.model, self.dist)
            if self.dist.main:
                self.save_last()
        finally:
            self.stop_signals.restore()
            log.close()
        if self.dist.world > 1:
            dist.barrier()
        return {
            "step": self.step,
            "best_val_mpjpe_mm": self.best,
            "seconds": time.time() - t_start,
            "stopped_by_signal": self.stop_signals.received,
            "stop_reason": self.stop_reason,
        }

    def _validation_round(self, t_start: float, log: TrainLog) -> None:
        """Validate (and measure the training error), step a plateau schedule, keep the
        best model, record and log the result."""
        val = self.validate()
        train_err = self.train_error()
        if self.cfg.train.schedule == "plateau":
            self.sched.step(val)
        improved = val < self.best
        if improved:
            self.best = val
        rec = {"step": self.step, "val_mpjpe_mm": val, "time_s": time.time() - t_start}
        if train_err is not None:
            rec["train_mpjpe_mm"] = train_err
        self.history.append(rec)
        if self.dist.main:
            if improved:
                self.save_best()
            log.validation(self.step, val, self.best, train_err)


def train(
    cfg: RunConfig, resume: bool = False, stop_after: int | None = None, progress: bool = True
) -> dict[str, Any]:
    """Train ``cfg``; returns ``{"step", "best_val_mpjpe_mm", "seconds"}``."""
    trainer = Trainer(cfg, progress=progress, load_init=not resume)
    try:
        return trainer.fit(resume=resume, stop_after=stop_after)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
