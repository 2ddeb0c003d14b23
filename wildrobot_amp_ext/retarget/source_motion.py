"""The record every source reader returns: keypoint trajectories on the shared skeleton (retarget/mapping.py), Z-up,
metres, plus the keypoints in the source's *rest* pose (the pose its rotations are measured from: a robot's zero pose,
a BVH's zero channels, SMPL's zero pose). The rest pose also fixes the body frame (:func:`rest_frame`: columns
forward, left, up) from its geometry, so a source that faces +Z at rest (SMPL, most BVH) needs no table.

Its own module so the readers (``sources``: robot motions and the dispatch, ``bvh``, ``smpl``) and the stages that
consume it (``scale``, ``pipeline``) import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.retarget.mapping import ROOT


@dataclass
class SourceMotion:
    name: str
    file: str
    kind: str  # "robot" | "bvh" | "smplx"
    fps: float
    keypoints: tuple[str, ...]
    pos: np.ndarray  # (N, K, 3) world, Z-up, m
    rot: np.ndarray  # (N, K, 3, 3) world rotation of the keypoint's frame
    rest_pos: np.ndarray  # (K, 3) rest pose
    rest_rot: np.ndarray  # (K, 3, 3)
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.pos.shape[0])

    def index(self, keypoint: str) -> int:
        return self.keypoints.index(keypoint)

    def slice(self, start: int, stop: int | None = None) -> SourceMotion:
        """Frames [start, stop) (start-frame invariance checks, benchmarks)."""
        sl = slice(start, stop)
        n = self.num_frames
        meta = {k: v[sl] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) else v for k, v in self.meta.items()}
        return SourceMotion(**{**self.__dict__, "pos": self.pos[sl], "rot": self.rot[sl], "meta": meta})


def rest_frame(keypoints: tuple[str, ...], rest_pos: np.ndarray, file: str | Path = "") -> np.ndarray:
    """Body frame of the rest pose (columns forward, left, up) from its geometry: up from the pelvis to the torso
    (or the mid-shoulders), left from the right hip to the left hip."""
    idx = {k: i for i, k in enumerate(keypoints)}
    for needed in (ROOT, "left_hip", "right_hip"):
        if needed not in idx:
            raise InputError(file, needed, "the source has no such keypoint", "map the pelvis and both hips")
    upper = [idx[k] for k in ("torso", "left_shoulder", "right_shoulder") if k in idx]
    hips_mid = 0.5 * (rest_pos[idx["left_hip"]] + rest_pos[idx["right_hip"]])
    if upper:
        up = rest_pos[upper].mean(axis=0) - rest_pos[idx[ROOT]]
    else:  # legs only: up from the ankles to the hips
        up = hips_mid - 0.5 * (rest_pos[idx["left_ankle"]] + rest_pos[idx["right_ankle"]])
    up = up / max(np.linalg.norm(up), 1e-9)
    left = rest_pos[idx["left_hip"]] - rest_pos[idx["right_hip"]]
    left = left - up * (left @ up)
    left = left / max(np.linalg.norm(left), 1e-9)
    return np.stack([np.cross(left, up), left, up], axis=1)
