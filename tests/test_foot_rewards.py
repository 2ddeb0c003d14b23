"""The foot reward terms' math (mdp.rewards): the slide penalty counts stance feet only (the evaluation's slip rule),
the clearance penalty is relative to the target height so one weight fits robots of any size."""

from __future__ import annotations

import pytest
import torch

from wildrobot_amp_ext.features import ContactRule
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.rewards import clearance_error, feet_state, slide_speed


def points(left_z, right_z, left_vx, right_vx):
    """(1, 4, 3) contact points (left toe, left heel, right toe, right heel) and their velocities."""
    pos = torch.tensor([[[0.1, 0.1, left_z], [0.0, 0.1, left_z], [0.1, -0.1, right_z], [0.0, -0.1, right_z]]])
    vel = torch.tensor([[[left_vx, 0, 0], [left_vx, 0, 0], [right_vx, 0, 0], [right_vx, 0, 0]]], dtype=torch.float32)
    return pos, vel


RULE = ContactRule(height=0.025, speed=0.2)


def test_a_swing_foot_skimming_the_floor_is_no_slip_and_a_sliding_stance_foot_is():
    skimming = feet_state(*points(0.0, 0.01, 0.0, 0.6), RULE)  # right foot 1 cm up, swinging at 0.6 m/s
    assert slide_speed(skimming).item() == pytest.approx(0.0)
    sliding = feet_state(*points(0.0, 0.001, 0.0, 0.3), RULE)  # right foot touching, moving 0.3 m/s
    assert slide_speed(sliding).item() == pytest.approx(0.3)


def test_clearance_is_relative_to_the_target_height():
    small = clearance_error(feet_state(*points(0.0, 0.01, 0.0, 0.5), RULE), target_height=0.03)
    large = clearance_error(feet_state(*points(0.0, 0.01 * 0.08 / 0.03, 0.0, 0.5), RULE), target_height=0.08)
    assert small.item() == pytest.approx(((0.01 - 0.03) / 0.03) ** 2 * 0.5, rel=1e-5)
    assert large.item() == pytest.approx(small.item(), rel=1e-5)  # the same step scaled up: the same penalty
    still = clearance_error(feet_state(*points(0.0, 0.01, 0.0, 0.0), RULE), target_height=0.03)
    assert still.item() == 0.0  # a still foot is not penalised
