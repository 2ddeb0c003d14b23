"""Evaluation metrics over recorded rollouts: pure, vectorised torch functions (no env, no Python loop over steps).

Inputs follow :mod:`wildrobot_amp_ext.evaluation.rollout`: tensors shaped (T steps, E envs, ...), row ``t`` the
state after step ``t``; ``terminated[t] | truncated[t]`` means the env was reset inside step ``t``, so row ``t``
already holds the next episode's first state. Quaternions are wxyz. Every threshold lives in :class:`MetricsCfg`.

=========================  =================================================================================
metric                     definition
=========================  =================================================================================
velocity tracking          |v_xy(heading frame) - cmd_xy| and |w_z - cmd_wz| on rows at least ``settle_s``
                           into their episode (the policy needs a moment after a reset)
fall rate                  terminated episodes / episodes started (an episode cut by the end of the recording
                           counts, unfinished); also the fraction of envs whose first episode ended in a fall
episode length             steps (and s) per finished episode; mean over all episodes with the unfinished ones
                           counted up to the end of the recording (a lower bound)
discriminator score        mean logit, mean D = sigmoid(logit) and mean skrl style reward
                           -log(max(1 - D, 1e-4)) of the policy's AMP observations
foot slip                  per stance foot (a contact point below ``touch_height``), the horizontal speed of its
                           slowest touching point (features.contact.stance_slip): mean, p95, and the fraction of
                           stance foot-rows above ``slip_speed`` (stance slip rate)
contact pattern            fractions of single-stance / double-stance / flight rows; step alternation = share of
                           consecutive steps (same env and episode) made by the other foot, where a step is a
                           touch-down after at least ``min_air_time`` in the air (a foot re-touching within a few
                           rows is contact chatter, not a step); swing time = median air time of the steps whose
                           lift-off was recorded
=========================  =================================================================================
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from wildrobot_amp_ext.features import (
    CONTACT_HEIGHT,
    CONTACT_SPEED,
    SLIP_SPEED,
    TOUCH_HEIGHT,
    ContactRule,
    heading_yaw,
    rotate_into_heading,
    stance_slip,
)

STYLE_REWARD_FLOOR = 1e-4  # skrl AMP: -log(max(1 - D, 1e-4))


@dataclass
class MetricsCfg:
    #: the features' contact rule (features.contact); evaluate() sets both from the env's FeatureSpec
    contact_height: float = CONTACT_HEIGHT
    contact_speed: float = CONTACT_SPEED
    #: m: a foot with a contact point below this height is in stance (features.contact.TOUCH_HEIGHT)
    touch_height: float = TOUCH_HEIGHT
    #: m/s: a stance foot whose slowest touching point moves faster than this horizontally slips
    slip_speed: float = SLIP_SPEED
    #: s after each reset excluded from velocity tracking
    settle_s: float = 0.5
    #: s a foot must be in the air before a touch-down counts as a step. In WildRobot's reference walking, 30-40 % of
    #: the touch-downs come 20-40 ms after a lift-off (the contact rule chattering at the edge of its height and
    #: speed bands; its real swings last 0.2-0.36 s): counted as steps they put its alternation at 0.60, at 0.06 s
    #: 0.81. Not higher: the shipped policy's swings last 0.04-0.10 s (median 0.06)
    min_air_time: float = 0.06


def as_tensor(x, dtype: torch.dtype | None = torch.float64) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    return t.to(dtype) if dtype is not None else t


# ----------------------------------------------------------------------------------------------------------------
# episodes
# ----------------------------------------------------------------------------------------------------------------
def episode_starts(terminated: torch.Tensor, truncated: torch.Tensor) -> torch.Tensor:
    """(T, E) bool: rows that are an episode's first recorded state (row 0 and every done row)."""
    done = terminated.bool() | truncated.bool()
    starts = done.clone()
    starts[0] = True
    return starts


def steps_since_reset(terminated: torch.Tensor, truncated: torch.Tensor) -> torch.Tensor:
    """(T, E) long: rows since the episode's first recorded row (0 on that row)."""
    starts = episode_starts(terminated, truncated)
    t = torch.arange(starts.shape[0], device=starts.device).unsqueeze(1).expand_as(starts)
    last_start = torch.where(starts, t, torch.zeros_like(t)).cummax(dim=0).values
    return t - last_start


def episode_index(terminated: torch.Tensor, truncated: torch.Tensor) -> torch.Tensor:
    """(T, E) long: per env, which episode (0, 1, ...) each row belongs to."""
    done = (terminated.bool() | truncated.bool()).long()
    return done.cumsum(dim=0)


def episode_stats(terminated: torch.Tensor, truncated: torch.Tensor, dt: float) -> dict:
    """Fall rate and episode lengths. An episode's length counts env steps, its terminal step included."""
    terminated, truncated = terminated.bool(), truncated.bool()
    num_steps, num_envs = terminated.shape
    done = terminated | truncated
    falls = int(terminated.sum())
    finished = int(done.sum())
    episodes = finished + num_envs  # every env also has one episode running when the recording ends

    # lengths of finished episodes: distance to the previous done row (or to the reset before row 0)
    t = torch.arange(num_steps, device=done.device).unsqueeze(1).expand_as(done)
    prev = torch.where(done, t, torch.full_like(t, -1)).cummax(dim=0).values  # last done row at or before t
    prev_before = torch.cat([torch.full_like(prev[:1], -1), prev[:-1]], dim=0)  # strictly before t
    lengths = (t - prev_before)[done].double()
    open_lengths = (num_steps - 1 - prev[-1]).double()  # the running episodes, cut by the end of the recording
    all_lengths = torch.cat([lengths, open_lengths])

    first_done = torch.where(done, t, torch.full_like(t, num_steps)).min(dim=0).values  # (E,)
    first_fell = terminated.gather(0, first_done.clamp(max=num_steps - 1).unsqueeze(0)).squeeze(0) & (
        first_done < num_steps
    )
    return {
        "episodes": episodes,
        "finished_episodes": finished,
        "falls": falls,
        "timeouts": int(truncated.sum()),
        "fall_rate": falls / episodes if episodes else 0.0,
        "first_episode_fall_fraction": float(first_fell.double().mean()),
        "falls_per_minute": falls / (num_envs * num_steps * dt / 60.0),
        "episode_length_steps_finished_mean": float(lengths.mean()) if lengths.numel() else None,
        "episode_length_s_finished_mean": float(lengths.mean() * dt) if lengths.numel() else None,
        "episode_length_s_mean_lower_bound": float(all_lengths.mean() * dt),
    }


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> float | None:
    n = mask.sum()
    return float((x * mask).sum() / n) if n > 0 else None


# ----------------------------------------------------------------------------------------------------------------
# velocity tracking
# ----------------------------------------------------------------------------------------------------------------
def tracking_errors(
    root_quat: torch.Tensor, root_lin_vel: torch.Tensor, root_ang_vel: torch.Tensor, command: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: |v_xy - cmd_xy| in the heading (yaw) frame and |w_z - cmd_wz|; (T, E) each."""
    v_heading = rotate_into_heading(root_lin_vel, heading_yaw(root_quat))
    lin = torch.linalg.vector_norm(v_heading[..., :2] - command[..., :2], dim=-1)
    ang = (root_ang_vel[..., 2] - command[..., 2]).abs()
    return lin, ang


def velocity_tracking(
    root_quat, root_lin_vel, root_ang_vel, command, terminated, truncated, dt: float, cfg: MetricsCfg
) -> dict:
    lin, ang = tracking_errors(root_quat, root_lin_vel, root_ang_vel, command)
    settled = steps_since_reset(terminated, truncated) >= int(math.ceil(cfg.settle_s / dt))
    m = settled.double()
    v_heading = rotate_into_heading(root_lin_vel, heading_yaw(root_quat))
    return {
        "lin_vel_error_mean": _masked_mean(lin, m),
        "ang_vel_error_mean": _masked_mean(ang, m),
        "lin_vel_x_mean": _masked_mean(v_heading[..., 0], m),
        "lin_vel_y_mean": _masked_mean(v_heading[..., 1], m),
        "ang_vel_z_mean": _masked_mean(root_ang_vel[..., 2], m),
        "tracked_rows": int(settled.sum()),
    }


# ----------------------------------------------------------------------------------------------------------------
# discriminator
# ----------------------------------------------------------------------------------------------------------------
def discriminator_scores(logits: torch.Tensor, mask: torch.Tensor | None = None) -> dict:
    """Mean logit, mean D and mean skrl style reward of the policy's AMP observations."""
    logits = logits.double()
    m = torch.ones_like(logits) if mask is None else mask.double()
    prob = torch.sigmoid(logits)
    style = -torch.log(torch.clamp(1.0 - prob, min=STYLE_REWARD_FLOOR))
    return {
        "disc_logit_mean": _masked_mean(logits, m),
        "disc_prob_mean": _masked_mean(prob, m),
        "style_reward_mean": _masked_mean(style, m),
    }


# ----------------------------------------------------------------------------------------------------------------
# feet
# ----------------------------------------------------------------------------------------------------------------
def contact_rule(cfg: MetricsCfg) -> ContactRule:
    return ContactRule(height=cfg.contact_height, speed=cfg.contact_speed)


def foot_contacts(contact_pos: torch.Tensor, cfg: MetricsCfg, contact_vel: torch.Tensor | None = None) -> torch.Tensor:
    """(T, E, F) bool: the contact rule per foot (``contact_vel`` None: the points are taken as still)."""
    vel = torch.zeros_like(contact_pos) if contact_vel is None else contact_vel
    return contact_rule(cfg).foot_contacts(contact_pos, vel)


def foot_slip(
    contact_pos: torch.Tensor, contact_vel: torch.Tensor, cfg: MetricsCfg, mask: torch.Tensor | None = None
) -> dict:
    """Slip speed of the stance feet (features.contact.stance_slip): mean (m/s), 95th percentile and the fraction of
    stance foot-rows above ``slip_speed``. A swing foot skimming the floor (above ``touch_height``) is not counted."""
    stance, slip = stance_slip(contact_pos, contact_vel, cfg.touch_height)
    if mask is not None:
        stance = stance & mask.bool().unsqueeze(-1)
    speed = slip[stance]
    if speed.numel() == 0:
        return {"slip_speed_mean": None, "slip_speed_p95": None, "slip_rate": None, "stance_foot_rows": 0}
    return {
        "slip_speed_mean": float(speed.mean()),
        "slip_speed_p95": float(torch.quantile(speed.double(), 0.95)),
        "slip_rate": float((speed > cfg.slip_speed).double().mean()),
        "stance_foot_rows": int(speed.numel()),
    }


def _shift_down(x: torch.Tensor) -> torch.Tensor:
    """Row t holds row t-1's value (row 0 its own)."""
    return torch.cat([x[:1], x[:-1]], dim=0)


def contact_pattern(
    contact_pos: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    cfg: MetricsCfg,
    contact_vel: torch.Tensor | None = None,
    *,
    dt: float,
) -> dict:
    """Stance fractions and the step alternation score (two feet); ``dt`` s per row."""
    feet = foot_contacts(contact_pos, cfg, contact_vel)  # (T, E, F)
    num_steps, num_envs, num_feet = feet.shape
    down = feet.sum(dim=-1)
    rows = num_steps * num_envs
    starts = episode_starts(terminated, truncated).unsqueeze(-1)
    previous = torch.cat([feet[:1], feet[:-1]], dim=0)
    touchdown = feet & ~previous & ~starts  # no touch-down across a reset
    # air time before each touch-down: rows since the foot's last contact row, or since its episode began
    t = torch.arange(num_steps, device=feet.device).view(-1, 1, 1)
    last_contact = _shift_down(torch.where(feet, t, -1).cummax(dim=0).values)
    before_start = _shift_down(torch.where(starts, t - 1, -1).expand_as(feet).cummax(dim=0).values)
    air_time = (t - torch.maximum(last_contact, before_start) - 1).double() * dt
    touchdown &= air_time >= cfg.min_air_time - 1e-9
    swings = air_time[touchdown & (last_contact > before_start)]  # lifted off inside the episode

    # consecutive touch-downs per env and episode, in time order: vectorised by sorting on (env, time)
    t_idx, e_idx, f_idx = torch.nonzero(touchdown, as_tuple=True)
    order = torch.argsort(e_idx * num_steps + t_idx, stable=True)
    t_idx, e_idx, f_idx = t_idx[order], e_idx[order], f_idx[order]
    episode = episode_index(terminated, truncated)[t_idx, e_idx]
    same = (e_idx[1:] == e_idx[:-1]) & (episode[1:] == episode[:-1]) & (t_idx[1:] > t_idx[:-1])
    switched = (f_idx[1:] != f_idx[:-1])[same]
    return {
        "single_stance_fraction": float((down == 1).double().sum() / rows),
        "double_stance_fraction": float((down >= 2).double().sum() / rows),
        "flight_fraction": float((down == 0).double().sum() / rows),
        "touchdowns": int(touchdown.sum()),
        "step_alternation": float(switched.double().mean()) if switched.numel() else None,
        "step_pairs": int(switched.numel()),
        "swing_time": float(torch.quantile(swings, 0.5)) if swings.numel() else None,
        "num_feet": num_feet,
    }


# ----------------------------------------------------------------------------------------------------------------
# everything
# ----------------------------------------------------------------------------------------------------------------
def rollout_metrics(rollout, cfg: MetricsCfg | None = None, env_ids: np.ndarray | torch.Tensor | None = None) -> dict:
    """All metrics of a :class:`~wildrobot_amp_ext.evaluation.rollout.Rollout` (optionally a subset of its envs)."""
    cfg = cfg or MetricsCfg()
    arrays = {k: as_tensor(v) for k, v in rollout.arrays().items()}
    if env_ids is not None:
        idx = torch.as_tensor(np.asarray(env_ids), dtype=torch.long)
        arrays = {k: v[:, idx] for k, v in arrays.items()}
    terminated, truncated = arrays["terminated"].bool(), arrays["truncated"].bool()
    out: dict = {"envs": int(terminated.shape[1]), "steps": int(terminated.shape[0]), "dt": rollout.dt}
    out.update(episode_stats(terminated, truncated, rollout.dt))
    if all(k in arrays for k in ("root_lin_vel", "root_ang_vel", "command")):
        out.update(
            velocity_tracking(
                arrays["root_quat"],
                arrays["root_lin_vel"],
                arrays["root_ang_vel"],
                arrays["command"],
                terminated,
                truncated,
                rollout.dt,
                cfg,
            )
        )
    if "disc_logit" in arrays:
        out.update(discriminator_scores(arrays["disc_logit"]))
    if "contact_pos" in arrays and "contact_vel" in arrays:
        out.update(foot_slip(arrays["contact_pos"], arrays["contact_vel"], cfg))
        out.update(
            contact_pattern(arrays["contact_pos"], terminated, truncated, cfg, arrays["contact_vel"], dt=rollout.dt)
        )
    out["cfg"] = asdict(cfg)
    return out
