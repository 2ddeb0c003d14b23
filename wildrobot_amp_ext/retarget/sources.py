"""Source motions read as :class:`~wildrobot_amp_ext.retarget.source_motion.SourceMotion` keypoint trajectories:
another robot's GMR pickle (or motion npz) by batched forward kinematics of that robot's keypoint model
(``robot_keypoints``), and the dispatch over every source kind (robot, BVH in ``bvh``, AMASS in ``smpl``).
"""

from __future__ import annotations

from pathlib import Path

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.motion.io import ReadOptions, load_motion
from wildrobot_amp_ext.retarget.bvh import BvhOptions, load_joint_map, read_bvh
from wildrobot_amp_ext.retarget.mapping import load_mapping
from wildrobot_amp_ext.retarget.robot_keypoints import KeypointModel
from wildrobot_amp_ext.retarget.smpl import read_amass
from wildrobot_amp_ext.retarget.source_motion import SourceMotion
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.validation import NpzFile


def read_robot_source(path: str | Path, source_robot: str, options: ReadOptions | None = None) -> SourceMotion:
    """Another robot's GMR pickle (or motion npz) as keypoints, by that robot's FK and retarget.yaml."""
    robot = load_robot(source_robot)
    mapping = load_mapping(robot)
    clips = load_motion(path, robot, source_robot=robot.name, options=options)
    if len(clips) != 1:
        raise InputError(path, None, f"holds {len(clips)} clips", "retarget single-clip motion files")
    clip = clips[0]
    kp = KeypointModel(robot, mapping)
    pos, rot = kp(clip.root_pos, clip.root_quat, clip.joint_pos)
    rest_pos, rest_rot = kp.rest()
    return SourceMotion(
        name=clip.name,
        file=str(path),
        kind="robot",
        fps=clip.fps,
        keypoints=kp.keypoints,
        pos=pos,
        rot=rot,
        rest_pos=rest_pos,
        rest_rot=rest_rot,
        meta={"source_robot": robot.name, "joint_pos": clip.joint_pos, "joint_names": robot.joint_names},
    )


# ------------------------------------------------------------------------------------------------------------------
# input files and dispatch
# ------------------------------------------------------------------------------------------------------------------
SUFFIX_KINDS = {".pkl": "robot", ".pickle": "robot", ".bvh": "bvh", ".npz": "npz"}


def source_files(inputs: list[str], kind: str = "auto") -> list[Path]:
    """Every source file named or found (recursively, sorted) under the given folders."""
    files: list[Path] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIX_KINDS)
            found = [p for p in found if not p.name.startswith(".")]
            if not found:
                raise InputError(path, None, "folder holds no source files", f"use {sorted(SUFFIX_KINDS)} files")
            files += found
        elif path.is_file():
            if path.suffix.lower() not in SUFFIX_KINDS:
                raise InputError(path, None, f"unknown source type '{path.suffix}'", f"use {sorted(SUFFIX_KINDS)}")
            files.append(path)
        elif path.exists():
            raise InputError(path, None, "not a regular file or folder", "pass source files")
        else:
            raise InputError(path, None, "no such file or folder", "check the --input path")
    if len({f.resolve() for f in files}) != len(files):
        raise InputError(None, "--input", "a file is named twice", "name each source once")
    return files


def source_kind(path: Path, requested: str = "auto") -> str:
    """robot / bvh / smplx: the requested kind, or the file's (an .npz with ``poses`` or ``pose_body`` is AMASS)."""
    if requested != "auto":
        return requested
    kind = SUFFIX_KINDS[path.suffix.lower()]
    if kind == "npz":
        with NpzFile(path, fix="store plain numeric arrays (np.savez)") as data:
            kind = "smplx" if {"poses", "pose_body"} & set(data.files) else "robot"
    return kind


def read_source(path: Path, args) -> SourceMotion:
    """Read one source file as the CLI's arguments say (``--source-kind``, ``--source-robot``, ...)."""
    kind = source_kind(path, args.source_kind)
    if kind == "robot":
        if not args.source_robot:
            raise InputError(
                path,
                "--source-robot",
                "a robot motion needs the robot it was made for",
                "pass --source-robot NAME (e.g. unitree_g1_29dof)",
            )
        return read_robot_source(path, args.source_robot)
    if kind == "bvh":
        joint_map = load_joint_map(args.bvh_map) if args.bvh_map else None
        euler = args.bvh_euler.upper() if args.bvh_euler else None
        if euler is not None and sorted(euler) != ["X", "Y", "Z"]:
            raise InputError(None, "--bvh-euler", f"'{args.bvh_euler}' is not an Euler order", "e.g. ZXY or XYZ")
        return read_bvh(path, BvhOptions(unit=args.bvh_unit, up=args.bvh_up, euler=euler, joint_map=joint_map))
    if kind == "smplx":
        return read_amass(path, args.body_model, args.gender)
    raise InputError(path, "--source-kind", f"unknown source kind '{kind}'", "use robot, bvh or smplx")
