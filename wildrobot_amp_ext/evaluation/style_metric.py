"""The style metric: how close a policy's motion is to the reference motions, in physical units, both ways.

One metric, used by ``wildrobot-evaluate``, ``benchmarks/bench_style_learning.py``, the toy imitation test and the
walking proof. It compares **transitions** (the features of frame t and t+1, as the discriminator sees them with
history 2), so a pose held still or frames played out of order do not look like motion.

Distance between two transitions: RMS over columns of (a - b) / scale, where each column's scale is the larger of
its spread in the reference (std) and a **physical floor** fixed per term (:data:`TERM_FLOORS`: joint angles
0.05 rad, angular rates 0.1 rad/s, linear velocities 0.05 m/s, heights 1 cm, ...). A column that is constant in the
reference is therefore measured in its own physical unit, never in a fraction of other columns' spread.

Two directions:

* **policy -> reference** (is each policy transition like some reference transition?), *command-matched*: a policy
  transition is compared only with reference transitions whose root velocity (heading frame, averaged over
  ``velocity_window_s``) lies within ``lin_vel_tolerance`` / ``yaw_rate_tolerance`` of the command the policy was
  given. Following a command is not punished, ignoring it is not rewarded. A policy transition whose command has no
  reference transition near it is *unmatched*: counted and listed, not scored.
* **reference -> policy** (is each reference clip reproduced somewhere?): every reference transition against every
  scored policy transition, averaged per clip, then over clips, so collapsing onto one clip or standing still scores
  badly. It assumes the evaluation's commands span the reference's velocities; each clip reports the fraction of its
  transitions whose velocity was commanded (``commanded_fraction``), so an uncommanded clip is visible.

Policy frames come from rollouts (:class:`~wildrobot_amp_ext.evaluation.rollout.Rollout`) whose features are computed by
the one feature function; a frame is kept only ``settle_s`` after its episode's start and more than ``pre_fall_s``
before a termination (a fall), so post-fall frames cannot dilute or inflate the figure; falls are reported beside it
by the evaluation. Every figure comes with the number of transitions it rests on, and per-term-group figures (the
RMS of that term's columns at the nearest match) are reported beside the total.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from wildrobot_amp_ext.dataset.schema import open_dataset
from wildrobot_amp_ext.features import (
    FeatureSpec,
    KinematicState,
    compute_amp_features,
    heading_yaw,
    rotate_into_heading,
)

#: physical floor of each term's column scale (unit of the term's columns); the README lists the same table
TERM_FLOORS: dict[str, float] = {
    "joint_pos": 0.05,  # rad
    "joint_vel": 0.1,  # rad/s
    "root_lin_vel": 0.05,  # m/s (raw / clip modes); a unit direction vector (mode "direction") uses 0.1
    "root_ang_vel": 0.1,  # rad/s
    "root_height": 0.01,  # m
    "foot_contacts": 0.5,  # 0/1 label: a flipped contact is 2 units
    "foot_height": 0.01,  # m
    "foot_z_velocity": 0.05,  # m/s
}
DIRECTION_FLOOR = 0.1  # unit-vector components of root_lin_vel in mode "direction"


@dataclass(frozen=True)
class StyleMetricCfg:
    #: s after an episode's first frame excluded (the policy settles after a reset)
    settle_s: float = 1.0
    #: s before a termination (fall) excluded: the stumble is not style
    pre_fall_s: float = 1.0
    #: m/s and rad/s: a reference transition is "at" a command when its velocity is this close to it
    lin_vel_tolerance: float = 0.15
    yaw_rate_tolerance: float = 0.3
    #: s: a reference transition's velocity is the mean over this window of its clip (about a gait cycle)
    velocity_window_s: float = 1.0
    #: policy transitions per distance block (memory: block x reference transitions floats)
    chunk: int = 2048


# ----------------------------------------------------------------------------------------------------------------
# scales
# ----------------------------------------------------------------------------------------------------------------
def column_terms(column_names) -> list[str]:
    """``term/detail`` -> term, per column."""
    return [str(name).split("/", 1)[0] for name in column_names]


def column_floors(terms: list[str], lin_vel_mode: str = "raw") -> np.ndarray:
    floors = []
    for term in terms:
        if term not in TERM_FLOORS:
            raise ValueError(f"style metric: no physical floor for feature term {term!r}; add it to TERM_FLOORS")
        floors.append(DIRECTION_FLOOR if term == "root_lin_vel" and lin_vel_mode == "direction" else TERM_FLOORS[term])
    return np.asarray(floors, dtype=np.float64)


def column_scales(reference_frames: np.ndarray, terms: list[str], lin_vel_mode: str = "raw") -> np.ndarray:
    """Per column: max(reference std, the term's physical floor)."""
    std = np.asarray(reference_frames, dtype=np.float64).std(axis=0)
    return np.maximum(std, column_floors(terms, lin_vel_mode))


# ----------------------------------------------------------------------------------------------------------------
# velocities
# ----------------------------------------------------------------------------------------------------------------
def heading_velocity(root_quat: np.ndarray, root_lin_vel_w: np.ndarray, root_ang_vel_w: np.ndarray) -> np.ndarray:
    """(..., 3): forward and sideways speed in the heading frame, yaw rate: the quantities a command sets."""
    quat = torch.as_tensor(np.asarray(root_quat, dtype=np.float64))
    v = rotate_into_heading(torch.as_tensor(np.asarray(root_lin_vel_w, dtype=np.float64)), heading_yaw(quat))
    return np.concatenate([v[..., :2].numpy(), np.asarray(root_ang_vel_w, dtype=np.float64)[..., 2:3]], axis=-1)


def window_mean(x: np.ndarray, segment: np.ndarray, half_width: int) -> np.ndarray:
    """Mean of ``x`` (N, k) over frames [i - h, i + h] of the same segment (rows of a segment are contiguous)."""
    n = len(x)
    if n == 0:
        return x.astype(np.float64)
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    ends = np.r_[starts[1:], n]
    seg_of = np.repeat(np.arange(len(starts)), ends - starts)
    i = np.arange(n)
    lo = np.maximum(i - half_width, starts[seg_of])
    hi = np.minimum(i + half_width + 1, ends[seg_of])
    cum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(np.asarray(x, dtype=np.float64), axis=0)])
    return (cum[hi] - cum[lo]) / (hi - lo)[:, None]


# ----------------------------------------------------------------------------------------------------------------
# the two sides
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class StyleReference:
    """Reference transitions with the velocity each one stands for and the clip it comes from."""

    obs: np.ndarray  # (M, 2F) frame t then frame t+1
    velocity: np.ndarray  # (M, 3) heading-frame vx, vy, yaw rate (window mean)
    clip: np.ndarray  # (M,) index into clip_names
    clip_names: tuple[str, ...]
    terms: list[str]  # (2F,) term of each column
    scale: np.ndarray  # (2F,)

    @classmethod
    def from_arrays(
        cls,
        features: np.ndarray,
        velocity: np.ndarray,
        segment: np.ndarray,
        clip_names,
        column_names,
        fps: float,
        lin_vel_mode: str = "raw",
        cfg: StyleMetricCfg | None = None,
    ) -> StyleReference:
        """Per-frame ``features`` (N, F) and instantaneous ``velocity`` (N, 3) of clips stored one after another
        (``segment`` (N,) int: the clip of each row, rows of a clip contiguous and in time order)."""
        cfg = cfg or StyleMetricCfg()
        features, segment = np.asarray(features, dtype=np.float64), np.asarray(segment)
        smooth = window_mean(np.asarray(velocity), segment, max(0, int(round(0.5 * cfg.velocity_window_s * fps))))
        pair = np.flatnonzero(segment[:-1] == segment[1:])  # frame t and t+1 of the same clip
        terms = column_terms(column_names)
        scale = column_scales(features, terms, lin_vel_mode)
        return cls(
            obs=np.concatenate([features[pair], features[pair + 1]], axis=1),
            velocity=smooth[pair],
            clip=segment[pair],
            clip_names=tuple(str(c) for c in clip_names),
            terms=terms + terms,
            scale=np.concatenate([scale, scale]),
        )

    @classmethod
    def from_dataset(cls, path: str | Path, cfg: StyleMetricCfg | None = None) -> StyleReference:
        """A reference dataset ``.npz`` (dataset.schema), read through its one reader."""
        with open_dataset(path) as f:
            spec = f.feature_spec
            clip_start = np.asarray(f["clip_start"], dtype=bool)
            velocity = heading_velocity(f["root_quat"], f["root_lin_vel_w"], f["root_ang_vel_w"])
            return cls.from_arrays(
                f["features"],
                velocity,
                np.cumsum(clip_start) - 1,
                f.strings("clip_names"),
                f.strings("column_names"),
                f.fps,
                spec.root_lin_vel_mode,
                cfg,
            )

    def without_clips(self, clips) -> StyleReference:
        keep = ~np.isin(self.clip, np.asarray(list(clips)))
        return StyleReference(
            self.obs[keep], self.velocity[keep], self.clip[keep], self.clip_names, self.terms, self.scale
        )


@dataclass
class PolicyTransitions:
    """Policy transitions with the command in force during each."""

    obs: np.ndarray  # (N, 2F)
    command: np.ndarray  # (N, 3)

    @classmethod
    def from_frames(
        cls, features: np.ndarray, command: np.ndarray, keep: np.ndarray, same_episode: np.ndarray
    ) -> PolicyTransitions:
        """(T, E, F) features, (T, E, 3) commands, (T, E) frames to keep, (T, E) row t+1 is in row t's episode."""
        pair = keep[:-1] & keep[1:] & same_episode[:-1]
        t, e = np.nonzero(pair)
        return cls(np.concatenate([features[t, e], features[t + 1, e]], axis=1), np.asarray(command)[t, e])

    @classmethod
    def from_rollout(
        cls, rollout, spec: FeatureSpec, default_joint_pos: np.ndarray, cfg: StyleMetricCfg | None = None
    ) -> PolicyTransitions:
        """Features of a recorded rollout through the one feature function, framed as the module docstring says."""
        cfg = cfg or StyleMetricCfg()
        if rollout.contact_pos is None or rollout.contact_vel is None or rollout.command is None:
            raise ValueError("style metric: the rollout has no contact points or commands (record them)")
        steps, envs = rollout.terminated.shape
        state = KinematicState.from_numpy(
            root_pos_w=rollout.root_pos.reshape(steps * envs, 3),
            root_quat_w=rollout.root_quat.reshape(steps * envs, 4),
            root_lin_vel_w=rollout.root_lin_vel.reshape(steps * envs, 3),
            root_ang_vel_w=rollout.root_ang_vel.reshape(steps * envs, 3),
            joint_pos=rollout.joint_pos.reshape(steps * envs, -1),
            joint_vel=rollout.joint_vel.reshape(steps * envs, -1),
            contact_pos_w=rollout.contact_pos.reshape(steps * envs, -1, 3),
            contact_vel_w=rollout.contact_vel.reshape(steps * envs, -1, 3),
        )
        default = torch.as_tensor(np.asarray(default_joint_pos, dtype=np.float64))
        features = compute_amp_features(state, spec, default).numpy().reshape(steps, envs, -1)
        keep, same_episode = frames_to_score(rollout.terminated, rollout.truncated, rollout.dt, cfg)
        return cls.from_frames(features, rollout.command, keep, same_episode)


def frames_to_score(
    terminated: np.ndarray, truncated: np.ndarray, dt: float, cfg: StyleMetricCfg
) -> tuple[np.ndarray, np.ndarray]:
    """(T, E) rows to keep and (T, E) "row t+1 belongs to row t's episode".

    Row t holds the state after step t; a done flag on row t means that row is already the next episode's first
    state (evaluation.rollout). Kept: rows at least ``settle_s`` into their episode and more than ``pre_fall_s`` before
    the step that terminated it. The first recorded episode counts from row 0 (a fresh reset)."""
    terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
    steps = terminated.shape[0]
    done = terminated | truncated
    t = np.arange(steps)[:, None]
    start = np.maximum.accumulate(np.where(done | (t == 0), t, 0), axis=0)
    since_start = t - start
    # next termination row at or after t+1 (the fall that ends this row's episode), per env
    fall_rows = np.where(terminated, t, steps + 10**6)
    next_fall = np.minimum.accumulate(fall_rows[::-1], axis=0)[::-1]
    next_fall = np.concatenate([next_fall[1:], np.full((1, terminated.shape[1]), steps + 10**6)], axis=0)
    next_done = np.minimum.accumulate(np.where(done, t, steps + 10**6)[::-1], axis=0)[::-1]
    next_done = np.concatenate([next_done[1:], np.full((1, done.shape[1]), steps + 10**6)], axis=0)
    falls_this_episode = next_fall == next_done
    before_fall = np.where(falls_this_episode, next_fall - t, steps + 10**6)
    keep = (since_start * dt >= cfg.settle_s) & (before_fall * dt > cfg.pre_fall_s)
    same_episode = ~np.concatenate([done[1:], np.ones((1, done.shape[1]), bool)], axis=0)
    return keep, same_episode


# ----------------------------------------------------------------------------------------------------------------
# the metric
# ----------------------------------------------------------------------------------------------------------------
def _group_rms(diff2: torch.Tensor, terms: list[str]) -> dict[str, torch.Tensor]:
    names = list(dict.fromkeys(terms))
    index = torch.as_tensor([names.index(t) for t in terms])
    sums = torch.zeros(diff2.shape[0], len(names), dtype=diff2.dtype).index_add_(1, index, diff2)
    counts = torch.bincount(index, minlength=len(names)).to(diff2.dtype)
    return {name: (sums[:, i] / counts[i]).sqrt() for i, name in enumerate(names)}


@torch.no_grad()
def style_score(policy: PolicyTransitions, reference: StyleReference, cfg: StyleMetricCfg | None = None) -> dict:
    """Both distances, per term group, per reference clip, with the transition counts behind them."""
    cfg = cfg or StyleMetricCfg()
    scale = torch.as_tensor(reference.scale, dtype=torch.float32)
    ref = torch.as_tensor(reference.obs, dtype=torch.float32) / scale
    ref_v = torch.as_tensor(reference.velocity, dtype=torch.float32)
    pol = torch.as_tensor(policy.obs, dtype=torch.float32) / scale
    cmd = torch.as_tensor(policy.command, dtype=torch.float32)
    n, m, d = pol.shape[0], ref.shape[0], ref.shape[1]
    if pol.shape[1] != d:
        raise ValueError(f"style metric: policy transitions have {pol.shape[1]} columns, the reference {d}")
    inf = torch.tensor(float("inf"))
    p2r = torch.full((n,), float("inf"))
    p2r_arg = torch.zeros(n, dtype=torch.long)
    r2p = torch.full((m,), float("inf"))
    r2p_arg = torch.zeros(m, dtype=torch.long)
    commanded = torch.zeros(m, dtype=torch.bool)
    for lo in range(0, n, cfg.chunk):
        z, c = pol[lo : lo + cfg.chunk], cmd[lo : lo + cfg.chunk]
        d2 = torch.cdist(z, ref).square_() / d  # mean squared scaled difference per column
        near = (torch.cdist(c[:, :2], ref_v[:, :2]) <= cfg.lin_vel_tolerance) & (
            (c[:, 2:3] - ref_v[:, 2].unsqueeze(0)).abs() <= cfg.yaw_rate_tolerance
        )
        best, arg = torch.where(near, d2, inf).min(dim=1)
        p2r[lo : lo + len(z)], p2r_arg[lo : lo + len(z)] = best, arg
        col_best, col_arg = d2.min(dim=0)
        better = col_best < r2p
        r2p = torch.where(better, col_best, r2p)
        r2p_arg = torch.where(better, col_arg + lo, r2p_arg)
        commanded |= near.any(dim=0)
    matched = torch.isfinite(p2r)
    out: dict = {"cfg": asdict(cfg), "policy_transitions": n, "reference_transitions": m}
    out["policy_transitions_scored"] = int(matched.sum())
    out["policy_transitions_unmatched"] = int(n - matched.sum())
    unmatched = np.unique(np.round(policy.command[~matched.numpy()], 2), axis=0) if n else np.zeros((0, 3))
    out["unmatched_commands"] = unmatched[:50].tolist()
    if matched.any():
        dist = p2r[matched].clamp_min(0).sqrt()
        pairs = (pol[matched] - ref[p2r_arg[matched]]).square()
        out["policy_to_reference"] = float(dist.mean())
        out["policy_to_reference_median"] = float(dist.median())
        out["policy_to_reference_by_term"] = {k: float(v.mean()) for k, v in _group_rms(pairs, reference.terms).items()}
    else:
        out["policy_to_reference"] = out["policy_to_reference_median"] = None
        out["policy_to_reference_by_term"] = {}
    if n and m:
        dist = r2p.clamp_min(0).sqrt()
        pairs = (ref - pol[r2p_arg]).square()
        groups = _group_rms(pairs, reference.terms)
        clip = torch.as_tensor(reference.clip)
        per_clip = {}
        for k in torch.unique(clip).tolist():  # one entry per reference clip (a handful), not per sample
            sel = clip == k
            per_clip[reference.clip_names[k]] = {
                "reference_to_policy": float(dist[sel].mean()),
                "transitions": int(sel.sum()),
                "commanded_fraction": float(commanded[sel].float().mean()),
            }
        out["reference_to_policy"] = float(np.mean([v["reference_to_policy"] for v in per_clip.values()]))
        out["reference_to_policy_by_term"] = {k: float(v.mean()) for k, v in groups.items()}
        out["reference_to_policy_per_clip"] = per_clip
    else:
        out["reference_to_policy"] = None
        out["reference_to_policy_by_term"], out["reference_to_policy_per_clip"] = {}, {}
    return out


def rollout_style(rollout, reference_path: str | Path, spec: FeatureSpec, robot, cfg: StyleMetricCfg | None = None):
    """The style metric of a recorded rollout against a reference dataset file."""
    cfg = cfg or StyleMetricCfg()
    reference = StyleReference.from_dataset(reference_path, cfg)
    policy = PolicyTransitions.from_rollout(rollout, spec, robot.default_joint_pos, cfg)
    return style_score(policy, reference, cfg)


def format_style(score: dict) -> str:
    def f(x):
        return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.3f}"

    return (
        f"style: policy->reference {f(score['policy_to_reference'])} "
        f"({score['policy_transitions_scored']} transitions, {score['policy_transitions_unmatched']} with no reference "
        f"at their command), reference->policy {f(score['reference_to_policy'])} "
        f"({score['reference_transitions']} reference transitions)"
    )
