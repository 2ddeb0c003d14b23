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


# ----------------------------------------------------------------------------------------------------------------
# the contract stored with an exported policy, and its check
# ----------------------------------------------------------------------------------------------------------------
CONTRACT_VERSION = 1


def contract_from_env_cfg(robot, env_cfg: dict) -> dict | None:
    """The sim2sim contract of a policy trained in an env whose resolved config (params/env.yaml) is ``env_cfg``;
    None when that config lacks a field the contract needs (its action scale is not one number, ...)."""
    action = ((env_cfg.get("actions") or {}).get("joint_pos")) or {}
    scale, sim_dt, decimation = action.get("scale"), (env_cfg.get("sim") or {}).get("dt"), env_cfg.get("decimation")
    if not all(isinstance(v, (int, float)) for v in (scale, sim_dt, decimation)) or not action.get(
        "use_default_offset"
    ):
        return None
    terms = env_cfg.get("terminations") or {}
    height = ((terms.get("base_height") or {}).get("params") or {}).get("minimum_height")
    tilt = ((terms.get("base_orientation") or {}).get("params") or {}).get("limit_angle")
    return {
        "version": CONTRACT_VERSION,
        "robot": robot.name,
        "joint_names": list(robot.joint_names),
        "default_joint_pos": [float(v) for v in robot.default_joint_pos],
        "action_scale": float(scale),
        "action_offset": "default_joint_pos",
        "observation_terms": [[name, robot.num_joints if width == "J" else width] for name, width in POLICY_TERMS],
        "sim_dt": float(sim_dt),
        "decimation": int(decimation),
        "min_root_height": float(height) if isinstance(height, (int, float)) else None,
        "max_tilt_rad": float(tilt) if isinstance(tilt, (int, float)) else None,
    }


def check_contract(contract: dict | None, robot, path: str, action_scale: float | None = None) -> dict:
    """Refuse, in one line, a policy whose contract differs from what this runner feeds it for ``robot``."""
    from wildrobot_amp_ext.errors import InputError

    if not isinstance(contract, dict):
        raise InputError(
            path, "sim2sim_contract", "the export has no sim2sim contract", "re-export it with this version"
        )
    names = list(contract.get("joint_names") or [])
    if names != list(robot.joint_names):
        k = next(
            (i for i, (a, b) in enumerate(zip(names, robot.joint_names)) if a != b), min(len(names), robot.num_joints)
        )
        theirs = names[k] if k < len(names) else "(none)"
        mine = robot.joint_names[k] if k < robot.num_joints else "(none)"
        raise InputError(path, "sim2sim_contract.joint_names", f"joint {k} is '{theirs}', {robot.name}'s is '{mine}'",
                         "export the policy of a run trained on this robot (same joint order)")  # fmt: skip
    want = [[name, robot.num_joints if width == "J" else width] for name, width in POLICY_TERMS]
    if contract.get("observation_terms") != want:
        raise InputError(path, "sim2sim_contract.observation_terms", f"{contract.get('observation_terms')} != {want}",
                         "a policy trained with the package's policy observation group")  # fmt: skip
    scale = contract.get("action_scale")
    if not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
        raise InputError(path, "sim2sim_contract.action_scale", f"must be a positive number, got {scale}", None)
    if action_scale is not None and abs(scale - action_scale) > 1e-9:
        raise InputError(path, "sim2sim_contract.action_scale", f"{scale}, the env's is {action_scale}",
                         "play it with the action scale it was trained with")  # fmt: skip
    default = np.asarray(contract.get("default_joint_pos") or [], dtype=np.float64)
    if default.shape != robot.default_joint_pos.shape or np.abs(default - robot.default_joint_pos).max() > 1e-6:
        raise InputError(path, "sim2sim_contract.default_joint_pos", f"differs from {robot.name}'s default pose",
                         "export the policy of a run trained with this robot's default pose")  # fmt: skip
    return contract


# ----------------------------------------------------------------------------------------------------------------
# the runner
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Sim2SimCfg:
    command: tuple[float, float, float] = (0.3, 0.0, 0.0)
    duration_s: float = 10.0


def run_policy_in_mujoco(policy, robot, contract: dict, cfg: Sim2SimCfg) -> dict[str, np.ndarray]:
    """Roll ``policy`` (a callable: (1, obs) float32 -> (1, J) actions) out in MuJoCo from the default pose; one
    episode, ended by the contract's termination (root too low, too tilted) or ``duration_s``. Returns per-step
    arrays (root quaternion wxyz, world linear / angular velocity, command, terminated)."""
    import mujoco

    from wildrobot_amp_ext.robots.mjcf import actuator_ids, build_mjspec

    model = build_mjspec(robot, with_floor=True).compile()
    model.opt.timestep = contract["sim_dt"]
    data = mujoco.MjData(model)
    index, act = MjIndex.of(model, robot), actuator_ids(model, robot)
    data.qpos[index.qpos] = robot.default_joint_pos
    mujoco.mj_forward(model, data)
    command = np.asarray(cfg.command, dtype=np.float64)
    scale, last = contract["action_scale"], np.zeros(robot.num_joints)
    steps = int(round(cfg.duration_s / (contract["sim_dt"] * contract["decimation"])))
    low, tilt = contract.get("min_root_height"), contract.get("max_tilt_rad")
    out = {k: [] for k in ("root_quat", "root_lin_vel", "root_ang_vel", "command", "terminated")}
    for _ in range(steps):
        obs = policy_observation(policy_terms(model, data, robot, index, command, last))
        last = np.asarray(policy(obs[None]), dtype=np.float64).reshape(-1)
        data.ctrl[act] = robot.default_joint_pos + scale * last
        mujoco.mj_step(model, data, nstep=contract["decimation"])
        terms = policy_terms(model, data, robot, index, command, last)
        fell = (low is not None and data.qpos[2] < low) or (
            tilt is not None and np.arccos(np.clip(-terms["projected_gravity"][2], -1, 1)) > tilt
        )
        out["root_quat"].append(data.qpos[3:7].copy())
        out["root_lin_vel"].append(data.qvel[0:3].copy())
        out["root_ang_vel"].append(rot_to_world(data.qpos[3:7], data.qvel[3:6]))
        out["command"].append(command)
        out["terminated"].append(bool(fell))
        if fell:
            break
    return {k: np.asarray(v) for k, v in out.items()}


def rot_to_world(quat_wxyz: np.ndarray, v_body: np.ndarray) -> np.ndarray:
    from wildrobot_amp_ext.motion.quat import to_matrix

    return to_matrix(np.asarray(quat_wxyz)) @ np.asarray(v_body)


def rollout_metrics(rollout: dict[str, np.ndarray], control_dt: float) -> dict:
    """The Isaac Lab evaluation's fall and velocity-tracking metrics (eval/metrics.py) on a MuJoCo rollout."""
    from wildrobot_amp_ext.eval.metrics import MetricsCfg, as_tensor, episode_stats, velocity_tracking

    col = {k: as_tensor(v).unsqueeze(1) for k, v in rollout.items() if k != "terminated"}  # (T, 1, ...)
    terminated = as_tensor(rollout["terminated"], None).bool().unsqueeze(1)
    truncated = torch_zeros_like(terminated)
    return {
        **episode_stats(terminated, truncated, control_dt),
        **velocity_tracking(
            col["root_quat"],
            col["root_lin_vel"],
            col["root_ang_vel"],
            col["command"],
            terminated,
            truncated,
            control_dt,
            MetricsCfg(),
        ),  # fmt: skip
        "steps": int(len(rollout["terminated"])),
        "seconds": float(len(rollout["terminated"]) * control_dt),
    }


def torch_zeros_like(x):
    import torch

    return torch.zeros_like(x)


def onnx_policy(path: str):
    """The exported ONNX policy as a callable (onnxruntime, CPU)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda obs: session.run(None, {name: np.asarray(obs, dtype=np.float32)})[0]
