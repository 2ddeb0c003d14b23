"""The foot reward terms' math (tasks.amp_locomotion.mdp.rewards) on hand-built contact points: what each term
charges and what it leaves free."""

import pytest
import torch

from wildrobot_amp_ext.features import SLIP_SPEED
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.rewards import landing_air_time, slip_excess

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


def test_landing_air_time_charges_quick_steps_and_pays_long_ones():
    """Per second of walking at 0.02 s rows: 60 ms swings (the shuffle of a policy that learned quick steps) cost,
    0.3 s swings pay, standing with both feet down earns nothing."""
    threshold, dt = 0.2, 0.02

    def per_second(swing_rows: int, stance_rows: int) -> float:
        period = swing_rows + stance_rows
        rows = torch.arange(50)
        contact = ((rows % period) >= swing_rows).unsqueeze(1)  # one foot, air first then stance
        touchdown = contact & ~torch.roll(contact, 1, dims=0)
        touchdown[0] = False
        air = torch.full((50, 1), swing_rows * dt)
        return landing_air_time(air, touchdown, threshold).sum().item()

    assert per_second(3, 3) == pytest.approx(8 * (0.06 - threshold))  # 8 quick steps
    assert per_second(15, 10) == pytest.approx(2 * (0.3 - threshold))
    assert per_second(3, 3) < 0 < per_second(15, 10)
    standing = torch.zeros(50, 2, dtype=torch.bool)
    assert landing_air_time(torch.zeros(50, 2), standing, threshold).sum().item() == 0.0


def test_landing_term_measures_the_air_time_of_each_step():
    """The term's own bookkeeping on a scripted contact sequence (no env: ``feet()`` and the command are stubbed)."""
    from types import SimpleNamespace

    from wildrobot_amp_ext.tasks.amp_locomotion.mdp.rewards import feet_air_time_landing

    # one env, two feet: left in the air rows 0-2 (lands row 3), right lifts at row 2 and lands at row 10
    left = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    right = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    term = feet_air_time_landing.__new__(feet_air_time_landing)
    term.air_time = torch.zeros(1, 2)
    term.in_contact = torch.ones(1, 2, dtype=torch.bool)
    env = SimpleNamespace(
        step_dt=0.02, command_manager=SimpleNamespace(get_command=lambda name: torch.tensor([[0.3, 0.0, 0.0]]))
    )
    rewards = []
    for l_down, r_down in zip(left, right):
        contact = torch.tensor([[bool(l_down), bool(r_down)]])
        term.feet = lambda contact=contact: SimpleNamespace(contact=contact)
        rewards.append(term(env, command_name="base_velocity", threshold=0.2).item())
    expected = [0.0] * len(left)
    expected[3] = 3 * 0.02 - 0.2  # in the air from the reset: 3 rows
    expected[10] = 8 * 0.02 - 0.2  # rows 2-9
    assert rewards == pytest.approx(expected)
    # a reset clears only the envs it names: two envs mid-swing, env 0 reset
    term.air_time = torch.full((2, 2), 0.1)
    term.in_contact = torch.tensor([[False, True], [False, True]])
    term.reset(torch.tensor([0]))
    assert term.in_contact[0].all() and not term.air_time[0].any()
    assert not term.in_contact[1, 0] and term.air_time[1].tolist() == pytest.approx([0.1, 0.1])
