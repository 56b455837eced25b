import os
import pickle
import zipfile

import numpy as np
import pytest

from diffhpe.io.safe_npz import UnsafePickleError, load_npz
from diffhpe.io.videopose3d import load_2d, load_3d, save_2d, save_3d
from diffhpe.skeleton import H36M_32_TO_17


def _their_3d_file(path, tree):
    """What VideoPose3D's prepare_data_h36m.py writes: np.savez_compressed of a dict."""
    np.savez_compressed(path, positions_3d=tree)


def test_our_files_load_with_plain_numpy(tmp_path):
    rng = np.random.default_rng(0)
    p3 = {"CMU01": {"01_01": rng.normal(size=(7, 17, 3))}}
    p2 = {"CMU01": {"01_01": [rng.normal(size=(7, 17, 2)) for _ in range(4)]}}
    save_3d(tmp_path / "data_3d_open.npz", p3)
    save_2d(tmp_path / "data_2d_open_gt.npz", p2)
    # The exact call of the field's repositories.
    d3 = np.load(tmp_path / "data_3d_open.npz", allow_pickle=True)["positions_3d"].item()
    d2 = np.load(tmp_path / "data_2d_open_gt.npz", allow_pickle=True)
    pos2d = d2["positions_2d"].item()
    meta = d2["metadata"].item()
    assert np.allclose(d3["CMU01"]["01_01"], p3["CMU01"]["01_01"], atol=1e-6)
    assert len(pos2d["CMU01"]["01_01"]) == 4
    assert meta["layout_name"] == "h36m" and meta["num_joints"] == 17
    assert meta["keypoints_symmetry"] == [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]
    # ... and with ours.
    ours2d, ours_meta = load_2d(tmp_path / "data_2d_open_gt.npz")
    assert np.allclose(ours2d["CMU01"]["01_01"][3], p2["CMU01"]["01_01"][3], atol=1e-6)
    assert ours_meta == meta


def test_their_32_joint_file_reduces_to_17(tmp_path):
    x = np.arange(5 * 32 * 3, dtype=np.float32).reshape(5, 32, 3)
    _their_3d_file(tmp_path / "data_3d_h36m.npz", {"S1": {"Walking 1": x}})
    out = load_3d(tmp_path / "data_3d_h36m.npz")["S1"]["Walking 1"]
    assert out.shape == (5, 17, 3)
    assert np.array_equal(out, x[:, list(H36M_32_TO_17)])
    assert np.array_equal(out[:, 11], x[:, 17])  # LShoulder is mocap joint 17


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/diffhpe_pwned",))


def test_crafted_pickle_is_refused_without_running(tmp_path):
    marker = "/tmp/diffhpe_pwned"
    if os.path.exists(marker):
        os.unlink(marker)
    path = tmp_path / "data_3d_evil.npz"
    np.savez(path, positions_3d=np.array({"S1": {"a": _Payload()}}, dtype=object))
    with pytest.raises(UnsafePickleError, match=r"data_3d_evil.npz:positions_3d.*system"):
        load_3d(path)
    assert not os.path.exists(marker)


def test_crafted_pickle_with_builtin_eval_is_refused(tmp_path):
    # A hand-written pickle calling builtins.eval, stored as an object .npy in a zip.
    payload = b"cbuiltins\neval\n(S'1+1'\ntR."
    header = {"descr": "|O", "fortran_order": False, "shape": ()}
    path = tmp_path / "evil2.npz"
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open("positions_2d.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, header)
            f.write(payload)
    with pytest.raises(UnsafePickleError, match="builtins.eval"):
        load_npz(path)


def test_structure_errors_name_file_and_field(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(ValueError, match=r"x.npz: missing field 'positions_3d'"):
        load_3d(path)
    np.savez(path, positions_3d=np.array({"S1": {"Walk": np.zeros((4, 17, 2))}}, dtype=object))
    with pytest.raises(ValueError, match=r"positions_3d\['S1'\]\['Walk'\].*expected \(N, J, 3\)"):
        load_3d(path)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz: not a readable .npz"):
        load_npz(tmp_path / "bad.npz")


def test_plain_arrays_load_without_pickle(tmp_path):
    np.savez(tmp_path / "a.npz", keypoints=np.ones((3, 17, 2)))
    out = load_npz(tmp_path / "a.npz")
    assert out["keypoints"].shape == (3, 17, 2)


def test_pickle_protocols(tmp_path):
    # numpy writes object arrays with pickle protocol 3; older files may use 2.
    tree = {"S1": {"a": np.ones((2, 17, 3))}}
    for proto in (2, 3, 4, 5):
        path = tmp_path / f"p{proto}.npz"
        with zipfile.ZipFile(path, "w") as zf:
            with zf.open("positions_3d.npy", "w") as f:
                np.lib.format.write_array_header_1_0(
                    f, {"descr": "|O", "fortran_order": False, "shape": ()}
                )
                pickle.dump(np.array(tree, dtype=object), f, protocol=proto)
        assert load_3d(path)["S1"]["a"].shape == (2, 17, 3)
