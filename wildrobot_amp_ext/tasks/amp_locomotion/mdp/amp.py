"""AMP terms: the env-side kinematic state, the AMP feature observation term (with the FeatureSpec object the env
config settled), the reference dataset's feature header and the raw reference states for reference state
initialisation.

Both the dataset and this term call :func:`wildrobot_amp_ext.features.compute_amp_features`; this module only
turns Isaac Lab's articulation data into a :class:`~wildrobot_amp_ext.features.KinematicState` (wxyz
quaternion, link-frame velocities, joints in RobotSpec order, contact points from the RobotSpec's feet).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from isaaclab.managers import ManagerTermBase, SceneEntityCfg
from isaaclab.utils.math import convert_quat, quat_apply

from wildrobot_amp_ext.dataset.schema import open_dataset, read_feature_header
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.features import FeatureSpec, FeatureVersion, KinematicState, compute_amp_features
from wildrobot_amp_ext.features.spec import adopt_feature_spec
from wildrobot_amp_ext.robots import RobotSpec, load_robot

__all__ = [
    "robot_spec",
    "env_robot",
    "env_feature_spec",
    "resolve_feature_spec",
    "dataset_feature_header",
    "RobotKinematics",
    "amp_features",
    "STATE_KEYS",
    "ReferenceStates",
    "write_kinematic_state",
]

if TYPE_CHECKING:
    from isaaclab.assets import Articulation
    from isaaclab.envs import ManagerBasedEnv
    from isaaclab.managers import ObservationTermCfg


@lru_cache(maxsize=8)
def robot_spec(name: str) -> RobotSpec:
    return load_robot(name)


def env_robot(env: ManagerBasedEnv) -> RobotSpec:
    return robot_spec(env.cfg.robot_name)


def env_feature_spec(env: ManagerBasedEnv) -> FeatureSpec:
    """The env's FeatureSpec: the object its config's ``resolve_inputs`` settled before the env was built."""
    return env.cfg.resolved_feature_spec()


def dataset_feature_header(path: str | Path) -> FeatureVersion | None:
    """The feature version a reference dataset declares; None when it declares none (``feature_spec`` absent)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "env.amp.dataset", "reference dataset not found", "pass a wildrobot-convert .npz")
    return read_feature_header(path)  # the dataset's one reader (validated members)


def resolve_feature_spec(amp_cfg, robot: RobotSpec, dataset: str | Path | None = None) -> FeatureSpec:
    """The FeatureSpec an env with these amp settings (``feature_spec``, ``check_feature_version``) adopts from
    ``dataset``'s header (:func:`~wildrobot_amp_ext.features.adopt_feature_spec`; refused in one line on a real
    conflict). For checks made before any env exists (play's ``--dataset``); the env config's ``resolve_inputs``
    settles its own."""
    header = dataset_feature_header(dataset) if dataset else None
    return adopt_feature_spec(amp_cfg.feature_spec, robot, header, dataset, amp_cfg.check_feature_version)


class RobotKinematics:
    """Reads the articulation into :class:`KinematicState` (RobotSpec joint order, feet contact points)."""

    def __init__(self, env: ManagerBasedEnv, asset_cfg: SceneEntityCfg, robot: RobotSpec):
        self.asset: Articulation = env.scene[asset_cfg.name]
        self.robot = robot
        joint_ids, joint_names = self.asset.find_joints(list(robot.joint_names), preserve_order=True)
        if list(joint_names) != list(robot.joint_names):
            raise RuntimeError(
                f"articulation joints {joint_names} do not resolve to RobotSpec order {robot.joint_names}"
            )
        self.joint_ids = torch.as_tensor(joint_ids, device=env.device, dtype=torch.long)
        foot_bodies = [f.body for f in robot.feet]
        body_ids, _ = self.asset.find_bodies(foot_bodies, preserve_order=True)
        # contact points ordered (foot0 toe, foot0 heel, foot1 toe, foot1 heel): body index per point + offset
        self.point_body_ids = torch.as_tensor(np.repeat(body_ids, 2), device=env.device, dtype=torch.long)
        offsets = np.concatenate([f.contact_points for f in robot.feet], axis=0)
        self.point_offsets_b = torch.as_tensor(offsets, device=env.device, dtype=torch.float32)
        self.default_joint_pos = torch.as_tensor(robot.default_joint_pos, device=env.device, dtype=torch.float32)

    def contact_points(self) -> tuple[torch.Tensor, torch.Tensor]:
        """World positions and velocities of the contact points, (N, P, 3) each."""
        data = self.asset.data
        pose = data.body_link_pose_w.torch[:, self.point_body_ids]  # (N, P, 7) pos + xyzw
        vel = data.body_link_vel_w.torch[:, self.point_body_ids]  # (N, P, 6) lin + ang, link origin
        offset_w = quat_apply(pose[..., 3:7], self.point_offsets_b.expand(pose.shape[0], -1, -1))
        pos = pose[..., :3] + offset_w
        lin = vel[..., :3] + torch.linalg.cross(vel[..., 3:6], offset_w, dim=-1)
        return pos, lin

    def state(self) -> KinematicState:
        data = self.asset.data
        contact_pos, contact_vel = self.contact_points()
        return KinematicState(
            root_pos_w=data.root_link_pos_w.torch,
            root_quat_w=convert_quat(data.root_link_quat_w.torch, to="wxyz"),
            root_lin_vel_w=data.root_link_lin_vel_w.torch,
            root_ang_vel_w=data.root_link_ang_vel_w.torch,
            joint_pos=data.joint_pos.torch[:, self.joint_ids],
            joint_vel=data.joint_vel.torch[:, self.joint_ids],
            contact_pos_w=contact_pos,
            contact_vel_w=contact_vel,
        )


class amp_features(ManagerTermBase):
    """One frame of AMP features of the current state, ``(N, FeatureSpec.frame_dim)``; the observation group
    stacks ``FeatureSpec.history`` frames (oldest first). The AMP env calls :meth:`frame` to compute the terminal
    frame before a reset overwrites the state."""

    def __init__(self, cfg: ObservationTermCfg, env: ManagerBasedEnv):
        super().__init__(cfg, env)
        self.robot = env_robot(env)
        self.spec = env_feature_spec(env)
        self.kinematics = RobotKinematics(env, cfg.params["asset_cfg"], self.robot)
        self.frame_dim = self.spec.frame_dim(self.robot)

    def frame(self) -> torch.Tensor:
        return compute_amp_features(self.kinematics.state(), self.spec, self.kinematics.default_joint_pos)

    def __call__(self, env: ManagerBasedEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
        return self.frame()


# ----------------------------------------------------------------------------------------------------------------
# reference states (reference state initialisation)
# ----------------------------------------------------------------------------------------------------------------

#: per-frame raw state arrays of the reference .npz (world frame, RobotSpec joint order, wxyz quaternion)
STATE_KEYS = ("root_pos", "root_quat", "root_lin_vel", "root_ang_vel", "joint_pos", "joint_vel")
#: dataset/schema.py stores the world-frame root velocities as ``root_*_vel_w``; the short names are accepted too
STATE_KEY_NAMES = {k: (f"{k}_w", k) if k.endswith("_vel") and k.startswith("root") else (k,) for k in STATE_KEYS}


@dataclass
class ReferenceStates:
    root_pos: torch.Tensor  # (N, 3)
    root_quat: torch.Tensor  # (N, 4) wxyz
    root_lin_vel: torch.Tensor  # (N, 3) world
    root_ang_vel: torch.Tensor  # (N, 3) world
    joint_pos: torch.Tensor  # (N, J)
    joint_vel: torch.Tensor  # (N, J)

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @classmethod
    def from_npz(cls, path: str | Path, robot: RobotSpec, device: str | torch.device) -> ReferenceStates:
        path = Path(path)
        if not path.is_file():
            raise InputError(path, None, "reference dataset not found", "set env.amp.dataset to a convert_dataset .npz")
        data = open_dataset(path)  # the dataset's one reader: members checked (dtype, rows, finite) before use
        found = {k: next((n for n in names if n in data.files), None) for k, names in STATE_KEY_NAMES.items()}
        missing = [STATE_KEY_NAMES[k][0] for k, name in found.items() if name is None]
        if missing:
            raise InputError(
                path,
                missing[0],
                f"missing raw state arrays {missing} needed for reference state init",
                "rebuild the dataset with convert_dataset, or set env.amp.rsi_fraction=0",
            )
        if "joint_names" in data.files:
            names = [str(n) for n in data["joint_names"].tolist()]
            if names != list(robot.joint_names):
                raise InputError(
                    path,
                    "joint_names",
                    f"joint order {names} differs from {robot.name}'s RobotSpec",
                    "convert for this robot",
                )
        arrays = {k: np.asarray(data[name], dtype=np.float32) for k, name in found.items()}
        n = arrays["root_pos"].shape[0]
        expected = {"root_pos": 3, "root_quat": 4, "root_lin_vel": 3, "root_ang_vel": 3}
        expected |= {"joint_pos": robot.num_joints, "joint_vel": robot.num_joints}
        for key, width in expected.items():
            if arrays[key].shape != (n, width):
                raise InputError(path, key, f"shape {arrays[key].shape}, expected ({n}, {width})", "one row per frame")
            if not np.isfinite(arrays[key]).all():
                raise InputError(path, key, "holds NaN/Inf", "fix or drop those frames")
        return cls(**{k: torch.as_tensor(v, device=device) for k, v in arrays.items()})


def write_kinematic_state(
    env: ManagerBasedEnv,
    env_ids: torch.Tensor,
    state: KinematicState,
    joint_ids: torch.Tensor,
    asset_name: str = "robot",
) -> None:
    """Teleport robots to a world-frame kinematic state (replay, tests). Quaternion in ``state`` is wxyz."""
    asset: Articulation = env.scene[asset_name]
    pose = torch.cat([state.root_pos_w, convert_quat(state.root_quat_w, to="xyzw")], dim=-1).float()
    asset.write_root_link_pose_to_sim_index(root_pose=pose, env_ids=env_ids)
    asset.write_root_link_velocity_to_sim_index(
        root_velocity=torch.cat([state.root_lin_vel_w, state.root_ang_vel_w], dim=-1).float(), env_ids=env_ids
    )
    asset.write_joint_position_to_sim_index(position=state.joint_pos.float(), joint_ids=joint_ids, env_ids=env_ids)
    asset.write_joint_velocity_to_sim_index(velocity=state.joint_vel.float(), joint_ids=joint_ids, env_ids=env_ids)
