"""Evaluation metrics on synthetic rollouts whose truth is known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wildrobot_amp_ext.evaluation.metrics import (
    MetricsCfg,
    contact_pattern,
    discriminator_scores,
    episode_stats,
    foot_slip,
    steps_since_reset,
    velocity_tracking,
)
from wildrobot_amp_ext.evaluation.rollout import Rollout

DT = 0.02


def flags(shape, events: dict[tuple[int, int], str]):
    terminated = torch.zeros(shape, dtype=torch.bool)
    truncated = torch.zeros(shape, dtype=torch.bool)
    for (t, e), kind in events.items():
        (terminated if kind == "fall" else truncated)[t, e] = True
    return terminated, truncated


# ----------------------------------------------------------------------------------------------------------------
# episodes and falls
# ----------------------------------------------------------------------------------------------------------------
def test_scripted_falls():
    # env 0 falls at steps 49 and 149, env 1 times out at 99, envs 2 and 3 survive the 200 steps
    terminated, truncated = flags((200, 4), {(49, 0): "fall", (149, 0): "fall", (99, 1): "timeout"})
    stats = episode_stats(terminated, truncated, DT)
    assert stats["falls"] == 2 and stats["timeouts"] == 1
    assert stats["episodes"] == 3 + 4  # three finished, one running per env at the end
    assert stats["fall_rate"] == pytest.approx(2 / 7)
    assert stats["first_episode_fall_fraction"] == pytest.approx(1 / 4)
    # finished episodes: env 0 steps 0..49 (50) and 50..149 (100); env 1 steps 0..99 (100)
    assert stats["episode_length_steps_finished_mean"] == pytest.approx((50 + 100 + 100) / 3)
    # with the running ones (env 0: 50, env 1: 100, envs 2/3: 200) as a lower bound
    assert stats["episode_length_s_mean_lower_bound"] == pytest.approx((50 + 100 + 100 + 50 + 100 + 200 + 200) / 7 * DT)
    assert stats["falls_per_minute"] == pytest.approx(2 / (4 * 200 * DT / 60))


def test_no_falls_and_all_falls():
    terminated, truncated = flags((50, 3), {})
    stats = episode_stats(terminated, truncated, DT)
    assert stats["fall_rate"] == 0 and stats["episode_length_steps_finished_mean"] is None
    assert stats["episode_length_s_mean_lower_bound"] == pytest.approx(50 * DT)
    terminated, truncated = flags((50, 3), {(9, e): "fall" for e in range(3)})
    assert episode_stats(terminated, truncated, DT)["first_episode_fall_fraction"] == 1.0


def test_steps_since_reset_matches_a_loop():
    gen = torch.Generator().manual_seed(0)
    terminated = torch.rand(300, 6, generator=gen) < 0.03
    truncated = torch.rand(300, 6, generator=gen) < 0.01
    got = steps_since_reset(terminated, truncated)
    expected = np.zeros((300, 6), dtype=np.int64)
    for e in range(6):
        count = 0
        for t in range(300):
            count = 0 if t == 0 or terminated[t, e] or truncated[t, e] else count + 1
            expected[t, e] = count
    np.testing.assert_array_equal(got.numpy(), expected)


# ----------------------------------------------------------------------------------------------------------------
# velocity tracking
# ----------------------------------------------------------------------------------------------------------------
def yaw_quat(yaw: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.cos(yaw / 2), torch.zeros_like(yaw), torch.zeros_like(yaw), torch.sin(yaw / 2)], dim=-1)


def test_velocity_tracking_in_the_heading_frame():
    steps, envs = 100, 3
    yaw = torch.tensor([0.0, 1.0, -2.5], dtype=torch.float64).expand(steps, envs)
    v_heading = torch.tensor([0.3, 0.1, 0.0], dtype=torch.float64)
    c, s = torch.cos(yaw), torch.sin(yaw)
    lin_w = torch.stack(
        [c * v_heading[0] - s * v_heading[1], s * v_heading[0] + c * v_heading[1], torch.zeros_like(yaw)], dim=-1
    )
    ang_w = torch.zeros(steps, envs, 3, dtype=torch.float64)
    ang_w[..., 2] = 0.5
    command = torch.tensor([0.3, 0.0, 0.2], dtype=torch.float64).expand(steps, envs, 3)
    # a reset at step 40 in env 1: the next settle_s are garbage and must not count
    terminated, truncated = flags((steps, envs), {(40, 1): "fall"})
    lin_w = lin_w.clone()
    cfg = MetricsCfg(settle_s=0.2)  # 10 rows at DT
    lin_w[40:50, 1, 0] = 10.0
    lin_w[:10, :, 0] = -10.0  # the first rows of the recording are an episode start too
    out = velocity_tracking(yaw_quat(yaw), lin_w, ang_w, command, terminated, truncated, DT, cfg)
    assert out["lin_vel_error_mean"] == pytest.approx(0.1, abs=1e-12)
    assert out["ang_vel_error_mean"] == pytest.approx(0.3, abs=1e-12)
    assert out["lin_vel_x_mean"] == pytest.approx(0.3) and out["lin_vel_y_mean"] == pytest.approx(0.1)
    assert out["tracked_rows"] == steps * envs - 10 * envs - 10


# ----------------------------------------------------------------------------------------------------------------
# feet
# ----------------------------------------------------------------------------------------------------------------
def test_slip_of_a_foot_sliding_at_a_known_speed():
    steps, envs = 80, 3
    speeds = torch.tensor([0.0, 0.05, 0.3], dtype=torch.float64)  # per env, foot 0 slides along x while on the floor
    t = torch.arange(steps, dtype=torch.float64).unsqueeze(1) * DT
    pos = torch.zeros(steps, envs, 4, 3, dtype=torch.float64)
    pos[:, :, 0:2, 0] = (speeds * t).unsqueeze(-1)  # toe and heel of foot 0
    pos[:, :, 2:4, 2] = 0.10  # foot 1 in the air ...
    vel = torch.zeros_like(pos)
    vel[1:] = (pos[1:] - pos[:-1]) / DT  # velocities by finite differences of the positions
    vel[0] = vel[1]
    vel[:, :, 2:4, 0] = 2.0  # ... swinging fast: not slip
    out = foot_slip(pos, vel, MetricsCfg(contact_height=0.02, slip_speed=0.1))
    assert out["slip_speed_mean"] == pytest.approx(float(speeds.mean()), rel=1e-9)
    assert out["slip_rate"] == pytest.approx(1 / 3)  # only the 0.3 m/s env exceeds 0.1 m/s
    assert out["stance_foot_rows"] == steps * envs  # foot 0 in every row, once per foot (not per point)


def test_slip_counts_stance_feet_only_skimming_swings_and_rolling_feet_do_not_slip():
    # one row per env, two feet (toe, heel): what the near-ground band (2.5 cm) called slip and what slips
    pos = torch.zeros(1, 4, 4, 3, dtype=torch.float64)
    vel = torch.zeros_like(pos)
    pos[0, :, 2:4, 2] = 0.10  # foot 1 in the air everywhere
    pos[0, 0, 0:2, 2] = 0.006  # env 0: foot 0 swings 6 mm above the floor at 0.5 m/s (a shuffling step)
    vel[0, 0, 0:2, 0] = 0.5
    pos[0, 1, 1, 2] = 0.015  # env 1: foot 0 rolls over its toe: toe on the floor and still, heel rising and moving
    vel[0, 1, 1, 0] = 0.3
    vel[0, 2, 0:2, 0] = 0.2  # env 2: foot 0 flat on the floor, sliding at 0.2 m/s
    pos[0, 3, 0:2, 2] = -0.002  # env 3: foot 0 pressed 2 mm into the (soft) floor, still
    out = foot_slip(pos, vel, MetricsCfg())
    assert out["stance_foot_rows"] == 3  # envs 1-3; the skimming swing is no stance
    assert out["slip_rate"] == pytest.approx(1 / 3)  # only the sliding foot
    assert out["slip_speed_mean"] == pytest.approx(0.2 / 3)


def gait_contacts(pattern: list[str], hold: int = 5, double: int = 2) -> torch.Tensor:
    """Contact-point positions for a touch-down sequence (``"L"``/``"R"``): each step the named foot lands and stays
    ``hold`` rows, overlapping the previous stance by ``double`` rows (double support), the other foot in the air; both
    feet are in the air for the first 3 rows (60 ms: the first landing is a step)."""
    lead = 3
    rows = len(pattern) * hold + double + lead
    down = torch.zeros(rows, 2, dtype=torch.bool)
    for k, foot in enumerate(pattern):
        f = 0 if foot == "L" else 1
        # the same foot next: lift it 3 rows (60 ms, a short step) before it lands again, else overlap the other
        # foot's landing
        same_next = k + 1 < len(pattern) and pattern[k + 1] == foot
        end = (k + 1) * hold if same_next else (k + 1) * hold + double + lead
        down[k * hold + lead : end, f] = True
    pos = torch.zeros(rows, 1, 4, 3, dtype=torch.float64)
    pos[..., 2] = torch.where(down.repeat_interleave(2, dim=1), 0.0, 0.05).unsqueeze(1)
    return pos, down


def test_alternating_gait():
    pos, down = gait_contacts(list("LRLRLRLR"))
    terminated, truncated = flags(pos.shape[:2], {})
    out = contact_pattern(pos, terminated, truncated, MetricsCfg(), dt=DT)
    assert out["step_alternation"] == 1.0 and out["touchdowns"] == 8 and out["step_pairs"] == 7
    rows = down.shape[0]
    assert out["single_stance_fraction"] == pytest.approx(float((down.sum(1) == 1).sum()) / rows)
    assert out["double_stance_fraction"] == pytest.approx(float((down.sum(1) == 2).sum()) / rows)
    assert out["single_stance_fraction"] + out["double_stance_fraction"] + out["flight_fraction"] == pytest.approx(1.0)
    assert out["double_stance_fraction"] > 0.2  # the built-in overlap


def test_limping_and_hopping_gaits():
    cfg = MetricsCfg()
    pos, _ = gait_contacts(list("LLRLLRLLR"))
    terminated, truncated = flags(pos.shape[:2], {})
    out = contact_pattern(pos, terminated, truncated, cfg, dt=DT)
    # consecutive pairs: LL RL LR LL RL LR LL R... -> switches on L->R and R->L only
    seq = "LLRLLRLLR"
    expected = sum(a != b for a, b in zip(seq, seq[1:])) / (len(seq) - 1)
    assert out["step_alternation"] == pytest.approx(expected)
    # one foot hops, the other never lands
    pos = torch.zeros(60, 1, 4, 3, dtype=torch.float64)
    pos[..., 2:4, 2] = 0.1
    pos[:, 0, 0:2, 2] = torch.where((torch.arange(60) // 6) % 2 == 0, 0.0, 0.05).double().unsqueeze(-1)
    out = contact_pattern(pos, *flags((60, 1), {}), cfg, dt=DT)
    assert out["step_alternation"] == 0.0 and out["single_stance_fraction"] == pytest.approx(0.5)


def test_contact_chatter_is_no_step_and_swing_time_is_measured():
    """A foot that re-touches 1-2 rows after lifting off is chatter at the edge of the contact rule's bands: not a
    step, so an alternating gait that chatters still alternates; swing time is the median air time of the steps."""
    pos, _ = gait_contacts(list("LRLRLRLR"), hold=20, double=2)
    clean = contact_pattern(pos, *flags(pos.shape[:2], {}), MetricsCfg(), dt=DT)
    chattering = pos.clone()
    for start in (8, 48, 88):  # left foot stance rows: lift it for 2 rows, then back down
        chattering[start : start + 2, 0, 0:2, 2] = 0.05
    out = contact_pattern(chattering, *flags(pos.shape[:2], {}), MetricsCfg(), dt=DT)
    assert out["touchdowns"] == clean["touchdowns"] == 8 and out["step_alternation"] == 1.0
    # counted as steps (no minimum air time) the chatter breaks the alternation: the old behaviour
    loose = contact_pattern(chattering, *flags(pos.shape[:2], {}), MetricsCfg(min_air_time=0.0), dt=DT)
    assert loose["touchdowns"] == 11 and loose["step_alternation"] == pytest.approx(7 / 10)
    # a foot lifts off as the other lands and is in the air for a step minus the double support: 20 - 2 rows
    assert clean["swing_time"] == pytest.approx((20 - 2) * DT)
    assert out["swing_time"] == clean["swing_time"]  # the chatter's 2-row lifts are no swings


def feet_rows(left: str, right: str) -> torch.Tensor:
    """(T, 1, 4, 3) contact points of one env from two strings of "|" (down) and "." (in the air)."""
    down = torch.tensor([[a == "|", b == "|"] for a, b in zip(left, right)])
    pos = torch.zeros(len(left), 1, 4, 3, dtype=torch.float64)
    pos[..., 2] = torch.where(down.repeat_interleave(2, dim=1), 0.0, 0.05).unsqueeze(1)
    return pos


@pytest.mark.parametrize(
    "left, reset_row, steps, swing",
    [
        # a foot in the air at the episode start lands after 3 rows: a step, its lift-off unrecorded (no swing)
        ("...|||||", None, 1, None),
        # ... after 1 row: chatter, no step
        (".|||||||", None, 0, None),
        # the previous episode ends with the foot in the air; it lands 1 row after the reset: no step
        ("||....|||||", 5, 0, None),
        # a reset mid-swing: the air time counts from the reset (3 rows), the lift-off belongs to the other episode
        ("||......||||", 5, 1, None),
        # a swing inside the episode: 4 rows in the air
        ("|||....|||", None, 1, 4 * DT),
    ],
)
def test_steps_and_swings_around_episode_starts(left, reset_row, steps, swing):
    right = "|" * len(left)  # the other foot stands
    events = {} if reset_row is None else {(reset_row, 0): "timeout"}
    out = contact_pattern(feet_rows(left, right), *flags((len(left), 1), events), MetricsCfg(), dt=DT)
    assert out["touchdowns"] == steps
    assert out["swing_time"] == (None if swing is None else pytest.approx(swing))


def test_swing_time_is_the_median_of_the_swings():
    """Two swings of 3 and 15 rows: the median is their mean (not the lower one)."""
    left = "||...||" + "|" * 3 + "." * 15 + "||"
    out = contact_pattern(feet_rows(left, "|" * len(left)), *flags((len(left), 1), {}), MetricsCfg(), dt=DT)
    assert out["touchdowns"] == 2 and out["swing_time"] == pytest.approx(9 * DT)


def test_no_touchdown_is_counted_across_a_reset():
    pos, _ = gait_contacts(list("LRLR"))
    rows = pos.shape[0]
    both = torch.cat([pos, pos], dim=0)  # the gait twice, a reset between
    terminated, truncated = flags((2 * rows, 1), {(rows, 0): "timeout"})
    out = contact_pattern(both, terminated, truncated, MetricsCfg(), dt=DT)
    assert out["touchdowns"] == 8 and out["step_pairs"] == 6 and out["step_alternation"] == 1.0


# ----------------------------------------------------------------------------------------------------------------
# discriminator and the whole rollout
# ----------------------------------------------------------------------------------------------------------------
def test_discriminator_scores_follow_skrl():
    logits = torch.tensor([[-3.0, 0.0], [2.0, 12.0]])
    out = discriminator_scores(logits)
    skrl_style = -torch.log(torch.maximum(1 - 1 / (1 + torch.exp(-logits)), torch.tensor(0.0001)))
    assert out["style_reward_mean"] == pytest.approx(float(skrl_style.mean()), rel=1e-6)
    assert out["disc_prob_mean"] == pytest.approx(float(torch.sigmoid(logits).mean()))
    assert out["disc_logit_mean"] == pytest.approx(2.75)


def test_rollout_metrics_per_env_subset():
    from wildrobot_amp_ext.evaluation.metrics import rollout_metrics

    steps, envs = 50, 4
    zeros = np.zeros((steps, envs, 3))
    quat = np.tile([1.0, 0, 0, 0], (steps, envs, 1))
    lin = zeros.copy()
    lin[..., 0] = np.array([0.1, 0.2, 0.3, 0.4])
    command = zeros.copy()
    terminated = np.zeros((steps, envs), dtype=bool)
    terminated[20, 3] = True
    rollout = Rollout(
        fps=1 / DT,
        robot="x",
        joint_names=(),
        root_pos=zeros,
        root_quat=quat,
        joint_pos=np.zeros((steps, envs, 1)),
        terminated=terminated,
        truncated=np.zeros_like(terminated),
        root_lin_vel=lin,
        root_ang_vel=zeros,
        command=command,
    )
    sub = rollout_metrics(rollout, MetricsCfg(settle_s=0.0), env_ids=[1, 3])
    assert sub["envs"] == 2 and sub["falls"] == 1
    assert sub["lin_vel_error_mean"] == pytest.approx(0.3)
    assert math.isclose(rollout_metrics(rollout, MetricsCfg(settle_s=0.0))["lin_vel_error_mean"], 0.25)
