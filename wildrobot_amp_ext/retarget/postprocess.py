"""The whole-clip pass after the IK: zero-phase (Gaussian) smoothing, joint ranges, ground from the feet's collision
geometry.

Ground: the lowest point of each foot is the lowest corner of its collision geoms' bounding boxes (``FootGeometry``,
exact for a flat box or a horizontal capsule resting on the floor), not the foot body's origin. Per frame, the root
moves so the lowest stance foot (stance from the source) touches the floor, interpolated between stance frames: a
source's sinking or tilted stance foot, or a foot the robot cannot lay flat (WildRobot has no ankle roll), touches
at its lowest corner and no foot goes below it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import mujoco
import numpy as np
from scipy.ndimage import gaussian_filter1d

from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.kinematics import ForwardKinematics
from wildrobot_amp_ext.retarget.solve import Solution
from wildrobot_amp_ext.robots import RobotSpec


@dataclass(frozen=True)
class PostConfig:
    #: cut-off of the zero-phase Gaussian smoothing (sigma = 1 / (2 pi f)), Hz; 0: off
    smooth_hz: float = 8.0
    #: move the root so that stance feet rest on z = 0
    ground: bool = True


class FootGeometry:
    """Lowest point of each foot's collision geometry, batched over frames."""

    def __init__(self, robot: RobotSpec, model: mujoco.MjModel):
        self.fk = ForwardKinematics(robot, model)  # contact sites: their bodies are the feet
        slot = {int(b): i for i, b in enumerate(self.fk.body_ids)}
        self.slots, self.corners = [], []
        for foot in robot.feet:
            body = model.body(foot.body).id
            corners = []
            for g in range(model.ngeom):
                if model.geom_bodyid[g] != body or not (model.geom_contype[g] or model.geom_conaffinity[g]):
                    continue
                center, half = model.geom_aabb[g, :3], model.geom_aabb[g, 3:]
                signs = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T
                local = center + signs * half  # (8, 3) in the geom frame
                corners.append(model.geom_pos[g] + local @ Q.to_matrix(model.geom_quat[g]).T)
            if not corners:  # a foot without collision geometry: its contact points stand in
                corners.append(np.asarray(foot.contact_points))
            self.slots.append(slot[body])
            self.corners.append(np.concatenate(corners))

    def lowest(self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray) -> np.ndarray:
        """(N, 2) height of each foot's lowest point."""
        pos, rot = self.fk.body_poses(root_pos, root_quat, joint_pos)
        out = [
            (pos[:, s, None, 2] + np.einsum("nj,cj->nc", rot[:, s, 2, :], c)).min(axis=1)
            for s, c in zip(self.slots, self.corners)
        ]
        return np.stack(out, axis=1)


def smooth(sol: Solution, fps: float, cutoff_hz: float, model: mujoco.MjModel, qadr: np.ndarray) -> Solution:
    """Zero-phase Gaussian low-pass (sigma = 1 / (2 pi cutoff)) of joints, root position and root quaternion
    (renormalised). A Gaussian is a positive kernel: every smoothed value is a weighted mean of its neighbours, so
    no joint leaves its range and no speed grows (a Butterworth overshoots ~4 % and did both)."""
    if cutoff_hz <= 0 or sol.joint_pos.shape[0] < 3:
        return sol
    sigma = fps / (2.0 * np.pi * cutoff_hz)  # frames

    def blur(x: np.ndarray) -> np.ndarray:
        return gaussian_filter1d(x, sigma, axis=0, mode="nearest", truncate=3.0)

    joints = clip_to_range(blur(sol.joint_pos), model, qadr)
    quat = blur(Q.make_continuous(sol.root_quat))
    return replace(sol, joint_pos=joints, root_pos=blur(sol.root_pos), root_quat=Q.normalize(quat))


def clip_to_range(joints: np.ndarray, model: mujoco.MjModel, qadr: np.ndarray) -> np.ndarray:
    lo, hi = joint_ranges(model, qadr)
    return np.clip(joints, lo, hi)


def joint_ranges(model: mujoco.MjModel, qadr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(J,) lower and upper limits (+-inf for unlimited joints) of the joints at qpos addresses ``qadr``."""
    jnt = np.array([np.flatnonzero(model.jnt_qposadr == a)[0] for a in qadr])
    limited = model.jnt_limited[jnt].astype(bool)
    lo = np.where(limited, model.jnt_range[jnt, 0], -np.inf)
    hi = np.where(limited, model.jnt_range[jnt, 1], np.inf)
    return lo, hi


def ground(
    sol: Solution, feet: FootGeometry, stance: np.ndarray, fps: float, cutoff_hz: float
) -> tuple[Solution, dict]:
    """Shift the root vertically, per frame, so the lowest stance foot touches z = 0 (its collision geometry, not its
    origin), interpolated between stance frames, smoothed like the joints, and never letting a foot below 0."""
    low = feet.lowest(sol.root_pos, sol.root_quat, sol.joint_pos)  # (N, 2)
    n = low.shape[0]
    frames = np.arange(n)
    in_stance = stance.any(axis=1)
    if in_stance.any():
        touch = -np.where(stance, low, np.inf).min(axis=1)  # brings the lowest stance foot to 0
        shift = np.interp(frames, frames[in_stance], touch[in_stance])
    else:
        shift = np.full(n, -low.min())
    floor = -low.min(axis=1)  # the shift below which a foot would be under the floor
    shift = np.maximum(shift, floor)
    if cutoff_hz > 0 and n >= 3:
        shift = np.maximum(gaussian_filter1d(shift, fps / (2.0 * np.pi * cutoff_hz), mode="nearest"), floor)
    root = sol.root_pos.copy()
    root[:, 2] += shift
    return replace(sol, root_pos=root), {
        "mean_m": float(shift.mean()),
        "min_m": float(shift.min()),
        "max_m": float(shift.max()),
    }
