"""Reference generation for the tracking rollouts: looping + blending.

A source clip becomes one :class:`ReferenceTrack` per variant (time warp x mirror x heading): resampled to the
control rate, played ``N`` times in a row with short linear blends through the neutral standing pose between
cycles (each cycle continues from where the previous ended, heading included), plus the reference velocities a
rollout needs for its initial state.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from wildrobot_amp_ext.miner.config import GenerationConfig
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.motion.kinematics import (
    ForwardKinematics,
    angular_velocity_world,
    finite_difference,
    standing_root_height,
)
from wildrobot_amp_ext.motion.resample import interpolate_linear, interpolate_slerp
from wildrobot_amp_ext.robots import RobotSpec


@dataclass(frozen=True)
class Variant:
    time_warp: float = 1.0  # playback speed factor (>1 faster)
    mirror: bool = False
    heading_deg: float = 0.0

    @property
    def tag(self) -> str:
        heading = f"-h{self.heading_deg:+.0f}" if self.heading_deg else ""
        return f"w{self.time_warp:.2f}{'-mirror' if self.mirror else ''}{heading}"


def variants(cfg: GenerationConfig, robot: RobotSpec) -> list[Variant]:
    mirrors = (False, True) if cfg.mirror and has_symmetry(robot) else (False,)
    return [Variant(float(w), m, float(h)) for m in mirrors for w in cfg.time_warps for h in cfg.headings_deg]


def has_symmetry(robot: RobotSpec) -> bool:
    return bool(np.any(robot.mirror_index != np.arange(robot.num_joints)))


@dataclass
class ReferenceTrack:
    """A reference at the control rate, ready to be tracked. Quaternions wxyz, joints in RobotSpec order."""

    name: str
    variant: Variant
    dt: float
    root_pos: np.ndarray  # (T, 3)
    root_quat: np.ndarray  # (T, 4)
    joint_pos: np.ndarray  # (T, J)
    root_lin_vel_w: np.ndarray  # (T, 3)
    root_ang_vel_w: np.ndarray  # (T, 3)
    joint_vel: np.ndarray  # (T, J)
    cycle: np.ndarray  # (T,) int, cycle index; -1 on blend frames
    clip_time: np.ndarray  # (T,) s, time inside the source clip (-1 on blend frames)

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def body_z_axis(self) -> np.ndarray:
        """(T, 3) world z axis of the reference root: the orientation stabiliser's target."""
        return Q.to_matrix(self.root_quat)[..., :, 2]


# ------------------------------------------------------------------------------------------------------------------
# clip transforms
# ------------------------------------------------------------------------------------------------------------------
def mirror_clip(clip: MotionClip, robot: RobotSpec) -> MotionClip:
    """Left/right mirror about the world xz plane: joints through the symmetry map, root y -> -y,
    quaternion (w, x, y, z) -> (w, -x, y, -z)."""
    root_pos = np.asarray(clip.root_pos, np.float64) * np.array([1.0, -1.0, 1.0])
    root_quat = np.asarray(clip.root_quat, np.float64) * np.array([1.0, -1.0, 1.0, -1.0])
    return MotionClip(
        clip.name,
        clip.fps,
        root_pos,
        root_quat,
        clip.joint_names,
        robot.mirror_joint_values(np.asarray(clip.joint_pos)),
        clip.source,
        dict(clip.meta),
    )


def rotate_clip(clip: MotionClip, yaw: float) -> MotionClip:
    """Rotate the whole clip about the world z axis through its first root position."""
    if yaw == 0.0:
        return clip
    rot = Q.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(yaw))
    origin = np.asarray(clip.root_pos[0], np.float64) * np.array([1.0, 1.0, 0.0])
    root_pos = Q.rotate(rot, np.asarray(clip.root_pos) - origin) + origin
    root_quat = Q.multiply(np.broadcast_to(rot, clip.root_quat.shape), clip.root_quat)
    return MotionClip(
        clip.name,
        clip.fps,
        root_pos,
        root_quat,
        clip.joint_names,
        np.asarray(clip.joint_pos),
        clip.source,
        dict(clip.meta),
    )


def neutral_root_height(robot: RobotSpec, fk: ForwardKinematics | None = None) -> float:
    """Root height of the default standing pose with the lowest contact point on the floor."""
    return standing_root_height(robot, fk)


def _yaw_quat(yaw: np.ndarray) -> np.ndarray:
    return Q.from_axis_angle(np.array([0.0, 0.0, 1.0]), yaw)


# ------------------------------------------------------------------------------------------------------------------
# looping with blends
# ------------------------------------------------------------------------------------------------------------------
def _blend(
    prev_pos, prev_quat, prev_joint, next_pos, next_quat, next_joint, neutral_joint, standing_height, duration, dt
):
    """Linear blend previous end -> neutral standing pose -> next start (root slerped through upright)."""
    nb = max(2, int(round(duration / dt)))
    half = nb // 2
    s_out = np.arange(1, half + 1) / half  # ends exactly on the neutral pose
    s_in = np.arange(1, nb - half + 1) / (nb - half + 1)  # stops one step short of the next cycle's first frame
    mid_pos = np.array([next_pos[0], next_pos[1], standing_height])
    mid_quat = _yaw_quat(np.array(Q.yaw(next_quat)))
    pos = np.concatenate(
        (prev_pos + (mid_pos - prev_pos) * s_out[:, None], mid_pos + (next_pos - mid_pos) * s_in[:, None])
    )
    quat = np.concatenate((Q.slerp(prev_quat, mid_quat, s_out), Q.slerp(mid_quat, next_quat, s_in)))
    joint = np.concatenate(
        (
            prev_joint + (neutral_joint - prev_joint) * s_out[:, None],
            neutral_joint + (next_joint - neutral_joint) * s_in[:, None],
        )
    )
    return pos, quat, joint


def variant_rng(clip: MotionClip, variant: Variant, seed: int) -> np.random.Generator:
    key = f"{clip.name}|{variant.tag}|{seed}".encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))


def build_track(
    clip: MotionClip,
    robot: RobotSpec,
    variant: Variant,
    cfg: GenerationConfig,
    control_hz: float,
    standing_height: float,
) -> ReferenceTrack:
    """The looped, blended, augmented reference of ``clip`` at ``control_hz``."""
    if tuple(clip.joint_names) != tuple(robot.joint_names):
        raise ValueError(f"clip '{clip.name}' is not in {robot.name}'s joint order (use motion.io.load_motion)")
    dt = 1.0 / control_hz
    times, root_pos, root_quat, joint_pos = _variant_cycle(clip, robot, variant, dt)
    cycle_frames = times.size
    rng = variant_rng(clip, variant, cfg.seed)
    cycles = _cycle_count(cfg, cycle_frames * dt)

    neutral_q = robot.default_joint_pos
    start_yaw = Q.yaw(root_quat[0])
    parts_pos, parts_quat, parts_joint, parts_cycle, parts_time = [], [], [], [], []
    end_pos, end_yaw = root_pos[0].copy(), float(start_yaw)
    horizontal = np.array([1.0, 1.0, 0.0])
    for c in range(cycles):
        if c == 0:
            pos, quat = root_pos.copy(), root_quat.copy()
        else:
            # place this cycle where the previous one ended, continuing its heading (rotation about z keeps heights)
            rot = _yaw_quat(np.array(end_yaw - start_yaw))
            pos = Q.rotate(rot, root_pos - root_pos[0] * horizontal) + end_pos * horizontal
            quat = Q.multiply(np.broadcast_to(rot, root_quat.shape), root_quat)
            blend = _blend(
                parts_pos[-1][-1],
                parts_quat[-1][-1],
                parts_joint[-1][-1],
                pos[0],
                quat[0],
                joint_pos[0],
                neutral_q,
                standing_height,
                rng.uniform(cfg.blend_min_s, cfg.blend_max_s),
                dt,
            )
            for parts, values in zip((parts_pos, parts_quat, parts_joint), blend):
                parts.append(values)
            parts_cycle.append(np.full(blend[0].shape[0], -1))
            parts_time.append(np.full(blend[0].shape[0], -1.0))
        parts_pos.append(pos)
        parts_quat.append(quat)
        parts_joint.append(joint_pos)
        parts_cycle.append(np.full(cycle_frames, c))
        parts_time.append(times)
        end_pos, end_yaw = pos[-1], float(Q.yaw(quat[-1]))

    pos = np.concatenate(parts_pos)
    quat = Q.make_continuous(Q.normalize(np.concatenate(parts_quat)))
    joints = np.concatenate(parts_joint)
    return ReferenceTrack(
        name=clip.name,
        variant=variant,
        dt=dt,
        root_pos=pos,
        root_quat=quat,
        joint_pos=joints,
        root_lin_vel_w=finite_difference(pos, dt),
        root_ang_vel_w=angular_velocity_world(quat, dt),
        joint_vel=finite_difference(joints, dt),
        cycle=np.concatenate(parts_cycle),
        clip_time=np.concatenate(parts_time),
    )


def _variant_cycle(
    clip: MotionClip, robot: RobotSpec, variant: Variant, dt: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One cycle of the variant (mirrored, turned to its heading, time-warped) sampled every ``dt``: the source
    times of its frames, root position, root quaternion, joint positions."""
    src = mirror_clip(clip, robot) if variant.mirror else clip
    src = rotate_clip(src, math.radians(variant.heading_deg))
    # time warp w: the reference plays w times faster, so frame k shows source time k * dt * w
    times = np.arange(int(math.floor(clip.duration / (dt * variant.time_warp) + 1e-9)) + 1) * dt * variant.time_warp
    root_pos = interpolate_linear(src.root_pos, src.fps, times)
    root_quat = Q.make_continuous(interpolate_slerp(Q.normalize(src.root_quat), src.fps, times))
    joint_pos = interpolate_linear(src.joint_pos, src.fps, times)
    return times, root_pos, root_quat, joint_pos


def _cycle_count(cfg: GenerationConfig, cycle_seconds: float) -> int:
    """How many times the cycle is played: ``cycles``, else enough (with mean blends) to fill ``loop_seconds``."""
    if cfg.cycles > 0:
        return cfg.cycles
    if cfg.loop_seconds > 0:
        mean_blend = 0.5 * (cfg.blend_min_s + cfg.blend_max_s)
        return max(1, math.ceil(cfg.loop_seconds / (cycle_seconds + mean_blend)))
    return 1
