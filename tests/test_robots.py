"""RobotSpec: loading, joint order, symmetry, built model, and one-line errors for malformed descriptions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mujoco
import numpy as np
import pytest
import yaml

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots import list_robots, load_robot
from wildrobot_amp_ext.robots.mjcf import actuator_ids, build_model, contact_site_ids, joint_dof_adr, joint_qpos_adr
from wildrobot_amp_ext.robots.spec import ROBOTS_DIR

# the 23-DoF G1 joint list, in its order
G1_23DOF_JOINTS = [
    "left_hip_pitch_joint", "left_hip_roll_joint", "left_hip_yaw_joint", "left_knee_joint",
    "left_ankle_pitch_joint", "left_ankle_roll_joint", "right_hip_pitch_joint", "right_hip_roll_joint",
    "right_hip_yaw_joint", "right_knee_joint", "right_ankle_pitch_joint", "right_ankle_roll_joint",
    "waist_yaw_joint", "left_shoulder_pitch_joint", "left_shoulder_roll_joint", "left_shoulder_yaw_joint",
    "left_elbow_joint", "left_wrist_roll_joint", "right_shoulder_pitch_joint", "right_shoulder_roll_joint",
    "right_shoulder_yaw_joint", "right_elbow_joint", "right_wrist_roll_joint",
]  # fmt: skip


def test_registry_lists_all_robots():
    assert {"wildrobot", "unitree_g1_23dof", "unitree_g1_29dof"} <= set(list_robots())


def test_g1_23dof_joint_order_matches_seed_001():
    robot = load_robot("unitree_g1_23dof")
    assert list(robot.joint_names) == G1_23DOF_JOINTS
    assert set(robot.removed_joints) == {
        "waist_roll_joint", "waist_pitch_joint", "left_wrist_pitch_joint", "left_wrist_yaw_joint",
        "right_wrist_pitch_joint", "right_wrist_yaw_joint",
    }  # fmt: skip


def test_documented_one_liner_prints_the_23_names():
    code = "from wildrobot_amp_ext.robots import load_robot; print(load_robot('unitree_g1_23dof').joint_names)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert eval(out) == tuple(G1_23DOF_JOINTS)


@pytest.mark.parametrize("name", ["wildrobot", "unitree_g1_23dof", "unitree_g1_29dof"])
def test_built_model_has_one_actuator_per_joint_in_spec_order(name):
    robot = load_robot(name)
    model = build_model(robot)
    assert model.nu == robot.num_joints
    ids = actuator_ids(model, robot)
    np.testing.assert_array_equal(ids, np.arange(robot.num_joints))
    for i, joint in enumerate(robot.joint_names):
        jid = model.actuator_trnid[ids[i], 0]
        assert model.joint(jid).name == joint
        assert model.actuator_gainprm[ids[i], 0] == pytest.approx(robot.kp[i])
        assert model.dof_armature[model.jnt_dofadr[jid]] == pytest.approx(robot.armature[i])
        assert model.actuator_forcerange[ids[i]] == pytest.approx([-robot.effort_limit[i], robot.effort_limit[i]])
    assert len(contact_site_ids(model, robot)) == 4


def test_g1_mass_and_symmetry():
    robot = load_robot("unitree_g1_29dof")
    assert robot.total_mass == pytest.approx(33.34, abs=0.1)
    idx = robot.joint_index
    assert robot.mirror_index[idx["left_hip_roll_joint"]] == idx["right_hip_roll_joint"]
    assert robot.mirror_sign[idx["left_hip_roll_joint"]] == -1
    assert robot.mirror_sign[idx["left_knee_joint"]] == 1
    assert robot.mirror_index[idx["waist_yaw_joint"]] == idx["waist_yaw_joint"]
    assert robot.mirror_sign[idx["waist_yaw_joint"]] == -1
    q = np.random.default_rng(0).normal(size=(7, robot.num_joints))
    np.testing.assert_allclose(robot.mirror_joint_values(robot.mirror_joint_values(q)), q)  # an involution


def test_wildrobot_stands_under_pd_at_default_pose():
    """The small biped must be able to stand on its PD actuators: the miner and training rely on it."""
    robot = load_robot("wildrobot")
    assert robot.total_mass == pytest.approx(3.4, abs=0.01)
    model = build_model(robot)
    data = mujoco.MjData(model)
    data.qpos[joint_qpos_adr(model, robot)] = robot.default_joint_pos
    data.ctrl[actuator_ids(model, robot)] = robot.default_joint_pos
    for _ in range(1500):  # 3 s at 500 Hz
        mujoco.mj_step(model, data)
    tilt = 2 * np.arccos(np.clip(abs(data.qpos[3]), 0, 1))
    assert tilt < np.deg2rad(5)
    assert 0.2 < data.qpos[2] < 0.32
    site_z = data.site_xpos[contact_site_ids(model, robot), 2]
    assert np.all(np.abs(site_z) < 0.005)  # all four contact points on the floor
    assert np.allclose(data.qvel[joint_dof_adr(model, robot)], 0, atol=1e-2)


# --- malformed descriptions: one line naming file and field, exit code 2 -------------------------------------


def _write_variant(tmp_path: Path, mutate) -> Path:
    src = ROBOTS_DIR / "wildrobot"
    raw = yaml.safe_load((src / "robot.yaml").read_text())
    raw["mjcf"] = str(src / "wildrobot.xml")
    mutate(raw)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _missing_joint(raw):
    raw["joints"][2] = "left_knee"


def _unknown_foot_body(raw):
    raw["feet"]["left"]["body"] = "left_shoe"


def _symmetry_twice(raw):
    raw["symmetry"]["pairs"]["waist_yaw"] = "left_hip_pitch"


def _uncovered_actuator(raw):
    raw["actuators"] = raw["actuators"][:1]


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (_missing_joint, "joints[2]", "left_knee"),
        (_unknown_foot_body, "feet.left.body", "left_shoe"),
        (_symmetry_twice, "symmetry.pairs.waist_yaw", "named twice"),
        (_uncovered_actuator, "actuators", "no actuator group covers"),
    ],
)
def test_malformed_yaml_one_line_exit_2(tmp_path, mutate, field, words):
    path = _write_variant(tmp_path, mutate)
    with pytest.raises(InputError) as err:
        load_robot(path)
    assert field in str(err.value) and words in str(err.value)
    proc = subprocess.run([sys.executable, "-m", "wildrobot_amp_ext.robots", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and field in lines[0] and "fix:" in lines[0]


def test_malformed_mjcf_one_line(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<mujoco><worldbody><body name='a'><joint name='j' type='hinge'/></body></worldbody>")
    path = _write_variant(tmp_path, lambda raw: raw.update(mjcf=str(bad)))
    with pytest.raises(InputError) as err:
        load_robot(path)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
