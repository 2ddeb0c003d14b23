"""Isaac Lab kit-less glue: cached MJCF->USD conversion, and envs that spawn the robot on the procedural ground with
joint lists in RobotSpec order (checked by name, also for a robot whose YAML order differs from the MJCF's)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from wildrobot_amp_ext.robots import load_robot

os.environ.setdefault("WARP_CACHE_PATH", str(Path("~/.cache/wildrobot_amp_ext/warp").expanduser()))

pytestmark = pytest.mark.isaaclab


def _reversed_robot_yaml(tmp_path: Path, name: str = "wildrobot") -> Path:
    """Same MJCF, joints listed in reverse: the env's action/observation order must follow the YAML."""
    robot = load_robot(name)
    raw = yaml.safe_load(robot.yaml_path.read_text())
    raw["mjcf"] = str(robot.mjcf_path)
    raw["joints"] = list(reversed(raw["joints"]))
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


# ------------------------------------------------------------------------------------------------------------------
# USD cache
# ------------------------------------------------------------------------------------------------------------------
def test_usd_cache_reuses_and_regenerates(tmp_path):
    from pxr import Usd, UsdPhysics

    from wildrobot_amp_ext.isaaclab.asset import robot_usd_path

    robot = load_robot("wildrobot")
    first = robot_usd_path(robot, cache_dir=tmp_path)
    mtime = first.stat().st_mtime_ns
    again = robot_usd_path(robot, cache_dir=tmp_path)
    assert again == first and again.stat().st_mtime_ns == mtime  # cached, not reconverted
    assert first.parent.name.startswith("wildrobot-")

    # a YAML edit (here: the joint order) is a new cache entry
    other = robot_usd_path(load_robot(_reversed_robot_yaml(tmp_path)), cache_dir=tmp_path)
    assert other != first and other.is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind

    stage = Usd.Stage.Open(str(first))
    joints = {p.GetName() for p in stage.Traverse() if p.IsA(UsdPhysics.RevoluteJoint)}
    assert joints == set(robot.joint_names)
    # the MJCF position actuators are dropped: Isaac Lab's ImplicitActuators are the only drives
    assert not [p for p in stage.Traverse() if p.GetTypeName() == "MjcActuator"]
    roots = [p for p in stage.Traverse() if p.HasAPI(UsdPhysics.ArticulationRootAPI)]
    assert [p.GetName() for p in roots] == [robot.root_body]


def test_articulation_cfg_carries_robotspec_gains():
    from wildrobot_amp_ext.isaaclab.asset import robot_articulation_cfg

    robot = load_robot("unitree_g1_23dof")
    cfg = robot_articulation_cfg(robot)
    assert cfg.init_state.pos[2] == pytest.approx(robot.init_root_height)
    seen = {}
    for group in cfg.actuators.values():
        for expr in group.joint_names_expr:
            name = expr.replace("\\", "")
            i = robot.joint_index[name]
            assert group.stiffness == pytest.approx(robot.kp[i]) and group.damping == pytest.approx(robot.kd[i])
            assert group.joint_effort_limit == pytest.approx(robot.effort_limit[i])
            assert group.armature == pytest.approx(robot.armature[i])
            seen[name] = True
    assert set(seen) == set(robot.joint_names)


# ------------------------------------------------------------------------------------------------------------------
# envs
# ------------------------------------------------------------------------------------------------------------------
def _policy_joint_slices(env) -> dict[str, slice]:
    om = env.observation_manager
    names, dims = om.active_terms["policy"], om.group_obs_term_dim["policy"]
    out, start = {}, 0
    for name, dim in zip(names, dims):
        out[name] = slice(start, start + int(np.prod(dim)))
        start += int(np.prod(dim))
    return out


def _run_random_steps(env, steps: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    obs, _ = env.reset()
    for _ in range(steps):
        action = torch.rand(env.num_envs, env.action_manager.total_action_dim, generator=gen) * 2.0 - 1.0
        obs, reward, *_ = env.step(action.to(env.device))
        assert torch.isfinite(reward).all()
    return obs


def _check_env(env, robot, steps: int) -> None:
    art = env.scene["robot"]
    expected = list(robot.joint_names)
    # joint order, by name: the action term, the observation terms' resolved joints
    assert env.action_manager.get_term("joint_pos")._joint_names == expected
    for term in ("joint_pos", "joint_vel"):
        om = env.observation_manager
        cfg = om._group_obs_term_cfgs["policy"][om.active_terms["policy"].index(term)]
        ids = cfg.params["asset_cfg"].joint_ids
        if isinstance(ids, slice):  # Isaac Lab collapses an identity selection to a slice
            ids = range(art.num_joints)[ids]
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        assert [art.joint_names[i] for i in ids] == expected

    # spawned standing on the procedural ground: zero actions hold the default pose near init height
    env.reset()
    zero = torch.zeros(env.num_envs, env.action_manager.total_action_dim, device=env.device)
    for _ in range(25):
        env.step(zero)
    height = art.data.root_link_pos_w.torch[:, 2]
    assert torch.all((height - robot.init_root_height).abs() < 0.15 * robot.init_root_height), height

    obs = _run_random_steps(env, steps)
    assert torch.isfinite(obs["policy"]).all()
    for key in ("root_link_pos_w", "root_link_quat_w", "root_link_lin_vel_w", "joint_pos", "joint_vel"):
        assert torch.isfinite(getattr(art.data, key).torch).all(), key
    # nothing fell through the ground: the lowest body origin is above the floor
    assert art.data.body_link_pos_w.torch[..., 2].min() > -0.05


#: the smoke checks start every env in the default pose (a reference-state start may be mid-stride and sink under zero
#: actions) from a fixed seed (an unseeded env draws its resets from whatever the tests before it left in torch's RNG)
STANDING_START = ["env.events.push_robot=null", "env.events.reference_state_init=null", "env.seed=0"]


def test_wildrobot_env_smoke():
    from wildrobot_amp_ext.isaaclab.launch import make_env

    robot = load_robot("wildrobot")
    env = make_env("WildRobot-AMP-Flat-v0", num_envs=4, overrides=STANDING_START)
    try:
        _check_env(env.unwrapped, robot, steps=200)
    finally:
        env.close()


def test_preserve_order_when_yaml_order_differs(tmp_path):
    """Reversed YAML joint order: the articulation keeps the MJCF order, actions and observations follow the YAML."""
    from wildrobot_amp_ext.isaaclab.launch import configure_warp_cache, create_env
    from wildrobot_amp_ext.tasks.amp_locomotion.config.wildrobot.flat_env_cfg import WildRobotAmpFlatPlayEnvCfg

    configure_warp_cache()
    yaml_path = _reversed_robot_yaml(tmp_path)
    robot = load_robot(yaml_path)
    cfg = WildRobotAmpFlatPlayEnvCfg(robot_name=str(yaml_path))
    cfg.scene.num_envs = 2
    env = create_env(cfg)
    try:
        art = env.scene["robot"]
        assert art.joint_names != list(robot.joint_names)  # the articulation really is in another order
        _check_env(env, robot, steps=20)

        # values, not just names: observation k and action k address joint robot.joint_names[k]
        env.reset()
        action = torch.zeros(env.num_envs, robot.num_joints, device=env.device)
        action[:, 0] = 1.0  # the first YAML joint only
        obs, *_ = env.step(action)
        target = art.data.joint_pos_target.torch[0]
        default = art.data.default_joint_pos.torch[0]
        moved = [art.joint_names[i] for i in torch.nonzero((target - default).abs() > 1e-6).flatten().tolist()]
        assert moved == [robot.joint_names[0]]
        sl = _policy_joint_slices(env)["joint_pos"]
        art_index = [art.joint_names.index(n) for n in robot.joint_names]
        expected = art.data.joint_pos.torch[:, art_index] - default[art_index]
        # the term holds its history oldest first (term-major): the newest frame is its last J columns
        torch.testing.assert_close(obs["policy"][:, sl][:, -robot.num_joints :], expected, atol=1e-5, rtol=0)
    finally:
        env.close()


@pytest.mark.slow
def test_g1_23dof_env_smoke():
    from wildrobot_amp_ext.isaaclab.launch import make_env

    robot = load_robot("unitree_g1_23dof")
    env = make_env("G1-23dof-AMP-Flat-v0", num_envs=4, overrides=STANDING_START)
    try:
        _check_env(env.unwrapped, robot, steps=200)
    finally:
        env.close()
