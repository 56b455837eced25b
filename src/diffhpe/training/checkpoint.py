"""What a training run reads from checkpoints: starting weights (``train.init_from``)
and the checks of a resumed run's ``last.safetensors``."""

from __future__ import annotations

import json
from pathlib import Path

from torch import nn

from diffhpe.checkpoint import file_sha256, load_checkpoint, unprefixed
from diffhpe.config import RunConfig, config_diff, config_from_json, to_dict
from diffhpe.models.lifters import DiffHPEWrapper
from diffhpe.training.state import TrainState

# Parameters of features newer than an init file (train.init_from may lack them).
NEW_FEATURE_PARAMS = ("missing_embed",)


def load_init_weights(model: nn.Module, kind: str, path: Path) -> str:
    """Load another run's weights into ``model`` (a ``kind`` model); returns the file's
    SHA-256.

    For a wrapper only the trainable parts (``w`` and the denoiser) are taken: the frozen
    backbone stays the one named by ``model.backbone``.
    """
    tensors, meta = load_checkpoint(path)
    sha256 = file_sha256(path)
    saved = json.loads(meta["config"])["model"]["kind"] if "config" in meta else None
    if saved != kind:
        raise ValueError(
            f"train.init_from {path}: a {saved!r} checkpoint cannot start a {kind!r} run"
        )
    state = unprefixed(tensors, "model.")
    if isinstance(model, DiffHPEWrapper):
        state = {k: v for k, v in state.items() if not k.startswith("backbone.")}
        state.update({f"backbone.{k}": v for k, v in model.backbone.state_dict().items()})
    missing, unexpected = model.load_state_dict(state, strict=False)
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
    return sha256


def warn_config_changes(path: Path, meta: dict[str, str], cfg: RunConfig) -> None:
    """Print which settings differ from the config ``path`` was written with."""
    saved = to_dict(config_from_json(meta["config"], f"{path}:config"))
    current = to_dict(cfg)
    saved.pop("out_dir"), current.pop("out_dir")
    changed = config_diff(saved, current)
    if changed:
        print(
            f"warning: {path} was written with a different config; resuming with the new one"
            f" ({'; '.join(changed)})"
        )


def resumable_state(path: Path, meta: dict[str, str]) -> TrainState:
    """The train state of ``path``'s metadata, with what resuming needs, else ValueError."""
    state = TrainState.from_json(meta["train_state"], f"{path}:train_state")
    lacking = [k for k in ("step", "optimizer", "scheduler", "data_rng")
               if getattr(state, k) is None]  # fmt: skip
    if lacking:
        raise ValueError(f"{path}: the train state lacks {lacking}; cannot resume from it")
    return state
