"""Motion sets for the viewer: everything it can play, as lists of :class:`~wildrobot_amp_ext.motion.MotionClip`.

=====================  ===========================================================================================
source                 how it is recognised / read
=====================  ===========================================================================================
GMR pickle (``.pkl``)  :func:`wildrobot_amp_ext.motion.io.load_motion` (restricted unpickler, xyzw -> wxyz, joint
                       order from the source robot, mapped to this robot by name)
dataset / segments /   ``.npz`` with ``joint_names`` (reference datasets split into their clips / segments, single
motion ``.npz``        motions, Isaac Lab MotionLoader files): also :func:`~wildrobot_amp_ext.motion.io.load_motion`
other ``.npz``         per-frame ``root_pos`` (N,3), ``root_quat`` (N,4, wxyz), ``joint_pos`` (N,J) in RobotSpec
                       order without names: split at ``episode_start`` / ``clip_start`` flags or where
                       ``motion_id`` / ``segment_id`` change; ``fps`` (or ``dt``) scalar
policy rollout         ``.npz`` written by :mod:`wildrobot_amp_ext.evaluation.rollout` (arrays shaped (T, E, ...)); one
``.npz``               clip per env and episode
=====================  ===========================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.constants import CONTROL_HZ
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.rollout import Rollout
from wildrobot_amp_ext.motion import MotionClip
from wildrobot_amp_ext.motion.io import load_motion
from wildrobot_amp_ext.motion.safe_pickle import safe_load
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.infer import infer_source_robot
from wildrobot_amp_ext.validation import NpzFile
from wildrobot_amp_ext.validation import values as V

DEFAULT_NPZ_FPS = CONTROL_HZ  # a file that does not say its rate is at the control rate


@dataclass
class MotionSet:
    name: str
    path: Path
    kind: str  # "gmr" | "npz" | "rollout"
    clips: list[MotionClip]


# ----------------------------------------------------------------------------------------------------------------
# npz: datasets, Tier 0+ segments, rollouts
# ----------------------------------------------------------------------------------------------------------------
def _scalar(data, key: str, default: float | None = None) -> float | None:
    if key not in data.files:
        return default
    return V.real_scalar(getattr(data, "path", None), key, data[key])


def _column_order(path: Path, data, robot: RobotSpec, width: int) -> np.ndarray:
    """Column indices that put the file's joints in RobotSpec order."""
    if "joint_names" in data.files:
        names = [str(n) for n in np.asarray(data["joint_names"]).tolist()]
        missing = [n for n in robot.joint_names if n not in names]
        if missing:
            raise InputError(
                path,
                "joint_names",
                f"lacks {robot.name} joints {missing[:4]}",
                "play it with the robot it was made for",
            )
        return np.array([names.index(n) for n in robot.joint_names])
    if width != robot.num_joints:
        raise InputError(
            path,
            "joint_pos",
            f"{width} joint columns, {robot.name} has {robot.num_joints}",
            "pass --robot matching the file",
        )
    return np.arange(width)


def _split_points(data, n: int) -> np.ndarray:
    """Sorted frame indices where a new clip starts (always includes 0)."""
    for key in ("episode_start", "clip_start", "segment_start"):
        if key in data.files:
            flags = np.asarray(data[key]).astype(bool).reshape(-1)[:n]
            starts = np.flatnonzero(flags)
            return np.union1d([0], starts)
    starts = [0]
    for key in ("motion_id", "segment_id"):
        if key in data.files:
            ids = np.asarray(data[key]).reshape(-1)
            if ids.shape[0] == n:
                starts.extend((np.flatnonzero(ids[1:] != ids[:-1]) + 1).tolist())
    return np.unique(starts)


def _clip_names(data, starts: np.ndarray, stem: str) -> list[str]:
    names = []
    ids = np.asarray(data["motion_id"]).reshape(-1) if "motion_id" in data.files else None
    segs = np.asarray(data["segment_id"]).reshape(-1) if "segment_id" in data.files else None
    labels = np.asarray(data["motion_names"]).tolist() if "motion_names" in data.files else None
    for k, s in enumerate(starts):
        name = f"{stem}[{k}]"
        if ids is not None and s < ids.shape[0]:
            mid = ids[s]
            label = (
                labels[int(mid)]
                if labels is not None and np.issubdtype(type(mid), np.integer) and int(mid) < len(labels)
                else mid
            )
            name = str(label)
            if segs is not None and s < segs.shape[0]:
                name += f"#{segs[s]}"
        names.append(name)
    return names


def read_frames_npz(path: Path, robot: RobotSpec, data) -> list[MotionClip]:
    for key in ("root_pos", "root_quat", "joint_pos"):
        if key not in data.files:
            raise InputError(
                path,
                key,
                "missing: the viewer needs per-frame root_pos, root_quat (wxyz), joint_pos",
                "use a dataset built with raw states",
            )
    root_pos = V.real_array(path, "root_pos", data["root_pos"])
    root_quat = V.real_array(path, "root_quat", data["root_quat"])
    joint_pos = V.real_array(path, "joint_pos", data["joint_pos"])
    n = root_pos.shape[0]
    if root_pos.shape != (n, 3) or root_quat.shape != (n, 4) or joint_pos.ndim != 2 or joint_pos.shape[0] != n:
        raise InputError(
            path,
            "root_pos",
            f"inconsistent shapes {root_pos.shape}, {root_quat.shape}, {joint_pos.shape}",
            "one row per frame",
        )
    joint_pos = joint_pos[:, _column_order(path, data, robot, joint_pos.shape[1])]
    fps = _scalar(data, "fps")
    if fps is None:
        dt = _scalar(data, "dt")
        fps = 1.0 / dt if dt else DEFAULT_NPZ_FPS
    starts = _split_points(data, n)
    ends = np.append(starts[1:], n)
    names = _clip_names(data, starts, path.stem)
    return [
        MotionClip(names[k], fps, root_pos[s:e], root_quat[s:e], robot.joint_names, joint_pos[s:e], source=str(path))
        for k, (s, e) in enumerate(zip(starts, ends))
        if e > s
    ]


def read_npz(path: Path, robot: RobotSpec) -> tuple[str, list[MotionClip]]:
    with NpzFile(path, fix="pass a dataset, segments or rollout .npz") as data:  # members checked before they are read
        if "root_pos" in data.files and np.asarray(data["root_pos"]).ndim == 3:
            return "rollout", Rollout.from_npz_data(path, data).to_clips(robot)
        if "joint_names" not in data.files and "dof_names" not in data.files:
            return "npz", read_frames_npz(path, robot, data)
    return "npz", load_motion(path, robot)


def pickle_source_robot(path: Path, robot: RobotSpec) -> RobotSpec:
    """The robot whose joint order a GMR pickle without joint names uses (robots/infer.py's rule); printed."""
    data = safe_load(path)  # read once more for its width only: GMR pickles are small
    dof = data.get("dof_pos") if isinstance(data, dict) else None
    if dof is None or data.get("joint_names") is not None or np.ndim(dof) != 2:
        return robot  # the reader names the problem, or the file names its joints
    source, why = infer_source_robot(int(np.shape(dof)[1]), robot, path)
    if source.name != robot.name:
        print(f"[viewer] {path.name}: source robot {source.name} ({why})")
    return source


def hold_missing_joints(clip: MotionClip, robot: RobotSpec, default: np.ndarray) -> MotionClip:
    """``clip`` in ``robot``'s joint order: joints it lacks (a reduced variant's welded joints) held at the robot's
    default pose, joints the robot lacks dropped."""
    from dataclasses import replace

    index = {n: i for i, n in enumerate(clip.joint_names)}
    joint_pos = np.tile(default, (clip.num_frames, 1))
    have = [j for j, n in enumerate(robot.joint_names) if n in index]
    joint_pos[:, have] = clip.joint_pos[:, [index[robot.joint_names[j]] for j in have]]
    held = [n for n in robot.joint_names if n not in index]
    return replace(clip, joint_names=tuple(robot.joint_names), joint_pos=joint_pos, meta={**clip.meta, "held": held})


def load_motion_set(path: str | Path, robot: RobotSpec, max_clips: int | None = None) -> MotionSet:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "file not found", "pass a GMR .pkl, a dataset / segments .npz or a rollout .npz")
    if path.suffix in (".pkl", ".pickle"):
        source = pickle_source_robot(path, robot)
        clips = load_motion(path, source)
        if source.name != robot.name:  # a robot and its reduced variant side by side
            clips = [hold_missing_joints(c, robot, robot.default_joint_pos) for c in clips]
        kind = "gmr"
    elif path.suffix == ".npz":
        kind, clips = read_npz(path, robot)
    else:
        raise InputError(path, None, f"unknown motion file type '{path.suffix}'", "use .pkl (GMR) or .npz")
    if not clips:
        raise InputError(path, None, "holds no frames", None)
    for clip in clips:
        _check_clip(path, clip)
    if max_clips is not None:
        clips = clips[:max_clips]
    return MotionSet(path.stem, path, kind, clips)


def _check_clip(path: Path, clip: MotionClip) -> None:
    V.fps(path, clip.fps)
    for key in ("root_pos", "root_quat", "joint_pos"):
        if not np.isfinite(getattr(clip, key)).all():
            raise InputError(path, key, f"clip '{clip.name}' holds NaN/Inf", "fix or drop those frames")
