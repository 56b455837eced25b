import numpy as np
import pytest

from diffhpe.skeleton import H36M, JOINT_NAMES, PARENTS, Skeleton, joint_index, mirror_poses


def test_parents_and_bones():
    # Shoulders hang from the thorax (joint 8), the head chain is thorax-neck-head.
    assert PARENTS[joint_index("LShoulder")] == joint_index("Thorax")
    assert PARENTS[joint_index("RShoulder")] == joint_index("Thorax")
    assert PARENTS[joint_index("Head")] == joint_index("Neck/Nose")
    assert H36M.bones.shape == (16, 2)
    assert set(H36M.bones[:, 0]) == set(range(1, 17))


def test_symmetric_pairs_are_the_six_named_segments():
    names = [
        (JOINT_NAMES[H36M.bones[lb, 1]], JOINT_NAMES[H36M.bones[lb, 0]],
         JOINT_NAMES[H36M.bones[rb, 1]], JOINT_NAMES[H36M.bones[rb, 0]])
        for lb, rb in H36M.symmetric_bone_pairs
    ]  # fmt: skip
    assert names == [
        ("Pelvis", "LHip", "Pelvis", "RHip"),
        ("LHip", "LKnee", "RHip", "RKnee"),
        ("LKnee", "LAnkle", "RKnee", "RAnkle"),
        ("Thorax", "LShoulder", "Thorax", "RShoulder"),
        ("LShoulder", "LElbow", "RShoulder", "RElbow"),
        ("LElbow", "LWrist", "RElbow", "RWrist"),
    ]


def test_mirror_perm_is_involution_swapping_sides():
    p = H36M.mirror_perm
    assert np.array_equal(p[p], np.arange(17))
    assert p[joint_index("LWrist")] == joint_index("RWrist")
    assert p[joint_index("Spine")] == joint_index("Spine")


def test_adjacency_normalised_with_self_loops():
    a = H36M.adjacency()
    assert np.allclose(a, a.T)
    # Pelvis has 3 neighbours + itself: degree 4; RHip has 2 + itself: degree 3.
    assert a[0, 0] == pytest.approx(1 / 4)
    assert a[0, 1] == pytest.approx(1 / np.sqrt(4 * 3))
    assert a[0, 2] == 0
    raw = H36M.adjacency(self_loops=False, normalize=False)
    assert raw.sum() == 32 and np.trace(raw) == 0


def test_mirror_poses():
    x = np.arange(17 * 3, dtype=float).reshape(1, 17, 3)
    m = mirror_poses(x)
    assert m[0, joint_index("LWrist"), 0] == -x[0, joint_index("RWrist"), 0]
    assert m[0, joint_index("LWrist"), 1] == x[0, joint_index("RWrist"), 1]
    assert np.array_equal(mirror_poses(m), x)


def test_invalid_skeleton_rejected():
    with pytest.raises(ValueError, match="parent"):
        Skeleton(parents=(-1, 2, 0), left=(), right=(), names=("a", "b", "c"))
    with pytest.raises(KeyError, match="unknown joint"):
        joint_index("Tail")
