"""ONNX export of a checkpoint's networks, to run them on other engines (``diffhpe export``).

B batch (a dynamic axis in every graph), T = the checkpoint's window length L (fixed),
J = 17 joints, C = the denoiser width. A diffusion checkpoint (DiffHPE-Wrapper or
DiffHPE-2D) gives two graphs, the two halves of the lifter interface::

    backbone.onnx   x2d (B, T, J, 2) float32 -> cond (B, T, J, C)             # once a window
    denoiser.onnx   x_t (B, T, J, 3) float32, t (B,) int64, cond -> eps (B, T, J, 3)  # each step

(A wrapper's backbone graph also outputs ``estimate`` (B, T, J, 3), its MixSTE's own pose,
the start of sampling with ``diffusion.init='backbone'``. DiffHPE-2D trained with ``use_visibility`` also takes ``visible`` (B, T, J) bool.) A MixSTE
checkpoint gives ``mixste.onnx``: x2d (B, T, J, 2) -> pose (B, T, J, 3). ``export.json``
beside them names every tensor and carries the diffusion schedule and the sampler settings,
so the sampling loop can be written on the engine's side (see docs/EXPORT.md).
"""

from __future__ import annotations

import importlib
import inspect
import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor, nn

from diffhpe.config import RunConfig
from diffhpe.diffusion import DDIMSampler, make_schedule
from diffhpe.inference import is_diffusion
from diffhpe.lifting import pretrained_path
from diffhpe.models.factory import load_model
from diffhpe.safety import atomic_path, check_output_dir, write_text_atomic
from diffhpe.sampling import SamplingOverride
from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS

FORMAT = "diffhpe-onnx/1"
MIN_OPSET = 14  # scaled_dot_product_attention (MixSTE) has no ONNX form before opset 14
INSTALL_HINT = 'pip install "diffhpe[onnx]"'

# The TorchScript-based exporter (dynamo=False) is the one that works robustly here: with
# one bit-exact change (a non-negative movedim in MixSTE's attention) it exports these
# models in about a second, over the whole supported torch range (2.2 has no ``dynamo``
# argument), and needs ``onnx`` but not ``onnxscript``. The torch.export-based one (torch
# 2.13's default) refuses the denoiser's data-dependent check of ``t`` and MixSTE's 5D
# scaled_dot_product_attention, and takes ~9 s for the backbone alone. Every graph is
# checked against PyTorch in ONNX Runtime at two batch sizes, so a batch size that the
# tracer baked in as a constant would be caught.
_TORCHSCRIPT = (
    {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
)


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: ``shape`` uses ``"B"`` for the dynamic batch axis."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str


def require(module: str) -> ModuleType:
    """Import ``module`` ("onnx" or "onnxruntime"), or raise an ImportError that says how
    to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"ONNX export needs {module}, which is not installed: {INSTALL_HINT}"
        ) from e


class _Conditioner(nn.Module):
    """``model.condition`` as a forward, for tracing: (B, T, J, 2) [, (B, T, J)] -> cond,
    or for a wrapper ``condition_and_estimate``: -> (cond, estimate (B, T, J, 3))."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x2d: Tensor, visible: Tensor | None = None) -> Tensor | tuple[Tensor, ...]:
        if hasattr(self.model, "condition_and_estimate"):
            return self.model.condition_and_estimate(x2d, visible)
        return self.model.condition(x2d, visible)


def _export_graph(
    module: nn.Module,
    args: tuple[Tensor, ...],
    path: Path,
    inputs: list[TensorSpec],
    outputs: list[TensorSpec],
    opset: int,
) -> None:
    """Trace ``module(*args)`` to ``path`` with a dynamic batch axis on every tensor."""
    with warnings.catch_warnings():
        # The tracer warns that the Python-side shape checks become constants (T and J are
        # fixed, B is checked by the verification) and that this exporter is deprecated.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=[s.name for s in inputs],
            output_names=[s.name for s in outputs],
            dynamic_axes={s.name: {0: "B"} for s in (*inputs, *outputs)},
            opset_version=opset,
            do_constant_folding=True,
            **_TORCHSCRIPT,
        )


@dataclass
class _Graph:
    """A module to export, its tensors, and a maker of example inputs for a batch size."""

    file: str
    module: nn.Module
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    example: Callable[[int, torch.Generator], tuple[Tensor, ...]]  # batch -> inputs


def _graphs(model: nn.Module, cfg: RunConfig) -> dict[str, _Graph]:
    """The graphs of ``model``: backbone + denoiser for diffusion models, else mixste."""
    length, j = cfg.data.length, NUM_JOINTS

    def x2d(b: int, g: torch.Generator) -> Tensor:
        return torch.randn(b, length, j, 2, generator=g)

    x2d_spec = TensorSpec("x2d", ("B", length, j, 2), "float32")
    if not is_diffusion(model):
        pose = TensorSpec("pose", ("B", length, j, 3), "float32")
        return {
            "mixste": _Graph("mixste.onnx", model, [x2d_spec], [pose], lambda b, g: (x2d(b, g),))
        }
    width = model.denoiser.cfg.channels
    num_steps = model.denoiser.cfg.num_steps
    visibility = bool(getattr(model, "use_visibility", False))
    cond_inputs = [x2d_spec]
    if visibility:
        cond_inputs.append(TensorSpec("visible", ("B", length, j), "bool"))

    def cond_example(b: int, g: torch.Generator) -> tuple[Tensor, ...]:
        if not visibility:
            return (x2d(b, g),)
        return x2d(b, g), torch.rand(b, length, j, generator=g) > 0.3

    cond = TensorSpec("cond", ("B", length, j, width), "float32")
    cond_outputs = [cond]
    if hasattr(model, "condition_and_estimate"):
        cond_outputs.append(TensorSpec("estimate", ("B", length, j, 3), "float32"))

    def step_example(b: int, g: torch.Generator) -> tuple[Tensor, ...]:
        x_t = torch.randn(b, length, j, 3, generator=g)
        t = torch.randint(0, num_steps, (b,), generator=g)
        return x_t, t, torch.randn(b, length, j, width, generator=g)

    return {
        "backbone": _Graph(
            "backbone.onnx", _Conditioner(model), cond_inputs, cond_outputs, cond_example
        ),
        "denoiser": _Graph(
            "denoiser.onnx",
            model,
            [
                TensorSpec("x_t", ("B", length, j, 3), "float32"),
                TensorSpec("t", ("B",), "int64"),
                cond,
            ],
            # named by what it predicts (diffusion.prediction): eps (the paper), x0 or v
            [TensorSpec(cfg.diffusion.prediction, ("B", length, j, 3), "float32")],
            step_example,
        ),
    }


def _verify(graph: _Graph, path: Path, batches: tuple[int, ...]) -> float:
    """Largest |ONNX Runtime - PyTorch| over random inputs, every output, at each batch
    size; raises ValueError beyond 1e-4 + 1e-4 * max|PyTorch|."""
    ort = require("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(1)
    worst = 0.0
    for b in batches:
        args = graph.example(b, g)
        with torch.no_grad():
            out = graph.module(*args)
        refs = [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]
        feed = {s.name: a.numpy() for s, a in zip(graph.inputs, args, strict=True)}
        gots = session.run(None, feed)
        for spec, got, ref in zip(graph.outputs, gots, refs, strict=True):
            if got.shape != ref.shape:
                raise ValueError(
                    f"{path}: ONNX output {spec.name} has shape {got.shape} at batch {b}, "
                    f"PyTorch {ref.shape}"
                )
            diff = float(np.abs(got - ref).max())
            if not diff <= 1e-4 + 1e-4 * float(np.abs(ref).max()):
                raise ValueError(
                    f"{path}: ONNX Runtime differs from PyTorch by {diff:.3g} on {spec.name} "
                    f"at batch {b}"
                )
            worst = max(worst, diff)
    return worst


def _diffusion_info(cfg: RunConfig) -> dict:
    """The schedule and sampler settings a sampling loop needs (index t = paper's t + 1)."""
    d = cfg.diffusion
    schedule = make_schedule(d.schedule, d.num_steps)
    return {
        "schedule": d.schedule,
        "num_steps": d.num_steps,
        # sampler, sample_steps, eta, hypotheses, aggregation, clip_x0, init, start_step
        **SamplingOverride.of(d).as_config(),
        # What the denoiser graph outputs: eps (the paper), x0 or v; a sampling loop turns
        # it into eps (diffhpe.diffusion.eps_from_output) before each DDPM/DDIM step.
        "prediction": d.prediction,
        # Metres per diffusion unit: the loop runs on poses / pose_scale (1: the paper's).
        "pose_scale": d.pose_scale,
        "ddim_timesteps": list(
            DDIMSampler(schedule, d.sample_steps, start_step=d.start_step).timesteps
        ),
        "betas": schedule.betas.tolist(),
        "alphas_cumprod": schedule.alphas_cumprod.tolist(),
        "step_index": "t in 0..num_steps-1 is the paper's step t+1; x_0 has alpha-bar 1",
    }


def export_model(
    model: nn.Module,
    cfg: RunConfig,
    out_dir: str | Path,
    batch: int = 1,
    opset: int = 17,
    verify: bool = True,
    source: str = "",
) -> dict[str, Path]:
    """Write the graphs of ``model`` (on the CPU) and ``export.json`` to ``out_dir``; returns
    their paths by name ("backbone", "denoiser" or "mixste", and "spec"). ``batch`` is the example batch
    size traced (B stays dynamic). With ``verify``, each graph is run in ONNX Runtime at
    batch sizes ``batch`` and ``batch + 2`` and compared with PyTorch."""
    if batch < 1:
        raise ValueError(f"export: batch must be >= 1, got {batch}")
    if opset < MIN_OPSET:
        raise ValueError(f"export: opset must be >= {MIN_OPSET} (attention), got {opset}")
    require("onnx")  # the exporter writes the model through it
    if verify:
        require("onnxruntime")
    out = check_output_dir(out_dir, "out_dir (--onnx)")  # before tracing anything
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    graphs = _graphs(model, cfg)
    paths: dict[str, Path] = {}
    checked: dict[str, float] = {}
    g = torch.Generator().manual_seed(0)
    for name, graph in graphs.items():
        path = out / graph.file
        # eval() on the module exported: torch.onnx.export restores the mode it finds, and
        # a wrapper left in training mode would switch the denoiser's dropout back on.
        graph.module.eval()
        with torch.no_grad(), atomic_path(path) as tmp:  # no half-written graph on failure
            _export_graph(
                graph.module, graph.example(batch, g), tmp, graph.inputs, graph.outputs, opset
            )
        paths[name] = path
        if verify:
            checked[name] = _verify(graph, path, (batch, batch + 2))
    spec = {
        "format": FORMAT,
        "source": source,
        "kind": cfg.model.kind,
        "opset": opset,
        "graphs": {
            name: {
                "file": graph.file,
                "inputs": [asdict(s) for s in graph.inputs],
                "outputs": [asdict(s) for s in graph.outputs],
            }
            for name, graph in graphs.items()
        },
        "joint_names": list(JOINT_NAMES),
        "x2d": "pixels u mapped to u / width * 2 - [1, height / width] "
        "(diffhpe.cameras.normalize_screen); missing joints set to 0",
        "output": "camera frame, metres; subtract joint 0 (Pelvis) for the root-relative pose",
        "verified_max_abs_diff": checked if verify else None,
    }
    if is_diffusion(model):
        spec["diffusion"] = _diffusion_info(cfg)
    paths["spec"] = out / "export.json"
    write_text_atomic(paths["spec"], json.dumps(spec, indent=2))
    return paths


def export_onnx(
    checkpoint: str | Path,
    out_dir: str | Path,
    batch: int = 1,
    opset: int = 17,
    verify: bool = True,
) -> dict[str, Path]:
    """Export a checkpoint (``"default"``: the shipped model) to ONNX in ``out_dir``; see
    :func:`export_model`."""
    if str(checkpoint) == "default":
        checkpoint = pretrained_path()
    model, cfg = load_model(checkpoint)
    return export_model(model, cfg, out_dir, batch, opset, verify, source=Path(checkpoint).name)
