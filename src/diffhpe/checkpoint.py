"""Checkpoints as safetensors: tensors only, metadata as JSON strings, written atomically.

A checkpoint holds ``model.*`` tensors and metadata ``config`` (the resolved
:class:`~diffhpe.config.RunConfig` as JSON), so a checkpoint alone rebuilds its model.
A training checkpoint also holds ``optim.*`` tensors and ``train_state`` metadata
(step, best validation, scheduler and RNG states) so ``--resume`` continues exactly.
Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

# write_text_atomic is re-exported: training writes train_state.json through it.
from diffhpe.safety import atomic_path, write_text_atomic  # noqa: F401


def save_checkpoint(
    path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]
) -> None:
    """Write ``tensors`` + JSON ``metadata`` to ``path`` atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    # clone: buffers shared between layers (e.g. one adjacency) must not alias on disk
    clean = {k: v.detach().cpu().clone().contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(clean, str(tmp), metadata=meta)


def read_metadata(path: str | Path) -> dict[str, str]:
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except (OSError, SafetensorError) as e:
        raise ValueError(f"{path}: not a readable safetensors checkpoint ({e})") from e


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_digest(path: str | Path, prefix: str) -> str | None:
    """SHA-256 over the tensors whose names start with ``prefix`` (names taken without it,
    sorted; dtype, shape and bytes of each), or None when the file has none.

    Two checkpoints hold the same sub-model exactly when their digests match, e.g. a
    wrapper's bundled MixSTE (``model.backbone.``) and a MixSTE checkpoint (``model.``).
    """
    tensors, _ = load_checkpoint(path)
    names = sorted(k for k in tensors if k.startswith(prefix))
    if not names:
        return None
    h = hashlib.sha256()
    for k in names:
        t = tensors[k]
        h.update(f"{k[len(prefix) :]}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """``(tensors, metadata)`` of a safetensors checkpoint; clear error if unreadable."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    meta = read_metadata(path)
    try:
        tensors = load_file(str(path))
    except (OSError, SafetensorError) as e:
        raise ValueError(f"{path}: cannot read tensors ({e})") from e
    return tensors, meta


def prefixed(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}{k}": v for k, v in state.items()}


def unprefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def optimizer_to_tensors(
    opt: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Flatten an optimizer state dict into tensors (``optim.<param>.<name>``) + JSON."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for name, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim.{pid}.{name}"] = v
            else:
                scalars.setdefault(str(pid), {})[name] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_tensors(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], info: dict[str, Any]
) -> None:
    """Inverse of :func:`optimizer_to_tensors`."""
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        if not key.startswith("optim."):
            continue
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = v
    for pid, sc in info.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(sc)
    opt.load_state_dict({"state": state, "param_groups": info["param_groups"]})
