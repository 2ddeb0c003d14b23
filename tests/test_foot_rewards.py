"""The foot reward terms' math (tasks.amp_locomotion.mdp.rewards) on hand-built contact points: what each term
charges and what it leaves free."""

import pytest
import torch

from wildrobot_amp_ext.features import SLIP_SPEED
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.rewards import slip_excess

DEAD_ZONE = 0.05


def _two_feet(left_pos, left_vel, right_pos, right_vel):
    """(1, 4, 3) contact positions and velocities, RobotSpec order: left toe, left heel, right toe, right heel."""
    pos = torch.tensor([[*left_pos, *right_pos]], dtype=torch.float32)
    vel = torch.tensor([[*left_vel, *right_vel]], dtype=torch.float32)
    return pos, vel


ON_FLOOR = [(0.05, 0.1, -0.001), (-0.05, 0.1, -0.001)]
STILL = [(0.0, 0.0, 0.0), (0.0, 0.0, 0.0)]


@pytest.mark.parametrize(
    "left_pos, left_vel, expected",
    [
        # both points of a loaded foot slide at 0.2 m/s: the excess over the dead zone is charged
        (ON_FLOOR, [(0.2, 0.0, 0.0), (0.2, 0.0, 0.0)], 0.2 - DEAD_ZONE),
        # rolling over the toe: the heel rises fast, the toe is still -> no slip
        ([(0.05, 0.1, -0.001), (-0.05, 0.1, 0.004)], [(0.0, 0.0, 0.0), (0.3, 0.0, 0.2)], 0.0),
        # pivoting on the heel to turn: the toe sweeps at 0.5 rad/s * 0.1 m, the heel creeps at 0.03 m/s -> free
        (ON_FLOOR, [(0.0, 0.05, 0.0), (0.0, 0.03, 0.0)], 0.0),
        # a swing foot skimming 5 mm above the floor at 0.4 m/s is no stance foot
        ([(0.05, 0.1, 0.005), (-0.05, 0.1, 0.005)], [(0.4, 0.0, 0.0), (0.4, 0.0, 0.0)], 0.0),
    ],
)
def test_slip_excess_charges_only_a_stance_foot_sliding_past_the_dead_zone(left_pos, left_vel, expected):
    pos, vel = _two_feet(left_pos, left_vel, ON_FLOOR, STILL)
    assert slip_excess(pos, vel, DEAD_ZONE).item() == pytest.approx(expected, abs=1e-6)


def test_slip_excess_sums_feet_and_its_dead_zone_sits_below_the_slip_metric():
    sliding = [(0.15, 0.0, 0.0), (0.15, 0.0, 0.0)]
    pos, vel = _two_feet(ON_FLOOR, sliding, ON_FLOOR, sliding)
    assert slip_excess(pos, vel, DEAD_ZONE).item() == pytest.approx(2 * (0.15 - DEAD_ZONE), abs=1e-6)
    # a foot the evaluation counts as slipping (> SLIP_SPEED) always pays: the dead zone is below the metric's gate
    assert DEAD_ZONE < SLIP_SPEED
    slow = [(SLIP_SPEED + 0.01, 0.0, 0.0)] * 2
    pos, vel = _two_feet(ON_FLOOR, slow, ON_FLOOR, STILL)
    assert slip_excess(pos, vel, DEAD_ZONE).item() > 0.0
