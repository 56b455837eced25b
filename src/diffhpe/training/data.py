"""The data of one training run: training windows, validation windows and the fixed
training windows of the training error (``train.train_eval_windows``)."""

from __future__ import annotations

from pathlib import Path

from diffhpe.config import RunConfig
from diffhpe.data.dataset import DataSource, load_sequences
from diffhpe.data.windows import EvalWindows, PoseSequence, TrainWindows


def load_split(
    cfg: RunConfig, split: str, cameras: list[str] | None = None, stride: int = 1
) -> list[PoseSequence]:
    """The sequences of ``split`` under ``data.root`` with ``data.detector``'s 2D."""
    source = DataSource(cfg.data.kind, Path(cfg.data.root), cfg.data.detector)
    return load_sequences(source, split, tuple(cameras) if cameras else None, stride=stride)


def extra_train_sequences(cfg: RunConfig) -> list[PoseSequence]:
    """Training sequences of ``data.train_extra_detectors`` (2D files beside
    ``data.detector``) and of ``data.train_extra_roots`` (more benchmark folders, with
    ``data.detector`` and the extra detectors)."""
    d = cfg.data
    seqs: list[PoseSequence] = []
    for root in [d.root, *d.train_extra_roots]:
        dets = d.train_extra_detectors if root == d.root else [d.detector, *d.train_extra_detectors]
        for det in dets:
            seqs += load_sequences(DataSource(d.kind, Path(root), det), d.train_split)
    return seqs


def load_training_data(cfg: RunConfig) -> tuple[TrainWindows, EvalWindows, EvalWindows | None]:
    """(training windows, validation windows, training-error windows or None when
    ``train.train_eval_windows`` is 0)."""
    d = cfg.data
    train = load_split(cfg, d.train_split)
    windows = TrainWindows(
        train + extra_train_sequences(cfg), d.length, mirror=d.mirror,
        seed=cfg.train.seed, families=d.families, hard_errors=d.hard_errors,
    )  # fmt: skip
    val = load_split(cfg, d.val_split, d.val_cameras, d.val_stride)
    val_windows = EvalWindows(val, d.length)
    n = cfg.train.train_eval_windows
    # Training error: n fixed windows spread over every training clip (validation's
    # cameras and 2D), in eval mode; the same windows at every validation.
    train_eval = None
    if n > 0:
        seen = EvalWindows(load_split(cfg, d.train_split, d.val_cameras), d.length)
        train_eval = seen.every(max(1, len(seen) // n))
    return windows, val_windows, train_eval
