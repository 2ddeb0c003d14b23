"""Motion viewer: kinematic checks on clips built to pass / fail, headless rendering, video files, CLI errors."""

from __future__ import annotations

import pickle
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.checks import CheckCfg, check_clip, joint_ranges
from wildrobot_amp_ext.evaluation.rollout import Rollout
from wildrobot_amp_ext.motion import MotionClip
from wildrobot_amp_ext.motion.synthetic import synthetic_stand, synthetic_walk, write_gmr_pickle
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.robots.mjcf import build_model
from wildrobot_amp_ext.viewing.sources import MotionSet, load_motion_set

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def robot():
    return load_robot("wildrobot")


@pytest.fixture(scope="module")
def walk(robot):
    return synthetic_walk(robot, duration=1.0, fps=30.0, name="walk")


@pytest.fixture(scope="module")
def gl():
    from wildrobot_amp_ext.viewing.gl import configure_gl

    try:
        return configure_gl()
    except RuntimeError as err:
        pytest.skip(f"no headless GL: {err}")


def shifted(clip: MotionClip, dz: float, name: str) -> MotionClip:
    root = clip.root_pos.copy()
    root[:, 2] += dz
    return replace(clip, root_pos=root, name=name)


# ----------------------------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------------------------
def test_clean_walk_has_no_flags(robot, walk):
    checks = check_clip(robot, walk)
    assert not checks.limit_violation.any()
    assert not checks.penetration.any()
    assert not checks.floating.any()
    # the synthetic gait puts its lowest contact point on the floor in every frame
    np.testing.assert_allclose(checks.contact_z.min(axis=1), 0.0, atol=1e-9)


def test_penetration_depth_is_the_sink(robot, walk):
    sink = 0.012
    checks = check_clip(robot, shifted(walk, -sink, "sunk"), CheckCfg(penetration_tol=0.005))
    np.testing.assert_allclose(checks.penetration_depth, sink, atol=1e-9)
    assert checks.penetration.all()
    # below the tolerance: not flagged
    assert not check_clip(robot, shifted(walk, -0.003, "shallow"), CheckCfg(penetration_tol=0.005)).penetration.any()


def test_floating_needs_a_low_root(robot):
    stand = synthetic_stand(robot, duration=1.0, fps=30.0)
    cfg = CheckCfg(float_height=0.02, low_root_ratio=1.25)
    lifted = check_clip(robot, shifted(stand, 0.05, "lifted"), cfg)
    assert lifted.floating.all()
    # a root far above standing height reads as a flight phase, not an artefact
    jump = check_clip(robot, shifted(stand, 0.5 * lifted.standing_root_z, "jump"), cfg)
    assert not jump.floating.any()
    # feet on the floor: never floating
    assert not check_clip(robot, stand, cfg).floating.any()


def test_joint_limit_excess_is_exact(robot, walk):
    model = build_model(robot, with_floor=False)
    lo, hi = joint_ranges(model, robot)
    j = robot.joint_index["left_knee_pitch"]
    q = walk.joint_pos.copy()
    q[10:15, j] = hi[j] + 0.2
    checks = check_clip(robot, replace(walk, joint_pos=q), CheckCfg(joint_limit_tol=1e-3), model)
    np.testing.assert_allclose(checks.limit_excess[10:15, j], 0.2, atol=1e-12)
    assert checks.limit_violation[:, j].sum() == 5
    assert checks.limit_violation.sum() == 5  # no other joint, no other frame
    summary = checks.summary(robot)
    assert summary["joint_limit_frames"] == pytest.approx(5 / walk.num_frames)
    assert summary["joint_limit_max_excess_rad"] == {"left_knee_pitch": pytest.approx(0.2)}


# ----------------------------------------------------------------------------------------------------------------
# sources
# ----------------------------------------------------------------------------------------------------------------
def test_gmr_pickle_and_npz_round_trip(robot, walk, tmp_path):
    pkl = write_gmr_pickle(walk, tmp_path / "walk.pkl")
    clip = load_motion_set(pkl, robot).clips[0]
    np.testing.assert_allclose(clip.root_quat, walk.root_quat)  # xyzw in the file, wxyz back
    np.testing.assert_allclose(clip.joint_pos, walk.joint_pos)

    # a dataset-like npz with two motions, joint columns in reverse order
    n = walk.num_frames
    order = list(reversed(robot.joint_names))
    np.savez(
        tmp_path / "ref.npz",
        root_pos=np.concatenate([walk.root_pos, walk.root_pos]),
        root_quat=np.concatenate([walk.root_quat, walk.root_quat]),
        joint_pos=np.concatenate([walk.joint_pos, walk.joint_pos])[:, ::-1],
        joint_names=np.array(order),
        motion_id=np.repeat(np.array([0, 1]), n),
        clip_names=np.array(["a", "b"]),
        fps=np.float64(30.0),
    )
    clips = load_motion_set(tmp_path / "ref.npz", robot).clips
    assert [c.name for c in clips] == ["a", "b"]
    assert [c.num_frames for c in clips] == [n, n]
    np.testing.assert_allclose(clips[1].joint_pos, walk.joint_pos, atol=1e-12)

    # an npz without joint names (RobotSpec order assumed): split where motion_id changes
    np.savez(
        tmp_path / "plain.npz",
        root_pos=np.concatenate([walk.root_pos, walk.root_pos[:10]]),
        root_quat=np.concatenate([walk.root_quat, walk.root_quat[:10]]),
        joint_pos=np.concatenate([walk.joint_pos, walk.joint_pos[:10]]),
        motion_id=np.repeat(np.array(["x", "y"]), [n, 10]),
        dt=np.float64(1 / 30),
    )
    clips = load_motion_set(tmp_path / "plain.npz", robot).clips
    assert [(c.name, c.num_frames, c.fps) for c in clips] == [
        ("x", n, pytest.approx(30.0)),
        ("y", 10, pytest.approx(30.0)),
    ]


def test_pickle_with_code_is_refused(robot, tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"fps": 30, "root_pos": Evil()}))
    with pytest.raises(InputError):
        load_motion_set(path, robot)
    assert not marker.exists()


def test_rollout_splits_into_episodes(robot, walk, tmp_path):
    t, e = walk.num_frames, 2
    tile = lambda a: np.repeat(a[:, None], e, axis=1)  # noqa: E731
    terminated = np.zeros((t, e), dtype=bool)
    terminated[12, 1] = True  # env 1 falls at step 12: rows 0..11 are episode 0, row 12 starts episode 1
    rollout = Rollout(
        fps=30.0,
        robot=robot.name,
        joint_names=robot.joint_names,
        root_pos=tile(walk.root_pos),
        root_quat=tile(walk.root_quat),
        joint_pos=tile(walk.joint_pos),
        terminated=terminated,
        truncated=np.zeros((t, e), dtype=bool),
    )
    rollout.save(tmp_path / "rollout.npz")
    clips = load_motion_set(tmp_path / "rollout.npz", robot).clips
    assert [c.name for c in clips] == ["env0/ep0", "env1/ep0 (fell)", "env1/ep1"]
    assert [c.num_frames for c in clips] == [t, 12, t - 12]
    np.testing.assert_allclose(clips[2].root_pos, walk.root_pos[12:])


# ----------------------------------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------------------------------
def _viewer(robot, sets, **kw):
    from wildrobot_amp_ext.viewing.viewer import MotionViewer, ViewerCfg

    return MotionViewer(robot, sets, ViewerCfg(width=320, height=240, **kw))


def _red(image: np.ndarray) -> np.ndarray:
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return (r > 180) & (g < 70) & (b < 70)


def test_scene_render_shows_the_robots(gl, robot, walk):
    sets = [MotionSet("a", Path("a"), "x", [walk]), MotionSet("b", Path("b"), "x", [walk])]
    with _viewer(robot, sets, layout="scene", overlay=False) as viewer:
        image = viewer.render(0, 0.5)
        assert image.shape == (240, 320, 3) and image.dtype == np.uint8
        assert image.std() > 10.0
        empty = _render_parked(viewer)
    # robot pixels differ from the background (same camera, robots moved under the floor), but not everywhere
    changed = np.abs(image.astype(int) - empty.astype(int)).sum(axis=-1) > 30
    assert 0.01 < changed.mean() < 0.6
    # ... and they sit around the robots: left and right halves both hold one (lanes offset along y)
    cols = np.flatnonzero(changed.any(axis=0))
    assert cols.min() < 160 < cols.max()


def _render_parked(viewer) -> np.ndarray:
    import mujoco

    data = viewer.datas[0]
    for k, lane in enumerate(viewer.lanes):
        viewer._park_lane(data, lane, k)
    mujoco.mj_forward(viewer.model, data)
    viewer.renderer.update_scene(data, camera=viewer.last_camera)
    return viewer.renderer.render().copy()


def test_tiles_render_each_lane(gl, robot, walk):
    still = replace(walk, joint_pos=np.repeat(walk.joint_pos[:1], walk.num_frames, axis=0), name="still")
    sets = [MotionSet("a", Path("a"), "x", [walk]), MotionSet("b", Path("b"), "x", [still])]
    with _viewer(robot, sets, layout="tiles", overlay=False) as viewer:
        assert viewer.tile_grid == (1, 2)
        image = viewer.render(0, 0.4)
    left, right = image[:, :160].astype(int), image[:, 160:].astype(int)
    assert left.std() > 10.0 and right.std() > 10.0
    # the two lanes show different poses: the tiles differ
    assert (np.abs(left - right).sum(axis=-1) > 30).mean() > 0.005


def test_violations_are_coloured(gl, robot, walk):
    model = build_model(robot, with_floor=False)
    _, hi = joint_ranges(model, robot)
    q = walk.joint_pos.copy()
    j = robot.joint_index["left_knee_pitch"]
    q[:, j] = hi[j] + 0.3
    bad = replace(walk, joint_pos=q, name="bad")
    with _viewer(robot, [MotionSet("clean", Path("c"), "x", [walk])], overlay=False) as clean_viewer:
        clean = clean_viewer.render(0, 0.3)
    with _viewer(robot, [MotionSet("bad", Path("b"), "x", [bad])], overlay=False) as bad_viewer:
        flagged = bad_viewer.render(0, 0.3)
    assert _red(clean).sum() == 0
    assert _red(flagged).sum() > 50


def test_penetration_marker_and_overlay_text(gl, robot, walk):
    sunk = shifted(walk, -0.02, "sunk")
    with _viewer(robot, [MotionSet("sunk", Path("s"), "x", [sunk])]) as viewer:
        lines = viewer._lane_text(0, viewer._round_state(viewer.rounds[0], 0.2)[0], 0.2)
        assert lines[0].startswith("[0] sunk  frame 6/30")
        assert lines[1] == ["PENETRATION 20mm"]
        with_text = viewer.render(0, 0.2)
        viewer.cfg.overlay = False
        without = viewer.render(0, 0.2)
    # the text box darkens the bottom-left corner
    assert with_text[-30:, :100].mean() < without[-30:, :100].mean() - 20


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_write_video(gl, robot, walk, tmp_path, suffix):
    import imageio.v2 as imageio

    out = tmp_path / f"walk{suffix}"
    with _viewer(robot, [MotionSet("w", Path("w"), "x", [walk])], fps=10.0) as viewer:
        stats = viewer.write(out, show_progress=False)
    assert stats.frames == 11  # 1.0 s at 10 fps, both ends
    frames = [frame for frame in imageio.get_reader(out)]  # noqa: C416 (list() preallocates from an infinite length hint)
    assert len(frames) == 11
    assert frames[5].std() > 10.0
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_cli_bad_input_exits_2_without_output(robot, walk, tmp_path):
    pkl = write_gmr_pickle(walk, tmp_path / "walk.pkl")
    out = tmp_path / "walk.avi"
    script = ROOT / "utils" / "motion_viewer.py"
    done = subprocess.run(
        [sys.executable, str(script), str(pkl), "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "use .mp4 or .gif" in done.stderr
    assert not out.exists()
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "missing.pkl"), "--out", str(tmp_path / "x.mp4")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "file not found" in done.stderr
    assert not (tmp_path / "x.mp4").exists()
