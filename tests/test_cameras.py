import numpy as np
import pytest

from diffhpe.cameras import (
    CAMERA_IDS,
    Camera,
    capture_volume_center,
    image_coordinates,
    load_cameras,
    normalize_screen,
)


def test_image_sizes_and_ids():
    cams = load_cameras("S1")
    assert tuple(cams) == CAMERA_IDS
    assert (cams["54138969"].width, cams["54138969"].height) == (1000, 1002)
    assert (cams["60457274"].width, cams["60457274"].height) == (1000, 1002)
    assert (cams["55011271"].width, cams["55011271"].height) == (1000, 1000)
    assert (cams["58860488"].width, cams["58860488"].height) == (1000, 1000)


def test_known_calibration_values():
    cam = load_cameras("S1")["54138969"]
    assert cam.K[0, 0] == pytest.approx(1145.04940458804)
    assert cam.dist[0] == pytest.approx(-0.207098910824901)
    assert cam.t[2] == pytest.approx(5.474481087434061)  # 5474.48 mm -> metres
    assert np.allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-6)


def test_world_camera_round_trip_and_height():
    cams = load_cameras("S9")
    x = np.random.default_rng(0).normal(size=(10, 17, 3))
    for cam in cams.values():
        assert np.allclose(cam.camera_to_world(cam.world_to_camera(x)), x, atol=1e-12)
        # Cameras stand about 1.5 m above the floor (world z up).
        assert 1.2 < cam.center[2] < 1.8


def test_projection_matches_hand_computation():
    K = np.array([[1000.0, 0, 500], [0, 1000.0, 400], [0, 0, 1]])
    dist = np.array([0.1, 0.01, 0.001, 0.002, 0.0001])
    cam = Camera("x", K, dist, np.eye(3), np.zeros(3), 1000, 1000)
    p = np.array([0.2, -0.1, 2.0])
    x, y = 0.1, -0.05
    r2 = x * x + y * y
    radial = 1 + 0.1 * r2 + 0.01 * r2**2 + 0.0001 * r2**3
    xd = x * radial + 2 * 0.001 * x * y + 0.002 * (r2 + 2 * x * x)
    yd = y * radial + 0.001 * (r2 + 2 * y * y) + 2 * 0.002 * x * y
    assert np.allclose(cam.project(p), [1000 * xd + 500, 1000 * yd + 400], atol=1e-9)
    # Without distortion the optical centre maps to the principal point.
    cam0 = Camera("x", K, np.zeros(5), np.eye(3), np.zeros(3), 1000, 1000)
    assert np.allclose(cam0.project(np.array([0.0, 0.0, 3.0])), [500, 400])
    with pytest.raises(ValueError, match="behind the camera"):
        cam.project(np.array([0.0, 0.0, -1.0]))


def test_screen_normalisation():
    uv = np.array([[0.0, 0.0], [1000.0, 1002.0], [500.0, 501.0]])
    xy = normalize_screen(uv, 1000, 1002)
    assert np.allclose(xy[0], [-1.0, -1.002])
    assert np.allclose(xy[1], [1.0, 1.002])
    assert np.allclose(xy[2], [0.0, 0.0])
    assert np.allclose(image_coordinates(xy, 1000, 1002), uv)


def test_volume_centre_is_seen_by_all_cameras():
    cams = load_cameras("S11")
    c = capture_volume_center(cams)
    person = np.array([[c[0], c[1], 0.1], [c[0], c[1], 1.7]])
    for cam in cams.values():
        uv = cam.project_world(person)
        assert cam.inside_image(uv).all()
        assert 250 < uv[0, 1] - uv[1, 1] < 500  # a 1.6 m person is a few hundred px tall


def test_bad_subject_and_file(tmp_path):
    with pytest.raises(KeyError, match="S42"):
        load_cameras("S42")
    bad = tmp_path / "cams.json"
    bad.write_text('{"intrinsics": {}}')
    with pytest.raises(ValueError, match="extrinsics"):
        load_cameras("S1", bad)
