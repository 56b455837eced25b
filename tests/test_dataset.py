import numpy as np
import pytest

from diffhpe.cameras import load_cameras, normalize_screen
from diffhpe.data.dataset import DataSource, load_sequences
from diffhpe.io.videopose3d import load_2d, load_3d


def test_sequences_are_camera_frame_root_relative(tiny_benchmark):
    src = DataSource("open", tiny_benchmark, "gt")
    seqs = load_sequences(src, "test")
    assert len(seqs) == 2 * 4  # 2 clips x 4 cameras
    s = seqs[1]
    assert s.subject == "TE1" and s.camera == "55011271" and s.action == "walk"
    world = load_3d(tiny_benchmark / "data_3d_open.npz")["TE1"]["TE1_00"]
    cam = load_cameras("S11")["55011271"]
    x_cam = cam.world_to_camera(world.astype(np.float64))
    assert np.allclose(s.pose3d, x_cam - x_cam[:, :1], atol=1e-5)
    # The exact 2D is the projection of the (absolute) camera-frame pose.
    uv = cam.project(x_cam)
    assert np.allclose(s.pose2d, normalize_screen(uv, 1000, 1000), atol=1e-5)


def test_camera_subset_and_stride(tiny_benchmark):
    src = DataSource("open", tiny_benchmark, "det")
    seqs = load_sequences(src, "validation", cameras=("54138969",), stride=2)
    assert {s.camera for s in seqs} == {"54138969"}
    assert len(seqs[0]) == 30  # 60 frames, every other one


def test_errors_name_the_problem(tiny_benchmark, tmp_path):
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_sequences(DataSource("open", tiny_benchmark), "dev")
    with pytest.raises(ValueError, match="benchmark.json"):
        load_sequences(DataSource("open", tmp_path), "train")
    with pytest.raises(ValueError, match="unknown camera"):
        load_sequences(DataSource("open", tiny_benchmark), "test", cameras=("123",))


def test_h36m_layout(tmp_path, tiny_benchmark):
    # Human3.6M files: subjects S1.., 32-joint 3D, each subject's own extrinsics.
    from diffhpe.io.videopose3d import save_2d, save_3d

    world17 = load_3d(tiny_benchmark / "data_3d_open.npz")["TE1"]["TE1_00"]
    world32 = np.zeros((len(world17), 32, 3), np.float32)
    from diffhpe.skeleton import H36M_32_TO_17

    world32[:, list(H36M_32_TO_17)] = world17
    views, _ = load_2d(tiny_benchmark / "data_2d_open_gt.npz")
    cams9 = load_cameras("S9")
    views9 = [cams9[c].project_world(world17.astype(np.float64)) for c in cams9]
    save_3d(
        tmp_path / "data_3d_h36m.npz", {"S9": {"Walking 1": world32}, "S11": {"Walking 1": world32}}
    )
    save_2d(
        tmp_path / "data_2d_h36m_cpn.npz",
        {"S9": {"Walking 1": views9}, "S11": {"Walking 1": views9}},
    )
    seqs = load_sequences(DataSource("h36m", tmp_path, "cpn"), "test")
    assert len(seqs) == 8 and seqs[0].action == "Walking"
    assert np.isfinite(seqs[0].pose2d).all()
