"""Motion readers and writers: GMR pickles, the project's ``.npz``, Isaac Lab MotionLoader ``.npz``.

Every reader returns :class:`~wildrobot_amp_ext.motion.clip.MotionClip` objects with **wxyz** root quaternions.
:func:`load_motion` also maps the joints **by name** into the target robot's RobotSpec order (joints the robot
lacks are dropped, e.g. 29 -> 23 DoF; a robot joint missing from the file is an error).

API::

    load_motion(path, robot, source_robot=None, options=ReadOptions()) -> list[MotionClip]   # RobotSpec order
    load_motions(paths, robot, ...) -> list[MotionClip]
    read_motion_file(path, options=ReadOptions(), source_joint_names=None) -> list[MotionClip]  # file's own order
    map_joints_to_robot(clip, robot) -> MotionClip
    motion_files(path_or_dir) -> list[Path]                    # *.pkl / *.npz under a folder, sorted
    save_motion_npz(clip, path)                                # one clip, atomic
    validate_clip(clip, file, options) -> MotionClip           # shapes, finite, unit quaternions, fps, convention

File layouts
    GMR ``.pkl``: ``fps``, ``root_pos`` (N,3), ``root_rot`` (N,4) **xyzw**, ``dof_pos`` (N,J), optional
        ``local_body_pos``, ``link_body_list``, ``joint_names``. Without ``joint_names`` the joint order is the
        source robot's RobotSpec order (``source_robot``, default: the target robot; the counts must match).
    project motion ``.npz`` (:func:`save_motion_npz`): ``fps``, ``root_pos``, ``root_quat`` (wxyz), ``joint_pos``,
        ``joint_names``, ``name``.
    project dataset ``.npz`` (dataset.schema): the raw per-frame states are split back into clips by
        ``motion_id`` / ``segment_id``.
    Isaac Lab MotionLoader ``.npz``: ``fps``, ``dof_names``, ``body_names``, ``dof_positions`` (N,J),
        ``body_positions`` (N,B,3), ``body_rotations`` (N,B,4) wxyz, ...; the root is body 0.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.errors import _escape as escape_char
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.motion.safe_pickle import safe_load
from wildrobot_amp_ext.robots import RobotSpec, list_robots, load_robot
from wildrobot_amp_ext.robots.infer import infer_source_robot
from wildrobot_amp_ext.utils.atomic import save_npz_atomic
from wildrobot_amp_ext.utils.progress import progress
from wildrobot_amp_ext.validation import LIMITS, NpzFile, check_link_loop
from wildrobot_amp_ext.validation import values as V

MOTION_SUFFIXES = (".pkl", ".pickle", ".npz")
MOTION_NPZ_FORMAT = "wildrobot_motion_v1"


@dataclass(frozen=True)
class ReadOptions:
    #: robot whose RobotSpec joint order a name-less GMR pickle uses (None: the target robot)
    source_robot: str | None = None
    #: quaternion order GMR pickles are expected to hold
    gmr_quat_order: Literal["xyzw", "wxyz"] = "xyzw"
    #: refuse files whose quaternions look like the other convention
    check_quat_order: bool = True
    #: | |q| - 1 | above this is an error (below it quaternions are renormalised)
    unit_quat_tolerance: float = 1e-3
    #: a frame is "upright" when the body z axis is within this angle of world z (convention check)
    upright_angle_deg: float = 45.0
    #: flag a convention mix-up when at most this fraction is upright as read ...
    claimed_upright_max_fraction: float = 0.5
    #: ... while at least this fraction would be upright in the other order
    swapped_upright_min_fraction: float = 0.9
    #: frames upright as read AND frames upright only in the other order both above this: a clip mixing the two
    mixed_order_min_fraction: float = 0.10
    min_frames: int = 2


# ------------------------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------------------------
#: plausible magnitude per field (metres, radians): 1e30 in a file is a broken export, not a motion
_BOUNDS = {
    "root_pos": LIMITS.max_position_m,
    "body_positions": LIMITS.max_position_m,
    "local_body_pos": LIMITS.max_position_m,
    "dof_pos": LIMITS.max_joint_rad,
    "joint_pos": LIMITS.max_joint_rad,
    "dof_positions": LIMITS.max_joint_rad,
}


def _as_float_array(file: str, field: str, value, ndim: int) -> np.ndarray:
    """Real, finite, plausibly sized values (bool/str/complex/object refused; see validation.values)."""
    return V.real_array(file, field, value, ndim=ndim, bound=_BOUNDS.get(field))


def _fps(file: str, value, field: str = "fps") -> float:
    return V.fps(file, value, field)


def check_quat_order(q_as_read: np.ndarray, file: str, field: str, claimed: str, options: ReadOptions) -> None:
    """Refuse a root-quaternion stream that is upright only when read in the other order (wxyz vs xyzw)."""
    other = "wxyz" if claimed == "xyzw" else "xyzw"
    swapped = _swap_order(q_as_read, claimed)
    cos_limit = math.cos(math.radians(options.upright_angle_deg))
    upright_read = float(np.mean(Q.upright_cosine(q_as_read) > cos_limit))
    upright_swapped = float(np.mean(Q.upright_cosine(swapped) > cos_limit))
    if upright_read <= options.claimed_upright_max_fraction and upright_swapped >= options.swapped_upright_min_fraction:
        raise InputError(
            file,
            field,
            f"quaternions look like {other}, not {claimed}: read as {claimed} the root is upright in "
            f"{upright_read:.0%} of frames, read as {other} in {upright_swapped:.0%}",
            f"convert the file to {claimed}, or pass --quat-order {other} if the file really stores {other}",
        )
    only_swapped = float(np.mean((Q.upright_cosine(swapped) > cos_limit) & ~(Q.upright_cosine(q_as_read) > cos_limit)))
    if min(upright_read, only_swapped) >= options.mixed_order_min_fraction:
        raise InputError(
            file,
            field,
            f"quaternion order changes within the clip: {upright_read:.0%} of frames are upright as {claimed}, "
            f"{only_swapped:.0%} only as {other}",
            f"re-export the clip with one quaternion order ({claimed})",
        )


def _swap_order(q_wxyz: np.ndarray, claimed: str) -> np.ndarray:
    """The wxyz quaternion we would get had the raw data been in the other order."""
    raw = Q.wxyz_to_xyzw(q_wxyz) if claimed == "xyzw" else q_wxyz  # back to the file's raw layout
    return raw if claimed == "xyzw" else Q.xyzw_to_wxyz(raw)


def validate_clip(
    clip: MotionClip,
    file: str | Path,
    options: ReadOptions = ReadOptions(),
    quat_field: str = "root_quat",
    claimed_order: str = "wxyz",
) -> MotionClip:
    """Shapes, finite values, unit quaternions (renormalised), fps; returns the clip with normalised quaternions."""
    file = str(file)
    n = clip.root_pos.shape[0]
    if clip.root_pos.shape != (n, 3):
        raise InputError(file, "root_pos", f"has shape {clip.root_pos.shape}, expected (frames, 3)", None)
    if clip.root_quat.shape != (n, 4):
        raise InputError(file, quat_field, f"has shape {clip.root_quat.shape}, expected ({n}, 4) like root_pos", None)
    if clip.joint_pos.ndim != 2 or clip.joint_pos.shape[0] != n:
        raise InputError(
            file, "joint_pos", f"has shape {clip.joint_pos.shape}, expected ({n}, joints) like root_pos", None
        )
    if clip.joint_pos.shape[1] != len(clip.joint_names):
        raise InputError(
            file,
            "joint_names",
            f"{len(clip.joint_names)} names for {clip.joint_pos.shape[1]} joint columns",
            "one name per column",
        )
    if len(set(clip.joint_names)) != len(clip.joint_names):
        raise InputError(file, "joint_names", "holds duplicate names", "name each joint once")
    if n < options.min_frames:
        raise InputError(file, "root_pos", f"only {n} frame(s)", f"a motion needs at least {options.min_frames} frames")
    for field, arr in (("root_pos", clip.root_pos), (quat_field, clip.root_quat), ("joint_pos", clip.joint_pos)):
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            raise InputError(
                file,
                field,
                f"{int(bad.sum())} frame(s) hold NaN/Inf (first: frame {int(np.flatnonzero(bad)[0])})",
                "fix or trim those frames",
            )
    fps = _fps(file, clip.fps)
    V.frame_count(file, "root_pos", n, fps)
    norms = np.linalg.norm(clip.root_quat, axis=1)
    off = np.abs(norms - 1.0)
    if (off > options.unit_quat_tolerance).any():
        worst = int(off.argmax())
        raise InputError(
            file,
            quat_field,
            f"not unit quaternions (|q| = {norms[worst]:.4g} at frame {worst})",
            "store normalised rotations",
        )
    if options.check_quat_order:
        check_quat_order(clip.root_quat, file, quat_field, claimed_order, options)
    return replace(clip, root_quat=Q.make_continuous(clip.root_quat / norms[:, None]))


# ------------------------------------------------------------------------------------------------------------------
# joint mapping
# ------------------------------------------------------------------------------------------------------------------
def joint_index_map(
    source_names: Sequence[str], target_names: Sequence[str], file: str = "", source_label: str = "the motion"
) -> np.ndarray:
    """Column of each target joint in the source array; a target joint missing in the source is an error."""
    index = {n: i for i, n in enumerate(source_names)}
    missing = [n for n in target_names if n not in index]
    if missing:
        raise InputError(
            file or None,
            "joint_names",
            f"{source_label} lacks joint(s) {missing[:4]}{'...' if len(missing) > 4 else ''} that the robot needs",
            "pass the right --source-robot (joint order of the file) or convert for a robot with fewer joints",
        )
    return np.array([index[n] for n in target_names], dtype=np.int64)


def map_joints_to_robot(clip: MotionClip, robot: RobotSpec) -> MotionClip:
    """Reorder/drop the clip's joints into ``robot.joint_names`` order, by name."""
    if tuple(clip.joint_names) == tuple(robot.joint_names):
        return clip
    cols = joint_index_map(
        clip.joint_names, robot.joint_names, clip.source, f"the motion ({len(clip.joint_names)} joints)"
    )
    dropped = [n for n in clip.joint_names if n not in robot.joint_index]
    meta = {**clip.meta, "dropped_joints": dropped}
    return replace(clip, joint_names=tuple(robot.joint_names), joint_pos=clip.joint_pos[:, cols], meta=meta)


# ------------------------------------------------------------------------------------------------------------------
# readers
# ------------------------------------------------------------------------------------------------------------------
#: source-robot inferences already printed in this process
_ANNOUNCED_SOURCES: set[tuple[str, str]] = set()


@functools.lru_cache(maxsize=16)
def _cached_robot(name: str) -> RobotSpec:
    return load_robot(name)


def _source_joint_names(
    file: str, num_cols: int, options: ReadOptions, default_robot: RobotSpec | None
) -> tuple[str, ...]:
    if not options.source_robot and default_robot is not None and default_robot.num_joints != num_cols:
        # GMR pickles carry no joint names: take the robot the width identifies, if exactly one (robots/infer.py)
        source, why = infer_source_robot(num_cols, default_robot, file)
        if (source.name, why) not in _ANNOUNCED_SOURCES:  # once per run, not once per pickle of a folder
            _ANNOUNCED_SOURCES.add((source.name, why))
            print(f"[source robot] {source.name}: {why} (first: {Path(file).name})", file=sys.stderr)
        return tuple(source.joint_names)
    source = _cached_robot(options.source_robot) if options.source_robot else default_robot
    if source is None:
        raise InputError(
            file,
            "dof_pos",
            "the pickle has no joint_names",
            "pass --source-robot <robot whose joint order the file uses>",
        )
    if source.num_joints != num_cols:
        matching = []
        for name in list_robots():
            try:
                if _cached_robot(name).num_joints == num_cols:
                    matching.append(name)
            except InputError:
                continue
        hint = (
            f"pass --source-robot {matching[0]}"
            if matching
            else "pass --source-robot <robot with that many joints in that order>"
        )
        raise InputError(
            file,
            "dof_pos",
            f"has {num_cols} joint columns but the source robot '{source.name}' has {source.num_joints} joints "
            f"(GMR pickles carry no joint names, so the order comes from the source robot)",
            hint + (f" (robots with {num_cols} joints: {matching})" if len(matching) > 1 else ""),
        )
    return tuple(source.joint_names)


def read_gmr_pickle(
    path: str | Path, options: ReadOptions = ReadOptions(), default_robot: RobotSpec | None = None
) -> MotionClip:
    file = str(path)
    data = safe_load(path)
    if not isinstance(data, dict):
        raise InputError(
            file, None, f"top level is a {type(data).__name__}, expected a dict", "store GMR's output dict"
        )
    for key in ("fps", "root_pos", "root_rot", "dof_pos"):
        if key not in data or data[key] is None:
            raise InputError(file, key, "missing", "GMR pickles hold fps, root_pos, root_rot (xyzw), dof_pos")
    fps = _fps(file, data["fps"])
    root_pos = _as_float_array(file, "root_pos", data["root_pos"], 2)
    raw_rot = _as_float_array(file, "root_rot", data["root_rot"], 2)
    dof_pos = _as_float_array(file, "dof_pos", data["dof_pos"], 2)
    if raw_rot.shape[-1] != 4:
        raise InputError(file, "root_rot", f"has shape {raw_rot.shape}, expected (frames, 4) xyzw", None)
    if data.get("joint_names") is not None:
        names = V.names(file, "joint_names", data["joint_names"], count=dof_pos.shape[1])
    else:
        names = _source_joint_names(file, dof_pos.shape[1], options, default_robot)
    root_quat = Q.xyzw_to_wxyz(raw_rot) if options.gmr_quat_order == "xyzw" else raw_rot
    meta = {}
    if data.get("link_body_list") is not None:
        meta["link_body_list"] = list(V.names(file, "link_body_list", data["link_body_list"]))
    if data.get("local_body_pos") is not None:
        lbp = _as_float_array(file, "local_body_pos", data["local_body_pos"], 3)
        if lbp.shape[0] != root_pos.shape[0]:
            raise InputError(file, "local_body_pos", f"{lbp.shape[0]} frames vs {root_pos.shape[0]} in root_pos", None)
        meta["local_body_pos"] = lbp
    clip = MotionClip(Path(file).stem, fps, root_pos, root_quat, names, dof_pos, source=file, meta=meta)
    return validate_clip(clip, file, options, quat_field="root_rot", claimed_order=options.gmr_quat_order)


def read_isaaclab_npz(path: str | Path, data, options: ReadOptions = ReadOptions()) -> MotionClip:
    file = str(path)
    for key in ("fps", "dof_names", "dof_positions", "body_positions", "body_rotations"):
        if key not in data.files:
            raise InputError(
                file,
                key,
                "missing",
                "Isaac Lab MotionLoader files hold fps, dof_names, dof_positions, body_positions, body_rotations",
            )
    fps = _fps(file, data["fps"])
    body_pos = _as_float_array(file, "body_positions", data["body_positions"], 3)
    body_rot = _as_float_array(file, "body_rotations", data["body_rotations"], 3)
    if body_rot.shape[-1] != 4 or body_pos.shape[-1] != 3 or body_rot.shape[:2] != body_pos.shape[:2]:
        raise InputError(
            file,
            "body_rotations",
            f"shape {body_rot.shape} vs body_positions {body_pos.shape}",
            "expected (N,B,4) wxyz and (N,B,3)",
        )
    names = V.names(file, "dof_names", data["dof_names"])
    meta = {"format": "isaaclab_motion_loader"}
    if "body_names" in data.files:
        meta["root_body"] = (V.names(file, "body_names", data["body_names"]) or ("",))[0]
    clip = MotionClip(
        Path(file).stem,
        fps,
        body_pos[:, 0],
        body_rot[:, 0],
        names,
        _as_float_array(file, "dof_positions", data["dof_positions"], 2),
        source=file,
        meta=meta,
    )
    return validate_clip(clip, file, options, quat_field="body_rotations", claimed_order="wxyz")


def _npz_names(data, key: str) -> tuple[str, ...]:
    if key not in data.files:  # optional metadata: callers fall back to generated names
        return ()
    return V.names(data.path, key, data[key])


def _dataset_clips(path: Path, options: ReadOptions) -> list[MotionClip]:
    """A reference dataset through its one reader (dataset.schema), split back into its clips/segments."""
    from wildrobot_amp_ext.dataset.schema import load_dataset  # a layer above: listed in .importlinter

    ds = load_dataset(path)
    clips = []
    for k, (s, e) in enumerate(ds.clip_bounds.tolist()):
        meta = {"motion_id": ds.motion_id[s].item(), "segment_id": int(ds.segment_id[s]), "frame_range": (s, e)}
        clip = MotionClip(
            ds.clip_names[k],
            ds.fps,
            ds.states.root_pos[s:e],
            ds.states.root_quat[s:e],
            ds.joint_names,
            ds.states.joint_pos[s:e],
            source=str(path),
            meta=meta,
        )
        clips.append(validate_clip(clip, path, replace(options, min_frames=1)))
    return clips


def read_project_npz(path: str | Path, data, options: ReadOptions = ReadOptions()) -> list[MotionClip]:
    """A single-clip motion npz or a reference dataset (split back into its clips/segments)."""
    file = str(path)
    for key in ("fps", "root_pos", "root_quat", "joint_pos", "joint_names"):
        if key not in data.files:
            raise InputError(
                file,
                key,
                "missing",
                "not a wildrobot motion/dataset npz (expected fps, root_pos, root_quat, joint_pos, joint_names)",
            )
    fps = _fps(file, data["fps"])
    names = _npz_names(data, "joint_names")
    root_pos = _as_float_array(file, "root_pos", data["root_pos"], 2)
    root_quat = _as_float_array(file, "root_quat", data["root_quat"], 2)
    joint_pos = _as_float_array(file, "joint_pos", data["joint_pos"], 2)
    n = root_pos.shape[0]
    if "motion_id" not in data.files:
        name = V.string(file, "name", data["name"]) if "name" in data.files else Path(file).stem
        clip = MotionClip(name, fps, root_pos, root_quat, names, joint_pos, source=file)
        return [validate_clip(clip, file, options)]
    motion_id = data.array("motion_id", kinds="iuUS").reshape(-1)
    if motion_id.shape != (n,):
        raise InputError(file, "motion_id", f"{motion_id.size} ids for {n} frames", "one id per frame")
    segment_id = (
        data.array("segment_id", kinds="iu").reshape(-1) if "segment_id" in data.files else np.zeros(n, np.int64)
    )
    if "clip_start" in data.files:
        starts = np.union1d([0], np.flatnonzero(data.array("clip_start", kinds="b").reshape(-1)[:n]))
    else:
        starts = np.flatnonzero(np.r_[True, (motion_id[1:] != motion_id[:-1]) | (segment_id[1:] != segment_id[:-1])])
    ends = np.r_[starts[1:], n]
    clip_names = _npz_names(data, "clip_names")
    if len(clip_names) != len(starts):
        clip_names = tuple(f"{Path(file).stem}[{k}]" for k in range(len(starts)))
    clips = []
    for k, (s, e) in enumerate(zip(starts, ends)):
        meta = {"motion_id": motion_id[s].item(), "segment_id": int(segment_id[s]), "frame_range": (int(s), int(e))}
        clip = MotionClip(
            clip_names[k], fps, root_pos[s:e], root_quat[s:e], names, joint_pos[s:e], source=file, meta=meta
        )
        clips.append(validate_clip(clip, file, replace(options, min_frames=1)))
    return clips


def read_motion_file(
    path: str | Path, options: ReadOptions = ReadOptions(), default_robot: RobotSpec | None = None
) -> list[MotionClip]:
    """Read one file in its own joint order (see the module docstring for the layouts)."""
    path = Path(path)
    if not path.is_file():
        problem = "not a regular file (a device, FIFO or socket)" if path.exists() else "file not found"
        raise InputError(path, None, problem, "check the --input path")
    suffix = path.suffix.lower()
    if suffix in (".pkl", ".pickle"):
        clips = [read_gmr_pickle(path, options, default_robot)]
    elif suffix == ".npz":
        with NpzFile(path, fix="store plain numeric/string arrays (np.savez)") as data:
            if "schema" in data.files:
                clips = _dataset_clips(path, options)
            elif "dof_names" in data.files and "body_rotations" in data.files:
                clips = [read_isaaclab_npz(path, data, options)]
            else:
                clips = read_project_npz(path, data, options)
    else:
        raise InputError(path, None, f"unknown motion file type '{path.suffix}'", f"use one of {list(MOTION_SUFFIXES)}")
    return [replace(c, name=text_name(c.name), source=None if c.source is None else text_name(c.source)) for c in clips]


def text_name(name: str | Path) -> str:
    """A file name as text. Linux allows any bytes but '/' and NUL in a name; Python hands the ones that are not
    UTF-8 over as lone surrogates, which no UTF-8 writer (a dataset's names, a report, JSON, the terminal) takes.
    Those bytes become ``\\xNN``, and control or format characters (an ANSI escape, a newline) their code as in
    error lines: the clip keeps a name it can be written and shown under, the file is still opened by its bytes."""
    text = os.fsencode(str(name)).decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else escape_char(ch) for ch in text)


def load_motion(
    path: str | Path, robot: RobotSpec, source_robot: str | None = None, options: ReadOptions | None = None
) -> list[MotionClip]:
    """Read a motion file and map its joints into ``robot``'s RobotSpec order (wxyz root, absolute joint angles)."""
    options = options or ReadOptions()
    if source_robot is not None:
        options = replace(options, source_robot=source_robot)
    return [map_joints_to_robot(c, robot) for c in read_motion_file(path, options, default_robot=robot)]


def motion_files(path: str | Path) -> list[Path]:
    """The motion file itself, or every motion file under a folder (recursive, sorted)."""
    path = Path(path)
    check_link_loop(path, "--input")
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in MOTION_SUFFIXES and not p.name.startswith(".")
        )
        if not found:
            raise InputError(
                path,
                None,
                f"folder holds no motion files ({', '.join(MOTION_SUFFIXES)})",
                "point --input at GMR .pkl files",
            )
        return found
    if path.exists():  # /dev/zero, a FIFO: reading it would never end (or block)
        raise InputError(path, None, "not a regular file or folder (a device, FIFO or socket)", "pass motion files")
    raise InputError(path, None, "no such file or folder", "check the --input path")


def load_motions(
    paths: str | Path | Iterable[str | Path],
    robot: RobotSpec,
    source_robot: str | None = None,
    options: ReadOptions | None = None,
    show_progress: bool = True,
) -> list[MotionClip]:
    files: list[Path] = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        files += motion_files(p)
    clips: list[MotionClip] = []
    import sys

    for f in progress(
        files,
        desc="read motions",
        unit="file",
        leave=False,
        disable=not (show_progress and len(files) > 1 and sys.stderr.isatty()),
    ):
        clips += load_motion(f, robot, source_robot, options)
    return clips


# ------------------------------------------------------------------------------------------------------------------
# writers
# ------------------------------------------------------------------------------------------------------------------
def save_motion_npz(clip: MotionClip, path: str | Path) -> Path:
    """One clip as the project's motion npz (wxyz root, absolute joint angles, names), written atomically."""
    path = Path(path)
    save_npz_atomic(
        path,
        format=np.array(MOTION_NPZ_FORMAT),
        name=np.array(clip.name),
        fps=np.array(float(clip.fps)),
        root_pos=np.asarray(clip.root_pos, np.float64),
        root_quat=np.asarray(clip.root_quat, np.float64),
        joint_pos=np.asarray(clip.joint_pos, np.float64),
        joint_names=np.array(list(clip.joint_names)),
        source=np.array(clip.source),
    )
    return path
