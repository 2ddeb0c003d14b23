"""Reset events: reference state initialisation (RSI) from the reference dataset's raw per-frame states."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from isaaclab.managers import ManagerTermBase, SceneEntityCfg
from isaaclab.utils.math import convert_quat, quat_apply, quat_from_angle_axis, quat_mul

from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import ReferenceStates, env_robot

__all__ = ["reset_from_reference"]

if TYPE_CHECKING:
    from isaaclab.assets import Articulation
    from isaaclab.envs import ManagerBasedEnv
    from isaaclab.managers import EventTermCfg


class reset_from_reference(ManagerTermBase):
    """Reference state initialisation: a ``fraction`` of the resetting envs start in a random reference frame
    (root height/orientation, root and joint velocities, joint positions), placed at their env origin with an
    optional random heading. No-op while ``env.cfg.amp.dataset`` is unset or ``fraction`` is 0; the dataset is
    (re)read when that path changes. Runs after the default reset events (declare it last) so it overwrites their
    state for the chosen envs."""

    def __init__(self, cfg: EventTermCfg, env: ManagerBasedEnv):
        super().__init__(cfg, env)
        self.robot = env_robot(env)
        self.states: ReferenceStates | None = None
        self._states_source: str | None = None
        if float(cfg.params.get("fraction", 0.0)) > 0.0:
            self._load(env)  # fail at env creation, not at the first reset, on a bad dataset
        asset_cfg: SceneEntityCfg = cfg.params.get("asset_cfg", SceneEntityCfg("robot"))
        self.asset: Articulation = env.scene[asset_cfg.name]
        joint_ids, _ = self.asset.find_joints(list(self.robot.joint_names), preserve_order=True)
        self.joint_ids = torch.as_tensor(joint_ids, device=env.device, dtype=torch.long)
        self.last_reference_env_ids = torch.zeros(0, dtype=torch.long, device=env.device)
        # built once: a torch.tensor(...) per reset would be a host-to-device copy on every reset on a GPU
        self._z_axis = torch.tensor([0.0, 0.0, 1.0], device=env.device)

    def __call__(
        self,
        env: ManagerBasedEnv,
        env_ids: torch.Tensor | None,
        fraction: float = 0.0,
        random_heading: bool = True,
        height_offset: float = 0.0,
        asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
    ) -> None:
        if fraction <= 0.0 or not self._load(env):
            return
        if env_ids is None or isinstance(env_ids, slice):
            env_ids = torch.arange(env.num_envs, device=env.device)
        chosen = env_ids[torch.rand(env_ids.shape[0], device=env.device) < fraction]
        self.last_reference_env_ids = chosen
        if chosen.numel() == 0:
            return
        frames = torch.randint(0, self.states.num_frames, (chosen.numel(),), device=env.device)
        self.write_frames(env, chosen, frames, random_heading=random_heading, height_offset=height_offset)

    def _load(self, env: ManagerBasedEnv) -> bool:
        """(Re)load the raw reference states when ``env.cfg.amp.dataset`` names a new file; False: no dataset."""
        dataset = env.cfg.amp.dataset
        if not dataset:
            self.states, self._states_source = None, None
            return False
        if dataset != self._states_source:
            self.states = ReferenceStates.from_npz(dataset, self.robot, env.device)
            self._states_source = dataset
        return True

    def write_frames(
        self,
        env: ManagerBasedEnv,
        env_ids: torch.Tensor,
        frames: torch.Tensor,
        random_heading: bool,
        height_offset: float,
    ) -> None:
        s = self.states
        n = env_ids.numel()
        quat_xyzw = convert_quat(s.root_quat[frames], to="xyzw")
        lin, ang = s.root_lin_vel[frames], s.root_ang_vel[frames]
        if random_heading:
            # features are heading-invariant: spin the whole frame about z so starts face every direction
            yaw = (torch.rand(n, device=env.device) * 2.0 - 1.0) * torch.pi
            spin = quat_from_angle_axis(yaw, self._z_axis.expand(n, 3))
            quat_xyzw = quat_mul(spin, quat_xyzw)
            lin, ang = quat_apply(spin, lin), quat_apply(spin, ang)
        pos = env.scene.env_origins[env_ids].clone()
        pos[:, 2] += s.root_pos[frames, 2] + height_offset
        self.asset.write_root_link_pose_to_sim_index(root_pose=torch.cat([pos, quat_xyzw], dim=-1), env_ids=env_ids)
        self.asset.write_root_link_velocity_to_sim_index(root_velocity=torch.cat([lin, ang], dim=-1), env_ids=env_ids)
        self.asset.write_joint_position_to_sim_index(
            position=s.joint_pos[frames], joint_ids=self.joint_ids, env_ids=env_ids
        )
        self.asset.write_joint_velocity_to_sim_index(
            velocity=s.joint_vel[frames], joint_ids=self.joint_ids, env_ids=env_ids
        )
