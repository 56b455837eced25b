"""ONNX export: every graph matches PyTorch in ONNX Runtime at two batch sizes, and DDIM
written in numpy over the two graphs reproduces ``diffhpe.inference.predict``."""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from diffhpe.cameras import normalize_screen
from diffhpe.checkpoint import prefixed, save_checkpoint
from diffhpe.cli import main
from diffhpe.config import load_config
from diffhpe.export import export_onnx
from diffhpe.inference import predict, with_sampling
from diffhpe.lifting import pretrained_path
from diffhpe.models.factory import build_model, load_model, model_metadata

DOC = Path(__file__).resolve().parents[1] / "docs" / "EXPORT.md"
SAMPLE = Path(str(resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz"))


@pytest.fixture(scope="module")
def ort():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def _perturb(model: nn.Module, seed: int = 1) -> None:
    """Random values for zero-initialised weights (else eps = 0 whatever the graph does)
    and for the BatchNorm statistics (else eval-mode BatchNorm is the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(0.1 * torch.randn(buf.shape, generator=g))
            elif name.endswith("running_var"):
                buf.copy_(0.5 + torch.rand(buf.shape, generator=g))


def tiny_checkpoint(folder: Path, kind: str, overrides: list[str]) -> Path:
    """A tiny (L = 9) trained-looking checkpoint of ``kind``, with dropout on."""
    cfg = load_config("tiny", [f"model.kind={kind}", *overrides])
    torch.manual_seed(0)
    backbone = None
    if kind == "wrapper":
        bcfg = load_config("tiny", ["model.mixste.dropout=0.2"])
        backbone = build_model(bcfg)
        backbone.backbone_run_config = bcfg  # type: ignore[attr-defined]
    model = build_model(cfg, backbone=backbone)
    _perturb(model)
    path = folder / f"{kind}.safetensors"
    save_checkpoint(path, prefixed(model.state_dict(), "model."), model_metadata(cfg, model))
    return path


def _run_torch(model: nn.Module, graph: str, feed: dict[str, np.ndarray]) -> np.ndarray:
    x = {k: torch.from_numpy(v) for k, v in feed.items()}
    with torch.no_grad():
        if graph == "mixste":
            out = model(x["x2d"])
        elif graph == "backbone":
            if hasattr(model, "condition_and_estimate"):  # wrapper: (cond, estimate)
                return [o.numpy() for o in model.condition_and_estimate(x["x2d"], x.get("visible"))]
            out = model.condition(x["x2d"], x.get("visible"))
        else:
            out = model(x["x_t"], x["t"], x["cond"])
    return [out.numpy()]


def _random_feed(spec: dict, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    feed = {}
    for s in spec["inputs"]:
        shape = [batch if d == "B" else d for d in s["shape"]]
        if s["dtype"] == "int64":
            feed[s["name"]] = rng.integers(0, 50, size=shape).astype(np.int64)
        elif s["dtype"] == "bool":
            feed[s["name"]] = rng.random(shape) > 0.3
        else:
            feed[s["name"]] = rng.standard_normal(shape).astype(np.float32)
    return feed


def _check_graphs(ort, model: nn.Module, paths: dict[str, Path], batches=(1, 3)) -> None:
    spec = json.loads(paths["spec"].read_text())
    rng = np.random.default_rng(0)
    for name, gspec in spec["graphs"].items():
        session = ort.InferenceSession(str(paths[name]), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == [s["name"] for s in gspec["inputs"]]
        assert [o.name for o in session.get_outputs()] == [s["name"] for s in gspec["outputs"]]
        for b in batches:
            feed = _random_feed(gspec, b, rng)
            gots, wants = session.run(None, feed), _run_torch(model, name, feed)
            assert len(gots) == len(wants) == len(gspec["outputs"])
            for ospec, got, want in zip(gspec["outputs"], gots, wants, strict=True):
                expected = [b if d == "B" else d for d in ospec["shape"]]
                assert list(got.shape) == expected == list(want.shape)
                assert np.abs(want).max() > 1e-2  # a live output, not zeros
                assert np.abs(got - want).max() <= 1e-4, (name, ospec["name"], b)


@pytest.mark.parametrize(
    "kind, overrides, graphs",
    [
        ("wrapper", ["model.denoiser.dropout=0.3"], {"backbone", "denoiser"}),
        ("diffhpe2d", [], {"backbone", "denoiser"}),
        ("diffhpe2d", ["model.use_visibility=true"], {"backbone", "denoiser"}),
        ("mixste", ["model.mixste.dropout=0.2"], {"mixste"}),
    ],
)
def test_tiny_models_export_and_match_torch(ort, tmp_path, kind, overrides, graphs):
    ckpt = tiny_checkpoint(tmp_path, kind, overrides)
    paths = export_onnx(ckpt, tmp_path / "onnx")
    assert set(paths) == graphs | {"spec"}
    spec = json.loads(paths["spec"].read_text())
    assert spec["kind"] == kind and spec["source"] == ckpt.name
    assert set(spec["verified_max_abs_diff"]) == graphs
    if kind == "mixste":
        assert "diffusion" not in spec
    else:
        d = spec["diffusion"]
        assert (d["schedule"], d["num_steps"], d["sampler"], d["sample_steps"]) == (
            "cosine",
            50,
            "ddim",
            2,
        )
        assert d["ddim_timesteps"] == [49, 0]
        names = [s["name"] for s in spec["graphs"]["backbone"]["inputs"]]
        assert names == ["x2d", "visible"] if "model.use_visibility=true" in overrides else ["x2d"]
    model, _ = load_model(ckpt)
    _check_graphs(ort, model, paths)


def test_cli_exports_a_checkpoint(ort, tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path, "wrapper", [])
    out = tmp_path / "cli"
    assert main(["export", str(ckpt), "--onnx", str(out), "--batch", "2"]) == 0
    printed = capsys.readouterr().out
    for name in ("backbone.onnx", "denoiser.onnx", "export.json"):
        assert (out / name).is_file() and name in printed
    assert json.loads((out / "export.json").read_text())["opset"] == 17


def test_cli_says_how_to_install_onnxruntime(tmp_path, capsys, monkeypatch):
    ckpt = tiny_checkpoint(tmp_path, "diffhpe2d", [])
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    assert main(["export", str(ckpt), "--onnx", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert 'pip install "diffhpe[onnx]"' in err
    assert not (tmp_path / "o" / "backbone.onnx").exists()
    assert main(["export", str(ckpt), "--onnx", str(tmp_path / "o"), "--opset", "11"]) == 2
    assert "opset must be >= 14" in capsys.readouterr().err


# ----------------------------------------------------------------- the shipped model


@pytest.fixture(scope="module")
def shipped(ort, tmp_path_factory):
    """The shipped model exported once: (model, cfg, paths, x2d (4, L, J, 2) real windows)."""
    paths = export_onnx("default", tmp_path_factory.mktemp("shipped"))
    model, cfg = load_model(pretrained_path())
    with np.load(SAMPLE, allow_pickle=False) as f:
        w, h = (int(v) for v in f["image_size"])
        xy = normalize_screen(f["keypoints"].astype(np.float64), w, h).astype(np.float32)
    L = cfg.data.length
    x2d = np.stack([xy[s : s + L] for s in (0, 90, 180, 270)])
    return model, cfg, paths, x2d


def test_shipped_model_exports_and_matches_torch(ort, shipped):
    model, _, paths, x2d = shipped
    assert json.loads(paths["spec"].read_text())["kind"] == "wrapper"
    _check_graphs(ort, model, paths)
    # And on real 2D windows: the conditioning at batch 1 and 3.
    backbone = ort.InferenceSession(str(paths["backbone"]), providers=["CPUExecutionProvider"])
    mask_input = any(i.name == "visible" for i in backbone.get_inputs())
    for b in (1, 3):
        feed = {"x2d": x2d[:b]}
        if mask_input:  # a model with a mask input: every keypoint of the sample is seen
            feed["visible"] = np.ones(x2d[:b].shape[:3], dtype=bool)
        gots = backbone.run(None, feed)
        wants = _run_torch(model, "backbone", feed)
        assert [o.name for o in backbone.get_outputs()] == ["cond", "estimate"]
        for got, want in zip(gots, wants, strict=True):
            assert np.abs(got - want).max() <= 1e-4


@pytest.fixture(scope="module")
def reference(shipped) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x2d (B, L, J, 2), noise (H*B, L, J, 3), predict's pose (B, L, J, 3)) with the
    shipped sampling settings but DDIM eta 0; ``noise`` is predict's first draw."""
    model, cfg, _, x2d = shipped
    diff = with_sampling(cfg.diffusion, sampler="ddim", eta=0.0)
    assert diff.init == "backbone"  # the shipped default: the loop must start as predict does
    x2d = x2d[:2]
    shape = (diff.hypotheses * len(x2d), *x2d.shape[1:3], 3)
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    pred = predict(model, torch.from_numpy(x2d), None, diff, torch.Generator().manual_seed(0))
    return x2d, noise.numpy(), pred.pose.numpy()


def test_docs_sampling_loop_matches_predict(ort, shipped, reference):
    """The numpy DDIM loop of docs/EXPORT.md over the shipped model's two graphs gives
    ``predict``'s pose (clipping x0 and converting its output as ``predict`` does)."""
    _, cfg, paths, _ = shipped
    x2d, noise, want = reference
    assert cfg.diffusion.clip_x0 is not None  # the shipped setting: the loop must clip too
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None, f"{DOC}: no python code block"
    namespace: dict = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)
    got = namespace["lift_windows"](str(paths["spec"].parent), x2d, noise)
    assert np.abs(want).max() > 0.1  # real poses (metres), not a degenerate output
    assert np.abs(got - want).max() <= 1e-3


@pytest.mark.parametrize(
    ("prediction", "scale"), [("eps", 1.0), ("x0", 1.0), ("v", 1.0), ("eps", 0.25), ("x0", 0.25)]
)
def test_docs_sampling_loop_follows_the_prediction_type(ort, tmp_path, prediction, scale):
    """The loop of docs/EXPORT.md reads export.json's ``prediction`` (the denoiser's output
    is named after it) and ``pose_scale``, and gives ``predict``'s pose for every output
    type and scale."""
    warm = ["diffusion.init=backbone", "diffusion.start_step=5", "diffusion.sample_steps=2",
            "diffusion.clip_x0=1.0", "diffusion.hypotheses=2", f"diffusion.pose_scale={scale}"]  # fmt: skip
    ckpt = tiny_checkpoint(tmp_path, "wrapper", [f"diffusion.prediction={prediction}", *warm])
    paths = export_onnx(ckpt, tmp_path / "onnx")
    spec = json.loads(paths["spec"].read_text())
    assert spec["diffusion"]["prediction"] == prediction
    assert spec["diffusion"]["pose_scale"] == scale
    assert [o["name"] for o in spec["graphs"]["denoiser"]["outputs"]] == [prediction]
    model, cfg = load_model(ckpt)
    diff = with_sampling(cfg.diffusion, sampler="ddim", eta=0.0)
    x2d = torch.rand(2, cfg.data.length, 17, 2, generator=torch.Generator().manual_seed(3)) - 0.5
    shape = (diff.hypotheses * 2, cfg.data.length, 17, 3)
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    want = predict(model, x2d, None, diff, torch.Generator().manual_seed(0)).pose.numpy()
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None, f"{DOC}: no python code block"
    namespace: dict = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)
    got = namespace["lift_windows"](str(paths["spec"].parent), x2d.numpy(), noise.numpy())
    assert np.abs(want).max() > 1e-3  # a live output (a random tiny model: millimetres)
    assert np.abs(got - want).max() <= 1e-4
