"""``diffhpe train``: one loop for MixSTE, DiffHPE-2D and DiffHPE-Wrapper.

- MixSTE is trained with MPJPE (paper: the official recipe without the hand-tuned
  weighted loss); the diffusion models with the DDPM noise-prediction L2 loss of paper
  section 3.4 (``diffhpe.diffusion.training_loss``), the wrapper's MixSTE frozen.
- Adam with weight decay 1e-6 and a reduce-on-plateau learning rate, stepped on the
  validation MPJPE (section 4.2). Checkpoints are selected on the validation split only.
- ``out_dir/last.safetensors``: the full training state (model, optimizer, scheduler,
  RNG states, step), written atomically every ``train.checkpoint_minutes`` and at the
  end; ``--resume`` continues from it exactly. ``out_dir/best.safetensors``: the model
  at the best validation MPJPE so far (what evaluation and shipping use).
- Runs unchanged under ``torchrun --nproc_per_node N``: DDP with gloo on CPU and NCCL
  on GPU; ``train.batch_size`` is the global batch, split across processes.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from tqdm import tqdm

from diffhpe.checkpoint import (
    file_sha256,
    load_checkpoint,
    optimizer_from_tensors,
    optimizer_to_tensors,
    prefixed,
    save_checkpoint,
    unprefixed,
    write_text_atomic,
)
from diffhpe.config import (
    RunConfig,
    TrainConfig,
    config_diff,
    config_from_json,
    config_to_json,
    to_dict,
)
from diffhpe.data.dataset import DataSource, load_sequences
from diffhpe.data.occlusion import OcclusionSpec, occlude
from diffhpe.data.windows import EvalWindows, PoseSequence, TrainWindows
from diffhpe.diffusion import make_schedule, training_loss
from diffhpe.hardware import environment
from diffhpe.inference import is_diffusion, make_sampler, predict
from diffhpe.metrics import mpjpe_frames
from diffhpe.models.factory import build_model, model_metadata
from diffhpe.models.lifters import DiffHPEWrapper
from diffhpe.train_state import TrainState


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str) -> tuple[DistInfo, torch.device]:
    """Initialise DDP when launched by torchrun (WORLD_SIZE > 1) and pick the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if device_name == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device is 'cuda' but no GPU is available")
    device = torch.device(f"cuda:{local}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, world, local), device


def _mpjpe_loss(pred: Tensor, target: Tensor, frame_mask: Tensor) -> Tensor:
    """Mean per-joint position error over valid frames (the supervised MixSTE loss)."""
    err = torch.linalg.vector_norm(pred - target, dim=-1).mean(-1)  # (B, T)
    m = frame_mask.to(err.dtype)
    return (err * m).sum() / m.sum().clamp(min=1)


# Parameters of features newer than an init file (train.init_from may lack them).
NEW_FEATURE_PARAMS = ("missing_embed",)


def cosine_factor(step: int, warmup: int, total: int, floor: float) -> float:
    """LR multiplier at ``step``: linear warm-up over ``warmup`` steps to 1, then a cosine
    from 1 down to ``floor`` at ``total`` steps (and ``floor`` after)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_lr_scheduler(opt: torch.optim.Optimizer, t: TrainConfig) -> Any:
    """``train.schedule``: "plateau" (stepped with the validation MPJPE) or "cosine"
    (warm-up then cosine to ``min_lr`` at ``max_steps``, stepped every training step)."""
    if t.schedule == "cosine":
        floor = min(1.0, t.min_lr / t.lr)
        return torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: cosine_factor(step, t.warmup_steps, t.max_steps, floor)
        )
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=t.plateau_factor, patience=t.plateau_patience, min_lr=t.min_lr
    )


def _load_split(
    cfg: RunConfig, split: str, cameras: list[str] | None = None, stride: int = 1
) -> list[PoseSequence]:
    source = DataSource(cfg.data.kind, Path(cfg.data.root), cfg.data.detector)
    return load_sequences(source, split, tuple(cameras) if cameras else None, stride=stride)


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
        if cfg.train.init_from and load_init:
            self._init_from(Path(cfg.train.init_from))
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
        self._signalled: int | None = None  # a stop signal received during `fit`
        self.windows: TrainWindows | None = None
        self.val: EvalWindows | None = None
        self.train_eval: EvalWindows | None = None  # fixed training windows (train_error)
        self.per_rank_batch = max(1, cfg.train.batch_size // self.dist.world)
        self.ddp_weight_diff: float | None = None

    def _init_from(self, path: Path) -> None:
        """Start from another run's weights (a new run: fresh optimizer, step 0).

        For a wrapper only the trainable parts (``w`` and the denoiser) are taken: the frozen
        backbone stays the one named by ``model.backbone``.
        """
        tensors, meta = load_checkpoint(path)
        self.init_sha256 = file_sha256(path)
        kind = json.loads(meta["config"])["model"]["kind"] if "config" in meta else None
        if kind != self.cfg.model.kind:
            raise ValueError(
                f"train.init_from {path}: a {kind!r} checkpoint cannot start a {self.cfg.model.kind!r} run"
            )
        state = unprefixed(tensors, "model.")
        if isinstance(self.model, DiffHPEWrapper):
            state = {k: v for k, v in state.items() if not k.startswith("backbone.")}
            state.update({f"backbone.{k}": v for k, v in self.model.backbone.state_dict().items()})
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        # A model with a feature its init file predates (a mask token) keeps that part's
        # fresh initialisation; anything else that does not match is an error.
        new = [k for k in missing if k.rsplit(".", 1)[-1] in NEW_FEATURE_PARAMS]
        if unexpected or len(new) != len(missing):
            raise ValueError(
                f"train.init_from {path}: weights do not match the model: missing "
                f"{[k for k in missing if k not in new][:5]}, unexpected {unexpected[:5]}"
            )
        if new:
            print(f"train.init_from {path}: new parameters start fresh: {', '.join(new)}")

    # ----------------------------------------------------------------- data
    def load_data(self) -> None:
        d = self.cfg.data
        train = _load_split(self.cfg, d.train_split)
        self.windows = TrainWindows(
            train + self._extra_train_sequences(), d.length, mirror=d.mirror,
            seed=self.cfg.train.seed, families=d.families, hard_errors=d.hard_errors,
        )  # fmt: skip
        val = _load_split(self.cfg, d.val_split, d.val_cameras, d.val_stride)
        self.val = EvalWindows(val, d.length)
        n = self.cfg.train.train_eval_windows
        # Training error: n fixed windows spread over every training clip (validation's
        # cameras and 2D), in eval mode; the same windows at every validation.
        self.train_eval = None
        if n > 0:
            seen = EvalWindows(_load_split(self.cfg, d.train_split, d.val_cameras), d.length)
            self.train_eval = seen.every(max(1, len(seen) // n))

    def _extra_train_sequences(self) -> list[PoseSequence]:
        """Training sequences of ``data.train_extra_detectors`` (2D files beside
        ``data.detector``) and of ``data.train_extra_roots`` (more benchmark folders, with
        ``data.detector`` and the extra detectors)."""
        d = self.cfg.data
        seqs: list[PoseSequence] = []
        for root in [d.root, *d.train_extra_roots]:
            dets = (
                d.train_extra_detectors
                if root == d.root
                else [d.detector, *d.train_extra_detectors]
            )
            for det in dets:
                seqs += load_sequences(DataSource(d.kind, Path(root), det), d.train_split)
        return seqs

    # ----------------------------------------------------------- one step
    def train_step(self) -> float:
        assert self.windows is not None
        b = self.windows.sample(self.per_rank_batch, self.data_rng)
        x2d, visible = occlude(b["x2d"], self.occlusion, self.gen, valid=b["valid"])
        x2d, visible = x2d.to(self.device), visible.to(self.device)
        x3d, fmask = b["x3d"].to(self.device), b["frame_mask"].to(self.device)
        self.net.train()
        self.opt.zero_grad(set_to_none=True)
        n = x2d.shape[0]
        micro = self.cfg.train.micro_batch or n
        total = 0.0
        # Gradient accumulation: each pass's loss is weighted by its share of the batch,
        # so the update equals the whole batch's (the MPJPE loss averages over frames).
        for lo in range(0, n, micro):
            sl = slice(lo, min(lo + micro, n))
            if self.diffusion:
                cond = self.model.condition(x2d[sl], visible[sl])
                loss = training_loss(
                    self.schedule, self.net, x3d[sl], cond, self.gen, mask=fmask[sl],
                    prediction=self.cfg.diffusion.prediction,
                )  # fmt: skip
                weight = (sl.stop - sl.start) / n
            else:
                loss = _mpjpe_loss(self.net(x2d[sl], visible[sl]), x3d[sl], fmask[sl])
                weight = float(fmask[sl].sum()) / max(float(fmask.sum()), 1.0)
            (loss * weight).backward()
            total += float(loss.detach()) * weight
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
            self.model.eval()
            gen = torch.Generator().manual_seed(1234)  # fixed: never touches training RNG
            occ_gen = torch.Generator().manual_seed(4321)  # the same masks at every validation
            sampler = make_sampler(self.cfg.diffusion, self.schedule) if self.diffusion else None
            total, count = 0.0, 0
            for b in windows.batches(max(1, self.cfg.train.batch_size), limit):
                x2d, vis = b["x2d"], b["valid"]
                if self.val_occlusion.patterns != ("none",):
                    x2d, vis = occlude(x2d, self.val_occlusion, occ_gen, valid=vis)
                x2d, vis = x2d.to(self.device), vis.to(self.device)
                pred = predict(self.model, x2d, vis, self.cfg.diffusion, gen, sampler).pose
                m = b["frame_mask"].to(self.device)
                err = mpjpe_frames(pred.float(), b["x3d"].to(self.device), m)
                total += float(err[m].sum())
                count += int(m.sum())
            value[0] = 1000.0 * total / max(count, 1)
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
        tensors, meta = load_checkpoint(path)
        saved = to_dict(config_from_json(meta["config"], f"{path}:config"))
        current = to_dict(self.cfg)
        saved.pop("out_dir"), current.pop("out_dir")
        changed = config_diff(saved, current)
        if changed:
            print(
                f"warning: {path} was written with a different config; resuming with the new one"
                f" ({'; '.join(changed)})"
            )
        self.model.load_state_dict(unprefixed(tensors, "model."))
        # The init file's hash when the run started (the file may have changed since).
        self.init_sha256 = meta.get("init_from_sha256")
        state = TrainState.from_json(meta["train_state"], f"{path}:train_state")
        lacking = [k for k in ("step", "optimizer", "scheduler", "data_rng")
                   if getattr(state, k) is None]  # fmt: skip
        if lacking:
            raise ValueError(f"{path}: the train state lacks {lacking}; cannot resume from it")
        optimizer_from_tensors(self.opt, tensors, state.optimizer)
        self.sched.load_state_dict(state.scheduler)
        # The saved scheduler state holds its settings too; the config in use wins, like
        # every other setting of a resumed run (its counters and current lr are kept).
        tc = self.cfg.train
        if tc.schedule == "plateau":
            self.sched.patience, self.sched.factor = tc.plateau_patience, tc.plateau_factor
            self.sched.min_lrs = [tc.min_lr] * len(self.opt.param_groups)
            if hasattr(self.sched, "default_min_lr"):
                self.sched.default_min_lr = tc.min_lr
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
        values = [float(h["val_mpjpe_mm"]) for h in self.history]
        if not values:
            return 0
        best = min(range(len(values)), key=values.__getitem__)
        return len(values) - 1 - best

    def _ddp_weight_diff(self) -> float | None:
        """Largest absolute difference between any rank's weights and rank 0's (DDP only)."""
        if self.dist.world == 1:
            return None
        flat = torch.cat([p.detach().reshape(-1).float() for p in self.model.parameters()])
        ref = flat.clone()
        dist.broadcast(ref, src=0)
        diff = (flat - ref).abs().max().reshape(1).to(torch.float64)
        dist.all_reduce(diff, op=dist.ReduceOp.MAX)
        return float(diff[0])

    # ----------------------------------------------------------- the loop
    def _catch_stop_signals(self) -> dict[int, Any]:
        """SIGTERM / SIGINT end training after the current step with ``last.safetensors``
        written (so ``kill`` loses nothing); returns the handlers to restore."""
        self._signalled = None
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum: int, _frame: Any) -> None:
            self._signalled = signum

        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, request_stop)
        return previous

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
        writer = _tensorboard(self.out) if self.dist.main else None
        log = open(self.out / "metrics.jsonl", "a", encoding="utf-8") if self.dist.main else None
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
        bar = tqdm(
            total=cfg.max_steps, initial=self.step, desc=f"train {self.cfg.model.kind}",
            unit="step", disable=not (self.progress and self.dist.main), dynamic_ncols=True,
        )  # fmt: skip
        loss_ema, t_last, n_win = None, time.time(), 0
        previous = self._catch_stop_signals()
        try:
            while self.step < cfg.max_steps:
                loss = self.train_step()
                n_win += self.per_rank_batch * self.dist.world
                loss_ema = loss if loss_ema is None else 0.95 * loss_ema + 0.05 * loss
                if not math.isfinite(loss):
                    raise FloatingPointError(f"step {self.step}: loss is {loss}; lower train.lr")
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    rate = n_win / max(time.time() - t_last, 1e-9)
                    t_last, n_win = time.time(), 0
                    lr = self.opt.param_groups[0]["lr"]
                    bar.set_postfix(loss=f"{loss_ema:.4f}", lr=f"{lr:.2e}", win_s=f"{rate:.0f}")
                    if self.dist.main:
                        rec = {"step": self.step, "loss": loss_ema, "lr": lr, "windows_per_s": rate}
                        log.write(json.dumps(rec) + "\n")
                        log.flush()
                        if writer:
                            writer.add_scalar("train/loss", loss_ema, self.step)
                            writer.add_scalar("train/lr", lr, self.step)
                            writer.add_scalar("train/windows_per_s", rate, self.step)
                if self.step % cfg.val_every == 0 or self.step == cfg.max_steps:
                    val = self.validate()
                    train_err = self.train_error()
                    if cfg.schedule == "plateau":
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
                        line = {"step": self.step, "val_mpjpe_mm": val, "best": self.best}
                        if train_err is not None:
                            line["train_mpjpe_mm"] = train_err
                        log.write(json.dumps(line) + "\n")
                        log.flush()
                        if writer:
                            writer.add_scalar("val/mpjpe_mm", val, self.step)
                            if train_err is not None:
                                writer.add_scalar("train/mpjpe_mm", train_err, self.step)
                        seen = "" if train_err is None else f", train {train_err:.2f}"
                        bar.write(
                            f"step {self.step}: val MPJPE {val:.2f} mm (best {self.best:.2f}){seen}"
                        )
                minutes = (time.time() - t_start) / 60
                self.stop_reason = self._stop_reason(minutes, start_step, stop_after)
                if self.stop_reason:
                    break  # last.safetensors is written once, below
                if self.dist.main and time.time() - t_ckpt > 60 * cfg.checkpoint_minutes:
                    self.save_last()
                    t_ckpt = time.time()
            if self.stop_reason is None:  # the loop never ran: already at max_steps
                self.stop_reason = "max_steps"
            self.ddp_weight_diff = self._ddp_weight_diff()
            if self.dist.main:
                self.save_last()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            bar.close()
            if log:
                log.close()
            if writer:
                writer.close()
        if self.dist.world > 1:
            dist.barrier()
        return {
            "step": self.step,
            "best_val_mpjpe_mm": self.best,
            "seconds": time.time() - t_start,
            "stopped_by_signal": self._signalled,
            "stop_reason": self.stop_reason,
        }

    def _stop_reason(self, minutes: float, start_step: int, stop_after: int | None) -> str | None:
        """Why training ends after this step (None: it goes on). Validation runs on every
        process, so ``early_stop`` is decided identically on all of them."""
        cfg = self.cfg.train
        just_validated = self.step % cfg.val_every == 0 or self.step == cfg.max_steps
        if (
            cfg.early_stop > 0
            and just_validated
            and self.validations_since_best() >= cfg.early_stop
        ):
            return "early_stop"
        if self.step >= cfg.max_steps:
            return "max_steps"
        if cfg.max_minutes > 0 and minutes >= cfg.max_minutes:
            return "max_minutes"
        if self._signalled is not None:
            return "signal"
        if stop_after is not None and self.step - start_step >= stop_after:
            return "interrupted"
        return None


def _tensorboard(out: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional: metrics.jsonl always has the numbers
        return None
    return SummaryWriter(str(out / "tb"))


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
