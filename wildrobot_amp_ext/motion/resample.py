"""Resampling motions to a new frame rate: linear for positions and joints, slerp for the root orientation.

API::

    resample_times(num_frames, fps, target_fps) -> (M,) seconds; 0, 1/target_fps, ... up to the clip's duration
    interpolate_linear(values (N, ...), fps, times) -> (M, ...)
    interpolate_slerp(quat_wxyz (N, 4), fps, times) -> (M, 4)
    resample_clip(clip, target_fps) -> MotionClip
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.validation import values as V

#: tolerance (in frames) so a target time landing on the last source frame is kept despite rounding
TIME_EPS_FRAMES = 1e-9


def resample_times(num_frames: int, fps: float, target_fps: float) -> np.ndarray:
    duration = (num_frames - 1) / fps
    count = int(np.floor(duration * target_fps + TIME_EPS_FRAMES)) + 1
    return np.arange(count, dtype=np.float64) / target_fps


def _bracket(num_frames: int, fps: float, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source frames around each time and the fraction between them."""
    pos = np.clip(np.asarray(times, np.float64) * fps, 0.0, num_frames - 1)
    i0 = np.minimum(np.floor(pos + TIME_EPS_FRAMES).astype(np.int64), num_frames - 1)
    frac = np.clip(pos - i0, 0.0, 1.0)
    i1 = np.minimum(i0 + 1, num_frames - 1)
    return i0, i1, frac


def interpolate_linear(values: np.ndarray, fps: float, times: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.float64)
    i0, i1, frac = _bracket(values.shape[0], fps, times)
    frac = frac.reshape((-1,) + (1,) * (values.ndim - 1))
    return values[i0] * (1.0 - frac) + values[i1] * frac


def interpolate_slerp(quat_wxyz: np.ndarray, fps: float, times: np.ndarray) -> np.ndarray:
    quat_wxyz = np.asarray(quat_wxyz, np.float64)
    i0, i1, frac = _bracket(quat_wxyz.shape[0], fps, times)
    return Q.slerp(quat_wxyz[i0], quat_wxyz[i1], frac)


def resample_clip(clip: MotionClip, target_fps: float | None) -> MotionClip:
    """The clip at ``target_fps`` (same duration, truncated to whole target frames); unchanged if fps matches."""
    if target_fps is None or abs(float(target_fps) - float(clip.fps)) < 1e-9:
        return clip
    V.fps(clip.source, target_fps, "target fps")
    V.resampled_frames(clip.source, clip.num_frames, clip.fps, target_fps)  # refused before anything is allocated
    times = resample_times(clip.num_frames, clip.fps, target_fps)
    return replace(
        clip,
        fps=float(target_fps),
        root_pos=interpolate_linear(clip.root_pos, clip.fps, times),
        root_quat=Q.make_continuous(interpolate_slerp(clip.root_quat, clip.fps, times)),
        joint_pos=interpolate_linear(clip.joint_pos, clip.fps, times),
        # per-frame extras (GMR's local_body_pos) would no longer line up with the frames
        meta={**{k: v for k, v in clip.meta.items() if k != "local_body_pos"}, "source_fps": float(clip.fps)},
    )
