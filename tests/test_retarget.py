"""wildrobot-retarget, robot to robot: G1 dev clips onto the G1 itself (identity), onto WildRobot, and the CLI."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from wildrobot_amp_ext.motion.io import load_motion
from wildrobot_amp_ext.retarget import RetargetConfig, Retargeter, read_robot_source
from wildrobot_amp_ext.retarget.cli import REPORT_NAME, main
from wildrobot_amp_ext.retarget.postprocess import PostConfig
from wildrobot_amp_ext.retarget.scale import canonical_rotations
from wildrobot_amp_ext.retarget.solve import SolveConfig
from wildrobot_amp_ext.robots import load_robot

G1_DEV = Path("/work/shared/motions/g1_dev")
if not G1_DEV.is_dir():  # CI: shared/ beside the clone
    G1_DEV = Path(__file__).resolve().parents[1].parent / "shared" / "motions" / "g1_dev"
WALK = G1_DEV / "walk_forward_loop_002__A024.pkl"
pytestmark = pytest.mark.skipif(not WALK.is_file(), reason="G1 dev clips not found")
SOURCE = "unitree_g1_29dof"


@pytest.fixture(scope="module")
def walk():
    return read_robot_source(WALK, SOURCE).slice(0, 150)  # 3 s


def test_identity_g1_to_g1_recovers_joints(walk):
    """Same robot, no foot lock, no ground pass: the IK alone must give the source's joints back."""
    cfg = RetargetConfig(lock_feet=False, post=PostConfig(smooth_hz=0.0, ground=False))
    result = Retargeter(load_robot(SOURCE), cfg).run(walk)
    err = result.solution.joint_pos - walk.meta["joint_pos"]
    assert np.sqrt((err**2).mean()) < 0.02
    assert result.report["scales"] == pytest.approx(dict.fromkeys(result.report["scales"], 1.0))
    assert result.report["metrics"]["keypoint_error_m"] < 0.005


@pytest.mark.slow  # two retargeting runs on the G1
@pytest.mark.parametrize("yaw_deg", [180.0, -135.0])
def test_any_start_heading(walk, yaw_deg):
    """A clip that starts facing backwards (GMR's IK broke there): the IK starts from the source's heading."""
    turn = Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix()
    turned = replace(walk, pos=walk.pos @ turn.T + [3.0, -2.0, 0.0], rot=turn @ walk.rot)
    cfg = RetargetConfig(lock_feet=False, post=PostConfig(smooth_hz=0.0, ground=False))
    result = Retargeter(load_robot(SOURCE), cfg).run(turned)
    err = result.solution.joint_pos - walk.meta["joint_pos"]
    assert np.sqrt((err**2).mean()) < 0.02
    fwd = canonical_rotations(walk)[0, 0, :, 0]
    expected = (np.degrees(np.arctan2(fwd[1], fwd[0])) + yaw_deg + 180.0) % 360.0 - 180.0
    assert result.report["start_heading_removed_deg"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.slow  # two retargeting runs on the G1
def test_legs_crossed_by_the_source_are_kept_apart(walk):
    """Knee and ankle targets pushed 30 cm through the other leg: without the avoidance limit the legs interpenetrate
    and the gate fails the clip; with it (the default) they go less than half as deep."""
    left = canonical_rotations(walk)[:, 0, :, 1] * [1.0, 1.0, 0.0]
    pos = walk.pos.copy()
    for k in ("left_knee", "left_ankle"):
        pos[:, walk.index(k)] -= 0.3 * left
    crossed = replace(walk.slice(0, 100), pos=pos[:100])
    robot = load_robot(SOURCE)
    off = Retargeter(robot, RetargetConfig(solve=SolveConfig(collision=False))).run(crossed).report
    on = Retargeter(robot).run(crossed).report
    assert off["metrics"]["self_penetration_m"] > 0.03 and any("self_penetration" in f for f in off["failed"])
    assert on["metrics"]["self_penetration_m"] < 0.5 * off["metrics"]["self_penetration_m"]


@pytest.mark.slow  # two retargeting runs on the G1
def test_foot_lock_default_acts(walk):
    """G1 onto the G1 with the default settings: the stance feet drift half as much as without the foot locks (the
    dev clips' feet slide). On WildRobot the drift is its feet's yaw, which no lock can remove."""
    robot = load_robot(SOURCE)
    locked = Retargeter(robot).run(walk).report["metrics"]["stance_drift_m_s"]
    unlocked = Retargeter(robot, RetargetConfig(lock_feet=False)).run(walk).report["metrics"]["stance_drift_m_s"]
    assert locked < 0.7 * unlocked


def test_g1_to_wildrobot_scaled_planted_within_limits(walk):
    robot = load_robot("wildrobot")
    result = Retargeter(robot).run(walk)
    r = result.report
    assert r["verdict"] == "pass", r["failed"]
    assert 0.3 < r["scales"]["legs"] < 0.45 and 0.3 < r["root_scale"] < 0.45  # 24 cm legs vs the G1's 62 cm
    m = r["metrics"]
    assert m["joint_limit_violations"] == 0 and m["penetration_m"] < 1e-6
    assert m["stance_drift_m_s"] < 0.05 and m["keypoint_error"] < 0.1
    # the smoothing default acts: it lowers the joint acceleration
    assert r["smoothing"]["joint_accel_rms_after"] < 0.8 * r["smoothing"]["joint_accel_rms_before"]
    # what WildRobot cannot carry is measured (no hip yaw / ankle roll: its feet cannot follow the source's yaw)
    assert r["carry"]["stance_foot_yaw_error_deg"] > 0.5 and r["carry"]["turning"] != "kept"


def test_cli_writes_gmr_pickles_the_converter_reads(tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "--robot",
                "wildrobot",
                "--input",
                str(WALK),
                "--source-robot",
                SOURCE,
                "--output",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["written"] == [WALK.stem] and report["reports"][0]["verdict"] == "pass"
    data = pickle.loads((out / f"{WALK.stem}.pkl").read_bytes())
    assert data["fps"] == 50 and isinstance(data["fps"], int)
    n = data["root_pos"].shape[0]
    assert data["dof_pos"].shape == (n, 9) and data["local_body_pos"].shape == (n, len(data["link_body_list"]), 3)
    robot = load_robot("wildrobot")
    (clip,) = load_motion(out / f"{WALK.stem}.pkl", robot)  # the project's restricted reader, xyzw checked
    assert clip.joint_names == robot.joint_names and clip.num_frames == n
    assert "[retarget] 1/1 clips" in capsys.readouterr().err


def test_bad_input_one_line_nothing_written(tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["--robot", "wildrobot", "--input", str(WALK), "--output", str(out)])
    assert exc.value.code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--source-robot" in err


def _cli_refuses(args: list[str], out: Path, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*args, "--output", str(out), "--workers", "1"])
    assert exc.value.code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "(fix:" in err
    return err


def test_mapping_naming_a_missing_link(tmp_path, capsys):
    """A robot folder whose retarget.yaml names a link its MJCF lacks: refused before any input is read."""
    src = load_robot("wildrobot").yaml_path.parent
    folder = tmp_path / "robot"
    folder.mkdir()
    for name in ("robot.yaml", "wildrobot.xml", "retarget.yaml"):
        (folder / name).write_text((src / name).read_text())
    text = (folder / "retarget.yaml").read_text().replace("{link: left_foot,", "{link: left_toe,")
    (folder / "retarget.yaml").write_text(text)
    err = _cli_refuses(
        ["--robot", str(folder / "robot.yaml"), "--input", str(WALK), "--source-robot", SOURCE], tmp_path / "o", capsys
    )
    assert "retarget.yaml" in err and "keypoints.left_ankle.link" in err and "left_toe" in err


@pytest.mark.parametrize("fps", [float("nan"), 1e7, -50])
def test_source_pickle_bad_fps(tmp_path, capsys, fps):
    data = pickle.loads(WALK.read_bytes())
    data["fps"] = fps
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps(data))
    err = _cli_refuses(["--robot", "wildrobot", "--input", str(bad), "--source-robot", SOURCE], tmp_path / "o", capsys)
    assert "bad.pkl" in err and "fps" in err
