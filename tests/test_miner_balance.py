"""Balance feedback under the closed-loop tracker: it finds each leg, leads the PD by the reference's joint
velocities, and is what keeps a G1 standing on its own soft gains with no harness and no sampling."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from wildrobot_amp_ext.miner.config import BalanceConfig, GenerationConfig, MinerConfig, MpcConfig, TrackingConfig
from wildrobot_amp_ext.miner.generation import Variant
from wildrobot_amp_ext.miner.pipeline import get_sim, mine_variant
from wildrobot_amp_ext.miner.probes import standing_sway
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.robots.mjcf import build_model

ONCE = GenerationConfig(loop_seconds=0.0, mirror=False, multi_start_interval=1000, rollout_frames=150)
#: harness-free, no sampling: whatever keeps the robot up is the balance feedback
FEEDBACK_ONLY = MinerConfig(tracking=TrackingConfig(orient_assist=False), mpc=MpcConfig(samples=0), generation=ONCE)


@pytest.fixture(scope="module")
def g1():
    return load_robot("unitree_g1_23dof")


def test_leg_chains_are_the_legs(g1):
    from wildrobot_amp_ext.miner.balance import leg_chains

    sim = get_sim(g1, FEEDBACK_ONLY)
    chains = leg_chains(g1, sim.model)
    names = [[g1.joint_names[i] for i in c] for c in chains]
    assert [len(n) for n in names] == [6, 6]
    assert all(n.startswith("left_") for n in names[0]) and all(n.startswith("right_") for n in names[1])
    wild = load_robot("wildrobot")
    wild_chains = leg_chains(wild, build_model(wild, with_floor=True))
    assert [len(c) for c in wild_chains] == [4, 4]


def test_velocity_lead_is_kd_over_kp_times_reference_velocity(g1):
    """Off by default (zero lead); on, the PD's damping tracks the reference's joint velocities."""
    clip = standing_sway(g1, duration=1.0)
    mine_variant(clip, g1, Variant(), FEEDBACK_ONLY)  # runs start() on the track
    assert not get_sim(g1, FEEDBACK_ONLY).tracker.balance.lead.any()
    lead_on = dataclasses.replace(FEEDBACK_ONLY, balance=BalanceConfig(velocity_lead=True))
    mine_variant(clip, g1, Variant(), lead_on)
    sim = get_sim(g1, lead_on)
    balance = sim.tracker.balance
    # the tracked model's gains: kp * scale, kd * sqrt(scale)
    lag = (g1.kd / g1.kp) / np.sqrt(sim.kp_scale)
    np.testing.assert_allclose(balance.lead, lag * balance._track.joint_vel, rtol=1e-6)
    assert np.abs(balance.lead).max() > 0  # the sway moves the knees


def test_feedback_keeps_a_g1_standing_without_harness_or_sampling(g1):
    clip = standing_sway(g1, duration=3.0)
    with_feedback = mine_variant(clip, g1, Variant(), FEEDBACK_ONLY)
    stats = dict(get_sim(g1, FEEDBACK_ONLY).tracker.balance.stats)
    without = mine_variant(
        clip, g1, Variant(), dataclasses.replace(FEEDBACK_ONLY, balance=BalanceConfig(balance=False))
    )
    assert without.falls == 1 and without.accepted_frames == 0
    assert with_feedback.falls == 0 and with_feedback.accepted_frames >= 100
    assert not with_feedback.traces["harness"].any()
    assert stats["stance_frames"] > 0
