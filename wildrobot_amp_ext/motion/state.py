"""The kinematic state records: :class:`KinematicState` (tensors, what the AMP feature function reads, filled by
the env from its articulation) and :class:`ClipStates` (numpy, the dataset's state columns, filled from clips and
from the miner's rollouts; :meth:`ClipStates.to_kinematic_state` hands them to the feature function).

They live in the motion layer, under the features that read them; torch is imported only when a state is made
from numpy arrays, so importing the motion layer stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
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


@dataclass
class ClipStates:
    """Raw per-frame states of a clip (world frame, RobotSpec joint order, wxyz) - the dataset's state columns.

    The same eight quantities as :class:`KinematicState`, in numpy, under the dataset's column names (``root_pos``,
    ``root_quat``: the names stored in every dataset and miner cache file); :meth:`to_kinematic_state` renames."""

    root_pos: np.ndarray  # (N, 3)
    root_quat: np.ndarray  # (N, 4) wxyz
    root_lin_vel_w: np.ndarray  # (N, 3)
    root_ang_vel_w: np.ndarray  # (N, 3)
    joint_pos: np.ndarray  # (N, J) absolute
    joint_vel: np.ndarray  # (N, J)
    contact_pos_w: np.ndarray  # (N, P, 3)
    contact_vel_w: np.ndarray  # (N, P, 3)

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_kinematic_state(
        self, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
    ) -> KinematicState:
        d = self.as_dict()
        d["root_pos_w"] = d.pop("root_pos")
        d["root_quat_w"] = d.pop("root_quat")
        return KinematicState.from_numpy(device=device, dtype=dtype, **d)

    @staticmethod
    def concatenate(parts: Sequence[ClipStates]) -> ClipStates:
        return ClipStates(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts], axis=0) for f in fields(ClipStates)}
        )
