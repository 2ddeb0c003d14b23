"""The explicit actuator model (robots/actuator_model.py): the torque function's curve, friction and delay, the
robot YAML block and its refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.robots.actuator_model import DelayLine, MotorParams, motor_torque
from wildrobot_amp_ext.robots.spec import ROBOTS_DIR

N7520_14 = MotorParams(y1=71.0, y2=83.3, x1=22.63, x2=35.52, fs=1.6, fd=0.16, va=0.01)
NO_FRICTION = N7520_14._replace(fs=0.0, fd=0.0)


def _torque(q_target, q, qd, kp=1000.0, kd=0.0, p=NO_FRICTION):
    return float(motor_torque(np.float64(q_target), np.float64(q), np.float64(qd), kp, kd, p))


def test_torque_speed_curve_points():
    # a large error saturates: driving (torque and speed the same sign) at Y1, braking at Y2
    assert _torque(1.0, 0.0, 1.0) == pytest.approx(71.0)
    assert _torque(-1.0, 0.0, 1.0) == pytest.approx(-83.3)
    # past the knee X1 the limit falls linearly to zero at the no-load speed X2
    mid = 0.5 * (22.63 + 35.52)
    assert _torque(1.0, 0.0, mid) == pytest.approx(0.5 * 71.0)
    assert _torque(-1.0, 0.0, -mid) == pytest.approx(-0.5 * 71.0)
    assert _torque(1.0, 0.0, 40.0) == 0.0
    # inside the curve the PD passes unchanged
    assert _torque(0.01, 0.0, 0.5, kp=100.0, kd=2.0) == pytest.approx(100.0 * 0.01 - 2.0 * 0.5)


def test_friction_opposes_motion():
    qd = np.array([-2.0, -0.005, 0.0, 0.005, 2.0])
    tau = motor_torque(np.zeros(5), np.zeros(5), qd, 0.0, 0.0, N7520_14)
    expected = -(1.6 * np.tanh(qd / 0.01) + 0.16 * qd)
    np.testing.assert_allclose(tau, expected)
    assert tau[0] > 1.6 and tau[-1] < -1.6 and tau[2] == 0.0


def test_numpy_and_torch_give_the_same_torque():
    robot = load_robot("unitree_g1_29dof")
    rng = np.random.default_rng(0)
    n = (64, robot.num_joints)
    q_target, q = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    qd = rng.uniform(-45, 45, n)  # beyond every motor's knee and no-load speed
    am = robot.actuator_model
    ref = motor_torque(q_target, q, qd, robot.kp, robot.kd, am.params)
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    got = motor_torque(t(q_target), t(q), t(qd), t(robot.kp), t(robot.kd), am.torch_params())
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=1e-4)
    assert (np.abs(ref) > 0).all()


def test_delay_line_delays_by_lag_steps():
    lag = np.array([0, 1, 2])
    line = DelayLine(lag)
    out = np.array([line.push(np.full(3, float(k))) for k in range(6)])
    # the target of step k reaches joint j at step k + lag[j]; before that the first target (history filled)
    for j, d in enumerate(lag):
        np.testing.assert_array_equal(out[:, j], np.maximum(np.arange(6) - d, 0))
    # a second write in the same physics step replaces that step's target
    line.replace(np.full(3, 9.0))
    assert line.history[0, 0] == 9.0


def test_robot_yaml_blocks():
    g1 = load_robot("unitree_g1_29dof").actuator_model
    assert g1.identified and g1.enabled
    knee = load_robot("unitree_g1_29dof").joint_index["left_knee_joint"]
    assert g1.motor_type[knee] == "N7520-22.5" and g1.params.y1[knee] == 111.0 and g1.params.fs[knee] == 2.4
    assert (g1.delay_min == 0).all() and (g1.delay_max == 2).all()
    wild = load_robot("wildrobot").actuator_model
    assert not wild.identified and not wild.enabled
    assert (wild.delay_max > g1.delay_max.max()).all()  # unidentified: a wider delay range
    assert wild.to_dict()["identified"] is False


# --- bad actuator blocks: one line naming file, field and fix, exit 2 -------------------------------------------


def _write_variant(tmp_path: Path, mutate) -> Path:
    src = ROBOTS_DIR / "wildrobot"
    raw = yaml.safe_load((src / "robot.yaml").read_text())
    raw["mjcf"] = str(src / "wildrobot.xml")
    mutate(raw)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _motor(key, value):
    return lambda raw: raw["actuator_model"]["motors"][0].__setitem__(key, value)


def _block(key, value):
    return lambda raw: raw["actuator_model"].__setitem__(key, value)


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (_block("delay_steps", [0, 99]), "actuator_model.delay_steps", "0..10"),
        (_block("delay_steps", [2, 1]), "actuator_model.delay_steps", "[2, 1]"),
        (_block("identified", "unknown"), "actuator_model.identified", "true or false"),
        (_block("motors", []), "actuator_model.motors", "non-empty"),
        (_block("latency", 3), "actuator_model.latency", "unknown key"),
        (_motor("Y1", -4.0), "actuator_model.motors[0].Y1", "outside"),
        (_motor("X2", 3.0), "actuator_model.motors[0].X2", "not above"),
        (_motor("Fs", "high"), "actuator_model.motors[0].Fs", ""),
        (_motor("joints", "left_.*"), "actuator_model.motors", "no motor group covers"),
        (lambda raw: raw["actuator_model"]["motors"][0].pop("Fd"), "actuator_model.motors[0].Fd", "missing"),
        (lambda raw: raw.__setitem__("actuator_model", [1]), "actuator_model", "mapping"),
    ],
)
def test_bad_actuator_block_one_line_exit_2(tmp_path, mutate, field, words):
    path = _write_variant(tmp_path, mutate)
    with pytest.raises(InputError) as err:
        load_robot(path)
    assert f"'{field}'" in str(err.value) and words in str(err.value)
    proc = subprocess.run([sys.executable, "-m", "wildrobot_amp_ext.robots", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and field in lines[0] and "fix:" in lines[0]


# --- the three users: Isaac Lab's actuator class, the miner's tracker, the sim2sim runner -------------------------

LAG = 2  # physics steps (5 ms each): the G1's largest delay


def _inputs(robot, steps: int = 8):
    """Targets that change every physics step and a fixed joint state, moving fast enough to reach the curve."""
    rng = np.random.default_rng(1)
    targets = robot.default_joint_pos + rng.uniform(-0.6, 0.6, (steps, robot.num_joints))
    q = robot.default_joint_pos + rng.uniform(-0.2, 0.2, robot.num_joints)
    qd = rng.uniform(-30.0, 30.0, robot.num_joints)
    return targets, q, qd


def _isaaclab_torques(robot, targets, q, qd) -> np.ndarray:
    from isaaclab.utils.types import ArticulationActions

    from wildrobot_amp_ext.isaaclab.actuators import ExplicitMotorActuator
    from wildrobot_amp_ext.isaaclab.asset import articulation_actuators

    out = np.zeros(targets.shape)
    f32 = lambda a: torch.as_tensor(np.asarray(a)[None], dtype=torch.float32)  # noqa: E731
    for cfg in articulation_actuators(robot, actuator_model=True).values():
        names = [e.replace("\\", "") for e in cfg.joint_names_expr]
        ids = [robot.joint_index[n] for n in names]
        group = ExplicitMotorActuator(cfg, names, torch.tensor(ids), 1, "cpu")
        assert isinstance(group, ExplicitMotorActuator) and cfg.max_delay == LAG
        group.reset(None)
        for buffer in group._delay_buffers:
            buffer.set_time_lag(LAG)
        for k, target in enumerate(targets):
            action = ArticulationActions(joint_positions=f32(target[ids]), joint_velocities=torch.zeros(1, len(ids)),
                                         joint_efforts=torch.zeros(1, len(ids)))  # fmt: skip
            out[k, ids] = group.compute(action, f32(q[ids]), f32(qd[ids])).joint_efforts[0].numpy()
    return out


def _miner_torques(robot, targets, q, qd) -> np.ndarray:
    from wildrobot_amp_ext.miner.config import TrackingConfig
    from wildrobot_amp_ext.miner.rollout import TrackingSim

    sim = TrackingSim(robot, TrackingConfig(tracker="pd", kp_scale=1.0, substeps=4, actuator_model=True))
    assert sim.cfg.physics_dt == pytest.approx(0.005)  # the tasks' physics step: the same delay in steps
    d = sim.data
    d.qpos[sim.qadr], d.qvel[sim.dadr] = q, qd
    sim.motors.reset(lag=np.full(robot.num_joints, LAG))
    return np.array([sim.motors.apply(d, target).copy() for target in targets])


def _runner_torques(robot, targets, q, qd, tmp_path) -> np.ndarray:
    import mujoco

    from wildrobot_amp_ext.deploy.bundle import Bundle
    from wildrobot_amp_ext.deploy.runner import MujocoRobot
    from wildrobot_amp_ext.robots.mjcf import build_model

    am = robot.actuator_model
    deploy = {"stiffness": robot.kp.tolist(), "damping": robot.kd.tolist(), "effort_limit": robot.effort_limit.tolist(),
              "joint_names": list(robot.joint_names), "imu_body": robot.imu_body,
              "actuator_model": {"trained_with": "explicit", **am.to_dict()}}  # fmt: skip
    bundle = Bundle(deploy, tmp_path / "policy.onnx", tmp_path / "deploy.yaml", 0, robot.num_joints)
    model = build_model(robot, with_floor=True, timestep=0.005)
    data = mujoco.MjData(model)
    runner = MujocoRobot(model, data, bundle)
    runner.motors.reset(lag=np.full(robot.num_joints, LAG))
    out = []
    try:
        for k, target in enumerate(targets):
            data.time = 0.005 * k  # one physics step each
            data.qpos[runner.qpos], data.qvel[runner.dof] = q, qd
            runner.command(target)
            runner.forward()  # MuJoCo's control callback computes this step's torque
            out.append(data.actuator_force[runner.actuators].copy())
    finally:
        mujoco.set_mjcb_control(None)
    return np.array(out)


def test_isaaclab_miner_and_sim2sim_give_the_same_torque(tmp_path):
    """Same joint state, same target sequence, same delay (2 physics steps): the three implementations agree, and
    the torque at step k follows the target of step k - 2 (a zero-delay model would follow step k)."""
    robot = load_robot("unitree_g1_23dof")
    targets, q, qd = _inputs(robot)
    isaac = _isaaclab_torques(robot, targets, q, qd)
    miner = _miner_torques(robot, targets, q, qd)
    runner = _runner_torques(robot, targets, q, qd, tmp_path)
    np.testing.assert_allclose(miner, runner, rtol=0, atol=1e-9)
    np.testing.assert_allclose(isaac, miner, rtol=1e-5, atol=2e-4)  # Isaac Lab computes in float32
    # the delay: step k's torque is the model's torque of target k - LAG (the first target before that)
    p = robot.actuator_model.params
    delayed = targets[np.maximum(np.arange(len(targets)) - LAG, 0)]
    np.testing.assert_allclose(miner, motor_torque(delayed, q, qd, robot.kp, robot.kd, p), atol=1e-9)
    undelayed = motor_torque(targets, q, qd, robot.kp, robot.kd, p)
    assert np.abs(miner[LAG:] - undelayed[LAG:]).max() > 1.0  # the delay changes the torque
    # the state reaches the torque-speed curve and the friction: the clip and Fs act on some joints
    pd = robot.kp * (delayed - q) - robot.kd * qd
    assert (np.abs(pd) > np.abs(miner) + 1.0).any()


# --- the env key: G1 on by default, WildRobot off (today's PD) unless env.actuator_model=true ---------------------


def test_env_key_selects_the_actuator_model():
    from isaaclab.actuators import ImplicitActuatorCfg

    from wildrobot_amp_ext.isaaclab.actuators import ExplicitMotorActuatorCfg
    from wildrobot_amp_ext.isaaclab.launch import load_env_cfg

    g1 = load_env_cfg("G1-23dof-AMP-Flat-v0", num_envs=2, device="cpu")
    wr = load_env_cfg("WildRobot-AMP-Flat-v0", num_envs=2, device="cpu")
    on = load_env_cfg("WildRobot-AMP-Flat-v0", num_envs=2, device="cpu", overrides=["env.actuator_model=true"])
    on.apply_actuator_model()  # what the env does at creation, after the overrides
    assert g1.actuator_model is True and not g1.sim.use_newton_actuators
    assert all(isinstance(g, ExplicitMotorActuatorCfg) for g in g1.scene.robot.actuators.values())
    assert wr.actuator_model is False
    assert all(type(g) is ImplicitActuatorCfg for g in wr.scene.robot.actuators.values())
    groups = list(on.scene.robot.actuators.values())
    assert on.actuator_model is True and not on.sim.use_newton_actuators
    assert all(isinstance(g, ExplicitMotorActuatorCfg) for g in groups)
    assert {(g.min_delay, g.max_delay, g.Y1, g.X2) for g in groups} == {(0, 4, 4.0, 12.0)}
    bad = load_env_cfg("WildRobot-AMP-Flat-v0", num_envs=2, device="cpu", overrides=["env.actuator_model=maybe"])
    with pytest.raises(InputError, match=r"'env\.actuator_model': expected true or false, got 'maybe'.*fix:"):
        bad.apply_actuator_model()


@pytest.mark.slow
@pytest.mark.isaaclab
def test_wildrobot_env_runs_the_model_and_its_gains_randomise():
    """env.actuator_model=true on WildRobot: explicit groups, zero solver gains, torques from the model, and the
    Kp/Kd randomisation acts on them (read back from the groups; a stiffer PD holds the pose closer)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_randomization import NUM_ENVS, TERMS, spearman

    from wildrobot_amp_ext.isaaclab.actuators import ExplicitMotorActuator
    from wildrobot_amp_ext.isaaclab.launch import env_session, load_env_cfg
    from wildrobot_amp_ext.tasks.amp_locomotion.mdp.randomization import _joint_gains

    nulls = ("push_robot", "reference_state_init", "reset_base", "reset_joints")
    still = [*(f"env.events.{t}=null" for t in nulls), "env.observations.policy.enable_corruption=false", "env.seed=0"]
    others = [f"env.events.{t}=null" for t in TERMS if t != "actuator_gains"]
    task = "WildRobot-AMP-Flat-v0"
    cfg = load_env_cfg(task, num_envs=NUM_ENVS, device="cpu", overrides=["env.actuator_model=true", *others, *still])
    robot = load_robot("wildrobot")
    with env_session(cfg, task=task, launcher_args={"headless": True}) as env:
        art = env.unwrapped.scene["robot"]
        assert all(isinstance(art.actuators[n], ExplicitMotorActuator) for n in art.actuators)
        assert float(art.data.joint_stiffness.torch.abs().max()) == 0.0  # the solver's PD is off
        stats = env.unwrapped.randomization_stats["kp_scale"]
        env.reset()
        for _ in range(30):  # settle standing under the model's PD
            env.step(torch.zeros(NUM_ENVS, robot.num_joints))
        ids = [art.joint_names.index(n) for n in robot.joint_names]
        knees = [art.joint_names.index(n) for n in robot.joint_names if "knee" in n]
        err = (art.data.joint_pos.torch[:, ids] - art.data.default_joint_pos.torch[:, ids]).abs()
        value = _joint_gains(art)[0][:, knees].mean(-1).numpy()  # the knees' Kp in use
        response = err[:, [ids.index(k) for k in knees]].sum(-1).cpu().numpy()  # their sag under the body
        effort = torch.cat([art.actuators[n].applied_effort for n in art.actuators], dim=1)
        assert torch.isfinite(effort).all() and float(effort.abs().max()) > 0.05
    assert stats["max"] - stats["min"] > 0.3  # read back from the explicit groups
    assert spearman(value, response) < -0.7


# --- the deploy bundle states the model ---------------------------------------------------------------------------


def _deploy(robot_name: str, overrides=()):
    from wildrobot_amp_ext.deploy.bundle import build_deploy
    from wildrobot_amp_ext.deploy.observations import observation_set
    from wildrobot_amp_ext.isaaclab.launch import load_env_cfg

    task = {"wildrobot": "WildRobot-AMP-Flat-v0", "unitree_g1_23dof": "G1-23dof-AMP-Flat-v0"}[robot_name]
    cfg = load_env_cfg(task, num_envs=2, device="cpu", overrides=list(overrides))
    robot = load_robot(robot_name)
    obs = observation_set(cfg.observation_set)
    dim = obs.history * sum(t.dim(robot.num_joints, len(robot.feet)) for t in obs.terms)
    return robot, build_deploy(robot, cfg.to_dict(), dim, robot.num_joints)


def test_bundle_states_the_actuator_model(tmp_path):
    from wildrobot_amp_ext.deploy.bundle import check_fields

    robot, deploy = _deploy("wildrobot")
    am = deploy["actuator_model"]
    assert am["trained_with"] == "implicit_pd" and am["identified"] is False  # today's WildRobot default
    assert am["Y1"] == [4.0] * robot.num_joints and am["delay_s"][0] == [0.0, 0.02]
    _, on = _deploy("wildrobot", ["env.actuator_model=true"])
    assert on["actuator_model"]["trained_with"] == "explicit" and on["actuator_model"]["identified"] is False
    g1, g1_deploy = _deploy("unitree_g1_23dof")
    assert g1_deploy["actuator_model"]["trained_with"] == "explicit" and g1_deploy["actuator_model"]["identified"]
    knee = g1.joint_index["left_knee_joint"]
    assert g1_deploy["actuator_model"]["motor_type"][knee] == "N7520-22.5"
    check_fields(on, tmp_path / "deploy.yaml")
    bad_sections = {"Y1": [4.0], "trained_with": "ideal", "delay_s": [[0.0, 0.02]], "X2": [1.0] * robot.num_joints}
    for key, value in bad_sections.items():
        bad = {**on, "actuator_model": {**on["actuator_model"], key: value}}
        with pytest.raises(InputError) as err:
            check_fields(bad, tmp_path / "deploy.yaml")
        assert f"'actuator_model.{key}'" in str(err.value) and "\n" not in str(err.value)


def test_miner_rollouts_run_the_model_deterministically():
    """TrackingConfig(actuator_model=True): the miner's rollouts apply the model every physics step (the result
    differs from the position actuators'), and the delays are drawn per rollout from its seed (same seed, same
    result)."""
    import dataclasses

    from wildrobot_amp_ext.miner.config import GenerationConfig, MinerConfig, TrackingConfig
    from wildrobot_amp_ext.miner.generation import Variant
    from wildrobot_amp_ext.miner.pipeline import mine_variant
    from wildrobot_amp_ext.miner.probes import standing_sway

    robot = load_robot("wildrobot")
    once = GenerationConfig(loop_seconds=0.0, time_warps=(1.0,), mirror=False)
    off = MinerConfig(tracking=TrackingConfig(tracker="pd"), generation=once)
    on = dataclasses.replace(off, tracking=dataclasses.replace(off.tracking, actuator_model=True))
    clip = standing_sway(robot, duration=1.0)
    a, b, base = (mine_variant(clip, robot, Variant(), cfg) for cfg in (on, on, off))
    np.testing.assert_array_equal(a.states.joint_pos, b.states.joint_pos)
    assert np.abs(a.states.joint_pos - base.states.joint_pos).max() > 1e-3
    assert a.segments  # the servos' model still stands the sway


@pytest.mark.parametrize("robot_name", ["wildrobot", "unitree_g1_23dof"])
def test_sim2sim_runs_a_bundle_trained_with_the_model(tmp_path, robot_name):
    """A bundle whose deploy.yaml says trained_with: explicit: the unchanged sim2sim loop (mj_step with decimation)
    drives the joints through the model (motors, torques within the curve); WildRobot's zero-output policy stands
    2 s. (The G1's soft gains hold the pose open-loop in MuJoCo with neither actuator: measured, a zero policy falls
    after 73 steps with the implicit PD, 80 with the model.)"""
    import mujoco

    sys.path.insert(0, str(Path(__file__).parent))
    from test_deploy import ENV_CFG, export_bundle

    from wildrobot_amp_ext.deploy.bundle import load_bundle
    from wildrobot_amp_ext.deploy.runner import MujocoRobot
    from wildrobot_amp_ext.deploy.sim2sim import Sim2SimCfg, mujoco_world, run_bundle_in_mujoco

    robot, *_ = export_bundle(tmp_path, robot_name, {**ENV_CFG, "actuator_model": True}, gain=0.0)
    bundle = load_bundle(tmp_path)
    assert bundle["actuator_model"]["trained_with"] == "explicit"
    model, data = mujoco_world(robot, bundle["sim_dt"])
    try:
        rollout = run_bundle_in_mujoco(bundle, model, data, Sim2SimCfg((0.0, 0.0, 0.0), 2.0))
        if robot_name == "wildrobot":
            assert len(rollout["terminated"]) == 100 and not rollout["terminated"].any()
        probe = MujocoRobot(model, data, bundle)  # the model's actuators are torque motors now
        act = probe.actuators
        assert (model.actuator_gainprm[act, 0] == 1.0).all() and (model.actuator_biasprm[act] == 0.0).all()
        probe.forward()
        force, section = data.actuator_force[act], bundle["actuator_model"]
        bound = (
            np.asarray(section["Y2"])
            + np.asarray(section["Fs"])
            + np.asarray(section["Fd"]) * np.abs(data.qvel[probe.dof])
        )
        assert np.abs(force).max() > 0.1 and (np.abs(force) <= bound + 1e-9).all()  # the curve's peak plus friction
    finally:
        mujoco.set_mjcb_control(None)


def test_a_run_from_before_the_option_is_rebuilt_with_the_implicit_pd(tmp_path):
    """play / evaluation rebuild a run from its overrides: a run whose env.yaml has no actuator_model trained on the
    implicit PD, so it gets env.actuator_model=false (the G1's default is now the model); a newer run keeps its own."""
    from wildrobot_amp_ext.evaluation.run_config import read_run_env

    for saved, expected in (({"robot_name": "unitree_g1_23dof"}, ["env.actuator_model=false"]),
                            ({"robot_name": "unitree_g1_23dof", "actuator_model": True}, [])):  # fmt: skip
        params = tmp_path / str(len(expected)) / "run" / "params"
        params.mkdir(parents=True)
        (params / "args.yaml").write_text(yaml.safe_dump({"task": "G1-23dof-AMP-Flat-v0", "overrides": []}))
        (params / "env.yaml").write_text(yaml.safe_dump(saved))
        assert read_run_env(params.parent / "checkpoints" / "agent_1.pt").overrides == expected


def test_the_motor_callback_lives_only_while_the_robot_steps(tmp_path):
    """MuJoCo's control callback is process-wide and any Python callback makes MjSpec.compile fail: a runner with
    the model installs it only inside step() / forward(); afterwards a robot compiles again."""
    import mujoco

    sys.path.insert(0, str(Path(__file__).parent))
    from test_deploy import ENV_CFG, export_bundle

    from wildrobot_amp_ext.deploy.bundle import load_bundle
    from wildrobot_amp_ext.deploy.runner import MujocoRobot
    from wildrobot_amp_ext.deploy.sim2sim import mujoco_world
    from wildrobot_amp_ext.robots import load_robot

    robot, *_ = export_bundle(tmp_path, "wildrobot", {**ENV_CFG, "actuator_model": True}, gain=0.0)
    bundle = load_bundle(tmp_path)
    model, data = mujoco_world(robot, bundle["sim_dt"])
    runner = MujocoRobot(model, data, bundle)
    assert runner.motors is not None and mujoco.get_mjcb_control() is None
    runner.command(runner.qpos * 0.0 + data.qpos[runner.qpos] + 0.1)
    runner.step(4)
    assert np.abs(data.actuator_force[runner.actuators]).max() > 0.1  # the motors pushed towards the new target
    assert mujoco.get_mjcb_control() is None
    load_robot("wildrobot")  # compiles: no callback left behind
