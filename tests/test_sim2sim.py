"""sim2sim: the deploy bundle's robot-side runner (deploy/runner.py, reading only deploy.yaml + ONNX) against the
Isaac Lab env on the same states, term by term over 12 steps (history layout included), actions to 1e-5, and the
two simulators' dynamics under the same actions."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

#: per term, max |runner - env| on the scaled observation: the env stores float32 (values of order 1-10)
OBS_TOL = 2e-6
#: max |runner action - skrl policy action| (the export's parity tolerance)
ACTION_TOL = 1e-5


def _write_env_state_to_mujoco(u, art, robot, model, data, index_q, index_dof) -> None:
    """The env's current root and joint state into MjData (positions relative to the env origin)."""
    import mujoco

    from wildrobot_amp_ext.motion.quat import to_matrix

    d = art.data
    ids = [art.joint_names.index(n) for n in robot.joint_names]
    quat = np.roll(d.root_link_quat_w.torch[0].cpu().numpy().astype(np.float64), 1)  # xyzw -> wxyz
    data.qpos[:3] = d.root_link_pos_w.torch[0].cpu().numpy() - u.scene.env_origins[0].cpu().numpy()
    data.qpos[3:7] = quat
    data.qpos[index_q] = d.joint_pos.torch[0, ids].cpu().numpy()
    data.qvel[:3] = d.root_link_lin_vel_w.torch[0].cpu().numpy()
    data.qvel[3:6] = to_matrix(quat).T @ d.root_link_ang_vel_w.torch[0].cpu().numpy()
    data.qvel[index_dof] = d.joint_vel.torch[0, ids].cpu().numpy()
    mujoco.mj_forward(model, data)


@pytest.mark.slow
@pytest.mark.isaaclab
@pytest.mark.skipif(importlib.util.find_spec("isaaclab") is None, reason="needs Isaac Lab")
@pytest.mark.parametrize("task", ["WildRobot-AMP-Flat-Play-v0", "G1-23dof-AMP-Flat-Play-v0"])
def test_bundle_runner_equals_the_env_term_by_term_and_reproduces_the_actions(task, tmp_path):
    import mujoco
    import torch
    from test_deploy import random_policy  # tests/ is on sys.path (pytest's prepend import mode)

    from wildrobot_amp_ext.deploy.bundle import build_deploy, load_bundle
    from wildrobot_amp_ext.deploy.export import export_policy, reference_actions
    from wildrobot_amp_ext.deploy.runner import DeployedPolicy, MujocoRobot, ObservationHistory
    from wildrobot_amp_ext.isaaclab.launch import env_session, load_env_cfg
    from wildrobot_amp_ext.robots import load_robot
    from wildrobot_amp_ext.robots.mjcf import build_mjspec, joint_dof_adr, joint_qpos_adr

    overrides = [
        "env.events.reference_state_init=null",
        "env.seed=0",
        "env.commands.base_velocity.heading_command=false",
        "env.commands.base_velocity.rel_standing_envs=0.0",
    ]
    env_cfg = load_env_cfg(task, num_envs=1, device="cpu", overrides=overrides)
    assert env_cfg.observations.policy.enable_corruption is False  # the play variant: noise-free
    robot = load_robot(env_cfg.robot_name)
    J = robot.num_joints
    # commands and actions that differ from step to step (the command term holds what is written)
    commands = [np.array([0.35, -0.1, 0.4])] * 6 + [np.array([0.1, 0.12, -0.6])] * 6
    with env_session(env_cfg, task=task, launcher_args={"headless": True}) as env:
        u = env.unwrapped
        art = u.scene["robot"]
        om = u.observation_manager
        names, dims = om.active_terms["policy"], [int(np.prod(d)) for d in om.group_obs_term_dim["policy"]]
        obs_dim = int(om.group_obs_dim["policy"][0])
        policy, scaler = random_policy(obs_dim, J, gain=3.0)
        export_policy(policy, scaler, tmp_path, metadata={"deploy": build_deploy(robot, env_cfg.to_dict(), obs_dim, J)})
        bundle = load_bundle(tmp_path)  # what the robot-side program has: the bundle, no project config
        runner = DeployedPolicy(bundle)
        model = build_mjspec(robot, with_floor=True).compile()
        model.opt.timestep = bundle["sim_dt"]
        data, free = mujoco.MjData(model), mujoco.MjData(model)
        mj, mj_free = MujocoRobot(model, data, bundle), MujocoRobot(model, free, bundle)
        q_adr, dof_adr = joint_qpos_adr(model, robot), joint_dof_adr(model, robot)
        term = u.command_manager.get_term("base_velocity")

        obs, _ = env.reset()
        _write_env_state_to_mujoco(u, art, robot, model, free, q_adr, dof_adr)  # the free-running copy starts here
        obs_err, act_err, control_err = dict.fromkeys(names, 0.0), 0.0, 0.0
        # control: the same frames laid out frame-major (whole frames oldest first) are not what the env feeds
        control = ObservationHistory({**bundle["observations"], "history_layout": "frame_major"})
        for k in range(len(commands)):
            # the command the env's observation k was computed with (after the reset: the env's own draw)
            command = u.command_manager.get_command("base_velocity")[0].cpu().numpy().astype(np.float64)
            assert k == 0 or np.allclose(command, commands[k], atol=1e-6)
            _write_env_state_to_mujoco(u, art, robot, model, data, q_adr, dof_adr)
            control_obs = control(runner.observation_terms(mj.readings(), command))
            action = runner.act(mj.readings(), command)
            env_obs = obs["policy"][0].cpu().numpy().astype(np.float64)
            mine = runner.last_obs.astype(np.float64)
            for name, a, b in zip(names, np.split(mine, np.cumsum(dims)[:-1]), np.split(env_obs, np.cumsum(dims)[:-1])):
                obs_err[name] = max(obs_err[name], float(np.abs(a - b).max()))
            ref = reference_actions(policy, scaler, obs["policy"].float().cpu())[0].numpy()
            act_err = max(act_err, float(np.abs(action - ref).max()))
            control_err = max(control_err, float(np.abs(control_obs - env_obs).max()))
            # the free-running MuJoCo copy gets the same targets for the same decimation
            mj_free.command(runner.targets(action))
            mj_free.step(bundle["decimation"])  # the bundle's actuators (the G1: the explicit model)
            if k + 1 < len(commands):
                term.vel_command_b[:] = torch.tensor(commands[k + 1], dtype=torch.float32)
            obs, *_ = env.step(torch.tensor(action[None], dtype=torch.float32))
        mujoco.mj_forward(model, free)
        ids = [art.joint_names.index(n) for n in robot.joint_names]
        dyn_q = float(np.abs(free.qpos[q_adr] - art.data.joint_pos.torch[0, ids].cpu().numpy()).max())
        dyn_z = abs(float(free.qpos[2]) - float(art.data.root_link_pos_w.torch[0, 2] - u.scene.env_origins[0, 2]))
    print(f"[sim2sim] {task}: max |runner - env| per term over 12 steps:", {k: f"{v:.1e}" for k, v in obs_err.items()})
    print(f"[sim2sim] {task}: max |runner action - policy action| {act_err:.1e}; MuJoCo vs Isaac Lab after "
          f"{len(commands)} steps of the same actions: joints {dyn_q:.3f} rad, root height {dyn_z * 1000:.1f} mm; "
          f"frame-major control {control_err:.2f}")  # fmt: skip
    assert [t["name"] for t in bundle["observations"]["terms"]] == list(names)
    assert max(dims) == bundle["observations"]["history_length"] * J  # joint terms hold 5 frames each
    for name in names:
        assert obs_err[name] <= OBS_TOL, f"{name}: {obs_err[name]:.2e}"
    assert act_err <= ACTION_TOL
    assert control_err > 1e-3, control_err  # the layout matters, and the env's is term-major
    # two simulators, one model: close, not equal (contacts, solvers); measured 0.004-0.005 rad, 0.3-0.4 mm
    assert dyn_q < 0.05 and dyn_z < 0.005


def test_the_isaac_lab_column_is_the_eval_at_the_same_command(tmp_path):
    import json

    from wildrobot_amp_ext.evaluation.sim2sim_report import isaac_eval_at_command

    path = tmp_path / "eval" / "metrics.json"
    other, why = isaac_eval_at_command(path, (0.3, 0.0, 0.0))
    assert other == {} and "no Isaac Lab eval" in why and '--eval_commands "0.3,0,0"' in why
    path.parent.mkdir()
    entries = [{"command": [0.25, 0.0, 0.0], "falls": 1}, {"command": [0.3, 0.0, 0.0], "falls": 0}]
    path.write_text(json.dumps({"overall": {"falls": 1}, "per_command": entries}))
    assert isaac_eval_at_command(path, (0.3, 0.0, 0.0)) == (entries[1], "")
    other, why = isaac_eval_at_command(path, (0.5, 0.0, 0.0))  # never the all-commands aggregate
    assert other == {} and "no rollout at command 0.5,0,0" in why
