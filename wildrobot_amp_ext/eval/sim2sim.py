"""sim2sim in MuJoCo: the policy's observation terms computed from ``MjData`` by the env's definitions.

The contract between an exported policy and any simulator (or robot) that runs it, in the env's policy group order:

==================  =====  ==================================================================================
term                width  definition (MuJoCo: free-joint ``qpos``/``qvel`` of the root body, wxyz quaternion)
==================  =====  ==================================================================================
base_lin_vel        3      root centre-of-mass linear velocity, in the root body frame (m/s)
base_ang_vel        3      root angular velocity, in the root body frame (rad/s) = ``qvel[3:6]``
projected_gravity   3      world -z in the root body frame
root_height         1      root body origin height above the flat ground (m)
velocity_commands   3      commanded vx, vy (heading frame, m/s), wz (rad/s)
joint_pos           J      joint positions minus the robot's default pose, RobotSpec joint order (rad)
joint_vel           J      joint velocities, RobotSpec joint order (rad/s)
actions             J      the previous policy output (unscaled)
==================  =====  ==================================================================================

Action: joint position target = default pose + action_scale x action, RobotSpec joint order, held for
``decimation`` physics steps of ``sim.dt`` by the robot's PD actuators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the env's policy observation terms and their widths (J: the robot's joint count)
POLICY_TERMS: tuple[tuple[str, int | str], ...] = (
    ("base_lin_vel", 3),
    ("base_ang_vel", 3),
    ("projected_gravity", 3),
    ("root_height", 1),
    ("velocity_commands", 3),
    ("joint_pos", "J"),
    ("joint_vel", "J"),
    ("actions", "J"),
)


@dataclass
class MjIndex:
    """Where the robot's state lives in a MuJoCo model built from its MJCF (robots.mjcf)."""

    root_body: int
    qpos: np.ndarray  # (J,) joint qpos addresses, RobotSpec order
    dof: np.ndarray  # (J,) joint dof addresses, RobotSpec order

    @classmethod
    def of(cls, model, robot) -> MjIndex:
        from wildrobot_amp_ext.robots.mjcf import joint_dof_adr, joint_qpos_adr

        free = int(np.flatnonzero(np.asarray(model.jnt_type) == 0)[0])  # mjJNT_FREE
        return cls(int(model.jnt_bodyid[free]), joint_qpos_adr(model, robot), joint_dof_adr(model, robot))


def policy_terms(
    model, data, robot, index: MjIndex, command: np.ndarray, last_action: np.ndarray
) -> dict[str, np.ndarray]:
    """Every policy observation term from ``data`` (after ``mj_kinematics`` / ``mj_forward``), by the env's
    definitions (module docstring)."""
    from wildrobot_amp_ext.motion.quat import to_matrix

    rot = to_matrix(np.asarray(data.qpos[3:7]))  # body -> world
    ang_b = np.asarray(data.qvel[3:6], dtype=np.float64)  # MuJoCo's free joint: angular velocity in the body frame
    # qvel[0:3] is the body origin's world velocity; the env reports the centre of mass's
    com_offset_w = np.asarray(data.xipos[index.root_body]) - np.asarray(data.xpos[index.root_body])
    lin_w = np.asarray(data.qvel[0:3]) + np.cross(rot @ ang_b, com_offset_w)
    return {
        "base_lin_vel": rot.T @ lin_w,
        "base_ang_vel": ang_b,
        "projected_gravity": rot.T @ np.array([0.0, 0.0, -1.0]),
        "root_height": np.array([data.qpos[2]]),
        "velocity_commands": np.asarray(command, dtype=np.float64),
        "joint_pos": np.asarray(data.qpos[index.qpos]) - robot.default_joint_pos,
        "joint_vel": np.asarray(data.qvel[index.dof], dtype=np.float64),
        "actions": np.asarray(last_action, dtype=np.float64),
    }


def policy_observation(terms: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([terms[name] for name, _ in POLICY_TERMS]).astype(np.float32)
