"""The kinematic state record: what the AMP feature function reads (:func:`~wildrobot_amp_ext.features.
compute_amp_features`), filled by the converter and the miner from clips and by the env from its articulation.

It lives in the motion layer, under the features that read it: building one needs no feature code, and torch is
imported only when a state is made from numpy arrays (so importing the motion layer stays light).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass
class KinematicState:
    """World-frame state of a batch of robots (or frames). All tensors share the leading dim N.

    ``root_quat_w`` is **wxyz** (Isaac Lab 3.0 stores xyzw: convert before building this).
    ``contact_pos_w`` / ``contact_vel_w`` hold the feet's contact points in RobotSpec order
    (foot0 toe, foot0 heel, foot1 toe, foot1 heel)."""

    root_pos_w: torch.Tensor  # (N, 3)
    root_quat_w: torch.Tensor  # (N, 4) wxyz
    root_lin_vel_w: torch.Tensor  # (N, 3)
    root_ang_vel_w: torch.Tensor  # (N, 3)
    joint_pos: torch.Tensor  # (N, J) absolute
    joint_vel: torch.Tensor  # (N, J)
    contact_pos_w: torch.Tensor  # (N, P, 3)
    contact_vel_w: torch.Tensor  # (N, P, 3)

    @classmethod
    def from_numpy(cls, device: str | torch.device = "cpu", dtype: torch.dtype | None = None, **arrays: np.ndarray):
        """A state of tensors on ``device`` (``dtype`` default float64) from numpy arrays named as the fields."""
        import torch

        dtype = torch.float64 if dtype is None else dtype
        return cls(**{k: torch.as_tensor(np.asarray(v), device=device, dtype=dtype) for k, v in arrays.items()})

    def __getitem__(self, index) -> KinematicState:
        return KinematicState(**{f.name: getattr(self, f.name)[index] for f in fields(self)})
