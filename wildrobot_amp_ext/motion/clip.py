"""MotionClip: a kinematic motion of one robot, the common currency of converter, miner and viewer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class MotionClip:
    name: str
    fps: float
    root_pos: np.ndarray  # (N, 3) world, m
    root_quat: np.ndarray  # (N, 4) world, **wxyz**
    joint_names: tuple[str, ...]
    joint_pos: np.ndarray  # (N, J) absolute joint angles, rad, in joint_names order
    source: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def duration(self) -> float:
        return (self.num_frames - 1) / self.fps if self.num_frames > 1 else 0.0

    @property
    def dt(self) -> float:
        return 1.0 / self.fps
