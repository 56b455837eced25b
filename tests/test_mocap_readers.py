"""ASF/AMC and BVH readers: exact FK on hand-made fixtures, then sanity on real mocap."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from diffhpe.io import asfamc, bvh, mocap
from diffhpe.io.mocap import CMU_UNIT, Y_UP_TO_Z_UP, load_motion, resample
from diffhpe.skeleton import H36M, joint_index

FIX = Path(__file__).resolve().parent / "fixtures" / "mocap"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _lf_copy(src: Path, dst_dir: Path) -> Path:
    """Copy of a CRLF fixture with LF endings."""
    dst = dst_dir / src.name
    data = src.read_bytes()
    assert b"\r\n" in data  # the fixture really has CRLF endings
    dst.write_bytes(data.replace(b"\r\n", b"\n"))
    return dst


def _chain_kinematics(asf: Path = FIX / "chain.asf", amc: Path = FIX / "chain.amc"):
    skel = asfamc.read_asf(asf)
    return asfamc.forward_kinematics(skel, asfamc.read_amc(amc, skel))


# --------------------------------------------------------------------------- ASF / AMC


def test_asf_fields_parsed() -> None:
    skel = asfamc.read_asf(FIX / "chain.asf")
    assert skel.length_unit == 0.45 and skel.angle_deg
    assert skel.metres_per_unit == 0.0254 / 0.45
    assert skel.root_order == ("TX", "TY", "TZ", "RX", "RY", "RZ")
    assert skel.order() == ["upper", "middle", "lower", "tip"]
    mid = skel.bones["middle"]
    assert (mid.id, mid.length, mid.axis, mid.axis_order, mid.dof) == (
        2,
        1.0,
        (0, 0, 90),
        "XYZ",
        ("rx",),
    )
    assert skel.bones["lower"].limits == [(-180.0, 180.0)] * 3
    assert skel.bones["tip"].dof == ()
    np.testing.assert_array_equal(skel.bones["tip"].direction, [0, 0, 1])


# Hand-computed bone ends (file units). Frame 2: upper rz 90 -> L = Rz90; middle's axis
# C = Rz90 turns its rx into a rotation about world y, so L = Rz90 Ry90. Frame 3: lower
# dof "rx ry rz" = (90, 0, 90) applies rx first: M = Rz90 Rx90. Frame 4: root RZ 90.
CHAIN_ENDS = {
    "upper:end": [[1, 4, 3], [-2, 0, 0], [0, 2, 0], [-2, 0, 0]],
    "middle:end": [[2, 4, 3], [-2, 0, -1], [1, 2, 0], [-2, 1, 0]],
    "lower:end": [[2, 7, 3], [-5, 0, -1], [1, 2, 3], [-5, 1, 0]],
    "tip:end": [[2, 7, 4], [-5, 1, -1], [2, 2, 3], [-5, 1, 1]],
}


def test_amc_chain_forward_kinematics_exact() -> None:
    kin = _chain_kinematics()
    assert kin.positions.shape == (4, 9, 3) and kin.fps == 120.0
    np.testing.assert_allclose(
        kin.positions[:, kin.index("root")], [[1, 2, 3], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    )
    for name, expected in CHAIN_ENDS.items():
        np.testing.assert_allclose(
            kin.positions[:, kin.index(name)], expected, atol=1e-12, err_msg=name
        )
    # a bone starts where its parent ends
    np.testing.assert_array_equal(
        kin.positions[:, kin.index("lower:start")], kin.positions[:, kin.index("middle:end")]
    )


def test_amc_dof_order_sets_rotation_order(tmp_path: Path) -> None:
    # Same angles, dof listed "rz ry rx": rz applied first, M = Rx90 Rz90, so the lower
    # bone (0, 3, 0) goes to (-3, 0, 0) instead of (0, 0, 3).
    asf = tmp_path / "chain.asf"
    asf.write_text((FIX / "chain.asf").read_text().replace("dof rx ry rz", "dof rz ry rx"))
    kin = _chain_kinematics(asf, FIX / "chain.amc")
    np.testing.assert_allclose(kin.positions[2, kin.index("lower:end")], [-2, 2, 0], atol=1e-12)


def test_asf_amc_crlf_equals_lf(tmp_path: Path) -> None:
    ref = _chain_kinematics()
    lf = _chain_kinematics(
        _lf_copy(FIX / "chain.asf", tmp_path), _lf_copy(FIX / "chain.amc", tmp_path)
    )
    np.testing.assert_array_equal(ref.positions, lf.positions)


def test_amc_errors_name_file_and_line(tmp_path: Path) -> None:
    skel = asfamc.read_asf(FIX / "chain.asf")
    text = (FIX / "chain.amc").read_text()
    bad = tmp_path / "bad.amc"
    bad.write_text(text.replace("lower 90 0 90", "lower 90 0"))
    with pytest.raises(ValueError, match=r"bad\.amc:18: bone 'lower' has 2 values, expected 3"):
        asfamc.read_amc(bad, skel)
    bad.write_text(text.replace("middle 90", "elbow 90"))
    with pytest.raises(ValueError, match=r"bad\.amc:\d+: bone 'elbow' is not in the skeleton"):
        asfamc.read_amc(bad, skel)
    bad.write_text(text.replace("upper 90\n", ""))
    with pytest.raises(ValueError, match=r"bone 'upper' appears 0 times in frame 2"):
        asfamc.read_amc(bad, skel)
    bad.write_text(text.replace("lower 90 0 90", "lower 90 x 90"))
    with pytest.raises(ValueError, match=r"bad\.amc:\d+: bone 'lower': non-numeric"):
        asfamc.read_amc(bad, skel)
    bad_asf = tmp_path / "bad.asf"
    bad_asf.write_text((FIX / "chain.asf").read_text().replace("direction 0 0 1", "direction 0 1"))
    with pytest.raises(ValueError, match=r"bad\.asf:\d+: bone tip direction needs 3 numbers"):
        asfamc.read_asf(bad_asf)


def test_find_asf_single_none_or_several(tmp_path: Path) -> None:
    # the fixture folder holds two .asf files: ambiguous
    with pytest.raises(ValueError, match=r"2 \.asf files"):
        load_motion(FIX / "toy_body.amc")
    shutil.copy(FIX / "toy_body.amc", tmp_path)
    with pytest.raises(ValueError, match=r"no \.asf"):
        load_motion(tmp_path / "toy_body.amc")
    shutil.copy(FIX / "toy_body.asf", tmp_path)
    assert load_motion(tmp_path / "toy_body.amc").skeleton_kind == "acclaim"


def test_load_motion_acclaim_toy_body_exact() -> None:
    m = load_motion(FIX / "toy_body.amc", asf=FIX / "toy_body.asf", fps_out=None)
    assert (m.fps, m.name, m.skeleton_kind) == (120.0, "toy_body", "acclaim")
    # file (y up, facing +z, left +x): root 10 units up, lowest foot point at y = 1;
    # Human3.6M: x stays, forward is -y, z = file y - floor, units 1/0.45 inch
    rest = [
        [0, 0, 9], [-1, 0, 9], [-1, 0, 5], [-1, 0, 1], [1, 0, 9], [1, 0, 5], [1, 0, 1],
        [0, 0, 10.5], [0, 0, 12], [0, 0, 14], [0, 0, 15],
        [1, 0, 12], [3, 0, 12], [5, 0, 12], [-1, 0, 12], [-3, 0, 12], [-5, 0, 12],
    ]  # fmt: skip
    bent = np.array(rest, dtype=float)
    bent[joint_index("LAnkle")] = [1, 4, 5]  # knee flexion 90 degrees puts the ankle behind
    np.testing.assert_allclose(m.positions, np.stack([rest, bent]) * CMU_UNIT, atol=1e-12)


def test_floor_ignores_one_glitch_frame(tmp_path: Path) -> None:
    # 200 rest frames, one of them sunk 5 units: a plain minimum would lift the clip by
    # 5 units; the 1st percentile of the per-frame lowest foot point does not.
    lines = (FIX / "toy_body.amc").read_text().splitlines()
    header, frame = lines[:3], lines[4:27]  # frame 1 without its number
    assert frame[0] == "root 0 10 0 0 0 0" and lines[27] == "2"
    body = []
    for f in range(1, 201):
        rows = list(frame)
        if f == 100:
            rows[0] = "root 0 5 0 0 0 0"
        body += [str(f)] + rows
    amc = tmp_path / "glitch.amc"
    amc.write_text("\n".join(header + body) + "\n")
    m = load_motion(amc, asf=FIX / "toy_body.asf", fps_out=None)
    ankle_z = m.positions[:, joint_index("LAnkle"), 2] / CMU_UNIT
    np.testing.assert_allclose(np.delete(ankle_z, 99), 1.0, atol=1e-12)
    np.testing.assert_allclose(ankle_z[99], -4.0, atol=1e-12)


# --------------------------------------------------------------------------- BVH

# Hand-computed FK of chain.bvh: frame 2 B "Xrotation Yrotation Zrotation" = (90, 90, 0)
# gives R = Rx90 Ry90; frame 3 root Y 90, C Yposition 0.5 and "Zrotation Xrotation
# Yrotation" = (90, 90, 0) gives R_C = Rz90 Rx90.
BVH_CHAIN = {
    "A": [[1, 2, 3], [0, 0, 0], [0, 0, 0]],
    "B": [[1, 3, 3], [0, 1, 0], [0, 1, 0]],
    "C": [[1, 5, 3], [0, 1, 2], [0, 3.5, 0]],
    "C:end": [[1, 5, 4], [1, 1, 2], [0, 3.5, -1]],
}


def test_bvh_chain_forward_kinematics_exact() -> None:
    data = bvh.read_bvh(FIX / "chain.bvh")
    assert data.motion.shape == (3, 13) and data.fps == 120.0
    assert [j.channels for j in data.joints][1:3] == [
        ("xrotation", "yrotation", "zrotation"),
        ("yposition", "zrotation", "xrotation", "yrotation"),
    ]
    kin = bvh.forward_kinematics(data)
    assert kin.names == ("A", "B", "C", "C:end") and kin.parents == (-1, 0, 1, 2)
    for name, expected in BVH_CHAIN.items():
        np.testing.assert_allclose(
            kin.positions[:, kin.index(name)], expected, atol=1e-12, err_msg=name
        )


def test_bvh_channel_order_changes_result(tmp_path: Path) -> None:
    # B's angles (x=90, y=90) listed Y then X: R = Ry90 Rx90 sends C's offset (0, 2, 0)
    # to (2, 0, 0) instead of (0, 0, 2).
    text = (
        (FIX / "chain.bvh")
        .read_text()
        .replace("3 Xrotation Yrotation Zrotation", "3 Yrotation Xrotation Zrotation")
    )
    path = tmp_path / "swapped.bvh"
    path.write_text(text)
    kin = bvh.forward_kinematics(bvh.read_bvh(path))
    np.testing.assert_allclose(kin.positions[1, kin.index("C")], [2, 1, 0], atol=1e-12)


def test_bvh_crlf_equals_lf(tmp_path: Path) -> None:
    a = bvh.forward_kinematics(bvh.read_bvh(FIX / "chain.bvh"))
    b = bvh.forward_kinematics(bvh.read_bvh(_lf_copy(FIX / "chain.bvh", tmp_path)))
    np.testing.assert_array_equal(a.positions, b.positions)


def test_bvh_errors_name_file_and_line(tmp_path: Path) -> None:
    text = (FIX / "chain.bvh").read_text()
    bad = tmp_path / "bad.bvh"
    bad.write_text(text.replace("0 0 0 0 0 90 0 0 0 0.5 90 90 0", "0 0 0 0 0 90 0 0 0 0.5 90 90"))
    with pytest.raises(ValueError, match=r"bad\.bvh:26: motion row has 12 values, expected 13"):
        bvh.read_bvh(bad)
    bad.write_text(text.replace("Frames: 3", "Frames: 4"))
    with pytest.raises(ValueError, match=r"header says 4 frames, found 3"):
        bvh.read_bvh(bad)
    bad.write_text(
        text.replace("Zrotation Xrotation Yrotation\n", "Zrotation Xrotation Wrotation\n")
    )
    with pytest.raises(ValueError, match=r"bad\.bvh:5: joint A has bad channels"):
        bvh.read_bvh(bad)
    bad.write_text(text.replace("OFFSET 0 2 0", "OFFSET 0 2"))
    with pytest.raises(ValueError, match=r"bad\.bvh:\d+: OFFSET of C needs 3 numbers"):
        bvh.read_bvh(bad)


def test_load_motion_cmu131_toy_body_exact() -> None:
    m = load_motion(FIX / "toy_131.bvh", fps_out=None)
    assert (m.skeleton_kind, m.fps) == ("cmu131", 120.0)
    rest = np.array([
        [0, 0, 16], [-1, 0, 15], [-1, 0, 8], [-1, 0, 1], [1, 0, 15], [1, 0, 8], [1, 0, 1],
        [0, 0, 18], [0, 0, 20], [0, 0, 23], [0, 0, 24.5],
        [3, 0, 21], [3, 0, 17], [3, 0, 14], [-3, 0, 21], [-3, 0, 17], [-3, 0, 14],
    ], dtype=float)  # fmt: skip
    raised = rest.copy()  # LeftShoulder Zrotation 90: the left arm goes out to +x
    raised[joint_index("LElbow")] = [7, 0, 21]
    raised[joint_index("LWrist")] = [10, 0, 21]
    np.testing.assert_allclose(m.positions, np.stack([rest, raised]) * CMU_UNIT, atol=1e-12)


def _write_bvh(
    path: Path, joints: list[tuple[str, str | None, tuple[float, float, float]]], cm: float
) -> Path:
    """A zero-motion, 2-frame, 50 Hz BVH from (name, parent, offset); leaves get an End
    Site 10 cm up when named like a head, else 5 cm down and forward (``cm``: units/cm)."""
    children: dict[str | None, list[str]] = {}
    offsets = {}
    for name, parent, off in joints:
        children.setdefault(parent, []).append(name)
        offsets[name] = off

    def block(name: str, depth: int) -> str:
        pad = "  " * depth
        kw = "ROOT" if depth == 0 else "JOINT"
        ch = (
            "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
            if depth == 0
            else "3 Zrotation Xrotation Yrotation"
        )
        off = " ".join(map(str, offsets[name]))
        s = f"{pad}{kw} {name}\n{pad}{{\n{pad}  OFFSET {off}\n{pad}  CHANNELS {ch}\n"
        for c in children.get(name, []):
            s += block(c, depth + 1)
        if name not in children:
            end = f"0 {10 * cm} 0" if "head" in name.lower() else f"0 {-5 * cm} {5 * cm}"
            s += f"{pad}  End Site\n{pad}  {{\n{pad}    OFFSET {end}\n{pad}  }}\n"
        return s + f"{pad}}}\n"

    n_ch = 6 + 3 * (len(joints) - 1)
    rows = "\n".join(" ".join(["0"] * n_ch) for _ in range(2))
    path.write_text(
        "HIERARCHY\n"
        + block(children[None][0], 0)
        + f"MOTION\nFrames: 2\nFrame Time: 0.02\n{rows}\n"
    )
    return path


def _body(
    names: dict[str, str], cm: float
) -> list[tuple[str, str | None, tuple[float, float, float]]]:
    """A T-pose body in the given naming, 1.62 m tall; ``cm``: file units per cm."""
    s = cm
    spec = [
        ("pelvis", None, (0, 95, 0)),
        ("lhip", "pelvis", (10, -5, 0)), ("lknee", "lhip", (0, -42, 0)),
        ("lankle", "lknee", (0, -40, 0)),
        ("rhip", "pelvis", (-10, -5, 0)), ("rknee", "rhip", (0, -42, 0)),
        ("rankle", "rknee", (0, -40, 0)),
        ("spine", "pelvis", (0, 25, 0)), ("neck", "spine", (0, 25, 0)),
        ("head", "neck", (0, 10, 0)),
        ("lshoulder", "spine", (18, 22, 0)), ("lelbow", "lshoulder", (28, 0, 0)),
        ("lwrist", "lelbow", (25, 0, 0)),
        ("rshoulder", "spine", (-18, 22, 0)), ("relbow", "rshoulder", (-28, 0, 0)),
        ("rwrist", "relbow", (-25, 0, 0)),
    ]  # fmt: skip
    return [(names[n], names.get(p) if p else None, tuple(v * s for v in o)) for n, p, o in spec]


MIXAMO = {
    "pelvis": "Hips", "lhip": "LeftUpLeg", "lknee": "LeftLeg", "lankle": "LeftFoot",
    "rhip": "RightUpLeg", "rknee": "RightLeg", "rankle": "RightFoot", "spine": "Spine1",
    "neck": "Neck", "head": "Head", "lshoulder": "LeftArm", "lelbow": "LeftForeArm",
    "lwrist": "LeftHand", "rshoulder": "RightArm", "relbow": "RightForeArm", "rwrist": "RightHand",
}  # fmt: skip
DAZ = {
    "pelvis": "hip", "lhip": "lThigh", "lknee": "lShin", "lankle": "lFoot", "rhip": "rThigh",
    "rknee": "rShin", "rankle": "rFoot", "spine": "abdomen", "neck": "neck", "head": "head",
    "lshoulder": "lShldr", "lelbow": "lForeArm", "lwrist": "lHand", "rshoulder": "rShldr",
    "relbow": "rForeArm", "rwrist": "rHand",
}  # fmt: skip


def test_bvh_kind_detection_and_units(tmp_path: Path) -> None:
    # generic (Mixamo names) in metres: the unit heuristic must pick 1 m per unit
    m = load_motion(_write_bvh(tmp_path / "mixamo.bvh", _body(MIXAMO, 0.01), 0.01), fps_out=None)
    assert m.skeleton_kind == "generic" and m.fps == 50.0
    np.testing.assert_allclose(m.positions[0, joint_index("LKnee")], [0.10, 0.0, 0.45], atol=1e-12)
    # same body in centimetres gives the same metres
    m_cm = load_motion(
        _write_bvh(tmp_path / "mixamo_cm.bvh", _body(MIXAMO, 1.0), 1.0), fps_out=None
    )
    np.testing.assert_allclose(m_cm.positions, m.positions, atol=1e-12)
    # an explicit unit_scale wins over the heuristic (a 3 m body: warned, not refused)
    with pytest.warns(UserWarning, match=r"about 2\.05 times an adult's size"):
        m_in = load_motion(tmp_path / "mixamo_cm.bvh", fps_out=None, unit_scale=0.02)
    np.testing.assert_allclose(m_in.positions, 2 * m.positions, atol=1e-12)
    # Daz names (with a chest) are recognised, in centimetres
    daz = _body(DAZ, 1.0) + [("chest", "abdomen", (0.0, 10.0, 0.0))]
    assert (
        load_motion(_write_bvh(tmp_path / "daz.bvh", daz, 1.0), fps_out=None).skeleton_kind == "daz"
    )


def test_bvh_unknown_layout_lists_needed_names(tmp_path: Path) -> None:
    odd = {k: f"bone{i}" for i, k in enumerate(MIXAMO)}
    with pytest.raises(
        ValueError, match=r"unknown BVH skeleton: cannot place Pelvis.*daz needs.*lThigh"
    ):
        load_motion(_write_bvh(tmp_path / "odd.bvh", _body(odd, 1.0), 1.0))


def test_load_motion_rejects_other_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"only the skeleton"):
        load_motion(FIX / "chain.asf")
    (tmp_path / "x.c3d").write_text("")
    with pytest.raises(ValueError, match=r"unknown motion format '\.c3d'"):
        load_motion(tmp_path / "x.c3d")
    with pytest.raises(ValueError, match=r"does not exist"):
        load_motion(FIX / "chain.amc", asf=tmp_path / "missing.asf")


# --------------------------------------------------------------------------- helpers


def test_y_up_to_z_up_is_a_proper_rotation() -> None:
    np.testing.assert_allclose(Y_UP_TO_Z_UP @ Y_UP_TO_Z_UP.T, np.eye(3))
    assert np.linalg.det(Y_UP_TO_Z_UP) == 1.0
    # file up (y) becomes z; file forward (+z) becomes -y; file x stays
    np.testing.assert_array_equal(Y_UP_TO_Z_UP @ [0, 1, 0], [0, 0, 1])
    np.testing.assert_array_equal(Y_UP_TO_Z_UP @ [0, 0, 1], [0, -1, 0])


def test_euler_matrix_intrinsic_and_extrinsic() -> None:
    a = np.deg2rad([[90.0, 90.0]])
    rz = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    rx = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    np.testing.assert_allclose(mocap.euler_matrix(a, "zx", intrinsic=True)[0], rz @ rx, atol=1e-15)
    np.testing.assert_allclose(mocap.euler_matrix(a, "zx", intrinsic=False)[0], rx @ rz, atol=1e-15)


def test_readers_share_the_kinematics_without_an_import_cycle() -> None:
    """asfamc and bvh take their FK record from io.kinematics; mocap only imports them."""
    import ast
    import inspect

    from diffhpe.io import kinematics

    for reader in (asfamc, bvh, kinematics):
        tree = ast.parse(inspect.getsource(reader))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "diffhpe.io.mocap" not in imported, reader.__name__
    assert mocap.Kinematics is kinematics.Kinematics is bvh.Kinematics is asfamc.Kinematics
    assert mocap.euler_matrix is kinematics.euler_matrix and mocap.to_h36m is kinematics.to_h36m


def test_joint_expressions() -> None:
    assert mocap.parse_expression("head")[0][:2] == (1.0, "head")
    (w1, n1, o1), (w2, n2, o2) = mocap.parse_expression("0.25*Neck + 0.75*head@(0, 18, -1)")
    assert (w1, n1, o1, w2, n2) == (0.25, "Neck", None, 0.75, "head")
    np.testing.assert_array_equal(o2, [0, 18, -1])
    with pytest.raises(ValueError, match="weights sum to 1.5"):
        mocap.parse_expression("0.5*a + 1*b")
    for jm in mocap.JOINT_MAPS.values():  # every documented map covers the 17 joints
        assert set(jm) == set(H36M.names)


def test_resample_exact_at_coinciding_times() -> None:
    x = np.arange(13, dtype=float)[:, None, None] * np.array([1.0, -2.0, 0.5])  # (13, 1, 3) ramp
    y = resample(x, 120.0, 50.0)
    assert y.shape == (6, 1, 3)  # floor(12 * 50 / 120) + 1
    np.testing.assert_array_equal(y[0], x[0])
    np.testing.assert_array_equal(y[5], x[12])  # t = 0.1 s on both grids
    np.testing.assert_allclose(y[1], 0.6 * x[2] + 0.4 * x[3])  # t = 0.02 s = source frame 2.4
    np.testing.assert_array_equal(resample(x, 50.0, 50.0), x)
    np.testing.assert_array_equal(resample(x, 0.3, 0.1)[1], x[3])  # 1 * 0.3 / 0.1 != 3.0 in floats
    assert resample(x[:1], 120.0, 50.0).shape == (1, 1, 3)
    with pytest.raises(ValueError, match="fps must be positive"):
        resample(x, 0.0, 50.0)


# --------------------------------------------------------------------------- real data

REAL_CLIPS = {
    "cmu": ("cmu_asfamc/02/02_01.amc", 0.9),  # walk
    "hdm05": ("hdm05/bd/HDM_bd_jogLeftCircle4StepsRstart_001_120.amc", 0.9),
    "daz": ("cmu_bvh_daz/12/12_01.bvh", 0.9),  # walk
    "cmu131": ("cmu_bvh_131/131_01.bvh", 0.8),  # stylised walk with hip twists
}
RIGID = [i for i, (c, _) in enumerate(H36M.bones) if c in (1, 2, 3, 4, 5, 6, 12, 13, 15, 16)]


@pytest.fixture(scope="module")
def real() -> dict[str, mocap.Motion]:
    if not DATA.is_dir():
        pytest.skip(f"no open mocap data at {DATA}")
    return {k: load_motion(DATA / rel, fps_out=None) for k, (rel, _) in REAL_CLIPS.items()}


@pytest.mark.data
@pytest.mark.parametrize("source", list(REAL_CLIPS))
def test_real_rigid_bones_and_upright(real: dict[str, mocap.Motion], source: str) -> None:
    p = real[source].positions
    assert p.shape[1:] == (17, 3) and real[source].fps == 120.0
    lengths = np.linalg.norm(p[:, H36M.bones[RIGID, 0]] - p[:, H36M.bones[RIGID, 1]], axis=-1)
    assert np.ptp(lengths, axis=0).max() < 1e-3  # thigh, shin, arms, pelvis-hip: rigid
    assert np.all((np.median(lengths, 0) > 0.05) & (np.median(lengths, 0) < 0.6))
    z = np.median(p[..., 2], axis=0)
    ankle = z[[joint_index("LAnkle"), joint_index("RAnkle")]].max()
    assert z[joint_index("Head")] > z[joint_index("Pelvis")] > ankle
    assert 1.4 < z[joint_index("Head")] < 2.0
    # floor: ankles just above z = 0 (a low percentile: Daz clips start with a few
    # sunk frames, the floor estimate ignores them by design)
    low_ankle = np.percentile(p[:, [joint_index("LAnkle"), joint_index("RAnkle")], 2].min(1), 1)
    assert 0.02 <= low_ankle <= 0.15


def _moving_frames(p: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal walking direction (N, 3) from the pelvis over 0.5 s, and frames > 0.5 m/s."""
    k = int(fps / 4)
    v = np.zeros((len(p), 3))
    v[k:-k] = (p[2 * k :, 0] - p[: -2 * k, 0]) * fps / (2 * k)
    v[:, 2] = 0.0
    speed = np.linalg.norm(v, axis=1)
    return v / np.maximum(speed, 1e-9)[:, None], speed > 0.5


@pytest.mark.data
@pytest.mark.parametrize("source", list(REAL_CLIPS))
def test_real_left_is_left_and_knees_bend_backwards(
    real: dict[str, mocap.Motion], source: str
) -> None:
    p = real[source].positions
    fwd, moving = _moving_frames(p, real[source].fps)
    assert moving.sum() > 100
    left = np.cross([0.0, 0.0, 1.0], fwd)  # person's left = up x forward (right-handed)
    need = REAL_CLIPS[source][1]
    for lj, rj in (("LHip", "RHip"), ("LShoulder", "RShoulder")):
        side = np.sum((p[:, joint_index(lj)] - p[:, joint_index(rj)]) * left, axis=1)
        assert np.mean(side[moving] > 0) >= need, (lj, source)
    for hip, knee, ankle in (("LHip", "LKnee", "LAnkle"), ("RHip", "RKnee", "RAnkle")):
        h, k, a = (p[:, joint_index(n)] for n in (hip, knee, ankle))
        ahead = np.sum((k - (h + a) / 2) * fwd, axis=1)  # a bent knee points forward
        u, w = h - k, a - k
        cos = np.sum(u * w, 1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(w, axis=1))
        bent = moving & (cos > np.cos(np.deg2rad(160.0)))
        assert np.mean(ahead[bent] > 0) >= need - 0.05, (knee, source)


@pytest.mark.data
def test_real_resample_120_to_50(real: dict[str, mocap.Motion]) -> None:
    p120 = real["cmu"].positions
    m50 = load_motion(DATA / REAL_CLIPS["cmu"][0], fps_out=50.0)
    assert m50.fps == 50.0
    assert len(m50.positions) == (len(p120) - 1) * 50 // 120 + 1
    np.testing.assert_array_equal(m50.positions[::5], p120[::12][: len(m50.positions[::5])])


@pytest.mark.data
def test_real_amc_parses() -> None:
    """A long real clip reads whole (its reading time: benchmarks/reading_speed.py)."""
    path = DATA / "cmu_asfamc" / "01" / "01_06.amc"
    if not path.is_file():
        pytest.skip(f"missing {path}")
    m = load_motion(path, fps_out=None)
    assert len(m.positions) > 2000
