"""Per-frame Tier 0+ signals, vectorised window statistics, gates, scores and segment selection.

All window statistics are computed over ``numpy.lib.stride_tricks.sliding_window_view`` views, one numpy call per
metric for every window of a rollout. A window is accepted when it passes every gate; accepted windows become
segments (union of overlapping windows, or their centre frames; a segment must pass every gate as a whole, not
only window by window), and segments of different multi-start rollouts that cover the same reference frames are
deduplicated (each reference frame is kept once, best score first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wildrobot_amp_ext.constants import GRAVITY
from wildrobot_amp_ext.features.contact import ContactRule
from wildrobot_amp_ext.miner.balance import trajectory_foot_contacts
from wildrobot_amp_ext.miner.config import GateConfig, WindowConfig
from wildrobot_amp_ext.miner.generation import ReferenceTrack
from wildrobot_amp_ext.miner.rollout import RolloutRecord
from wildrobot_amp_ext.motion import quat as Q

#: gate names in report order; a window's failures are a bitmask over this tuple
GATES: tuple[str, ...] = (
    "load_mean",
    "load_p10",
    "harness_p90",
    "harness_p95",
    "harness_saturated",
    "unloaded",
    "pitch",
    "roll",
    "slip",
    "body_contact",
    "tracking_height",
    "tracking_velocity",
    "tracking_joints",
    "tracking_contacts",
    "fall",
    "short",  # the rollout ended (fell) before one min_segment window fitted after the warm-up
)
GATE_BIT = {g: 1 << i for i, g in enumerate(GATES)}

#: per-window metrics, in report order
METRICS: tuple[str, ...] = (
    "load_mean",
    "load_p10",
    "load_p95",
    "unloaded_fraction",
    "harness_mean",
    "harness_p90",
    "harness_p95",
    "harness_saturated",
    "pitch_p95_deg",
    "roll_p95_deg",
    "slip_rate",
    "loaded_foot_frames",
    "body_contact_fraction",
    "actuator_saturation",
    "root_height_error",
    "velocity_error",
    "joint_rms_error",
    "contact_mismatch",
    "single_stance_fraction",
    "fall",
)


@dataclass
class FrameSignals:
    """Per-frame signals of one rollout (length T)."""

    load: np.ndarray  # sum Fn / mg
    loaded: np.ndarray  # (T, F) bool, Fn_foot > threshold
    slipping: np.ndarray  # (T, F) bool, loaded and tangential speed > slip_speed
    harness: np.ndarray  # |F_stab| / mg
    harness_saturated: np.ndarray  # bool
    pitch_deg: np.ndarray
    roll_deg: np.ndarray
    body_contact: np.ndarray  # bool
    actuator_saturation: np.ndarray  # fraction of actuators at their limit
    height_error: np.ndarray  # |z_sim - z_ref| / standing height
    vel_sim_h: np.ndarray  # (T, 2) root xy velocity in the simulated heading frame
    vel_ref_h: np.ndarray  # (T, 2) ... in the reference heading frame
    joint_error: np.ndarray  # RMS joint tracking error, rad
    #: (T, F) bool: the foot's contact state (the one contact rule, on its contact points) differs from the reference's
    contact_mismatch: np.ndarray
    fall: np.ndarray  # bool, within GateConfig.fall_lookahead_s before the fall that ended the rollout

    @property
    def num_frames(self) -> int:
        return int(self.load.shape[0])


def roll_pitch_deg(quat_wxyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Roll and pitch (ZYX Euler, deg) of wxyz quaternions."""
    w, x, y, z = np.moveaxis(np.asarray(quat_wxyz, np.float64), -1, 0)
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    return np.degrees(roll), np.degrees(pitch)


def _heading_xy(vel_w: np.ndarray, quat: np.ndarray) -> np.ndarray:
    yaw = Q.yaw(quat)
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack((c * vel_w[:, 0] + s * vel_w[:, 1], -s * vel_w[:, 0] + c * vel_w[:, 1]), axis=-1)


def frame_signals(
    rec: RolloutRecord,
    track: ReferenceTrack,
    qadr: np.ndarray,
    standing_height: float,
    gates: GateConfig,
    control_dt: float,
    reference_contacts: np.ndarray | None = None,
) -> FrameSignals:
    """``reference_contacts``: (T_track, F) the reference's foot contacts (``balance.trajectory_foot_contacts``);
    None: no contact comparison (every foot agrees)."""
    n = rec.num_frames
    ref = slice(rec.start, rec.start + n)
    quat = rec.qpos[:, 3:7]
    roll, pitch = roll_pitch_deg(quat)
    loaded = rec.foot_force > gates.loaded_foot_threshold
    fall = np.zeros(n, dtype=bool)
    if rec.fell and n:
        # the robot fell during the step after row n - 1: a window ending at frame e (exclusive) was followed by
        # n - e frames of standing, too few when it holds one of the last look-ahead frames
        fall[max(0, n - int(round(gates.fall_lookahead_s / control_dt))) :] = True
    joint_err = rec.qpos[:, qadr] - track.joint_pos[ref]
    if reference_contacts is None or n == 0:
        mismatch = np.zeros(loaded.shape, dtype=bool)
    else:
        mismatch = trajectory_foot_contacts(rec.site_pos, control_dt, ContactRule()) != reference_contacts[ref]
    return FrameSignals(
        load=rec.foot_force.sum(axis=1),
        loaded=loaded,
        slipping=loaded & (rec.foot_slip_speed > gates.slip_speed),
        harness=rec.harness_force,
        harness_saturated=rec.harness_saturated,
        pitch_deg=np.abs(pitch),
        roll_deg=np.abs(roll),
        body_contact=rec.body_contact_force > gates.body_contact_threshold,
        actuator_saturation=rec.actuator_saturation,
        height_error=np.abs(rec.qpos[:, 2] - track.root_pos[ref, 2]) / standing_height,
        vel_sim_h=_heading_xy(rec.qvel[:, :3], quat),
        vel_ref_h=_heading_xy(track.root_lin_vel_w[ref], track.root_quat[ref]),
        joint_error=np.sqrt(np.mean(joint_err**2, axis=1)),
        contact_mismatch=mismatch,
        fall=fall,
    )


# ------------------------------------------------------------------------------------------------------------------
# window statistics
# ------------------------------------------------------------------------------------------------------------------
def window_starts(num_frames: int, cfg: WindowConfig, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Start frames and lengths of the windows of a rollout: stride S from ``first``, length W, shortened at the
    end of the rollout down to ``min_segment`` frames."""
    starts = np.arange(first, max(first, num_frames - cfg.min_segment + 1), cfg.stride, dtype=np.int64)
    lengths = np.minimum(cfg.window, num_frames - starts)
    keep = lengths >= cfg.min_segment
    return starts[keep], lengths[keep]


def _windows(x: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """(num_windows, ..., length) views of x (T, ...) for windows [s, s + length)."""
    return sliding_window_view(x, length, axis=0)[starts]


def _stats_fixed_length(
    sig: FrameSignals, starts: np.ndarray, length: int, gates: GateConfig, velocity_scale: float
) -> dict[str, np.ndarray]:
    w = lambda x: _windows(x, starts, length)  # noqa: E731
    load = w(sig.load)
    harness = w(sig.harness)
    loaded = w(sig.loaded)  # (nw, F, L)
    loaded_count = loaded.sum(axis=(1, 2))
    slip_count = w(sig.slipping).sum(axis=(1, 2))
    v_err = np.linalg.norm(w(sig.vel_sim_h).mean(axis=-1) - w(sig.vel_ref_h).mean(axis=-1), axis=-1)
    return {
        "load_mean": load.mean(axis=-1),
        "load_p10": np.percentile(load, 10, axis=-1),
        "load_p95": np.percentile(load, 95, axis=-1),
        "unloaded_fraction": (load < gates.unloaded_threshold).mean(axis=-1),
        "harness_mean": harness.mean(axis=-1),
        "harness_p90": np.percentile(harness, 90, axis=-1),
        "harness_p95": np.percentile(harness, 95, axis=-1),
        "harness_saturated": w(sig.harness_saturated).mean(axis=-1),
        "pitch_p95_deg": np.percentile(w(sig.pitch_deg), 95, axis=-1),
        "roll_p95_deg": np.percentile(w(sig.roll_deg), 95, axis=-1),
        "slip_rate": np.divide(slip_count, loaded_count, out=np.zeros(len(starts)), where=loaded_count > 0),
        "loaded_foot_frames": loaded_count.astype(np.float64),
        "body_contact_fraction": w(sig.body_contact).mean(axis=-1),
        "actuator_saturation": w(sig.actuator_saturation).mean(axis=-1),
        "root_height_error": w(sig.height_error).mean(axis=-1),
        "velocity_error": v_err / velocity_scale,
        "joint_rms_error": w(sig.joint_error).mean(axis=-1),
        "contact_mismatch": w(sig.contact_mismatch).mean(axis=(1, 2)),
        "single_stance_fraction": (loaded.sum(axis=1) == 1).mean(axis=-1),
        "fall": w(sig.fall).any(axis=-1).astype(np.float64),
    }


def window_stats(
    sig: FrameSignals, starts: np.ndarray, lengths: np.ndarray, gates: GateConfig, standing_height: float
) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` for windows [starts, starts + lengths), one value per window."""
    out = {k: np.zeros(len(starts)) for k in METRICS}
    scale = math.sqrt(GRAVITY * standing_height)
    for length in np.unique(lengths):
        sel = np.flatnonzero(lengths == length)
        stats = _stats_fixed_length(sig, starts[sel], int(length), gates, scale)
        for k in METRICS:
            out[k][sel] = stats[k]
    return out


def evaluate_gates(stats: dict[str, np.ndarray], g: GateConfig, harness_lifts: bool = True) -> np.ndarray:
    """Bitmask (over :data:`GATES`) of the gates each window fails; 0 = accepted (Tier 0+).

    ``harness_lifts``: the harness can push the root up (a height assist). Only then can it carry weight the feet do
    not, which is what the load-p10 and unloaded-frame gates catch; without it the feet's summed normal force is
    m (g + vertical COM acceleration) by Newton's law, and its dips (push-off, a jog's flight) are the motion's own.
    ``GateConfig.support_gates`` decides ("auto": follow ``harness_lifts``)."""
    support = harness_lifts if g.support_gates == "auto" else g.support_gates == "on"
    checks = {
        "load_mean": stats["load_mean"] < g.min_load_mean,
        "load_p10": support & (stats["load_p10"] < g.min_load_p10),
        "harness_p90": stats["harness_p90"] > g.max_harness_p90,
        "harness_p95": stats["harness_p95"] > g.max_harness_p95,
        "harness_saturated": stats["harness_saturated"] > g.max_harness_saturated,
        "unloaded": support & (stats["unloaded_fraction"] > g.max_unloaded_fraction),
        "pitch": stats["pitch_p95_deg"] > g.max_pitch_p95_deg,
        "roll": stats["roll_p95_deg"] > g.max_roll_p95_deg,
        "slip": stats["slip_rate"] > g.max_slip_rate,
        "body_contact": stats["body_contact_fraction"] > g.max_body_contact_fraction,
        "tracking_height": stats["root_height_error"] > g.max_root_height_error,
        "tracking_velocity": stats["velocity_error"] > g.max_velocity_error,
        "tracking_joints": stats["joint_rms_error"] > g.max_joint_rms_error,
        "tracking_contacts": stats["contact_mismatch"] > g.max_contact_mismatch,
        "fall": stats["fall"] > 0,
    }
    mask = np.zeros(len(stats["load_mean"]), dtype=np.int64)
    for name, failed in checks.items():
        mask |= np.where(failed, GATE_BIT[name], 0)
    return mask


def gate_names(mask: int) -> list[str]:
    return [g for g in GATES if int(mask) & GATE_BIT[g]]


def score(stats: dict[str, np.ndarray], g: GateConfig) -> np.ndarray:
    """The quality score (sampling weight): +1 load >= 0.95, +1 slip <= 5 %, +1 attitude within 15 deg,
    -1 harness p95 close to its limit."""
    s = (stats["load_mean"] >= g.score_load_mean).astype(np.float64)
    s += stats["slip_rate"] <= g.score_slip_rate
    s += (stats["pitch_p95_deg"] <= g.score_attitude_deg) & (stats["roll_p95_deg"] <= g.score_attitude_deg)
    s -= stats["harness_p95"] > g.score_harness_close
    return s


# ------------------------------------------------------------------------------------------------------------------
# segments
# ------------------------------------------------------------------------------------------------------------------
def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a boolean vector."""
    padded = np.concatenate(([False], np.asarray(mask, bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def accepted_frames(
    num_frames: int, starts: np.ndarray, lengths: np.ndarray, accepted: np.ndarray, cfg: WindowConfig
) -> np.ndarray:
    """Frames covered by accepted windows (``merge``) or by their centre frames (``centre``)."""
    cover = np.zeros(num_frames + 1, dtype=np.int64)
    s, n = starts[accepted], lengths[accepted]
    if cfg.dedupe == "centre":
        keep = np.minimum(cfg.centre_frames, n)
        s = s + (n - keep) // 2
        n = keep
    np.add.at(cover, s, 1)
    np.add.at(cover, s + n, -1)
    return np.cumsum(cover)[:num_frames] > 0


def gated_segments(
    sig: FrameSignals,
    starts: np.ndarray,
    lengths: np.ndarray,
    accepted: np.ndarray,
    cfg: WindowConfig,
    gates: GateConfig,
    standing_height: float,
    harness_lifts: bool = True,
) -> list[tuple[int, int]]:
    """[start, end) segments of accepted windows (``merge``: overlapping ones joined; ``centre``: their centre
    frames), each passing every gate as a whole.

    Gates are means and percentiles, so two windows that each pass can fail as one (their shared frames are counted
    once): an accepted window joins the segment before it only if the joined segment still passes, and otherwise
    starts a segment of its own (the two may overlap; the reference-frame dedupe keeps each frame once and gates
    what it cuts again). A centre piece that fails on its own is dropped."""
    s, n = starts[accepted], lengths[accepted]
    if cfg.dedupe == "centre":
        keep = np.minimum(cfg.centre_frames, n)
        s, n = s + (n - keep) // 2, keep
    order = np.argsort(s, kind="stable")

    def passes(a: int, b: int) -> bool:
        stats = window_stats(sig, np.array([a]), np.array([b - a]), gates, standing_height)
        return not evaluate_gates(stats, gates, harness_lifts)[0]

    segments: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for a, b in zip(s[order].tolist(), (s + n)[order].tolist()):
        if current is not None and a <= current[1]:
            joined = (current[0], max(current[1], b))
            if joined == current or passes(*joined):
                current = joined
                continue
        if current is not None:
            segments.append(current)
        current = (a, b) if cfg.dedupe == "merge" or passes(a, b) else None
    if current is not None:
        segments.append(current)
    return segments


@dataclass
class Candidate:
    rollout: int  # index of the rollout within its variant
    start: int  # rollout frame
    end: int  # rollout frame (exclusive)
    ref_start: int  # reference frame of ``start``
    score: float


def claim_reference_frames(candidates: list[Candidate], num_ref_frames: int, min_len: int) -> list[Candidate]:
    """Deduplicate segments of overlapping rollouts: best score (then longest) first, each reference frame is
    kept once; what is left of a segment is kept when at least ``min_len`` frames long."""
    claimed = np.zeros(num_ref_frames, dtype=bool)
    kept: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: (-c.score, -(c.end - c.start), c.ref_start)):
        ref = slice(c.ref_start, c.ref_start + (c.end - c.start))
        for a, b in runs(~claimed[ref]):
            if b - a >= min_len:
                kept.append(Candidate(c.rollout, c.start + a, c.start + b, c.ref_start + a, c.score))
                claimed[c.ref_start + a : c.ref_start + b] = True
    return sorted(kept, key=lambda c: c.ref_start)
