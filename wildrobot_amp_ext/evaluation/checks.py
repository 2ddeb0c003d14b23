"""Kinematic sanity checks of a motion clip: joint-limit violations, foot penetration and floating frames.

The motion validation criteria ("feet contact ground properly (no floating/sinking)", "no joint limit violations")
as per-frame flags the viewer colours and the summary counts. Kinematics only (batched forward kinematics), no physics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import mujoco
import numpy as np

from wildrobot_amp_ext.motion import MotionClip
from wildrobot_amp_ext.motion.kinematics import ForwardKinematics, standing_root_height
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.mjcf import build_model


@dataclass
class CheckCfg:
    #: rad beyond the MJCF joint range before a frame counts as a limit violation
    joint_limit_tol: float = 1e-3
    #: m: a contact point further than this below the floor (z = 0) is a penetration
    penetration_tol: float = 0.005
    #: m: every contact point higher than this ...
    float_height: float = 0.02
    #: ... while the root is below this multiple of the standing root height is a floating frame (a root higher
    #: than that may be a genuine flight phase, e.g. a jump; a clip lifted by a few cm still counts as floating)
    low_root_ratio: float = 1.25


@dataclass
class ClipChecks:
    """Per-frame flags of one clip (N frames, J joints, P contact points)."""

    limit_excess: np.ndarray  # (N, J) rad outside the joint range (0 inside), RobotSpec order
    contact_z: np.ndarray  # (N, P) world z of the contact points
    root_z: np.ndarray  # (N,)
    standing_root_z: float
    cfg: CheckCfg

    @property
    def limit_violation(self) -> np.ndarray:  # (N, J) bool
        return self.limit_excess > self.cfg.joint_limit_tol

    @property
    def penetration_depth(self) -> np.ndarray:  # (N,) m, >= 0
        return np.clip(-self.contact_z.min(axis=1), 0.0, None)

    @property
    def penetrating_points(self) -> np.ndarray:  # (N, P) bool
        return self.contact_z < -self.cfg.penetration_tol

    @property
    def penetration(self) -> np.ndarray:  # (N,) bool
        return self.penetrating_points.any(axis=1)

    @property
    def floating(self) -> np.ndarray:  # (N,) bool
        low_root = self.root_z < self.cfg.low_root_ratio * self.standing_root_z
        return (self.contact_z.min(axis=1) > self.cfg.float_height) & low_root

    def summary(self, robot: RobotSpec) -> dict:
        n = self.root_z.shape[0]
        viol = self.limit_violation
        per_joint = {
            robot.joint_names[j]: float(self.limit_excess[:, j].max()) for j in np.flatnonzero(viol.any(axis=0))
        }
        return {
            "frames": n,
            "joint_limit_frames": float(viol.any(axis=1).mean()) if n else 0.0,
            "joint_limit_max_excess_rad": per_joint,
            "penetration_frames": float(self.penetration.mean()) if n else 0.0,
            "penetration_max_mm": float(1000 * self.penetration_depth.max()) if n else 0.0,
            "floating_frames": float(self.floating.mean()) if n else 0.0,
            "standing_root_z": self.standing_root_z,
            "cfg": asdict(self.cfg),
        }


def joint_ranges(model: mujoco.MjModel, robot: RobotSpec) -> tuple[np.ndarray, np.ndarray]:
    """(J,) lower and upper limits in RobotSpec order; +-inf for unlimited joints."""
    ids = np.array([model.joint(n).id for n in robot.joint_names])
    limited = np.asarray(model.jnt_limited[ids], dtype=bool)
    lo = np.where(limited, model.jnt_range[ids, 0], -np.inf)
    hi = np.where(limited, model.jnt_range[ids, 1], np.inf)
    return lo, hi


def limit_excess(joint_pos: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How far (rad, >= 0) each joint is outside [lo, hi]."""
    return np.maximum(lo - joint_pos, 0.0) + np.maximum(joint_pos - hi, 0.0)


def root_qpos_adr(model: mujoco.MjModel, robot: RobotSpec, prefix: str = "") -> int:
    """qpos address of the root body's free joint (7 numbers: position, wxyz quaternion)."""
    body = model.body(prefix + robot.root_body)
    jnt = int(body.jntadr[0])
    if jnt < 0 or int(model.jnt_type[jnt]) != int(mujoco.mjtJoint.mjJNT_FREE):
        raise ValueError(f"root body {robot.root_body!r} has no free joint")
    return int(model.jnt_qposadr[jnt])


def contact_point_heights(robot: RobotSpec, clip: MotionClip, fk: ForwardKinematics | None = None) -> np.ndarray:
    """(N, P) world z of the contact points along the clip (batched forward kinematics)."""
    fk = fk or ForwardKinematics(robot)
    return fk.site_positions(clip.root_pos, clip.root_quat, clip.joint_pos)[..., 2]


def check_clip(
    robot: RobotSpec, clip: MotionClip, cfg: CheckCfg | None = None, model: mujoco.MjModel | None = None
) -> ClipChecks:
    cfg = cfg or CheckCfg()
    model = model or build_model(robot, with_floor=False)
    lo, hi = joint_ranges(model, robot)
    fk = ForwardKinematics(robot, model)
    return ClipChecks(
        limit_excess=limit_excess(clip.joint_pos, lo, hi),
        contact_z=contact_point_heights(robot, clip, fk),
        root_z=np.asarray(clip.root_pos[:, 2], dtype=np.float64),
        standing_root_z=standing_root_height(robot, fk),
        cfg=cfg,
    )
