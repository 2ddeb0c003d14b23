"""Per-frame inverse kinematics with mink: one frame task per mapped keypoint (site at the link), a posture task
towards the robot's default pose, configuration (joint range) and velocity limits, collision avoidance between the
legs and between the arms and the trunk (``collision.limb_pairs``), daqp as the QP solver.

Frame 0 starts from the default pose placed at the target pelvis pose (so a clip that starts facing backwards is
solved from the right heading) and iterates to convergence without the velocity limit; every later frame starts
from the previous solution (warm start) and iterates until the step is below ``tolerance`` or ``max_iters``.
Each iteration integrates over ``dt / max_iters`` (dt = the clip's frame time), so the velocity limit bounds the
motion of a whole frame, not of one iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import mink
import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from wildrobot_amp_ext.retarget.collision import enable_pairs, limb_pairs
from wildrobot_amp_ext.retarget.mapping import ROOT, RobotMapping
from wildrobot_amp_ext.retarget.robot_keypoints import SITE_PREFIX, build_keypoint_spec
from wildrobot_amp_ext.retarget.scale import Targets
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.mjcf import joint_qpos_adr


@dataclass(frozen=True)
class SolveConfig:
    #: IK iterations per frame at most (warm-started frames converge in 2-4)
    max_iters: int = 6
    #: stop a frame's iterations when the configuration step is below this (rad or m)
    tolerance: float = 1e-3
    #: iterations for frame 0 (from the default pose)
    first_frame_iters: int = 200
    #: Levenberg-Marquardt style damping of the IK QP
    damping: float = 1e-3
    #: joint velocity limit as a multiple of the robot YAML's velocity_limit (per frame)
    velocity_limit_scale: float = 1.0
    #: collision avoidance between the legs and between each arm and the trunk (collision.limb_pairs)
    collision: bool = True
    #: distance the avoidance keeps between those geoms, and the distance at which it starts acting (m)
    collision_margin: float = 0.005
    collision_detection: float = 0.03


@dataclass
class Solution:
    root_pos: np.ndarray  # (N, 3)
    root_quat: np.ndarray  # (N, 4) wxyz
    joint_pos: np.ndarray  # (N, J) RobotSpec order
    iterations: np.ndarray  # (N,) IK iterations used per frame


def _wxyz(rot: np.ndarray) -> np.ndarray:
    return np.roll(Rotation.from_matrix(rot.reshape(-1, 3, 3)).as_quat(), 1, axis=-1).reshape(*rot.shape[:-2], 4)


class IKSolver:
    def __init__(
        self,
        robot: RobotSpec,
        mapping: RobotMapping,
        keypoints: tuple[str, ...],
        cfg: SolveConfig,
        model: mujoco.MjModel | None = None,
    ):
        self.robot, self.cfg, self.keypoints = robot, cfg, keypoints
        self.model = model if model is not None else build_keypoint_spec(robot, mapping).compile()
        m = self.model
        self.qadr = joint_qpos_adr(m, robot)
        data = mujoco.MjData(m)
        data.qpos[:] = m.qpos0
        mujoco.mj_kinematics(m, data)
        root_id = m.body(mapping.link(ROOT).link).id
        # zero-pose world rotation of each keypoint's link, relative to the root's (the root is upright there)
        self.rest_rot = np.stack(
            [data.xmat[m.site_bodyid[m.site(SITE_PREFIX + k).id]].reshape(3, 3) for k in keypoints]
        )
        self.rest_rot = data.xmat[root_id].reshape(3, 3).T @ self.rest_rot
        self.configuration = mink.Configuration(m)
        self.tasks = []
        for k in keypoints:
            link = mapping.link(k)
            self.tasks.append(
                mink.FrameTask(
                    SITE_PREFIX + k,
                    "site",
                    position_cost=link.position_weight,
                    orientation_cost=link.orientation_weight,
                    lm_damping=1.0,
                )
            )
        self.posture = mink.PostureTask(m, cost=mapping.posture_weight)
        self.q_default = m.qpos0.copy()
        self.q_default[self.qadr] = robot.default_joint_pos
        self.posture.set_target(self.q_default)
        velocities = {n: cfg.velocity_limit_scale * float(v) for n, v in zip(robot.joint_names, robot.velocity_limit)}
        self.limits = [mink.ConfigurationLimit(m), mink.VelocityLimit(m, velocities)]
        self.config_limit_only = self.limits[:1]
        pairs = limb_pairs(m, mapping) if cfg.collision else []
        if pairs:
            enable_pairs(m, pairs)
            avoid = mink.CollisionAvoidanceLimit(
                m,
                pairs,
                minimum_distance_from_collisions=cfg.collision_margin,
                collision_detection_distance=cfg.collision_detection,
            )
            self.limits.append(avoid)
            self.config_limit_only = [self.limits[0], avoid]

    def solve(self, targets: Targets, fps: float) -> Solution:
        cfg, m = self.cfg, self.model
        # each iteration integrates over dt / max_iters: the velocity limit then bounds a whole frame's motion
        step = 1.0 / fps / cfg.max_iters
        n = targets.pos.shape[0]
        # target poses of all frames at once: position + (source canonical rotation x robot zero-pose link rotation)
        wxyz = _wxyz(targets.rot @ self.rest_rot[None])
        poses = np.concatenate([wxyz, targets.pos], axis=-1)  # (N, K, 7) mink SE3 layout
        q = self.q_default.copy()
        q[:3] = targets.pos[0, 0]
        q[3:7] = wxyz[0, 0]
        self.configuration.update(q)
        out = np.empty((n, m.nq))
        iterations = np.zeros(n, np.int64)
        all_tasks = [*self.tasks, self.posture]
        for f in range(n):
            for task, pose in zip(self.tasks, poses[f]):
                task.set_target(mink.SE3(pose))
            first = f == 0
            limits = self.config_limit_only if first else self.limits
            it = 0
            for it in range(cfg.first_frame_iters if first else cfg.max_iters):  # noqa: B007 (count kept)
                vel = mink.solve_ik(self.configuration, all_tasks, step, "daqp", damping=cfg.damping, limits=limits)
                self.configuration.integrate_inplace(vel, step)
                if np.abs(vel).max() * step < cfg.tolerance:
                    break
            iterations[f] = it + 1
            out[f] = self.configuration.q
        return Solution(
            root_pos=out[:, :3].copy(),
            root_quat=out[:, 3:7] / np.linalg.norm(out[:, 3:7], axis=1, keepdims=True),
            joint_pos=out[:, self.qadr],
            iterations=iterations,
        )
