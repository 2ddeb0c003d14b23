"""Reference generation: mirroring, time warp, looping with blends through the neutral pose, heading continuity."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from wildrobot_amp_ext.miner.config import GenerationConfig, MinerConfig
from wildrobot_amp_ext.miner.generation import Variant, build_track, mirror_clip, neutral_root_height, variants
from wildrobot_amp_ext.miner.probes import standing_sway
from wildrobot_amp_ext.miner.runner import is_mirror_symmetric, plan_jobs
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.synthetic import GaitParams, synthetic_walk
from wildrobot_amp_ext.robots import load_robot

HZ = 50.0


@pytest.fixture(scope="module")
def robot():
    return load_robot("wildrobot")


@pytest.fixture(scope="module")
def g1():
    return load_robot("unitree_g1_23dof")


def test_mirror_of_symmetric_motion_is_the_original(robot, g1):
    for r in (robot, g1):
        clip = standing_sway(r, duration=1.0)
        m = mirror_clip(clip, r)
        np.testing.assert_allclose(m.joint_pos, clip.joint_pos, atol=1e-12)
        np.testing.assert_allclose(m.root_pos, clip.root_pos, atol=1e-12)
        np.testing.assert_allclose(m.root_quat, clip.root_quat, atol=1e-12)
        assert is_mirror_symmetric(clip, r)


def test_mirror_of_walk_swaps_sides(g1):
    clip = synthetic_walk(g1, 1.6, 50.0, GaitParams(), heading=0.3)
    m = mirror_clip(clip, g1)
    assert not is_mirror_symmetric(clip, g1)
    names = g1.joint_names
    li, ri = names.index("left_knee_joint"), names.index("right_knee_joint")
    np.testing.assert_allclose(m.joint_pos[:, li], clip.joint_pos[:, ri])
    lr, rr = names.index("left_hip_roll_joint"), names.index("right_hip_roll_joint")
    np.testing.assert_allclose(m.joint_pos[:, lr], -clip.joint_pos[:, rr])
    # the heading is mirrored (yaw -> -yaw), the path y -> -y, and mirroring twice is the identity
    np.testing.assert_allclose(Q.yaw(m.root_quat), -Q.yaw(clip.root_quat), atol=1e-12)
    np.testing.assert_allclose(m.root_pos[:, 1], -clip.root_pos[:, 1])
    twice = mirror_clip(m, g1)
    np.testing.assert_allclose(twice.joint_pos, clip.joint_pos, atol=1e-12)
    np.testing.assert_allclose(twice.root_quat, clip.root_quat, atol=1e-12)


def test_mirrored_variants_of_symmetric_clips_are_skipped(robot):
    cfg = MinerConfig(generation=GenerationConfig(time_warps=(1.0, 1.1)))
    sway = standing_sway(robot, duration=1.0)
    walk = synthetic_walk(robot, 1.6, 50.0, GaitParams())
    jobs, skipped = plan_jobs([sway, walk], robot, cfg)
    tags = {(j.clip.name, j.variant.tag) for j in jobs}
    assert tags == {("standing_sway", "w1.00"), ("standing_sway", "w1.10"),
                    ("synthetic_walk", "w1.00"), ("synthetic_walk", "w1.10"),
                    ("synthetic_walk", "w1.00-mirror"), ("synthetic_walk", "w1.10-mirror")}  # fmt: skip
    assert len(skipped["standing_sway"]) == 2
    assert len({j.key for j in jobs}) == len(jobs)


def test_time_warp_changes_duration_not_poses(robot):
    clip = standing_sway(robot, duration=2.0)
    cfg = GenerationConfig(loop_seconds=0.0)
    h = neutral_root_height(robot)
    slow = build_track(clip, robot, Variant(time_warp=0.8), cfg, HZ, h)
    fast = build_track(clip, robot, Variant(time_warp=1.25), cfg, HZ, h)
    assert slow.num_frames == int(round(2.0 / 0.8 * HZ)) + 1
    assert fast.num_frames == int(round(2.0 / 1.25 * HZ)) + 1
    # the same source instant (t = 0.8 s: frame 50 at 0.8x, frame 32 at 1.25x) shows the same pose
    np.testing.assert_allclose(slow.clip_time[50], 0.8)
    np.testing.assert_allclose(slow.joint_pos[50], fast.joint_pos[32], atol=1e-9)
    # joint velocities scale with the speed factor
    ratio = np.abs(fast.joint_vel).max() / np.abs(slow.joint_vel).max()
    assert ratio == pytest.approx(1.25 / 0.8, rel=0.03)


def test_loop_blends_through_neutral_and_continues_heading(robot):
    walk = synthetic_walk(robot, 2.0, 50.0, GaitParams(), heading=0.2)
    # a turning clip: 0.3 rad more heading at the end than at the start
    turn = Q.from_axis_angle(np.array([0, 0, 1.0]), np.linspace(0, 0.3, walk.num_frames))
    walk = dataclasses.replace(walk, root_quat=Q.multiply(turn, walk.root_quat))
    cfg = GenerationConfig(loop_seconds=7.0, blend_min_s=0.2, blend_max_s=0.4)
    track = build_track(walk, robot, Variant(), cfg, HZ, neutral_root_height(robot))
    cycles = np.unique(track.cycle[track.cycle >= 0])
    assert cycles.size == math.ceil(7.0 / (2.0 + 0.3))
    assert track.num_frames * track.dt >= 7.0
    for c in cycles[1:]:
        first = np.flatnonzero(track.cycle == c)[0]
        blend = np.flatnonzero(track.cycle[:first] == -1)
        blend = blend[blend > np.flatnonzero(track.cycle == c - 1)[-1]]
        assert 0.2 - 1e-9 <= blend.size * track.dt <= 0.4 + track.dt
        # the blend passes through the neutral standing pose
        dist = np.abs(track.joint_pos[blend] - robot.default_joint_pos).max(axis=1)
        assert dist.min() < 1e-9
        # each cycle starts where the previous ended, facing where it ended
        prev_last = np.flatnonzero(track.cycle == c - 1)[-1]
        np.testing.assert_allclose(track.root_pos[first, :2], track.root_pos[prev_last, :2], atol=1e-9)
        np.testing.assert_allclose(Q.yaw(track.root_quat[first]), Q.yaw(track.root_quat[prev_last]), atol=1e-9)
    # no jumps anywhere: joint targets move less than the clip's own largest step plus the blend's slope
    steps = np.abs(np.diff(track.joint_pos, axis=0)).max()
    clip_steps = np.abs(np.diff(walk.joint_pos, axis=0)).max()
    assert steps < clip_steps + 0.5 * np.abs(walk.joint_pos - robot.default_joint_pos).max()


def test_variants_from_config(robot):
    cfg = GenerationConfig(time_warps=(0.9, 1.0, 1.1), mirror=True, headings_deg=(0.0, 10.0))
    assert len(variants(cfg, robot)) == 12
    assert len(variants(dataclasses.replace(cfg, mirror=False), robot)) == 6
