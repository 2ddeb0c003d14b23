"""Procedural reference motions for demos and tests (no mocap download needed).

A sinusoidal walking gait on the sagittal joints (hip pitch, knee, ankle pitch keeping the foot flat, arm counter-swing)
whose root is placed by forward kinematics so the lowest contact point touches the floor and the stance foot does not
slide: a kinematically clean gait, with known stance phases, in GMR's pickle layout when written out.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.motion.kinematics import ForwardKinematics
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.utils.atomic import atomic_open


@dataclass(frozen=True)
class GaitParams:
    period: float = 0.8  # s per full stride (two steps)
    hip_amplitude: float = 0.25  # rad, hip pitch swing about the default
    knee_lift: float = 0.7  # rad, extra knee flexion at mid-swing
    arm_swing: float = 0.25  # rad, shoulder pitch counter-swing (robots with arms)
    waist_yaw: float = 0.05  # rad
    hip_roll_sway: float = 0.03  # rad, lateral weight shift


def _joints(robot: RobotSpec, pattern: str) -> np.ndarray:
    rx = re.compile(pattern)
    return np.array([i for i, n in enumerate(robot.joint_names) if rx.fullmatch(n)], dtype=np.int64)


def _side(robot: RobotSpec, pattern: str, side: str) -> np.ndarray:
    return _joints(robot, rf"{side}_{pattern}")


def gait_joint_positions(robot: RobotSpec, t: np.ndarray, gait: GaitParams) -> np.ndarray:
    """(N, J) absolute joint angles of a walking gait at times ``t``; left leg at phase 0, right at 0.5."""
    q = np.tile(robot.default_joint_pos, (t.size, 1))
    for side, offset, sway_sign in (("left", 0.0, 1.0), ("right", 0.5, -1.0)):
        phase = 2 * np.pi * ((t / gait.period + offset) % 1.0)
        hip = -gait.hip_amplitude * np.cos(phase)  # forward (negative) at touch-down, back at lift-off
        knee = gait.knee_lift * np.clip(-np.sin(phase), 0.0, None)  # flex only during swing (phase in [pi, 2pi))
        hip = hip - 0.5 * knee  # lift the thigh with the knee for swing clearance
        for idx, delta in (
            (_side(robot, r"hip_pitch(_joint)?", side), hip),
            (_side(robot, r"knee(_pitch)?(_joint)?", side), knee),
            (_side(robot, r"ankle_pitch(_joint)?", side), -(hip + knee)),  # keep the sole parallel to the floor
            (_side(robot, r"hip_roll(_joint)?", side), sway_sign * gait.hip_roll_sway * np.sin(phase)),
            (_side(robot, r"shoulder_pitch(_joint)?", side), -gait.arm_swing * np.cos(phase + np.pi)),
        ):
            if idx.size:
                q[:, idx] += delta[:, None]
    waist = _joints(robot, r"waist_yaw(_joint)?")
    if waist.size:
        q[:, waist] += gait.waist_yaw * np.sin(2 * np.pi * t / gait.period)[:, None]
    return q


def place_root_on_floor(robot: RobotSpec, joint_pos: np.ndarray, heading: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Root positions (N,3) and wxyz quaternions (N,4) so the lowest contact point is on the floor and the
    stance (lowest) foot stays still."""
    n = joint_pos.shape[0]
    points = ForwardKinematics(robot).site_positions(np.zeros((n, 3)), np.tile([1.0, 0, 0, 0], (n, 1)), joint_pos)
    per_foot = points.reshape(n, len(robot.feet), 2, 3)
    foot_z = per_foot[..., 2].min(axis=2)  # (N, feet)
    stance = foot_z.argmin(axis=1)
    # at touch-down the feet tie: the foot that carried the body over the last interval stays the stance foot
    tie = np.sum(foot_z <= foot_z.min(axis=1, keepdims=True) + 1e-9, axis=1) > 1
    last_clear = np.maximum.accumulate(np.where(tie, 0, np.arange(n)))
    stance = np.where(tie & (np.arange(n) > 0), stance[last_clear], stance)
    foot_xy = per_foot[..., :2].mean(axis=2)  # (N, feet, 2), relative to the root
    stance_xy = foot_xy[np.arange(n), stance]
    prev_stance_xy = foot_xy[np.arange(n - 1), stance[1:]]  # same foot, previous frame
    step = np.zeros((n, 2))
    step[1:] = -(stance_xy[1:] - prev_stance_xy)  # the root moves opposite to the stance foot's relative motion
    root_xy = np.cumsum(step, axis=0)
    root_z = -foot_z.min(axis=1)
    c, s = np.cos(heading), np.sin(heading)
    root_pos = np.column_stack((c * root_xy[:, 0] - s * root_xy[:, 1], s * root_xy[:, 0] + c * root_xy[:, 1], root_z))
    quat = np.tile(Q.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(heading)), (n, 1))
    return root_pos, quat


def synthetic_walk(
    robot: RobotSpec,
    duration: float = 4.0,
    fps: float = 30.0,
    gait: GaitParams | None = None,
    heading: float = 0.0,
    name: str = "synthetic_walk",
) -> MotionClip:
    gait = gait or GaitParams()
    t = np.arange(int(round(duration * fps)) + 1) / fps
    joint_pos = gait_joint_positions(robot, t, gait)
    root_pos, root_quat = place_root_on_floor(robot, joint_pos, heading)
    return MotionClip(name, fps, root_pos, root_quat, robot.joint_names, joint_pos, source="synthetic")


def synthetic_stand(
    robot: RobotSpec, duration: float = 3.0, fps: float = 30.0, squat: float = 0.15, name: str = "synthetic_stand"
) -> MotionClip:
    """Standing with a slow knee-bend sway: both feet stay loaded and still."""
    t = np.arange(int(round(duration * fps)) + 1) / fps
    q = np.tile(robot.default_joint_pos, (t.size, 1))
    bend = squat * 0.5 * (1 - np.cos(2 * np.pi * t / max(duration, 1e-6)))
    for pattern, gain in (
        (r".*hip_pitch(_joint)?", -1.0),
        (r".*knee(_pitch)?(_joint)?", 2.0),
        (r".*ankle_pitch(_joint)?", -1.0),
    ):
        idx = _joints(robot, pattern)
        q[:, idx] += gain * bend[:, None]
    root_pos, root_quat = place_root_on_floor(robot, q)
    return MotionClip(name, fps, root_pos, root_quat, robot.joint_names, q, source="synthetic")


def write_gmr_pickle(clip: MotionClip, path: str | Path) -> Path:
    """Write a clip in GMR's retargeting output layout (root_rot in **xyzw**, joints in the clip's order)."""
    payload = {
        "fps": float(clip.fps),
        "root_pos": clip.root_pos.astype(np.float64),
        "root_rot": clip.root_quat[:, [1, 2, 3, 0]].astype(np.float64),  # wxyz -> xyzw
        "dof_pos": clip.joint_pos.astype(np.float64),
        "local_body_pos": None,
        "link_body_list": None,
    }
    path = Path(path)
    with atomic_open(path, "wb") as f:
        pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def write_demo_motions(robot: RobotSpec, out_dir: str | Path, fps: float = 30.0) -> list[Path]:
    """A small motion library for demos: walks at three speeds and two headings, and a standing sway."""
    out_dir = Path(out_dir)
    clips = [
        synthetic_walk(robot, 6.0, fps, GaitParams(hip_amplitude=0.15, knee_lift=0.35), name="walk_slow"),
        synthetic_walk(robot, 6.0, fps, GaitParams(), name="walk_medium"),
        synthetic_walk(robot, 6.0, fps, GaitParams(period=0.7, hip_amplitude=0.32, knee_lift=0.6), name="walk_fast"),
        synthetic_walk(robot, 6.0, fps, GaitParams(), heading=0.6, name="walk_medium_turned"),
        synthetic_stand(robot, 4.0, fps, name="stand_sway"),
    ]
    return [write_gmr_pickle(c, out_dir / f"{robot.name}_{c.name}.pkl") for c in clips]
