"""sim2sim contract: for the same state, every policy observation term computed from MuJoCo's MjData (eval/sim2sim.py)
equals the Isaac Lab env's term, to a stated tolerance per term."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from wildrobot_amp_ext.eval.sim2sim import POLICY_TERMS, MjIndex, policy_terms

#: per term, max |MuJoCo - env|: the env stores float32 (measured 0 - 6e-8 for every term); 1e-6 is float32 rounding
#: of values of order 1-10, far below any definition error (the origin instead of the COM velocity: ~1e-2)
TOLERANCE = dict.fromkeys([name for name, _ in POLICY_TERMS], 1e-6)


@pytest.mark.slow
@pytest.mark.isaaclab
@pytest.mark.skipif(importlib.util.find_spec("isaaclab") is None, reason="needs Isaac Lab")
@pytest.mark.parametrize("task", ["WildRobot-AMP-Flat-Play-v0", "G1-23dof-AMP-Flat-Play-v0"])
def test_every_policy_term_in_mujoco_equals_the_envs(task):
    import mujoco
    import torch

    from wildrobot_amp_ext.isaaclab.launch import env_session, load_env_cfg
    from wildrobot_amp_ext.robots import load_robot
    from wildrobot_amp_ext.robots.mjcf import build_mjspec

    env_cfg = load_env_cfg(task, num_envs=1, device="cpu")
    env_cfg.observations.policy.enable_corruption = False
    robot = load_robot(env_cfg.robot_name)
    rng = np.random.default_rng(0)
    with env_session(env_cfg, task=task, launcher_args={"headless": True}) as env:
        env.reset()
        u = env.unwrapped
        art = u.scene["robot"]
        ids = [art.joint_names.index(n) for n in robot.joint_names]
        # a state far from rest: tilted, turning, moving, every joint off its default and moving
        quat_wxyz = np.array([0.96, 0.1, -0.15, 0.2])
        quat_wxyz /= np.linalg.norm(quat_wxyz)
        pose = torch.tensor([[0.3, -0.2, 0.55, *quat_wxyz[1:], quat_wxyz[0]]], dtype=torch.float32)  # xyzw
        pose[:, :3] += u.scene.env_origins[:, :3]
        art.write_root_link_pose_to_sim_index(root_pose=pose)
        art.write_root_link_velocity_to_sim_index(root_velocity=torch.tensor([[0.4, -0.3, 0.1, 0.5, -0.7, 0.9]]))
        q = robot.default_joint_pos + rng.uniform(-0.2, 0.2, robot.num_joints)
        qd = rng.uniform(-2.0, 2.0, robot.num_joints)
        art.write_joint_state_to_sim_index(
            position=torch.tensor(q[None], dtype=torch.float32),
            velocity=torch.tensor(qd[None], dtype=torch.float32),
            joint_ids=ids,
        )
        command = np.array([0.35, -0.1, 0.4])
        u.command_manager.get_term("base_velocity").vel_command_b[:] = torch.tensor(command, dtype=torch.float32)
        action = rng.uniform(-1, 1, robot.num_joints)
        u.action_manager._action[:] = torch.tensor(action, dtype=torch.float32)
        u.scene.update(dt=0.0)
        obs = u.observation_manager.compute_group("policy")[0].cpu().numpy().astype(np.float64)
        names = u.observation_manager.active_terms["policy"]
        dims = [int(np.prod(d)) for d in u.observation_manager.group_obs_term_dim["policy"]]
        env_terms = dict(zip(names, np.split(obs, np.cumsum(dims)[:-1])))
        d = art.data
        state = {
            "pos": d.root_link_pos_w.torch[0].cpu().numpy() - u.scene.env_origins[0].cpu().numpy(),
            "quat_xyzw": d.root_link_quat_w.torch[0].cpu().numpy(),
            "lin_w": d.root_link_lin_vel_w.torch[0].cpu().numpy(),
            "ang_w": d.root_link_ang_vel_w.torch[0].cpu().numpy(),
            "q": d.joint_pos.torch[0, ids].cpu().numpy(),
            "qd": d.joint_vel.torch[0, ids].cpu().numpy(),
        }
    assert list(names) == [n for n, _ in POLICY_TERMS], names

    model = build_mjspec(robot, with_floor=True).compile()
    data = mujoco.MjData(model)
    index = MjIndex.of(model, robot)
    quat = np.roll(state["quat_xyzw"], 1)
    data.qpos[:3], data.qpos[3:7] = state["pos"], quat
    data.qpos[index.qpos] = state["q"]
    from wildrobot_amp_ext.motion.quat import to_matrix

    data.qvel[:3], data.qvel[3:6] = state["lin_w"], to_matrix(quat).T @ state["ang_w"]
    data.qvel[index.dof] = state["qd"]
    mujoco.mj_forward(model, data)
    mine = policy_terms(model, data, robot, index, command, action)
    errors = {name: float(np.abs(mine[name] - env_terms[name]).max()) for name in names}
    print("[sim2sim] max |MuJoCo - env| per term:", {k: f"{v:.2e}" for k, v in errors.items()})
    for name in names:
        assert errors[name] <= TOLERANCE[name], f"{name}: {errors[name]:.3e} > {TOLERANCE[name]:.0e}"
    # control: the body origin's velocity (MuJoCo's free-joint qvel) is not the env's base_lin_vel where the root's
    # centre of mass is off its origin (the G1 pelvis: 76 mm; WildRobot's: 0)
    if np.linalg.norm(model.body_ipos[index.root_body]) < 1e-3:
        return
    from wildrobot_amp_ext.motion.quat import to_matrix as rot_of

    origin_b = rot_of(quat).T @ np.asarray(data.qvel[:3])
    control = float(np.abs(origin_b - env_terms["base_lin_vel"]).max())
    print(f"[sim2sim] control (origin velocity as base_lin_vel): {control:.2e}")
    assert control > 100 * TOLERANCE["base_lin_vel"]


# ----------------------------------------------------------------------------------------------------------------
# contract and runner (no Isaac Lab)
# ----------------------------------------------------------------------------------------------------------------
ENV_CFG = {
    "actions": {"joint_pos": {"scale": 0.25, "use_default_offset": True}},
    "sim": {"dt": 0.005},
    "decimation": 4,
    "terminations": {
        "base_height": {"params": {"minimum_height": 0.15}},
        "base_orientation": {"params": {"limit_angle": 1.0}},
    },
}


def test_a_policy_with_another_contract_is_refused_in_one_line():
    from wildrobot_amp_ext.errors import InputError
    from wildrobot_amp_ext.eval.sim2sim import check_contract, contract_from_env_cfg
    from wildrobot_amp_ext.robots import load_robot

    robot = load_robot("wildrobot")
    contract = contract_from_env_cfg(robot, ENV_CFG)
    assert check_contract(contract, robot, "policy.json", action_scale=0.25) is contract
    swapped = {
        **contract,
        "joint_names": [contract["joint_names"][1], contract["joint_names"][0], *contract["joint_names"][2:]],
    }
    with pytest.raises(InputError, match=r"joint 0 is") as err:
        check_contract(swapped, robot, "policy.json")
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match=r"action_scale.*0.25, the env's is 0.5"):
        check_contract(contract, robot, "policy.json", action_scale=0.5)
    with pytest.raises(InputError, match="no sim2sim contract"):
        check_contract(None, robot, "policy.json")


def test_an_onnx_policy_runs_in_mujoco_with_the_eval_metrics(tmp_path):
    import torch

    from wildrobot_amp_ext.eval.sim2sim import (
        Sim2SimCfg,
        contract_from_env_cfg,
        onnx_policy,
        rollout_metrics,
        run_policy_in_mujoco,
    )  # fmt: skip
    from wildrobot_amp_ext.robots import load_robot

    robot = load_robot("wildrobot")
    contract = contract_from_env_cfg(robot, ENV_CFG)
    obs_dim = sum(w for _, w in contract["observation_terms"])
    net = torch.nn.Linear(obs_dim, robot.num_joints)
    torch.nn.init.zeros_(net.weight)
    torch.nn.init.zeros_(net.bias)
    torch.onnx.export(net, torch.zeros(1, obs_dim), tmp_path / "p.onnx", input_names=["obs"], dynamo=False)
    rollout = run_policy_in_mujoco(onnx_policy(tmp_path / "p.onnx"), robot, contract, Sim2SimCfg((0.0, 0.0, 0.0), 2.0))
    metrics = rollout_metrics(rollout, contract["sim_dt"] * contract["decimation"])
    print("[sim2sim] zero-action policy in MuJoCo:", metrics)
    assert metrics["steps"] == 100 and metrics["falls"] == 0  # PD on the default pose holds the robot up
    assert metrics["lin_vel_error_mean"] < 0.1


def test_the_isaac_lab_column_is_the_eval_at_the_same_command(tmp_path):
    import json

    from wildrobot_amp_ext.eval.play import isaac_eval_at_command

    path = tmp_path / "eval" / "metrics.json"
    other, why = isaac_eval_at_command(path, (0.3, 0.0, 0.0))
    assert other == {} and "no Isaac Lab eval" in why and '--eval_commands "0.3,0,0"' in why
    path.parent.mkdir()
    entries = [{"command": [0.25, 0.0, 0.0], "falls": 1}, {"command": [0.3, 0.0, 0.0], "falls": 0}]
    path.write_text(json.dumps({"overall": {"falls": 1}, "per_command": entries}))
    assert isaac_eval_at_command(path, (0.3, 0.0, 0.0)) == (entries[1], "")
    other, why = isaac_eval_at_command(path, (0.5, 0.0, 0.0))  # never the all-commands aggregate
    assert other == {} and "no rollout at command 0.5,0,0" in why
