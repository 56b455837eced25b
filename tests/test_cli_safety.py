"""No silent wrong answers (issue 18): thread policy, --version, output safety, input
sanity, Human3.6M evaluation, sampler flags, warnings, help texts and resource bounds.

Each case asserts the exact outcome: the exit code, the error text (naming the flag),
and that nothing was loaded, lifted or written when the command is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from diffhpe import safety
from diffhpe.checkpoint import save_checkpoint
from diffhpe.cli import DefaultsHelpFormatter, build_parser, flag_names, main
from diffhpe.config import DiffusionConfig, config_to_json, load_config
from diffhpe.evaluation import EvalOptions, evaluate
from diffhpe.lifting import Lifter

SAMPLE = Path(str(resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz"))
REPO = Path(__file__).resolve().parents[1]


class FrameLocal(nn.Module):
    """A deterministic per-frame 'lifter': (x, y) -> (x, y, 0)."""

    def forward(self, x2d: torch.Tensor, visible: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([x2d, torch.zeros_like(x2d[..., :1])], dim=-1)


def person_xy(frames: int = 30, seed: int = 0) -> np.ndarray:
    """(N, 17, 2) pixels of a plausible person inside a 1000 x 1000 image."""
    rng = np.random.default_rng(seed)
    return rng.uniform(300, 700, size=(frames, 17, 2))


def short_sample(tmp_path: Path, frames: int = 30, shift: dict[int, float] | None = None) -> Path:
    """The bundled sample cut to ``frames`` (optionally some frames shifted in x), as a
    diffhpe sample .npz."""
    with np.load(SAMPLE, allow_pickle=False) as f:
        kp = f["keypoints"][:frames].astype(np.float64)
        size = f["image_size"]
    for t, dx in (shift or {}).items():
        kp[t, :, 0] += dx
    path = tmp_path / "short.npz"
    np.savez(path, keypoints=kp.astype(np.float32), image_size=size, fps=np.array(50.0))
    return path


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a model gets loaded: the refusal must come before any work."""

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("a model was loaded before the refusal")

    monkeypatch.setattr(Lifter, "from_checkpoint", classmethod(refuse))
    monkeypatch.setattr(Lifter, "from_pretrained", classmethod(refuse))


def error_line(capsys: pytest.CaptureFixture) -> str:
    """The one line the CLI printed on stderr (no traceback)."""
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("diffhpe: error: "), err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------- 1. threads
@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_import_sets_passive_wait_policy_unless_the_user_chose(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run(
        [sys.executable, "-c", "import diffhpe, os; print(os.environ['OMP_WAIT_POLICY'])"],
        env=env, capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    assert out.stdout.strip() == expected


def test_cli_module_imports_diffhpe_before_torch():
    """The entry points import the package (which sets the policy) before anything else."""
    modules = sorted((REPO / "src" / "diffhpe" / "cli").glob("*.py"))
    assert len(modules) >= 6, modules  # one per command group, plus common and __init__
    for module in modules:
        head = module.read_text().split("def ", 1)[0]
        assert "import torch" not in head and "numpy" not in head, module
    code = (
        "import sys, diffhpe.cli; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout  # the parser loads fast
    assert "OMP_WAIT_POLICY" in (REPO / "src" / "diffhpe" / "__init__.py").read_text()


# --------------------------------------------------------------------- 2. version
def test_version_flag(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"diffhpe {metadata.version('diffhpe')}\n"


# ---------------------------------------------------------------- 3. output safety
def _output_cases(tmp: Path) -> list[tuple[list[str], str]]:
    (tmp / "afile").write_text("x")
    (tmp / "adir.npz").mkdir()
    return [
        (["-o", str(tmp / "x.txt")], f"-o/--output {tmp / 'x.txt'}: unsupported extension '.txt'"),
        (["-o", str(tmp / "noext")], "-o/--output"),
        (["--render", str(tmp / "x.jpg")], f"--render {tmp / 'x.jpg'}: unsupported extension '.jpg'"),
        (["--html", str(tmp / "x.txt")], "--html"),
        (["-o", str(tmp / "afile" / "out.npz")], f"{tmp / 'afile'} is a file, not a folder"),
        (["-o", str(tmp / "afile" / "deeper" / "o.json")], f"{tmp / 'afile'} is a file"),
        (["--render", str(tmp / "afile" / "r.gif")], "--render"),
        (["--html", str(tmp / "afile" / "v.html")], "--html"),
        (["-o", str(tmp / "adir.npz")], f"-o/--output {tmp / 'adir.npz'}: is a folder"),
        (["-o", str(tmp / "o.npz"), "--html", str(tmp / "o.npz")], "unsupported extension '.npz'"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(10))
def test_lift_checks_every_output_path_before_any_work(case, tmp_path, capsys, no_model):
    args, expected = _output_cases(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["lift", str(SAMPLE), *args]) == 2
    line = error_line(capsys)
    assert expected in line
    flag = expected.split()[0] if expected.startswith("-") else None
    if flag:
        assert line.startswith(f"diffhpe: error: {flag} ")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_lift_refuses_to_overwrite_its_input(tmp_path, capsys, no_model):
    src = tmp_path / "walk.npz"
    src.write_bytes(SAMPLE.read_bytes())
    (tmp_path / "sub").mkdir()
    for out in (src, tmp_path / "sub" / ".." / "walk.npz"):
        assert main(["lift", str(src), "-o", str(out)]) == 2
        assert f"-o/--output {out}: is the input file" in error_line(capsys)
    assert src.read_bytes() == SAMPLE.read_bytes()  # untouched


def test_lift_refuses_an_input_reached_by_a_link(tmp_path, capsys, no_model):
    src = tmp_path / "walk.npz"
    src.write_bytes(SAMPLE.read_bytes())
    (tmp_path / "link.npz").symlink_to(src)
    assert main(["lift", str(src), "-o", str(tmp_path / "link.npz")]) == 2
    assert "is the input file" in error_line(capsys)
    assert src.read_bytes() == SAMPLE.read_bytes()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_lift_refuses_a_read_only_folder(tmp_path, capsys, no_model):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["lift", str(SAMPLE), "-o", str(ro / "o.npz")]) == 2
        assert f"-o/--output {ro / 'o.npz'}: cannot write in {ro}" in error_line(capsys)
    finally:
        ro.chmod(0o755)


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_lift_refuses_an_unwritable_folder_even_as_root(capsys, no_model):
    out = Path("/sys/kernel/diffhpe-out/o.npz")  # sysfs: no new files, not even for root
    assert main(["lift", str(SAMPLE), "-o", str(out)]) == 2
    assert f"-o/--output {out}: cannot write in /sys/kernel" in error_line(capsys)


def test_lift_writes_atomically_and_keeps_the_old_file_on_failure(tmp_path, capsys, monkeypatch):
    import diffhpe.lifting

    src = short_sample(tmp_path)
    out = tmp_path / "res" / "o.npz"
    assert main(["lift", str(src), "-o", str(out), "-H", "1"]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # usual permissions, not mkstemp's
    good = out.read_bytes()
    real = diffhpe.lifting.save_result

    def half_then_fail(path, result, meta):  # noqa: ANN001
        real(path, result, meta)
        Path(path).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(diffhpe.lifting, "save_result", half_then_fail)
    capsys.readouterr()
    assert main(["lift", str(src), "-o", str(out), "-H", "1"]) == 2
    assert "No space left on device" in error_line(capsys)
    assert out.read_bytes() == good  # the finished file of the first run is intact
    assert sorted(p.name for p in out.parent.iterdir()) == ["o.npz"]  # no temp file left


def test_atomic_path_keeps_the_suffix_and_cleans_up(tmp_path):
    target = tmp_path / "a" / "b.json"
    with safety.atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".json" and tmp != target
        tmp.write_text("{}")
        assert not target.exists()
    assert target.read_text() == "{}"
    with pytest.raises(RuntimeError), safety.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "{}" and sorted(p.name for p in target.parent.iterdir()) == [
        "b.json"
    ]


def test_other_commands_check_their_outputs_first(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    cases = [
        (["export", "default", "--onnx", str(tmp_path / "afile")], "--onnx", "is a file, not a folder"),
        (["export", "default", "--onnx", str(tmp_path / "afile" / "o")], "--onnx", "is a file, not a folder"),
        (["data", "build", "--data-root", str(tmp_path), "--out", str(tmp_path / "afile" / "b")],
         "--out", "is a file, not a folder"),
        (["data", "sample", "--bench", str(tmp_path), "--out", str(tmp_path / "s.txt")],
         "--out", "unsupported extension '.txt'"),
        (["evaluate", "default", "--json", str(tmp_path / "r.txt")], "--json", "unsupported extension"),
        (["evaluate", "default", "--json", str(tmp_path / "afile" / "r.json")], "--json", "is a file"),
    ]  # fmt: skip
    for argv, flag, text in cases:
        assert main(argv) == 2, argv
        line = error_line(capsys)
        assert line.startswith(f"diffhpe: error: {flag} ") and text in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_data_sample_names_a_missing_clip(tmp_path, capsys, tiny_benchmark):
    argv = ["data", "sample", "--bench", str(tiny_benchmark), "--subject", "TE1"]
    assert main([*argv, "--clip", "nosuch", "--out", str(tmp_path / "s.npz")]) == 2
    assert "--clip nosuch: TE1 has no such clip; have ['TE1_00', 'TE1_01']" in error_line(capsys)
    assert (
        main([*argv, "--clip", "TE1_00", "--camera", "123", "--out", str(tmp_path / "s.npz")]) == 2
    )
    assert "--camera 123: not a camera id" in error_line(capsys)
    assert (
        main([*argv, "--clip", "TE1_00", "--length", "20", "--out", str(tmp_path / "s.npz")]) == 0
    )
    assert np.load(tmp_path / "s.npz")["keypoints"].shape == (20, 17, 2)


# ---------------------------------------------------------------- 4. input sanity
@pytest.fixture(scope="module")
def frame_lifter() -> Lifter:
    return Lifter(FrameLocal(), load_config("tiny", ["data.length=9"]))


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "image_size is required"),
        ((1000,), "image_size must be two numbers"),
        (("640", "480"), "image_size must be two numbers"),
        ((True, 480), "image_size must be two numbers"),
        (1000, r"image_size must be \(width, height\)"),
        ((float("nan"), 1000), "image_size must be two positive finite numbers"),
        ((float("inf"), 1000), "image_size must be two positive finite numbers"),
        ((-640, 480), "image_size must be two positive finite numbers"),
        ((0, 1000), "image_size must be two positive finite numbers"),
        ((1, 1), "image_size 1x1 is not a plausible image size"),
        ((15, 1000), "image_size 15x1000 is not a plausible image size"),
        ((1e9, 1e9), "image_size 1e\\+09x1e\\+09 is not a plausible image size"),
        ((100001, 1000), "is not a plausible image size"),
    ],
)
def test_lift_refuses_bad_image_sizes(frame_lifter, size, text):
    with pytest.raises(ValueError, match=text):
        frame_lifter.lift(person_xy(), size)


def test_lift_accepts_edge_image_sizes_and_numpy_numbers(frame_lifter):
    xy = person_xy() / 1000 * 16
    assert frame_lifter.lift(xy, (16, 16)).pose3d.shape == (30, 17, 3)
    assert (
        frame_lifter.lift(person_xy(), (np.int64(1000), np.float32(1000.0))).pose3d.shape[0] == 30
    )


def _far(xy: np.ndarray, frames: slice, dx: float) -> np.ndarray:
    xy = xy.copy()
    xy[frames, :, 0] += dx
    return xy


@pytest.mark.parametrize(
    ("xy", "text"),
    [
        (np.full((30, 17, 2), np.nan), "no visible keypoint in any of the 30 frames"),
        (np.zeros((30, 17, 2)), r"all visible keypoints are the same point \(e.g. \(0, 0\) px\)"),
        (np.full((30, 17, 2), 500.0), r"same point \(e.g. \(500, 500\) px\)"),
        (np.where(np.arange(17)[None, :, None] < 16, np.nan, 123.0) * np.ones((30, 17, 2)),
         "same point"),  # one visible joint per frame: a point, not a person
        (person_xy() + 1e6, "in 30 of 30 frames most visible keypoints lie far outside"),
        (person_xy() - 2500, "far outside the 1000x1000 image"),
        (_far(person_xy(), slice(0, 16), 5000), "in 16 of 30 frames most visible keypoints"),
        (np.zeros((0, 17, 2)), "the sequence has no frames"),
        (np.zeros((3, 16, 2)), r"shape \(N, 17, 2\)"),
    ],
)  # fmt: skip
def test_lift_refuses_inputs_with_no_person(frame_lifter, xy, text):
    with pytest.raises(ValueError, match=text):
        frame_lifter.lift(xy, (1000, 1000))


def test_lift_warns_about_a_few_frames_far_outside(frame_lifter):
    xy = _far(person_xy(), slice(3, 6), 5000)  # 3 of 30 frames
    with pytest.warns(UserWarning, match=r"in 3 of 30 frames .* far outside .*frames 3, 4, 5\)"):
        res = frame_lifter.lift(xy, (1000, 1000))
    assert res.pose3d.shape == (30, 17, 3)
    assert safety.check_keypoints(xy[6:], (1000, 1000)).sum() == 0  # the rest is clean


def test_keypoints_within_the_margin_are_fine():
    xy = person_xy() - 700  # x, y in [-400, 0]: outside the image but within 50 %
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        assert not safety.check_keypoints(xy, (1000, 1000)).any()
    partly = person_xy()
    partly[:, :8, 0] += 1e5  # 8 of 17 far out in every frame: still mostly inside
    assert not safety.check_keypoints(partly, (1000, 1000)).any()
    partly[:, 8, 0] += 1e5  # 9 of 17
    with pytest.raises(ValueError, match="in 30 of 30 frames"):
        safety.check_keypoints(partly, (1000, 1000))


def test_cli_input_errors_name_the_flag_and_come_before_the_model(tmp_path, capsys, no_model):
    arr = tmp_path / "kp.npy"
    np.save(arr, person_xy())
    assert main(["lift", str(arr), "--image-size", "1", "1"]) == 2
    assert "--image-size 1x1 is not a plausible image size" in error_line(capsys)
    assert main(["lift", str(arr), "--image-size", "100000000", "1000"]) == 2
    assert "--image-size 100000000x1000 is not a plausible" in error_line(capsys)
    np.save(arr, np.zeros((30, 17, 2)))
    assert main(["lift", str(arr), "--image-size", "1000", "1000"]) == 2
    assert f"{arr}: in every frame all visible keypoints are the same point" in error_line(capsys)
    fixture = REPO / "tests" / "fixtures" / "keypoints" / "coco_results.json"
    assert main(["lift", str(fixture), "--image-size", "640", "480", "-o",
                 str(tmp_path / "o.npz"), "--score-threshold", "2"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "no visible keypoint in any of the 4 frames" in err and "Traceback" not in err
    assert not (tmp_path / "o.npz").exists()


def test_cli_errors_use_flag_names(tmp_path, capsys, no_model):
    (tmp_path / "kp.txt").write_text("1 2 3\n")
    assert main(["lift", str(tmp_path / "kp.txt")]) == 2
    line = error_line(capsys)
    assert "pass --format one of ('coco'," in line and "format=" not in line
    assert flag_names("use format='array'") == "use --format array"
    assert flag_names("ignoring image_size=(640, 480)") == "ignoring --image-size 640 480"
    assert flag_names("pass --image-size W H (image_size=(width, height)) to") == (
        "pass --image-size W H to"
    )


def test_cli_reports_a_deeply_nested_json_in_one_line(tmp_path, capsys, no_model):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["lift", str(deep), "--image-size", "640", "480"]) == 2
    assert "nested too deeply" in error_line(capsys)


# --------------------------------------------------- 5. evaluate on Human3.6M files


def test_evaluate_default_on_human36m_files(h36m_root, tmp_path, capsys):
    out = tmp_path / "eval.json"
    argv = ["evaluate", "default", "--data-kind", "h36m", "--data-root", str(h36m_root),
            "--detector", "gt", "--quiet", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    s = json.loads(out.read_text())
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # written atomically, usual permissions
    assert s["data"]["kind"] == "h36m" and s["data"]["detector"] == "gt"
    assert s["frames"] == 2 * 2 * 4 * 30  # subjects x actions x cameras x frames
    m = s["metrics_mm"]["mpjpe"]
    assert sorted(m["per_action"]) == ["Directions", "Walking"]
    assert 0 < m["frame_weighted"] < 200  # a person, lifted from exact 2D


def test_evaluate_takes_numeric_camera_ids(h36m_root, tmp_path, capsys):
    out = tmp_path / "cam.json"
    assert main(["evaluate", "default", "--data-kind", "h36m", "--data-root", str(h36m_root),
                 "--detector", "gt", "--quiet", "--cameras", "54138969", "--json", str(out),
                 "-H", "1"]) == 0  # fmt: skip
    assert json.loads(out.read_text())["frames"] == 2 * 2 * 30
    opts = EvalOptions(data_kind="h36m", data_root=str(h36m_root), detector="gt",
                       cameras=[54138969, 55011271], hypotheses=1)  # fmt: skip
    assert evaluate("default", opts, progress=False)["frames"] == 2 * 2 * 2 * 30


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (["--detector", "gt"], "holds Human3.6M files (data_3d_h36m.npz), not the open "
         "benchmark; pass --data-kind h36m"),
        (["--data-kind", "h36m"], "no data_2d_h36m_det.npz for detector 'det'; available "
         "--detector: gt"),
        (["--data-kind", "h36m", "--detector", "gt", "--split", "train"],
         "subject 'S1' of split 'train' is missing"),
    ],
)  # fmt: skip
def test_evaluate_names_the_fix_for_human36m_folders(h36m_root, capsys, extra, text):
    assert main(["evaluate", "default", "--data-root", str(h36m_root), "--quiet", *extra]) == 2
    assert text in error_line(capsys)


def test_evaluate_data_kind_needs_a_data_root(capsys):
    assert main(["evaluate", "default", "--data-kind", "h36m", "--detector", "gt"]) == 2
    assert "--data-kind h36m needs --data-root" in error_line(capsys)


def test_evaluate_cuda_without_cuda_is_a_clear_error(h36m_root, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = ["evaluate", "default", "--data-kind", "h36m", "--data-root", str(h36m_root)]
    assert main([*argv, "--device", "cuda"]) == 2
    assert "--device cuda: CUDA is not available here" in error_line(capsys)
    assert main([*argv, "--device", "gpu0"]) == 2
    assert "--device 'gpu0': not a device" in error_line(capsys)
    with pytest.raises(ValueError, match="CUDA is not available"):
        evaluate("default", EvalOptions(device="cuda:0"), progress=False)


def test_config_accepts_numeric_camera_ids_but_not_bools():
    cfg = load_config("tiny", ["data.val_cameras=[54138969, '55011271']"])
    assert cfg.data.val_cameras == ["54138969", "55011271"]
    assert load_config("tiny", ["data.detector=7"]).data.detector == "7"
    for bad in ("data.detector=true", "data.detector=1.5", "data.val_cameras=[false]"):
        with pytest.raises(ValueError, match="expected a string"):
            load_config("tiny", [bad])


# ------------------------------------------------------------------ 6. sampler flags
@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--init", "noise"], "--init noise alone keeps the shipped model's sampler (DDIM with "
         "2 steps, tuned for its backbone start), which is not the paper's setting; add "
         "--sampler ddpm for the paper's (DDPM over all 50 steps), or --sampler ddim --steps K"),
        (["--sampler", "ddpm", "--steps", "3"], "--steps applies to ddim only"),
        (["--init", "noise", "--start-step", "3", "--sampler", "ddpm"],
         "--start-step applies to --init backbone only"),
        (["--fps", "0", "--render", "x.gif"], "--fps must be a number > 0, got 0"),
        (["--fps", "-5", "--html", "x.html"], "--fps must be a number > 0, got -5"),
        (["--fps", "30"], "--fps applies to --render and --html only"),
        (["--steps", "0"], "--steps must be >= 1, got 0"),
        (["-H", "0"], "-H/--hypotheses must be in 1..1000"),
        (["-H", "1001"], "-H/--hypotheses must be in 1..1000 (diffhpe.safety.MAX_HYPOTHESES), "
         "got 1001"),
        (["-H", "100000"], "got 100000"),
    ],
)  # fmt: skip
def test_lift_refuses_flags_that_would_be_ignored_or_mislead(argv, text, tmp_path, capsys,
                                                             no_model):  # fmt: skip
    assert main(["lift", str(SAMPLE), "-o", str(tmp_path / "o.npz"), *argv]) == 2
    assert text in error_line(capsys)
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--init", "noise"], "--init noise alone keeps the shipped model's sampler"),
        (["--sampler", "ddpm", "--steps", "3"], "--steps applies to ddim only"),
        (["--sampler", "ddpm", "--eta", "0.5"], "--eta applies to ddim only"),
        (["--batch-size", "0"], "--batch-size must be >= 1"),
        (["--window-stride", "0"], "--window-stride must be >= 1"),
        (["-H", "5000"], "-H/--hypotheses must be in 1..1000"),
    ],
)
def test_evaluate_refuses_flags_that_would_be_ignored_or_mislead(argv, text, capsys):
    assert main(["evaluate", "default", "--data-root", "/nonexistent", *argv]) == 2
    assert text in error_line(capsys)


def test_ddpm_sampler_flags_are_checked_against_the_checkpoint(tmp_path, capsys, no_model):
    """A checkpoint that samples with DDPM: --steps and --eta alone would be ignored."""
    cfg = load_config("tiny", ["model.kind=diffhpe2d", "diffusion.sampler=ddpm"])
    ckpt = tmp_path / "ddpm.safetensors"
    save_checkpoint(ckpt, {"model.x": torch.zeros(1)}, {"config": config_to_json(cfg)})
    argv = ["lift", str(SAMPLE), "--checkpoint", str(ckpt), "-o", str(tmp_path / "o.npz")]
    assert main([*argv, "--steps", "4"]) == 2
    assert f"--steps applies to ddim only, and {ckpt} samples with DDPM" in error_line(capsys)
    assert main([*argv, "--start-step", "4"]) == 2
    assert "--start-step applies to --init backbone only" in error_line(capsys)


def test_sampling_flags_on_a_mixste_are_refused(tmp_path, capsys, no_model):
    cfg = load_config("tiny", ["model.kind=mixste"])
    ckpt = tmp_path / "mixste.safetensors"
    save_checkpoint(ckpt, {"model.x": torch.zeros(1)}, {"config": config_to_json(cfg)})
    assert main(["lift", str(SAMPLE), "--checkpoint", str(ckpt), "-H", "3", "--sampler",
                 "ddim", "-o", str(tmp_path / "o.npz")]) == 2  # fmt: skip
    assert "-H/--hypotheses, --sampler: " in error_line(capsys)
    assert main(["evaluate", str(ckpt), "--oracle"]) == 2
    assert f"--oracle: {ckpt} is a MixSTE (one deterministic pose" in error_line(capsys)
    assert main(["evaluate", str(ckpt), "--eta", "1"]) == 2
    assert f"--eta: {ckpt} is a MixSTE (one deterministic pose, no sampling)" in error_line(capsys)


def test_init_noise_with_ddpm_runs_the_papers_sampler(tmp_path, capsys):
    out = tmp_path / "ddpm.npz"
    argv = ["lift", str(short_sample(tmp_path)), "-o", str(out), "-H", "1"]
    assert main([*argv, "--init", "noise", "--sampler", "ddpm"]) == 0
    meta = json.loads(str(np.load(out, allow_pickle=False)["meta"]))
    assert meta["sampler"] == {"sampler": "ddpm", "steps": 50, "hypotheses": 1, "init": "noise",
                               "start_step": None, "aggregation": "mean"}  # fmt: skip


# ---------------------------------------------------------- 7. warnings and help
def test_warnings_print_as_one_clean_line(tmp_path, capsys):
    src = short_sample(tmp_path, shift={3: 5000.0, 4: 5000.0})  # 2 of 30 frames far off
    assert main(["lift", str(src), "-o", str(tmp_path / "o.npz"), "-H", "1"]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [
        f"warning: {src}: in 2 of 30 frames most visible keypoints lie far outside the "
        "1000x1002 image (beyond 50% of its size; frames 3, 4); their 3D is unreliable",
        # The same 5000 px leap is an identity jump: masked, and said on one line too.
        "warning: lift: identity jumps (keypoints leap onto someone else, or left/right swaps) "
        "in 3 of 30 frames (frames 3, 4, 5); joints Pelvis 2, RHip 2, RKnee 2; the whole "
        "skeleton jumps in 2; those keypoints are treated as missing and the frames flagged "
        "identity_jump",
    ], err
    assert "UserWarning" not in err and ".py:" not in err


@pytest.mark.parametrize("command", [["lift"], ["evaluate"], ["data", "sample"]])
def test_every_flag_has_help_with_its_default(command):
    parser = build_parser()
    for name in command:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    fmt = DefaultsHelpFormatter("diffhpe")
    checked = 0
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{action.dest} has no help"
        if action.option_strings:
            text = fmt._get_help_string(action)
            assert "default" in text, f"{action.option_strings}: {text}"
            checked += 1
    assert checked >= 6
    parser.format_help()  # every %(default)s expands


# -------------------------------------------------------------- 8. resource bounds
def test_hypotheses_ceiling_in_the_python_api():
    from diffhpe.inference import with_sampling

    lifter = Lifter.from_pretrained()
    lifter.diffusion = with_sampling(lifter.diffusion, hypotheses=5000)
    with pytest.raises(ValueError, match="hypotheses must be in 1..1000"):
        lifter.lift(person_xy(), (1000, 1000))
    with pytest.raises(ValueError, match=r"hypotheses \(-H\) must be in 1..1000"):
        evaluate("default", EvalOptions(hypotheses=5000), progress=False)


def test_memory_estimate_is_refused_before_allocation(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(safety, "memory_bytes", lambda device="cpu": 2**29)  # a 0.5 GiB machine
    need = safety.sampling_memory_bytes(500, 1, 27, 32)
    assert need == 500 * 27 * 17 * 32 * 4 * safety.ACTIVATION_FACTOR
    src = short_sample(tmp_path)  # 30 frames: 2 windows of 27
    assert main(["lift", str(src), "-o", str(tmp_path / "o.npz"), "-H", "1000"]) == 2
    line = error_line(capsys)
    assert (
        "1000 hypotheses x 2 windows of 27 frames need an estimated 0.7 GiB, more than 75% "
        "of the 0.5 GiB of memory here"
        in line
        and "use fewer hypotheses (-H)" in line
    )
    assert not (tmp_path / "o.npz").exists()
    assert main(["lift", str(src), "-o", str(tmp_path / "o.npz"), "-H", "100"]) == 0
    with pytest.raises(ValueError, match="or a smaller --batch-size"):
        evaluate("default", EvalOptions(hypotheses=50), progress=False)


def test_sampling_memory_unknown_machine_is_not_bounded(monkeypatch):
    monkeypatch.setattr(safety, "memory_bytes", lambda device="cpu": None)
    assert safety.check_sampling_memory(1000, 10_000, 27, 64) > 0


def test_output_dir_checks(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(safety.OutputPathError, match="--out .*: is a file, not a folder"):
        safety.check_output_dir(tmp_path / "f", "--out")
    with pytest.raises(safety.OutputPathError, match="is an input folder"):
        safety.check_output_dir(tmp_path, "--out", inputs=[tmp_path])
    assert (
        safety.check_output_dir(tmp_path / "new" / "deeper", "--out") == tmp_path / "new" / "deeper"
    )
    assert not (tmp_path / "new").exists()  # checked, not created
    with pytest.raises(safety.OutputPathError, match="--html .* also given to -o"):
        safety.check_distinct_outputs({"-o": tmp_path / "a.json", "--html": tmp_path / "a.json"})


def test_diffusion_defaults_are_the_ones_the_refusal_names():
    """The refusal text quotes the checkpoint's own settings, not constants."""
    d = DiffusionConfig(init="backbone", start_step=5, sample_steps=3, num_steps=40)
    ns = argparse.Namespace(hypotheses=None, sampler=None, steps=None, init="noise",
                            start_step=None, eta=None, oracle=False)  # fmt: skip
    from diffhpe.cli import check_sampling_flags

    cfg = load_config("tiny", ["model.kind=wrapper"])
    cfg.diffusion = d
    with pytest.raises(ValueError, match=r"DDIM with 3 steps.*DDPM over all 40 steps"):
        check_sampling_flags(ns, cfg, "x")
    cfg.diffusion = DiffusionConfig(init="noise")
    check_sampling_flags(ns, cfg, "x")  # already from noise: --init noise changes nothing


# ---------------------------------------------------------------- the last unclear cases
def test_a_tiny_person_is_refused_naming_the_unit_mistake():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0.3, 0.7, (20, 17, 2))  # normalised units given as pixels
    with pytest.raises(ValueError, match=r"the person spans only 0\.\d+ px .*normalised units"):
        safety.check_keypoints(xy, (1920, 1080))
    safety.check_keypoints(xy * 400 + 500, (1920, 1080))  # a 160 px person is fine


def test_a_malformed_config_inside_a_checkpoint_names_the_file(tmp_path):
    from diffhpe.models.factory import load_model

    path = tmp_path / "broken.safetensors"
    save_checkpoint(path, {"model.w": torch.ones(1)}, {"config": "{not json"})
    with pytest.raises(
        ValueError, match=r"broken\.safetensors:config: the config is not valid JSON"
    ):
        load_model(path)
    save_checkpoint(path, {"model.w": torch.ones(1)}, {"config": "[1, 2]"})
    with pytest.raises(ValueError, match="the config must be a JSON object, got list"):
        load_model(path)


@pytest.mark.parametrize("override", ["train.lr=nan", "train.lr=0", "train.min_lr=-1",
                                      "train.grad_clip=.inf"])  # fmt: skip
def test_non_finite_or_negative_training_numbers_are_refused(override):
    key = override.split("=")[0]
    with pytest.raises(ValueError, match=rf"{key} must be a finite number"):
        load_config("tiny", [override])


def test_a_broken_manifest_is_one_line_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "paper.yaml"
    bad.write_text("table2: [unclosed\n")
    rc = main(["experiment", "paper", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and f"experiment manifest {bad}: invalid YAML" in err
    assert "Traceback" not in err


def test_presets_show_whole_first_sentences(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) >= 9
    for line in out:
        assert line.rstrip().endswith((".", ")")), line  # never cut mid-sentence
    assert any("(e.g. runs/mixste-paper/best.safetensors)." in line for line in out)
