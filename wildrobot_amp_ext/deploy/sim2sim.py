"""sim2sim in MuJoCo: the exported policy run by the robot-side program of ``deploy.runner``, which reads only
the deploy bundle (``deploy.yaml`` + ``policy.onnx``; fields in ``deploy.bundle``), on a MuJoCo model of the robot.

The observation terms, their scales, the history layout and the action map are the bundle's; the MuJoCo model
supplies the physics (the robot's MJCF with a floor) and the runner sets its PD gains and effort limits from the
bundle. ``tests/test_deploy.py`` checks, on the Isaac Lab env, that the runner's observation equals the env's term
by term over 12 steps and that its actions equal the trained policy's to 1e-5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wildrobot_amp_ext.deploy.runner import DeployedPolicy, MujocoRobot, quat_to_matrix
from wildrobot_amp_ext.motion.quat import to_matrix
from wildrobot_amp_ext.robots.mjcf import build_mjspec, joint_qpos_adr


@dataclass
class Sim2SimCfg:
    command: tuple[float, float, float] = (0.3, 0.0, 0.0)
    duration_s: float = 10.0


def mujoco_world(robot, sim_dt: float):
    """(MjModel, MjData) of the robot's MJCF with a floor, standing in its default pose (the robot being driven)."""
    import mujoco

    model = build_mjspec(robot, with_floor=True).compile()
    model.opt.timestep = sim_dt
    data = mujoco.MjData(model)
    data.qpos[joint_qpos_adr(model, robot)] = robot.default_joint_pos
    mujoco.mj_forward(model, data)
    return model, data


def run_bundle_in_mujoco(bundle, model, data, cfg: Sim2SimCfg) -> dict[str, np.ndarray]:
    """Roll the bundle's policy out in MuJoCo from ``data``'s state: one episode, ended by the bundle's
    terminations (root too low, too tilted) or ``duration_s``. Returns per-step arrays (root quaternion wxyz,
    world linear / angular velocity, command, terminated)."""
    import mujoco

    policy, robot = DeployedPolicy(bundle), MujocoRobot(model, data, bundle)
    command = np.asarray(cfg.command, dtype=np.float64)
    decimation = int(bundle["decimation"])
    steps = int(round(cfg.duration_s / bundle["step_dt"]))
    ends = bundle.deploy.get("terminations") or {}
    low, tilt = ends.get("min_root_height"), ends.get("max_tilt_rad")
    out = {k: [] for k in ("root_quat", "root_lin_vel", "root_ang_vel", "command", "terminated")}
    mujoco.mj_forward(model, data)
    for _ in range(steps):
        robot.command(policy.targets(policy.act(robot.readings(), command)))
        robot.step(decimation)
        mujoco.mj_forward(model, data)  # body poses and velocities of the new state (mj_step leaves them stale)
        up = quat_up_z(data.qpos[3:7])
        fell = (low is not None and data.qpos[2] < low) or (tilt is not None and np.arccos(np.clip(up, -1, 1)) > tilt)
        out["root_quat"].append(data.qpos[3:7].copy())
        out["root_lin_vel"].append(data.qvel[0:3].copy())
        out["root_ang_vel"].append(rot_to_world(data.qpos[3:7], data.qvel[3:6]))
        out["command"].append(command)
        out["terminated"].append(bool(fell))
        if fell:
            break
    return {k: np.asarray(v) for k, v in out.items()}


def quat_up_z(quat_wxyz: np.ndarray) -> float:
    """World z of the body's z axis (cos of the tilt)."""
    return float(quat_to_matrix(quat_wxyz)[2, 2])


def rot_to_world(quat_wxyz: np.ndarray, v_body: np.ndarray) -> np.ndarray:
    return to_matrix(np.asarray(quat_wxyz)) @ np.asarray(v_body)


def onnx_policy(path: str):
    """The exported ONNX policy as a callable (onnxruntime, CPU)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda obs: session.run(None, {name: np.asarray(obs, dtype=np.float32)})[0]
