"""Policy and critic observation terms not in ``isaaclab.envs.mdp`` (definitions: ``deploy.observations``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from isaaclab.managers import ManagerTermBase, SceneEntityCfg
from isaaclab.utils.math import quat_apply_inverse

from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import RobotKinematics, env_feature_spec, env_robot

__all__ = ["root_height", "imu_ang_vel", "imu_projected_gravity", "foot_contacts"]

if TYPE_CHECKING:
    from isaaclab.assets import Articulation
    from isaaclab.envs import ManagerBasedEnv
    from isaaclab.managers import ObservationTermCfg


def root_height(env: ManagerBasedEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    """Root height above the (flat) ground, (N, 1): on flat ground it replaces a height scanner."""
    asset: Articulation = env.scene[asset_cfg.name]
    return asset.data.root_link_pos_w.torch[:, 2:3] - env.scene.env_origins[:, 2:3]


def _imu_body(data: torch.Tensor, asset_cfg: SceneEntityCfg) -> torch.Tensor:
    # a one-element slice, not body_ids[0]: on a device tensor a 0-dim index is resolved with .item(), a GPU sync
    return data[:, asset_cfg.body_ids[:1]][:, 0]


def _imu_quat(asset: Articulation, asset_cfg: SceneEntityCfg) -> torch.Tensor:
    return _imu_body(asset.data.body_link_quat_w.torch, asset_cfg)  # xyzw (Isaac Lab 3.0)


def imu_ang_vel(env: ManagerBasedEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    """Angular velocity of the IMU body (``asset_cfg.body_names[0]``) in its own frame, (N, 3): the gyroscope."""
    asset: Articulation = env.scene[asset_cfg.name]
    ang_w = _imu_body(asset.data.body_link_ang_vel_w.torch, asset_cfg)
    return quat_apply_inverse(_imu_quat(asset, asset_cfg), ang_w)


def imu_projected_gravity(env: ManagerBasedEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    """Unit gravity direction (0, 0, -1) in the IMU body's frame, (N, 3)."""
    asset: Articulation = env.scene[asset_cfg.name]
    quat = _imu_quat(asset, asset_cfg)
    down = torch.zeros_like(quat[:, :3])
    down[:, 2] = -1.0
    return quat_apply_inverse(quat, down)


class foot_contacts(ManagerTermBase):
    """(N, F) 1.0 where a foot is in contact by the features' contact rule (critic only: no sensor on the robot)."""

    def __init__(self, cfg: ObservationTermCfg, env: ManagerBasedEnv):
        super().__init__(cfg, env)
        self.kinematics = RobotKinematics(env, cfg.params.get("asset_cfg", SceneEntityCfg("robot")), env_robot(env))
        self.rule = env_feature_spec(env).contact_rule

    def __call__(self, env: ManagerBasedEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
        return self.rule.foot_contacts(*self.kinematics.contact_points()).float()
