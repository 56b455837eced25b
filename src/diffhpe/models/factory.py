"""Config -> model, and checkpoint -> model: the one place that knows the model kinds."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from diffhpe.checkpoint import load_checkpoint, unprefixed
from diffhpe.config import RunConfig, config_from_json, to_dict
from diffhpe.models.denoiser import DenoiserConfig
from diffhpe.models.lifters import DiffHPE2D, DiffHPEWrapper
from diffhpe.models.mixste import MixSTE, MixSTEConfig
from diffhpe.skeleton import NUM_JOINTS


def mixste_config(cfg: RunConfig) -> MixSTEConfig:
    """The run's MixSTE hyper-parameters plus what the data fixes (J, L)."""
    return MixSTEConfig(
        num_joints=NUM_JOINTS, num_frames=cfg.data.length, **asdict(cfg.model.mixste)
    )


def denoiser_config(cfg: RunConfig, in_channels: int) -> DenoiserConfig:
    """The run's denoiser hyper-parameters plus what data, diffusion and model fix."""
    return DenoiserConfig(
        in_channels=in_channels,
        num_steps=cfg.diffusion.num_steps,
        num_frames=cfg.data.length,
        num_joints=NUM_JOINTS,
        **asdict(cfg.model.denoiser),
    )


def build_model(cfg: RunConfig, backbone: MixSTE | None = None) -> nn.Module:
    """A freshly initialised model of ``cfg.model.kind``.

    The wrapper needs its frozen MixSTE: pass ``backbone``, or set ``model.backbone`` to
    a trained MixSTE checkpoint.
    """
    kind = cfg.model.kind
    if kind == "mixste":
        return MixSTE(mixste_config(cfg))
    if kind == "diffhpe2d":
        vis = cfg.model.use_visibility
        return DiffHPE2D(
            denoiser_config(cfg, DiffHPE2D.denoiser_in_channels(vis)), use_visibility=vis
        )
    if kind == "wrapper":
        if backbone is None:
            if not cfg.model.backbone:
                raise ValueError(
                    "model.backbone: the wrapper needs a trained MixSTE checkpoint path"
                )
            backbone, bcfg = load_model(cfg.model.backbone)
            if bcfg.model.kind != "mixste":
                raise ValueError(
                    f"model.backbone {cfg.model.backbone}: expected a MixSTE checkpoint, got {bcfg.model.kind!r}"
                )
            if bcfg.data.length != cfg.data.length:
                raise ValueError(
                    f"model.backbone {cfg.model.backbone}: trained with data.length={bcfg.data.length}, "
                    f"but this run uses data.length={cfg.data.length}"
                )
            backbone.backbone_run_config = bcfg  # type: ignore[attr-defined]
        vis = cfg.model.use_visibility
        model = DiffHPEWrapper(
            backbone,
            denoiser_config(cfg, DiffHPEWrapper.denoiser_in_channels(backbone, vis)),
            use_visibility=vis,
        )
        # The wrapper's checkpoint carries its backbone's config, to rebuild it alone.
        model.backbone_run_config = getattr(backbone, "backbone_run_config", None)  # type: ignore[attr-defined]
        return model
    raise ValueError(f"model.kind must be 'mixste', 'diffhpe2d' or 'wrapper', got {kind!r}")


def model_metadata(cfg: RunConfig, model: nn.Module) -> dict[str, str]:
    """Metadata that lets :func:`load_model` rebuild ``model`` from a checkpoint alone."""
    meta = {"config": json.dumps(to_dict(cfg), sort_keys=True), "kind": cfg.model.kind}
    if (
        isinstance(model, DiffHPEWrapper)
        and getattr(model, "backbone_run_config", None) is not None
    ):
        meta["backbone_config"] = json.dumps(to_dict(model.backbone_run_config), sort_keys=True)
    return meta


def load_model(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, RunConfig]:
    """Rebuild a model from a checkpoint (its config travels inside). Returns ``(model, cfg)``."""
    path = Path(path)
    tensors, meta = load_checkpoint(path)
    if "config" not in meta:
        raise ValueError(f"{path}: checkpoint metadata lacks 'config'; not a diffhpe checkpoint")
    cfg = config_from_json(meta["config"], f"{path}:config")
    state = unprefixed(tensors, "model.")
    if cfg.model.kind == "wrapper":
        if "backbone_config" not in meta:
            raise ValueError(f"{path}: wrapper checkpoint lacks 'backbone_config' metadata")
        bcfg = config_from_json(meta["backbone_config"], f"{path}:backbone_config")
        backbone = MixSTE(mixste_config(bcfg))
        backbone.backbone_run_config = bcfg  # type: ignore[attr-defined]
        model = build_model(cfg, backbone=backbone)
    else:
        model = build_model(cfg)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    model.to(map_location)
    model.eval()
    return model, cfg
