"""The one frame-history stacker: AMP observations of H consecutive frames, oldest first (Isaac Lab's order).

Used by the dataset writer, the reference sampler and the tests; the env's ``amp`` observation group gets the same
layout from Isaac Lab's ``history_length`` (checked by ``tests/test_amp_env.py``).
"""

from __future__ import annotations

import sys

import numpy as np


def history_index(clip_start: np.ndarray | None, num_frames: int, history: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of each history slot and a mask of rows with a full history.

    Returns ``(index (H, N) int64, full (N,) bool)``: slot ``k`` of row ``t`` is frame ``max(t - (H-1-k), first)``
    where ``first`` is the first frame of ``t``'s clip, so a history never crosses a clip start; it repeats the
    clip's first frame instead, as Isaac Lab's observation history does right after a reset."""
    if history < 1:
        raise ValueError(f"history must be >= 1, got {history}")
    idx = np.arange(num_frames)
    if clip_start is None:
        first = np.zeros(num_frames, dtype=np.int64)
    else:
        first = np.maximum.accumulate(np.where(np.asarray(clip_start, dtype=bool), idx, 0))
    lags = np.arange(history - 1, -1, -1)[:, None]
    return np.maximum(idx[None, :] - lags, first[None, :]), (idx - first) >= history - 1


def stack_history(frames, history: int, clip_start=None):
    """``(N, F)`` frames of concatenated clips -> ``(N, H*F)`` AMP observations, same array type as ``frames``.

    ``clip_start`` (N,) marks each clip's first frame (None: one clip). Works on numpy arrays and torch tensors."""
    if _is_tensor(clip_start):
        clip_start = clip_start.detach().cpu().numpy()
    index, _ = history_index(clip_start, int(frames.shape[0]), history)
    if _is_tensor(frames):
        import torch

        rows = torch.as_tensor(index, device=frames.device)
        return frames[rows].permute(1, 0, 2).reshape(frames.shape[0], -1)
    return np.asarray(frames)[index].transpose(1, 0, 2).reshape(frames.shape[0], -1)


def _is_tensor(x) -> bool:
    """A torch tensor, asked without importing torch (no tensor exists before torch is imported): the dataset
    writer stacks numpy arrays and stays free of torch."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)
