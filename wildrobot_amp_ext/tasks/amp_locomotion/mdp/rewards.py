"""Task rewards for velocity-tracking locomotion. Foot contact is labelled kinematically (contact-point height), the
same rule as the AMP features, so no contact sensor is needed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from isaaclab.managers import ManagerTermBase, SceneEntityCfg
from isaaclab.utils.math import quat_apply_inverse, yaw_quat

from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import RobotKinematics, env_robot

__all__ = ["track_lin_vel_xy_yaw_frame_exp", "track_ang_vel_z_world_exp", "mechanical_power", "FeetKinematics", "shared_feet", "feet_air_time_biped", "feet_slide", "foot_clearance"]

if TYPE_CHECKING:
    from isaaclab.assets import Articulation
    from isaaclab.envs import ManagerBasedRLEnv
    from isaaclab.managers import RewardTermCfg


def track_lin_vel_xy_yaw_frame_exp(
    env: ManagerBasedRLEnv, std: float, command_name: str, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")
) -> torch.Tensor:
    """exp(-|v_cmd - v_xy|^2 / std^2) with the velocity in the gravity-aligned (yaw) frame."""
    asset: Articulation = env.scene[asset_cfg.name]
    vel_yaw = quat_apply_inverse(yaw_quat(asset.data.root_link_quat_w.torch), asset.data.root_link_lin_vel_w.torch)
    error = torch.sum(torch.square(env.command_manager.get_command(command_name)[:, :2] - vel_yaw[:, :2]), dim=1)
    return torch.exp(-error / std**2)


def track_ang_vel_z_world_exp(
    env: ManagerBasedRLEnv, std: float, command_name: str, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")
) -> torch.Tensor:
    """exp(-(w_cmd - w_z)^2 / std^2), yaw rate in the world frame."""
    asset: Articulation = env.scene[asset_cfg.name]
    error = torch.square(env.command_manager.get_command(command_name)[:, 2] - asset.data.root_link_ang_vel_w.torch[:, 2])
    return torch.exp(-error / std**2)


def mechanical_power(env: ManagerBasedRLEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    """Sum over joints of |torque * joint velocity| (W): an energy penalty."""
    asset: Articulation = env.scene[asset_cfg.name]
    torque = asset.data.applied_torque.torch[:, asset_cfg.joint_ids]
    return torch.sum(torch.abs(torque * asset.data.joint_vel.torch[:, asset_cfg.joint_ids]), dim=1)


class FeetKinematics:
    """Per-foot contact flag, sole height and horizontal sole speed from the RobotSpec contact points.

    One instance per env (:func:`shared_feet`) caches the contact points per physics step, so the foot reward
    terms read the articulation once per step instead of once each."""

    def __init__(self, env: ManagerBasedRLEnv, asset_cfg: SceneEntityCfg):
        self.env = env
        self.kin = RobotKinematics(env, asset_cfg, env_robot(env))
        self.num_feet = len(self.kin.robot.feet)
        self._key = None
        self._height = self._speed = None

    def _refresh(self) -> None:
        key = self.env._sim_step_counter
        if key == self._key:
            return
        pos, vel = self.kin.contact_points()  # (N, 2F, 3), points grouped per foot (toe, heel)
        n = pos.shape[0]
        self._height = torch.amin(pos[..., 2].reshape(n, self.num_feet, 2), dim=-1)
        self._speed = torch.linalg.vector_norm(vel[..., :2], dim=-1).reshape(n, self.num_feet, 2).mean(dim=-1)
        self._key = key

    def read(self, contact_height: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self._refresh()
        return self._height < contact_height, self._height, self._speed


def shared_feet(env: ManagerBasedRLEnv, asset_cfg: SceneEntityCfg) -> FeetKinematics:
    feet = getattr(env, "_amp_feet_kinematics", None)
    if feet is None:
        feet = env._amp_feet_kinematics = FeetKinematics(env, asset_cfg)
    return feet


class feet_air_time_biped(ManagerTermBase):
    """Reward the time spent in the current stance/swing mode while exactly one foot is down (clipped at
    ``threshold`` s), only when the command asks to move: rewards long, alternating steps."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        self.feet = shared_feet(env, cfg.params.get("asset_cfg", SceneEntityCfg("robot")))
        shape = (env.num_envs, self.feet.num_feet)
        self.air_time = torch.zeros(shape, device=env.device)
        self.contact_time = torch.zeros(shape, device=env.device)

    def reset(self, env_ids=None) -> None:
        ids = slice(None) if env_ids is None else env_ids
        self.air_time[ids] = 0.0
        self.contact_time[ids] = 0.0

    def __call__(
        self,
        env: ManagerBasedRLEnv,
        command_name: str,
        threshold: float,
        contact_height: float,
        min_command: float = 0.1,
        asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
    ) -> torch.Tensor:
        contact, _, _ = self.feet.read(contact_height)
        dt = env.step_dt
        self.contact_time = torch.where(contact, self.contact_time + dt, torch.zeros_like(self.contact_time))
        self.air_time = torch.where(contact, torch.zeros_like(self.air_time), self.air_time + dt)
        in_mode = torch.where(contact, self.contact_time, self.air_time)
        single_stance = (contact.sum(dim=1) == 1).unsqueeze(-1)
        reward = torch.where(single_stance, in_mode, torch.zeros_like(in_mode)).min(dim=1).values.clamp(max=threshold)
        moving = torch.linalg.vector_norm(env.command_manager.get_command(command_name)[:, :2], dim=1) > min_command
        return reward * moving


class feet_slide(ManagerTermBase):
    """Horizontal sole speed of the feet that are on the ground (m/s), summed over feet."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        self.feet = shared_feet(env, cfg.params.get("asset_cfg", SceneEntityCfg("robot")))

    def __call__(
        self, env: ManagerBasedRLEnv, contact_height: float, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")
    ) -> torch.Tensor:
        contact, _, speed = self.feet.read(contact_height)
        return torch.sum(speed * contact, dim=1)


class foot_clearance(ManagerTermBase):
    """Squared error between swing-foot sole height and ``target_height``, weighted by the foot's horizontal speed
    (a foot that moves should be lifted; a still foot is not penalised)."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        self.feet = shared_feet(env, cfg.params.get("asset_cfg", SceneEntityCfg("robot")))

    def __call__(
        self, env: ManagerBasedRLEnv, target_height: float, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")
    ) -> torch.Tensor:
        _, height, speed = self.feet.read(contact_height=0.0)
        return torch.sum(torch.square(height - target_height) * speed, dim=1)
