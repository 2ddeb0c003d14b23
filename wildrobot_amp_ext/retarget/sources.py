"""Source motions as keypoint trajectories on the shared skeleton (retarget/mapping.py), Z-up, metres.

Every reader returns a :class:`SourceMotion`: world positions (N, K, 3) and rotations (N, K, 3, 3) of the keypoints
it can name, plus the same keypoints in the source's *rest* pose (the pose its rotations are measured from: a
robot's zero pose, a BVH's zero channels, SMPL's zero pose). The rest pose also fixes the body frame ``rest_frame``
(columns forward, left, up) from its geometry, so a source that faces +Z at rest (SMPL, most BVH) needs no table.

Robot sources (another robot's GMR pickle): keypoints by batched forward kinematics of that robot's model with one
site per mapped link (``KeypointModel``), its rotations the links' world rotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.motion.io import ReadOptions, load_motion
from wildrobot_amp_ext.motion.kinematics import ForwardKinematics
from wildrobot_amp_ext.retarget.mapping import ROOT, RobotMapping, load_mapping
from wildrobot_amp_ext.robots import RobotSpec, load_robot

SITE_PREFIX = "retarget_"
BODY_SITE_PREFIX = "retarget_body_"


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


# ------------------------------------------------------------------------------------------------------------------
# robot keypoints (source FK and target quality share it)
# ------------------------------------------------------------------------------------------------------------------
def build_keypoint_spec(robot: RobotSpec, mapping: RobotMapping, with_floor: bool = False) -> mujoco.MjSpec:
    """The robot's model (robots.mjcf) plus one site per mapped keypoint (at the link, shifted by its offset) and one
    at each body's origin (``local_body_pos`` of the output walks every body through them)."""
    spec = robot.build_mjspec(with_floor=with_floor)
    for body in list(spec.bodies)[1:]:
        body.add_site(name=BODY_SITE_PREFIX + body.name, size=[0.005, 0, 0], group=5)
    for kp in mapping.links:
        spec.body(kp.link).add_site(name=SITE_PREFIX + kp.keypoint, pos=kp.offset, size=[0.01, 0, 0], group=5)
    return spec


class KeypointModel:
    """Batched FK of a robot's keypoint sites (positions) and their links (rotations), all frames at once."""

    def __init__(self, robot: RobotSpec, mapping: RobotMapping):
        self.robot, self.mapping = robot, mapping
        self.model = build_keypoint_spec(robot, mapping).compile()
        self.keypoints = mapping.keypoints
        site_ids = [self.model.site(SITE_PREFIX + k).id for k in self.keypoints]
        self.fk = ForwardKinematics(robot, self.model, site_ids=site_ids)
        slot = {int(b): i for i, b in enumerate(self.fk.body_ids)}
        self._rot_slot = np.array([slot[int(self.model.site_bodyid[s])] for s in site_ids])

    def __call__(self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray):
        """(N, K, 3) positions and (N, K, 3, 3) link rotations of the keypoints."""
        pos = self.fk.site_positions(root_pos, root_quat, joint_pos)
        _, rot = self.fk.body_poses(root_pos, root_quat, joint_pos)
        return pos, rot[:, self._rot_slot]

    def rest(self) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints in the zero pose (joints at 0, root at the origin, upright)."""
        pos, rot = self(np.zeros((1, 3)), np.array([[1.0, 0, 0, 0]]), np.zeros((1, self.robot.num_joints)))
        return pos[0], rot[0]


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
        from wildrobot_amp_ext.validation import NpzFile

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
        from wildrobot_amp_ext.retarget.bvh import BvhOptions, load_joint_map, read_bvh

        joint_map = load_joint_map(args.bvh_map) if args.bvh_map else None
        euler = args.bvh_euler.upper() if args.bvh_euler else None
        if euler is not None and sorted(euler) != ["X", "Y", "Z"]:
            raise InputError(None, "--bvh-euler", f"'{args.bvh_euler}' is not an Euler order", "e.g. ZXY or XYZ")
        return read_bvh(path, BvhOptions(unit=args.bvh_unit, up=args.bvh_up, euler=euler, joint_map=joint_map))
    if kind == "smplx":
        from wildrobot_amp_ext.retarget.smpl import read_amass

        return read_amass(path, args.body_model, args.gender)
    raise InputError(path, "--source-kind", f"unknown source kind '{kind}'", "use robot, bvh or smplx")
