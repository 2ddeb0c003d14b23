"""The kinematic stance/slip rule (features.contact.stance_slip) against MuJoCo's contact forces: the shipped
WildRobot policy walking in MuJoCo, each foot's normal force and centre-of-pressure speed (the miner's physical
rule) beside the rule computed from its contact points alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from wildrobot_amp_ext.features import CONTACT_HEIGHT, SLIP_SPEED, ContactRule, per_foot, stance_slip

SHIPPED = Path(__file__).resolve().parents[1] / "pretrained" / "wildrobot_walk"


def _walk_with_forces(command, seconds: float):
    """Per policy step: contact points (T, P, 3), their velocities, and per foot the normal force / mg and the
    horizontal speed of the foot's material point at its centre of pressure (T, F)."""
    mujoco = pytest.importorskip("mujoco")
    from wildrobot_amp_ext.deploy.bundle import load_bundle
    from wildrobot_amp_ext.deploy.runner import DeployedPolicy, MujocoRobot
    from wildrobot_amp_ext.deploy.sim2sim import mujoco_world
    from wildrobot_amp_ext.robots import load_robot
    from wildrobot_amp_ext.robots.mjcf import contact_site_ids

    bundle = load_bundle(SHIPPED)
    robot = load_robot(bundle["robot"])
    model, data = mujoco_world(robot, bundle["sim_dt"])
    policy, body = DeployedPolicy(bundle), MujocoRobot(model, data, bundle)
    sites = contact_site_ids(model, robot)
    feet = [model.body(f.body).id for f in robot.feet]
    mg = float(model.body_mass.sum()) * float(-model.opt.gravity[2])
    steps = int(seconds / float(bundle["step_dt"]))
    pos, vel = np.zeros((steps, len(sites), 3)), np.zeros((steps, len(sites), 3))
    force, cop_speed = np.zeros((steps, len(feet))), np.zeros((steps, len(feet)))
    v6, f6, jac = np.zeros(6), np.zeros(6), np.zeros((3, model.nv))
    for t in range(steps):
        body.command(policy.targets(policy.act(body.readings(), np.asarray(command, dtype=np.float64))))
        body.step(int(bundle["decimation"]))
        mujoco.mj_forward(model, data)
        pos[t] = data.site_xpos[sites]
        for k, s in enumerate(sites):
            mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_SITE, int(s), v6, 0)
            vel[t, k] = v6[3:]
        cop = np.zeros((len(feet), 3))
        for i in range(data.ncon):
            b = [int(model.geom_bodyid[g]) for g in (data.contact[i].geom1, data.contact[i].geom2)]
            if 0 in b and any(x in feet for x in b):  # a foot on the floor (world body 0)
                f = feet.index(b[0] + b[1])
                mujoco.mj_contactForce(model, data, i, f6)
                force[t, f] += f6[0]
                cop[f] += f6[0] * data.contact[i].pos
        for f, foot in enumerate(feet):
            if force[t, f] > 0:
                mujoco.mj_jac(model, data, jac, None, cop[f] / force[t, f], foot)
                cop_speed[t, f] = float(np.hypot(*(jac @ data.qvel)[:2]))
        force[t] /= mg
    return pos, vel, force, cop_speed


def test_kinematic_stance_slip_matches_the_contact_forces_of_a_walking_policy():
    pos, vel, force, cop_speed = _walk_with_forces((0.3, 0.0, 0.0), 3.0)
    settle = 25  # 0.5 s after the start
    pos, vel, force, cop_speed = pos[settle:], vel[settle:], force[settle:], cop_speed[settle:]
    loaded = force > 0.1  # the miner's rule: a foot carrying a tenth of the weight
    stance, slip = (x.numpy() for x in stance_slip(torch.as_tensor(pos), torch.as_tensor(vel)))
    assert loaded.any() and (~loaded).any()  # it walks: feet are lifted and loaded in turn
    assert not (loaded & ~stance).any()  # no loaded foot is missed
    assert (stance == loaded).mean() > 0.85
    physical = float((cop_speed[loaded] > SLIP_SPEED).mean())
    kinematic = float((slip[stance] > SLIP_SPEED).mean())
    assert kinematic == pytest.approx(physical, abs=0.06)
    # the near-ground band of the contact rule (2.5 cm) holds the low swing too: it is no stance test
    near = per_foot(ContactRule(height=CONTACT_HEIGHT).near_ground(torch.as_tensor(pos))).any(dim=-1).numpy()
    assert (near == loaded).mean() < 0.8
