"""A robot's keypoints: its model (robots.mjcf) with one site per mapped keypoint and one at each body's origin, and
their batched forward kinematics. Robot sources (another robot's GMR pickle, ``sources``), the BVH writer (``bvh``),
the IK (``solve``) and the quality report (``pipeline``) share it.
"""

from __future__ import annotations

import mujoco
import numpy as np

from wildrobot_amp_ext.motion.kinematics import ForwardKinematics
from wildrobot_amp_ext.retarget.mapping import RobotMapping
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.mjcf import build_mjspec

SITE_PREFIX = "retarget_"
BODY_SITE_PREFIX = "retarget_body_"


def build_keypoint_spec(robot: RobotSpec, mapping: RobotMapping, with_floor: bool = False) -> mujoco.MjSpec:
    """The robot's model (robots.mjcf) plus one site per mapped keypoint (at the link, shifted by its offset) and one
    at each body's origin (``local_body_pos`` of the output walks every body through them)."""
    spec = build_mjspec(robot, with_floor=with_floor)
    for body in list(spec.bodies)[1:]:
        body.add_site(name=BODY_SITE_PREFIX + body.name, size=[0.005, 0, 0], group=5)
    for kp in mapping.links:
        spec.body(kp.link).add_site(name=SITE_PREFIX + kp.keypoint, pos=kp.offset, size=[0.01, 0, 0], group=5)
    return spec


class KeypointModel:
    """Batched FK of a robot's keypoint sites (positions) and their links (rotations), all frames at once."""

    def __init__(self, robot: RobotSpec, mapping: RobotMapping):
        self.robot, self.mapping = robot, mapping
        self.model = build_keypoint_spec(robot, mapping).compile()
        self.keypoints = mapping.keypoints
        site_ids = [self.model.site(SITE_PREFIX + k).id for k in self.keypoints]
        self.fk = ForwardKinematics(robot, self.model, site_ids=site_ids)
        slot = {int(b): i for i, b in enumerate(self.fk.body_ids)}
        self._rot_slot = np.array([slot[int(self.model.site_bodyid[s])] for s in site_ids])

    def __call__(self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray):
        """(N, K, 3) positions and (N, K, 3, 3) link rotations of the keypoints."""
        pos = self.fk.site_positions(root_pos, root_quat, joint_pos)
        _, rot = self.fk.body_poses(root_pos, root_quat, joint_pos)
        return pos, rot[:, self._rot_slot]

    def rest(self) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints in the zero pose (joints at 0, root at the origin, upright)."""
        pos, rot = self(np.zeros((1, 3)), np.array([[1.0, 0, 0, 0]]), np.zeros((1, self.robot.num_joints)))
        return pos[0], rot[0]
