"""Miner physics: contact forces / slip / site velocities against MuJoCo's own functions, the harness cap, the
xyzw -> wxyz root of a GMR pickle in MuJoCo, and qpos never overwritten during a rollout."""

from __future__ import annotations

import dataclasses
import math
import pickle

import mujoco
import numpy as np
import pytest

from wildrobot_amp_ext.miner.config import GenerationConfig, MinerConfig, TrackingConfig
from wildrobot_amp_ext.miner.generation import Variant, build_track
from wildrobot_amp_ext.miner.probes import standing_sway
from wildrobot_amp_ext.miner.rollout import GRAVITY, Harness, TrackingSim
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.io import load_motion
from wildrobot_amp_ext.robots import load_robot

GEN = GenerationConfig(loop_seconds=0.0, time_warps=(1.0,), mirror=False)


@pytest.fixture(scope="module")
def robot():
    return load_robot("wildrobot")


@pytest.fixture(scope="module")
def sim(robot):
    """The open-loop tracker: the signals and the harness are the same for both trackers, and it is fast."""
    return TrackingSim(robot, MinerConfig.for_tracker("pd").tracking)


def _track(sim, clip, variant=Variant()):
    return build_track(clip, sim.robot, variant, GEN, sim.cfg.control_hz, sim.standing_height)


def test_contact_signals_match_mujoco(sim, robot):
    """Per-foot normal force = sum of mj_contactForce normals; slip speed = horizontal speed of the foot body at its
    centre of pressure (mj_objectVelocity); site velocities = mj_objectVelocity of the sites."""
    track = _track(sim, standing_sway(robot))
    sim.set_state(track, 0)
    m, d = sim.model, sim.data
    d.qvel[:3] = [0.3, -0.2, 0.0]  # make the feet slide so the slip speed is not trivially zero
    d.qvel[3:6] = [0.4, 0.2, 1.0]
    mujoco.mj_forward(m, d)
    assert d.ncon > 0
    force, slip, body = sim.current_contact_signals()
    want_force, moment = np.zeros(2), np.zeros((2, 3))
    for i in range(d.ncon):
        c = d.contact[i]
        other = c.geom[1] if c.geom[0] == sim.floor else c.geom[0]
        foot = sim.geom_foot[other]
        assert foot >= 0
        f6 = np.zeros(6)
        mujoco.mj_contactForce(m, d, i, f6)
        want_force[foot] += f6[0]
        moment[foot] += f6[0] * c.pos
    np.testing.assert_allclose(force, want_force, rtol=1e-9, atol=1e-9)
    assert want_force.sum() > 0.5 * sim.mg and body == 0.0
    for f, foot in enumerate(robot.feet):
        cop = moment[f] / want_force[f]
        b = m.body(foot.body).id
        v6 = np.zeros(6)
        mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_BODY, b, v6, 0)
        vel = v6[3:] + np.cross(v6[:3], cop - d.xipos[b])  # mjOBJ_BODY: velocity at the body COM
        assert slip[f] == pytest.approx(np.hypot(vel[0], vel[1]), rel=1e-9)
    assert slip.max() > 0.1
    pos, vel = sim.site_kinematics(d.qpos[None].copy(), d.qvel[None].copy())
    for p, sid in enumerate(sim.sites):
        v6 = np.zeros(6)
        mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_SITE, sid, v6, 0)
        np.testing.assert_allclose(vel[0, p], v6[3:], atol=1e-9)
        np.testing.assert_allclose(pos[0, p], d.site_xpos[sid], atol=1e-12)


def test_rollout_signals_are_the_state_they_describe(sim, robot):
    """Row k of a rollout: qpos/qvel before control step k, and the contact forces and contact points computed for
    that same state."""
    track = _track(sim, standing_sway(robot))
    rec = sim.rollout(track, 0, 30)
    d = mujoco.MjData(sim.model)
    for k in (5, 17, 29):
        d.qpos[:], d.qvel[:] = rec.qpos[k], rec.qvel[k]
        d.ctrl[:] = rec.ctrl[k]
        d.xfrc_applied[sim.root] = rec.harness_wrench[k]
        mujoco.mj_forward(sim.model, d)
        force = np.zeros(2)
        for i in range(d.ncon):
            f6 = np.zeros(6)
            mujoco.mj_contactForce(sim.model, d, i, f6)
            c = d.contact[i]
            force[sim.geom_foot[c.geom[1] if c.geom[0] == sim.floor else c.geom[0]]] += f6[0]
        # warm-started solver: the same state gives the same forces up to solver tolerance
        np.testing.assert_allclose(rec.foot_force[k], force / sim.mg, atol=2e-3)
        np.testing.assert_allclose(rec.site_pos[k], d.site_xpos[sim.sites], atol=1e-12)


def test_harness_never_exceeds_its_caps():
    cfg = TrackingConfig(
        orient_assist=True, height_assist=True, xy_assist=True, orient_cap=0.1, assist_cap=0.05, orient_kp=50.0
    )
    mass, lever = 3.4, 0.25
    h = Harness(cfg, mass, lever)
    rng = np.random.default_rng(0)
    mg = mass * GRAVITY
    hit = 0
    for _ in range(400):
        tilt = rng.uniform(0, math.radians(24))  # stays inside the upright gate
        axis = np.r_[rng.normal(size=2), 0.0]
        quat = Q.from_axis_angle(axis / np.linalg.norm(axis), np.array(tilt))
        qpos = np.r_[rng.normal(size=3), quat]
        qvel = rng.normal(scale=5.0, size=6)
        wrench, saturated = h(qpos, qvel, rng.normal(size=3) * 2, rng.normal(size=3), np.array([0.0, 0.0, 1.0]))
        assert abs(wrench[2]) <= cfg.assist_cap * mg + 1e-9
        assert np.hypot(wrench[0], wrench[1]) <= cfg.assist_cap * mg + 1e-9
        assert np.hypot(wrench[3], wrench[4]) <= cfg.orient_cap * mg * lever + 1e-9
        assert h.magnitude(wrench) <= math.hypot(math.hypot(cfg.assist_cap, cfg.assist_cap), cfg.orient_cap) + 1e-9
        hit += saturated
    assert hit > 100  # the commands were large: the caps really acted


def test_harness_off_when_not_upright():
    cfg = TrackingConfig(
        orient_assist=True, height_assist=True, filter_cutoff_hz=0.0
    )  # no filter: the output is the command
    h = Harness(cfg, 3.4, 0.25)
    tilted = Q.from_axis_angle(np.array([1.0, 0, 0]), np.array(math.radians(cfg.upright_angle_deg + 5)))
    wrench, _ = h(np.r_[0, 0, 0.1, tilted], np.zeros(6), np.array([0, 0, 0.3]), np.zeros(3), np.array([0.0, 0.0, 1.0]))
    assert not any(wrench)
    upright = Q.from_axis_angle(np.array([1.0, 0, 0]), np.array(math.radians(cfg.upright_angle_deg - 5)))
    wrench, _ = h(np.r_[0, 0, 0.1, upright], np.zeros(6), np.array([0, 0, 0.3]), np.zeros(3), np.array([0.0, 0.0, 1.0]))
    assert wrench[2] > 0 and wrench[3] < 0  # lifts towards the reference height, rolls back towards upright


def test_gmr_xyzw_yawed_root_is_the_mujoco_orientation(tmp_path, robot, sim):
    """A GMR pickle stores xyzw: a root yawed by 60 deg must face 60 deg in MuJoCo (x axis = (cos, sin, 0))."""
    clip = standing_sway(robot, duration=0.5)
    yaw = math.radians(60)
    n = clip.num_frames
    payload = {
        "fps": clip.fps,
        "root_pos": clip.root_pos,
        "root_rot": np.tile([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)], (n, 1)),  # x, y, z, w
        "dof_pos": clip.joint_pos,
        "local_body_pos": None,
        "link_body_list": None,
    }
    path = tmp_path / "yawed.pkl"
    path.write_bytes(pickle.dumps(payload))
    read = load_motion(path, robot)[0]
    track = _track(sim, read)
    sim.set_state(track, 0)
    x_axis = sim.data.xmat[sim.root].reshape(3, 3)[:, 0]
    np.testing.assert_allclose(x_axis, [math.cos(yaw), math.sin(yaw), 0.0], atol=1e-9)
    # the rollout starts there and stays upright with that heading
    rec = sim.rollout(track, 0, 20)
    assert not rec.fell
    np.testing.assert_allclose(Q.yaw(rec.qpos[-1, 3:7]), yaw, atol=0.05)


@pytest.mark.parametrize("tracker", ["pd", "mpc"])
def test_rollout_never_overwrites_qpos(sim, robot, tracker):
    """A reference that teleports its root by 0.5 m mid-clip: the simulated root moves continuously (the open-loop
    tracker stays where it stands; the closed-loop one may walk after the jump, but only at a walking speed)."""
    sim = sim if tracker == "pd" else TrackingSim(robot, TrackingConfig(tracker="mpc"))
    clip = standing_sway(robot, duration=1.2)
    jump = clip.root_pos.copy()
    jump[clip.num_frames // 2 :, 0] += 0.5
    track = _track(sim, dataclasses.replace(clip, root_pos=jump))
    rec = sim.rollout(track, 0, track.num_frames)
    steps = np.linalg.norm(np.diff(rec.qpos[:, :3], axis=0), axis=1)
    assert steps.max() < 0.02
    if tracker == "pd":
        assert abs(rec.qpos[-1, 0] - rec.qpos[0, 0]) < 0.05


def test_auto_gain_scale_holds_the_standing_pendulum(robot):
    """ "auto" scales the gains only when the ankles cannot hold the inverted pendulum (G1), not for WildRobot."""
    sim = TrackingSim(robot, MinerConfig.for_tracker("pd").tracking)
    assert sim.kp_scale == 1.0
    ankles = sim.ankle_pitch_joints()
    assert [robot.joint_names[i] for i in ankles] == ["left_ankle_pitch", "right_ankle_pitch"]
    fixed = TrackingSim(robot, TrackingConfig(kp_scale=2.0))
    act = fixed.act[0]
    assert fixed.model.actuator_gainprm[act, 0] == pytest.approx(2.0 * robot.kp[0])
    assert fixed.model.actuator_biasprm[act, 2] == pytest.approx(-math.sqrt(2.0) * robot.kd[0])


def test_auto_gain_scale_of_the_closed_loop_tracker_bounds_the_pd_lag(robot):
    """ "auto" with the closed-loop tracker: WildRobot's servos (kd/kp 30 ms) keep their gains; the G1's (64 ms) are
    scaled so that kd/kp, which falls as 1/sqrt(scale), is max_pd_lag_s."""
    cfg = TrackingConfig()
    assert cfg.tracker == "mpc" and cfg.kp_scale == "auto"
    assert TrackingSim(robot, cfg).kp_scale == 1.0
    g1 = TrackingSim(load_robot("unitree_g1_23dof"), cfg)
    lag = float(np.max(g1.robot.kd / g1.robot.kp))
    assert g1.kp_scale == pytest.approx((lag / cfg.max_pd_lag_s) ** 2)
    assert 1.9 < g1.kp_scale < 2.1
    act = g1.act[0]
    kp, kd = g1.model.actuator_gainprm[act, 0], -g1.model.actuator_biasprm[act, 2]
    assert kd / kp == pytest.approx(cfg.max_pd_lag_s, rel=1e-6)


def test_fall_onset_is_marked(sim, robot):
    """A rollout that falls: the frames within fall_lookahead_s before the fall are flagged (a window holding one is
    followed by less than the look-ahead of standing), earlier ones are not."""
    from wildrobot_amp_ext.miner.config import GateConfig
    from wildrobot_amp_ext.miner.probes import leaning
    from wildrobot_amp_ext.miner.windows import frame_signals

    track = _track(sim, leaning(standing_sway(robot, duration=3.0), 30.0))
    rec = sim.rollout(track, 0, track.num_frames)
    assert rec.fell and rec.num_frames < track.num_frames
    gates = GateConfig(fall_lookahead_s=0.2)
    sig = frame_signals(rec, track, sim.qadr, sim.standing_height, gates, sim.cfg.control_dt)
    lookahead = round(0.2 * sim.cfg.control_hz)
    assert sig.fall[-lookahead:].all() and not sig.fall[:-lookahead].any()
    assert np.degrees(np.arccos(Q.upright_cosine(rec.qpos[-1, 3:7]))) > 30.0
