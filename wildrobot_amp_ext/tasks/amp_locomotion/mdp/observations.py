"""Policy observation terms not in ``isaaclab.envs.mdp``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from isaaclab.managers import SceneEntityCfg

__all__ = ["root_height"]

if TYPE_CHECKING:
    from isaaclab.assets import Articulation
    from isaaclab.envs import ManagerBasedEnv


def root_height(env: ManagerBasedEnv, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    """Root height above the (flat) ground, (N, 1): on flat ground it replaces a height scanner."""
    asset: Articulation = env.scene[asset_cfg.name]
    return asset.data.root_link_pos_w.torch[:, 2:3] - env.scene.env_origins[:, 2:3]
