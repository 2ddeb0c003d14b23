"""Finite differences against analytic motion, resampling, quaternion helpers and FK against MuJoCo."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from wildrobot_amp_ext.features import FeatureSpec, KinematicState, compute_amp_features
from wildrobot_amp_ext.motion import MotionClip, clip_states, resample_clip, resample_times
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.kinematics import ForwardKinematics, angular_velocity_world, finite_difference
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.robots.mjcf import contact_site_ids, joint_qpos_adr

Z = np.array([0.0, 0.0, 1.0])


@pytest.fixture(scope="module")
def g1():
    return load_robot("unitree_g1_23dof")


def _sinusoid(robot, t, amp=0.3, freq=0.5):
    phase = np.linspace(0, 2, robot.num_joints)
    w = 2 * np.pi * freq
    q = robot.default_joint_pos + amp * np.sin(w * t[:, None] + phase)
    qd = amp * w * np.cos(w * t[:, None] + phase)
    return q, qd


# ------------------------------------------------------------------------------------------------------------------
# finite differences
# ------------------------------------------------------------------------------------------------------------------
def test_joint_velocity_matches_analytic_sinusoid(g1):
    fps = 120.0
    t = np.arange(int(4 * fps) + 1) / fps
    q, qd = _sinusoid(g1, t)
    clip = MotionClip(
        "sin", fps, np.column_stack((t, 0 * t, 0.75 + 0 * t)), np.tile([1.0, 0, 0, 0], (t.size, 1)), g1.joint_names, q
    )
    states = clip_states(clip, g1)
    err = np.abs(states.joint_vel - qd)
    assert err.max() < 1e-3, err.max()
    # second-order everywhere: halving dt divides the error by ~4
    t2 = np.arange(int(4 * 2 * fps) + 1) / (2 * fps)
    q2, qd2 = _sinusoid(g1, t2)
    err2 = np.abs(finite_difference(q2, 1 / (2 * fps)) - qd2)
    assert 3.5 < err.max() / err2.max() < 4.5
    np.testing.assert_allclose(states.root_lin_vel_w, np.tile([1.0, 0, 0], (t.size, 1)), atol=1e-12)


def test_root_on_a_circle_linear_and_angular_velocity(g1):
    """Root walking a circle of radius R at rate W, facing along the tangent: v = R W tangent, w = (0, 0, W)."""
    fps, radius, rate = 50.0, 2.0, 0.5
    t = np.arange(int(10 * fps) + 1) / fps
    pos = np.column_stack((radius * np.cos(rate * t), radius * np.sin(rate * t), np.full_like(t, 0.75)))
    quat = Q.from_axis_angle(Z, rate * t + np.pi / 2)
    clip = MotionClip("circle", fps, pos, quat, g1.joint_names, np.tile(g1.default_joint_pos, (t.size, 1)))
    s = clip_states(clip, g1)
    v_true = radius * rate * np.column_stack((-np.sin(rate * t), np.cos(rate * t), 0 * t))
    assert np.abs(s.root_lin_vel_w - v_true).max() < 1e-3
    np.testing.assert_allclose(s.root_ang_vel_w, np.tile([0, 0, rate], (t.size, 1)), atol=1e-3)
    # the feature function puts that velocity in the heading frame: straight ahead at R W
    spec = FeatureSpec(terms=("root_lin_vel", "root_ang_vel"), root_lin_vel_mode="raw")
    f = compute_amp_features(s.to_kinematic_state(), spec, torch.as_tensor(g1.default_joint_pos)).numpy()
    np.testing.assert_allclose(f[:, :3], np.tile([radius * rate, 0, 0], (t.size, 1)), atol=1e-3)
    np.testing.assert_allclose(f[:, 3:], np.tile([0, 0, rate], (t.size, 1)), atol=1e-3)


def test_angular_velocity_of_tumbling_body_world_and_body_rates():
    fps = 60.0
    t = np.arange(200) / fps
    q0 = Q.normalize(np.array([0.3, -0.5, 0.7, 0.2]))
    w_world = np.array([0.7, -1.1, 2.3])
    q = Q.multiply(Q.from_rotvec(w_world * t[:, None]), q0)  # constant world-frame rate
    np.testing.assert_allclose(angular_velocity_world(q, 1 / fps), np.tile(w_world, (t.size, 1)), atol=1e-9)
    w_body = np.array([-0.4, 1.5, 0.9])
    q = Q.multiply(np.tile(q0, (t.size, 1)), Q.from_rotvec(w_body * t[:, None]))  # constant body-frame rate
    np.testing.assert_allclose(angular_velocity_world(q, 1 / fps), Q.rotate(q, w_body), atol=1e-9)
    # sign flips in the input (q and -q are the same rotation) change nothing
    flipped = q * np.where(np.arange(t.size) % 3 == 0, -1.0, 1.0)[:, None]
    np.testing.assert_allclose(angular_velocity_world(flipped, 1 / fps), Q.rotate(q, w_body), atol=1e-9)


# ------------------------------------------------------------------------------------------------------------------
# resampling
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source_fps", [30.0, 60.0, 120.0])
def test_resampling_to_50fps(g1, source_fps):
    duration, amp, freq, yaw_rate = 3.0, 0.3, 0.5, 0.8
    t = np.arange(int(duration * source_fps) + 1) / source_fps
    q, _ = _sinusoid(g1, t, amp, freq)
    pos = np.column_stack((0.6 * t, 0.2 * t**2, 0.75 + 0 * t))
    quat = Q.multiply(
        Q.from_axis_angle(Z, yaw_rate * t), np.tile(Q.from_axis_angle(np.array([1.0, 0, 0]), 0.1), (t.size, 1))
    )
    clip = MotionClip("c", source_fps, pos, quat, g1.joint_names, q)
    out = resample_clip(clip, 50.0)
    t50 = np.arange(int(duration * 50) + 1) / 50
    assert out.fps == 50.0 and out.num_frames == t50.size == 151
    np.testing.assert_allclose(resample_times(clip.num_frames, source_fps, 50.0), t50)
    q_true, _ = _sinusoid(g1, t50, amp, freq)
    h = 1 / source_fps
    bound = amp * (2 * np.pi * freq) ** 2 * h**2 / 8 + 1e-12  # linear interpolation error bound
    assert np.abs(out.joint_pos - q_true).max() <= bound
    # slerp is exact for a constant-rate rotation
    quat_true = Q.multiply(
        Q.from_axis_angle(Z, yaw_rate * t50), np.tile(Q.from_axis_angle(np.array([1.0, 0, 0]), 0.1), (t50.size, 1))
    )
    np.testing.assert_allclose(np.abs(np.sum(out.root_quat * quat_true, axis=1)), 1.0, atol=1e-12)
    # linear root: exact in x, within the bound for the quadratic y
    np.testing.assert_allclose(out.root_pos[:, 0], 0.6 * t50, atol=1e-12)
    assert np.abs(out.root_pos[:, 1] - 0.2 * t50**2).max() <= 0.2 * 2 * h**2 / 8 + 1e-12


def test_resample_same_rate_is_identity(g1):
    clip = MotionClip(
        "c", 50.0, np.zeros((20, 3)), np.tile([1.0, 0, 0, 0], (20, 1)), g1.joint_names, np.zeros((20, g1.num_joints))
    )
    assert resample_clip(clip, 50.0) is clip


def test_slerp_midpoint_and_shortest_path():
    a = Q.from_axis_angle(Z, 0.2)
    b = -Q.from_axis_angle(Z, 1.0)  # same rotation as +, other hemisphere
    mid = Q.slerp(a, b, 0.5)
    assert abs(abs(np.dot(mid, Q.from_axis_angle(Z, 0.6))) - 1) < 1e-12
    assert np.allclose(Q.slerp(a, a, 0.3), a)


# ------------------------------------------------------------------------------------------------------------------
# forward kinematics
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["unitree_g1_23dof", "unitree_g1_29dof", "wildrobot"])
def test_fk_contact_points_match_mujoco(name):
    robot = load_robot(name)
    fk = ForwardKinematics(robot, chunk_frames=37)  # odd chunk size: chunking must not matter
    model = fk.model
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    n = 150
    root_pos = rng.normal(size=(n, 3))
    root_quat = Q.normalize(rng.normal(size=(n, 4)))
    joint_pos = rng.uniform(-1.5, 1.5, size=(n, robot.num_joints))
    ours = fk.site_positions(root_pos, root_quat, joint_pos)
    qadr, sites = joint_qpos_adr(model, robot), contact_site_ids(model, robot)
    ref = np.empty_like(ours)
    body_pos, body_rot = fk.body_poses(root_pos, root_quat, joint_pos)
    for i in range(n):
        data.qpos[:3], data.qpos[3:7], data.qpos[qadr] = root_pos[i], root_quat[i], joint_pos[i]
        mujoco.mj_kinematics(model, data)
        ref[i] = data.site_xpos[sites]
        np.testing.assert_allclose(body_pos[i], data.xpos[fk.body_ids], atol=1e-9)
        np.testing.assert_allclose(body_rot[i], data.xmat[fk.body_ids].reshape(-1, 3, 3), atol=1e-9)
    assert ours.shape == (n, 2 * len(robot.feet), 3)
    assert np.abs(ours - ref).max() < 1e-9


def test_contact_velocities_are_derivatives_of_fk_positions(g1):
    fps = 100.0
    t = np.arange(300) / fps
    q, _ = _sinusoid(g1, t, 0.2, 0.7)
    clip = MotionClip(
        "c", fps, np.column_stack((0.3 * t, 0 * t, 0.75 + 0 * t)), Q.from_axis_angle(Z, 0.2 * t), g1.joint_names, q
    )
    s = clip_states(clip, g1)
    eps = 1e-6  # analytic check of one frame by a tiny symmetric time step
    k = 150
    tk = np.array([t[k] - eps, t[k] + eps])
    qk, _ = _sinusoid(g1, tk, 0.2, 0.7)
    fk = ForwardKinematics(g1)
    p = fk.site_positions(np.column_stack((0.3 * tk, 0 * tk, 0.75 + 0 * tk)), Q.from_axis_angle(Z, 0.2 * tk), qk)
    np.testing.assert_allclose(s.contact_vel_w[k], (p[1] - p[0]) / (2 * eps), atol=2e-3)


def test_clip_states_refuse_wrong_joint_order(g1):
    clip = MotionClip(
        "c",
        50.0,
        np.zeros((5, 3)),
        np.tile([1.0, 0, 0, 0], (5, 1)),
        tuple(reversed(g1.joint_names)),
        np.zeros((5, g1.num_joints)),
    )
    with pytest.raises(ValueError, match="joint order"):
        clip_states(clip, g1)


def test_kinematic_state_bridge(g1):
    t = np.arange(10) / 50
    clip = MotionClip(
        "c",
        50.0,
        np.column_stack((t, t, t)),
        np.tile([1.0, 0, 0, 0], (10, 1)),
        g1.joint_names,
        np.tile(g1.default_joint_pos, (10, 1)),
    )
    ks = clip_states(clip, g1).to_kinematic_state()
    assert isinstance(ks, KinematicState) and ks.root_pos_w.shape == (10, 3) and ks.contact_pos_w.shape == (10, 4, 3)
