"""Task rewards for velocity-tracking locomotion. Foot contact follows the one rule of
:mod:`wildrobot_amp_ext.features.contact` with the env's FeatureSpec thresholds (the AMP features use the same), so
no contact sensor is needed. The foot terms' math is in plain torch functions (:func:`air_time_reward`,
:func:`slide_speed`, :func:`slip_excess`, :func:`clearance_error`) that a MuJoCo-side evaluation can call on its own
arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from isaaclab.managers import ManagerTermBase, SceneEntityCfg
from isaaclab.utils.math import quat_apply_inverse, yaw_quat

from wildrobot_amp_ext.features import ContactRule, per_foot, stance_slip
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import RobotKinematics, env_feature_spec, env_robot

__all__ = [
    "track_lin_vel_xy_yaw_frame_exp",
    "track_ang_vel_z_world_exp",
    "mechanical_power",
    "FeetState",
    "feet_state",
    "air_time_reward",
    "landing_air_time",
    "slide_speed",
    "slip_excess",
    "clearance_error",
    "feet_air_time_biped",
    "feet_air_time_landing",
    "feet_slide",
    "feet_slip",
    "foot_clearance",
]

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
    error = torch.square(
        env.command_manager.get_command(command_name)[:, 2] - asset.data.root_link_ang_vel_w.torch[:, 2]
    )
    return torch.exp(-error / std**2)


def mechanical_power(env: ManagerBasedRLEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    """Sum over joints of |torque * joint velocity| (W): an energy penalty."""
    asset: Articulation = env.scene[asset_cfg.name]
    torque = asset.data.applied_torque.torch[:, asset_cfg.joint_ids]
    return torch.sum(torch.abs(torque * asset.data.joint_vel.torch[:, asset_cfg.joint_ids]), dim=1)


@dataclass
class FeetState:
    """Per-foot quantities, (N, F) each: in contact and near the ground (the contact rule), lowest point's height,
    mean horizontal speed of the foot's points."""

    contact: torch.Tensor
    near_ground: torch.Tensor
    height: torch.Tensor
    speed: torch.Tensor


def feet_state(contact_pos_w: torch.Tensor, contact_vel_w: torch.Tensor, rule: ContactRule) -> FeetState:
    """From the contact points (N, P, 3) in RobotSpec order (toe, heel per foot)."""
    return FeetState(
        contact=rule.foot_contacts(contact_pos_w, contact_vel_w),
        near_ground=per_foot(rule.near_ground(contact_pos_w)).any(dim=-1),
        height=per_foot(contact_pos_w[..., 2]).amin(dim=-1),
        speed=per_foot(torch.linalg.vector_norm(contact_vel_w[..., :2], dim=-1)).mean(dim=-1),
    )


def air_time_reward(contact_time: torch.Tensor, air_time: torch.Tensor, contact: torch.Tensor, threshold: float):
    """Time in the current stance/swing mode while exactly one foot is down, the smaller over feet, clipped."""
    in_mode = torch.where(contact, contact_time, air_time)
    single_stance = (contact.sum(dim=1) == 1).unsqueeze(-1)
    return torch.where(single_stance, in_mode, torch.zeros_like(in_mode)).min(dim=1).values.clamp(max=threshold)


def landing_air_time(air_time: torch.Tensor, touchdown: torch.Tensor, threshold: float) -> torch.Tensor:
    """At each touch-down, the air time before it minus ``threshold``, summed over feet: a step shorter than
    ``threshold`` costs, a longer one pays (Isaac Lab's ``feet_air_time`` form, paid once per step)."""
    return torch.sum((air_time - threshold) * touchdown, dim=1)


def slide_speed(feet: FeetState) -> torch.Tensor:
    """Horizontal speed of the feet near the ground, summed over feet (a slipping foot is near the ground, moving)."""
    return torch.sum(feet.speed * feet.near_ground, dim=1)


def slip_excess(contact_pos_w: torch.Tensor, contact_vel_w: torch.Tensor, dead_zone: float) -> torch.Tensor:
    """Stance-foot slip speed above ``dead_zone`` (m/s), summed over feet: the evaluation's slip
    (:func:`~wildrobot_amp_ext.features.stance_slip`: a touching foot's slowest point) with a dead zone, so a foot
    pivoting or rolling about a still point, and the slow creep of a turning stance foot, cost nothing."""
    _, slip = stance_slip(contact_pos_w, contact_vel_w)
    return torch.sum(torch.clamp(slip - dead_zone, min=0.0), dim=1)


def clearance_error(feet: FeetState, target_height: float) -> torch.Tensor:
    """Squared error of the sole height to ``target_height`` weighted by the foot's horizontal speed."""
    return torch.sum(torch.square(feet.height - target_height) * feet.speed, dim=1)


def commanded_to_move(env: ManagerBasedRLEnv, command_name: str, min_command: float) -> torch.Tensor:
    """(N,) bool: the planar velocity command is faster than ``min_command`` (the step rewards act only then)."""
    return torch.linalg.vector_norm(env.command_manager.get_command(command_name)[:, :2], dim=1) > min_command


class _FeetTerm(ManagerTermBase):
    """A reward term that reads the feet's contact points with the env's contact rule."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        self.kinematics = RobotKinematics(env, cfg.params.get("asset_cfg", SceneEntityCfg("robot")), env_robot(env))
        self.rule = env_feature_spec(env).contact_rule
        self.num_feet = len(self.kinematics.robot.feet)

    def feet(self) -> FeetState:
        return feet_state(*self.kinematics.contact_points(), self.rule)


class _StepTerm(_FeetTerm):
    """A step reward: per-foot bookkeeping in :meth:`step_reward` (contact this step -> reward), paid only while the
    command asks to move."""

    def step_reward(self, contact: torch.Tensor, dt: float, threshold: float) -> torch.Tensor:
        raise NotImplementedError

    def __call__(
        self,
        env: ManagerBasedRLEnv,
        command_name: str,
        threshold: float,
        min_command: float = 0.1,
        asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
    ) -> torch.Tensor:
        reward = self.step_reward(self.feet().contact, env.step_dt, threshold)
        return reward * commanded_to_move(env, command_name, min_command)


class feet_air_time_biped(_StepTerm):
    """Reward the time spent in the current stance/swing mode while exactly one foot is down (clipped at
    ``threshold`` s), only when the command asks to move: rewards long, alternating steps."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        shape = (env.num_envs, self.num_feet)
        self.air_time = torch.zeros(shape, device=env.device)
        self.contact_time = torch.zeros(shape, device=env.device)

    def reset(self, env_ids=None) -> None:
        ids = slice(None) if env_ids is None else env_ids
        self.air_time[ids] = 0.0
        self.contact_time[ids] = 0.0

    def step_reward(self, contact: torch.Tensor, dt: float, threshold: float) -> torch.Tensor:
        self.contact_time = torch.where(contact, self.contact_time + dt, torch.zeros_like(self.contact_time))
        self.air_time = torch.where(contact, torch.zeros_like(self.air_time), self.air_time + dt)
        return air_time_reward(self.contact_time, self.air_time, contact, threshold)


class feet_air_time_landing(_StepTerm):
    """At each touch-down, the air time before it minus ``threshold`` (s), summed over feet, only when the command
    asks to move: short quick steps cost, steps of at least ``threshold`` pay."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        shape = (env.num_envs, self.num_feet)
        self.air_time = torch.zeros(shape, device=env.device)
        self.in_contact = torch.ones(shape, dtype=torch.bool, device=env.device)

    def reset(self, env_ids=None) -> None:
        ids = slice(None) if env_ids is None else env_ids
        self.air_time[ids] = 0.0
        self.in_contact[ids] = True  # a foot in the air at a reset starts its air time there

    def step_reward(self, contact: torch.Tensor, dt: float, threshold: float) -> torch.Tensor:
        touchdown = contact & ~self.in_contact
        self.air_time = torch.where(self.in_contact & ~contact, torch.zeros_like(self.air_time), self.air_time)
        self.air_time = torch.where(contact, self.air_time, self.air_time + dt)
        self.in_contact = contact
        return landing_air_time(self.air_time, touchdown, threshold)


class feet_slide(_FeetTerm):
    """Horizontal sole speed of the feet near the ground (m/s), summed over feet."""

    def __call__(self, env: ManagerBasedRLEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
        return slide_speed(self.feet())


class feet_slip(_FeetTerm):
    """Stance-foot slip above ``dead_zone`` m/s (:func:`slip_excess`), summed over feet."""

    def __call__(
        self, env: ManagerBasedRLEnv, dead_zone: float = 0.05, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")
    ) -> torch.Tensor:
        return slip_excess(*self.kinematics.contact_points(), dead_zone)


class foot_clearance(_FeetTerm):
    """Squared error between sole height and ``target_height``, weighted by the foot's horizontal speed (a foot that
    moves should be lifted; a still foot is not penalised)."""

    def __call__(
        self, env: ManagerBasedRLEnv, target_height: float, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")
    ) -> torch.Tensor:
        return clearance_error(self.feet(), target_height)
