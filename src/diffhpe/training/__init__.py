"""``diffhpe train``: the loop (:mod:`~diffhpe.training.trainer`) and its parts.

:mod:`~diffhpe.training.data` (windows), :mod:`~diffhpe.training.batch` (a batch and its
loss), :mod:`~diffhpe.training.validation`, :mod:`~diffhpe.training.lr_schedule`,
:mod:`~diffhpe.training.stop` (when training ends), :mod:`~diffhpe.training.log`
(metrics.jsonl, TensorBoard, the bar), :mod:`~diffhpe.training.checkpoint` (init weights,
resume checks), :mod:`~diffhpe.training.state` (the typed ``train_state.json``),
:mod:`~diffhpe.training.distributed` (torchrun / DDP).
"""

from diffhpe.training.checkpoint import NEW_FEATURE_PARAMS
from diffhpe.training.distributed import DistInfo, setup_distributed
from diffhpe.training.lr_schedule import cosine_factor, make_lr_scheduler
from diffhpe.training.trainer import Trainer, train

__all__ = [
    "NEW_FEATURE_PARAMS",
    "DistInfo",
    "Trainer",
    "cosine_factor",
    "make_lr_scheduler",
    "setup_distributed",
    "train",
]
