"""Domain randomisation on the Newton / MuJoCo-Warp backend: each start-up term's values are read back from the solver,
spread across envs, and change the physics the way they should (one term on at a time, 16 WildRobot envs, Spearman
rank correlation between the read-back value and a physical response). A range the backend ignored would read back
constant or leave the response uncorrelated."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

TERMS = ("physics_material", "base_mass", "base_com", "actuator_gains", "encoder_bias")
NUM_ENVS = 16


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def test_ranges_are_scaled_per_robot():
    """The G1 gets unitree_rl_lab's -1..+3 kg on its torso, the 3.4 kg WildRobot a tenth of it on its pelvis."""
    from wildrobot_amp_ext.isaaclab.launch import load_env_cfg

    g1 = load_env_cfg("G1-23dof-AMP-Flat-v0", num_envs=2, device="cpu")
    wr = load_env_cfg("WildRobot-AMP-Flat-v0", num_envs=2, device="cpu")
    lo, hi = g1.events.base_mass.params["mass_distribution_params"]
    assert lo == pytest.approx(-1.0, abs=0.05) and hi == pytest.approx(3.0, abs=0.1)
    assert g1.events.base_mass.params["asset_cfg"].body_names == ["torso_link"]
    lo, hi = wr.events.base_mass.params["mass_distribution_params"]
    assert lo == pytest.approx(-0.1, abs=0.01) and hi == pytest.approx(0.31, abs=0.01)
    assert g1.events.base_com.params["com_range"]["x"][1] == pytest.approx(0.025, abs=1e-3)
    assert wr.events.base_com.params["com_range"]["x"][1] == pytest.approx(0.0096, abs=1e-3)
    # WildRobot's servos are unidentified: wider gain range; pushes Froude-scaled (0.5 m/s at the G1's height)
    assert wr.events.actuator_gains.params["stiffness_distribution_params"] == (0.6, 1.4)
    assert g1.events.actuator_gains.params["stiffness_distribution_params"] == (0.75, 1.25)
    assert wr.events.push_robot.params["velocity_range"]["x"][1] == pytest.approx(0.5 * (0.30 / 0.78) ** 0.5)
    # the ground takes the friction range's low end (MuJoCo uses the larger of two friction coefficients)
    assert wr.scene.terrain.physics_material.static_friction == 0.3
    play = load_env_cfg("WildRobot-AMP-Flat-Play-v0", num_envs=2, device="cpu")
    assert play.events.physics_material is None and play.scene.terrain.physics_material.static_friction == 1.0


def _response(env, robot, term: str) -> tuple[np.ndarray, np.ndarray]:
    """(read-back value, physical response) per env for ``term``."""
    u = env.unwrapped
    art = u.scene["robot"]
    zero = torch.zeros(u.num_envs, robot.num_joints)
    env.reset()
    for _ in range(30):  # settle standing
        env.step(zero)
    ids = [art.joint_names.index(n) for n in robot.joint_names]
    err = (art.data.joint_pos.torch[:, ids] - art.data.default_joint_pos.torch[:, ids]).cpu().numpy()
    knees = [i for i, n in enumerate(robot.joint_names) if "knee" in n]
    ankles = [i for i, n in enumerate(robot.joint_names) if "ankle" in n]
    if term == "base_mass":  # a heavier pelvis sinks the PD-held legs further
        ids_b = u.event_manager.get_term_cfg(term).params["asset_cfg"].body_ids
        height = art.data.root_link_pos_w.torch[:, 2].cpu().numpy()
        return art.data.body_mass.torch[:, ids_b].sum(-1).cpu().numpy(), height
    if term == "actuator_gains":
        kp = art.data.joint_stiffness.torch[:, ids].cpu().numpy()[:, knees].mean(-1)
        return kp, np.abs(err[:, knees]).sum(-1)
    if term == "encoder_bias":  # the policy's joint positions move by minus the bias; the joints do not
        bias = art.data.default_joint_pos.torch[:, ids].cpu().numpy() - robot.default_joint_pos
        q_rel = art.data.joint_pos.torch[:, ids].cpu().numpy() - robot.default_joint_pos
        om = u.observation_manager
        dims = {n: int(np.prod(d)) for n, d in zip(om.active_terms["policy"], om.group_obs_term_dim["policy"])}
        start = sum(dims[n] for n in list(dims)[: list(dims).index("joint_pos")])
        obs = om.compute_group("policy")[:, start : start + dims["joint_pos"]][:, -robot.num_joints :].cpu().numpy()
        return bias.reshape(-1), (obs - q_rel).reshape(-1)
    if term == "base_com":
        ids_b = u.event_manager.get_term_cfg(term).params["asset_cfg"].body_ids
        com_x = art.data.body_com_pos_b.torch[:, ids_b, 0].sum(-1).cpu().numpy()
        return com_x, err[:, ankles].mean(-1)
    # friction: every robot is set sliding forward at 0.5 m/s; over the next two physics steps (10 ms, before the
    # body tips) Coulomb friction slows its feet by about mu g t: the feet's friction decides how fast they still move
    from wildrobot_amp_ext.tasks.amp_locomotion.mdp.randomization import colliding_shapes, shape_attribute

    mu = shape_attribute(u, "shape_material_mu").cpu().numpy()
    feet_mu = np.mean([mu[:, colliding_shapes(u, [f.body])].mean(-1) for f in robot.feet], axis=0)
    foot_ids, _ = art.find_bodies([f.body for f in robot.feet], preserve_order=True)
    vel = art.data.root_link_vel_w.torch.clone()
    vel[:, 0] = 0.5
    art.write_root_link_velocity_to_sim_index(root_velocity=vel)
    for _ in range(2):
        u.scene.write_data_to_sim()
        u.sim.step(render=False)
        u.scene.update(dt=u.physics_dt)
    foot_speed = art.data.body_link_lin_vel_w.torch[:, foot_ids, 0].mean(-1).cpu().numpy()
    return feet_mu, foot_speed


@pytest.mark.slow
@pytest.mark.isaaclab
@pytest.mark.skipif(importlib.util.find_spec("isaaclab") is None, reason="needs Isaac Lab")
@pytest.mark.parametrize(
    "term, sign",
    [("physics_material", -1), ("base_mass", -1), ("actuator_gains", -1), ("base_com", 0), ("encoder_bias", -1)],
)
def test_each_randomised_term_changes_the_physics(term, sign):
    from wildrobot_amp_ext.isaaclab.launch import env_session, load_env_cfg
    from wildrobot_amp_ext.robots import load_robot

    task = "WildRobot-AMP-Flat-v0"
    others = [f"env.events.{t}=null" for t in TERMS if t != term]
    # every env starts from the same standing state: only the randomised term differs between them
    still = [
        "env.events.push_robot=null",
        "env.events.reference_state_init=null",
        "env.events.reset_base=null",
        "env.events.reset_joints=null",
        "env.observations.policy.enable_corruption=false",
        "env.seed=0",
    ]
    overrides = [*others, *still]
    cfg = load_env_cfg(task, num_envs=NUM_ENVS, device="cpu", overrides=overrides)
    robot = load_robot(cfg.robot_name)
    with env_session(cfg, task=task, launcher_args={"headless": True}) as env:
        stats = env.unwrapped.randomization_stats
        value, response = _response(env, robot, term)
        state = env.unwrapped.scene["robot"].data
        finite = bool(torch.isfinite(state.joint_pos.torch).all() and torch.isfinite(state.root_link_pos_w.torch).all())
    rho = spearman(value, response)
    print(f"[randomization] {term}: value {value.min():.4f}..{value.max():.4f}, response "
          f"{response.min():.4f}..{response.max():.4f}, Spearman {rho:+.2f}; read back: {stats}")  # fmt: skip
    assert finite  # no blow-up (the COM term's stability check)
    assert value.max() - value.min() > 1e-3 * max(1.0, abs(value).max())  # the solver holds different values
    if sign:
        assert sign * rho > 0.7, rho
    else:  # the COM shift moves the ankles one way or the other, but consistently
        assert abs(rho) > 0.7, rho


def test_a_range_the_backend_did_not_apply_is_refused_naming_the_term():
    from types import SimpleNamespace

    from wildrobot_amp_ext.errors import InputError
    from wildrobot_amp_ext.tasks.amp_locomotion.mdp.randomization import check_applied, distribution

    class Events:
        active_terms = {"startup": ["base_mass"]}

        def get_term_cfg(self, name):
            return SimpleNamespace(params={"mass_distribution_params": (-0.1, 0.3)})

    env = SimpleNamespace(num_envs=4, event_manager=Events())
    with pytest.raises(InputError, match=r"env\.events\.base_mass.*not applied") as err:
        check_applied(env, distribution({"base_mass_kg": torch.full((4,), 1.2)}))
    assert "\n" not in str(err.value)
    check_applied(env, distribution({"base_mass_kg": torch.tensor([1.1, 1.2, 1.3, 1.4])}))  # spread: applied
