"""BVH motion capture: a bounded reader (keypoints on the shared skeleton) and a writer (a robot motion as BVH).

Detected from the file, each overridable: the **up axis** (the axis the rest skeleton's pelvis->torso or
ankles->pelvis direction points along), the **unit** (the rest skeleton's height along that axis: >= 1000 mm,
>= 10 cm, else m), the **Euler order** per joint (the order of its rotation channels; BVH applies them as intrinsic
rotations in that order). Joint names are matched to keypoints by a table of common spellings (CMU, LAFAN1,
Mixamo, Truebones; prefix ``name:`` and ``_`` ignored) or by ``--bvh-map`` (``keypoint: joint``).

Rotations of a joint are its world rotation; the rest pose is all channels zero (joint frames aligned with the
file's axes), so the source's canonical rotation is ``R(t) R_rest^T B`` with B the rest body frame from geometry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy.spatial.transform import Rotation

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.motion.kinematics import ForwardKinematics
from wildrobot_amp_ext.retarget.mapping import KEYPOINTS, load_mapping
from wildrobot_amp_ext.retarget.robot_keypoints import BODY_SITE_PREFIX, build_keypoint_spec
from wildrobot_amp_ext.retarget.source_motion import SourceMotion
from wildrobot_amp_ext.utils.atomic import atomic_open
from wildrobot_amp_ext.validation import LIMITS
from wildrobot_amp_ext.validation import values as V

MAX_JOINTS = 1024
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254}
#: rotation from a Y-up file's axes to Z-up (y -> z, z -> -y)
Y_UP_TO_Z_UP = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
#: common joint spellings per keypoint (lower case, '_' removed, prefix before ':' removed), first match wins
JOINT_NAMES: dict[str, tuple[str, ...]] = {
    "pelvis": ("hips", "hip", "pelvis", "root"),
    "left_hip": ("leftupleg", "lefthip", "leftthigh", "lhip", "lthigh", "lupleg"),
    "left_knee": ("leftleg", "leftknee", "leftshin", "lknee", "lshin", "lleg"),
    "left_ankle": ("leftfoot", "leftankle", "lfoot", "lankle"),
    "right_hip": ("rightupleg", "righthip", "rightthigh", "rhip", "rthigh", "rupleg"),
    "right_knee": ("rightleg", "rightknee", "rightshin", "rknee", "rshin", "rleg"),
    "right_ankle": ("rightfoot", "rightankle", "rfoot", "rankle"),
    "torso": ("spine2", "chest", "upperchest", "spine1", "spine", "chest2"),
    "left_shoulder": ("leftarm", "leftupperarm", "lshldr", "lshoulder", "lupperarm", "leftshoulder"),
    "left_elbow": ("leftforearm", "leftelbow", "lforearm", "lelbow", "leftlowerarm"),
    "left_wrist": ("lefthand", "leftwrist", "lhand", "lwrist"),
    "right_shoulder": ("rightarm", "rightupperarm", "rshldr", "rshoulder", "rupperarm", "rightshoulder"),
    "right_elbow": ("rightforearm", "rightelbow", "rforearm", "relbow", "rightlowerarm"),
    "right_wrist": ("righthand", "rightwrist", "rhand", "rwrist"),
}


@dataclass(frozen=True)
class BvhOptions:
    unit: str = "auto"  # auto | m | cm | mm | inch
    up: str = "auto"  # auto | y | z
    euler: str | None = None  # e.g. "ZXY" for every joint (default: each joint's channel order)
    joint_map: dict[str, str] | None = None  # keypoint -> joint name


@dataclass
class Bvh:
    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (J, 3) file units
    channels: list[list[str]]
    motion: np.ndarray  # (F, C)
    frame_time: float


def _normal(name: str) -> str:
    return name.split(":")[-1].replace("_", "").replace(" ", "").lower()


def parse_bvh(path: str | Path) -> Bvh:
    path = Path(path)
    size = path.stat().st_size
    if size > LIMITS.max_file_bytes:
        raise InputError(path, None, f"{size >> 20} MiB is over the input limit", "split the take into shorter files")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InputError(path, None, "not a text BVH file", "export the take as BVH text") from None
    head, sep, body = text.partition("MOTION")
    if not sep or not head.lstrip().startswith("HIERARCHY"):
        raise InputError(path, None, "no HIERARCHY ... MOTION sections", "export the take as BVH")
    names, parents, offsets, channels = _parse_hierarchy(path, head)
    motion, frame_time = _parse_motion(path, body, sum(len(c) for c in channels))
    return Bvh(names, parents, np.array(offsets), channels, motion, frame_time)


def _parse_hierarchy(path: Path, head: str) -> tuple[list[str], list[int], list[list[float]], list[list[str]]]:
    """The HIERARCHY section: joint names, parent indices (-1: the root), OFFSETs and CHANNELS, in file order."""
    tokens = re.findall(r"[{}]|[^\s{}]+", head)[1:]
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    i = 0

    def bad(what: str) -> InputError:
        return InputError(path, "HIERARCHY", what, "repair or re-export the BVH")

    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                if len(names) >= MAX_JOINTS:
                    raise bad(f"more than {MAX_JOINTS} joints")
                names.append(tokens[i + 1])
                parents.append(stack[-1] if stack else -1)
                if tok == "ROOT" and stack:
                    raise bad("a second ROOT inside the hierarchy")
                i += 2
            elif tok == "End":  # End Site { OFFSET x y z }: a leaf marker without channels
                end = tokens.index("}", i)
                i = end + 1
            elif tok == "{":
                stack.append(len(names) - 1)
                i += 1
            elif tok == "}":
                if not stack:
                    raise bad("unbalanced '}'")
                stack.pop()
                i += 1
            elif tok == "OFFSET":
                offsets.append([float(t) for t in tokens[i + 1 : i + 4]])
                i += 4
            elif tok == "CHANNELS":
                count = int(tokens[i + 1])
                if not 0 <= count <= 6:
                    raise bad(f"{count} channels on joint {names[-1]}")
                channels.append(tokens[i + 2 : i + 2 + count])
                i += 2 + count
            else:
                raise bad(f"unexpected token '{tok[:40]}'")
    except (ValueError, IndexError):
        raise bad("malformed joint block") from None
    if not names or len(offsets) != len(names) or len(channels) != len(names):
        raise bad("every joint needs an OFFSET and a CHANNELS line")
    valid = {f"{a}{kind}" for a in "XYZ" for kind in ("position", "rotation")}
    for name, chans in zip(names, channels):
        for c in chans:
            if c not in valid:
                raise InputError(path, f"CHANNELS of {name}", f"unknown channel '{c[:40]}'", f"use {sorted(valid)}")
    return names, parents, offsets, channels


def _parse_motion(path: Path, body: str, width: int) -> tuple[np.ndarray, float]:
    """The MOTION section: (frames, ``width`` channels) finite values and the frame time in seconds."""
    lines = body.strip().splitlines()
    if len(lines) < 2 or not lines[0].startswith("Frames:") or not lines[1].startswith("Frame Time:"):
        raise InputError(path, "MOTION", "missing 'Frames:' / 'Frame Time:'", "export the take as BVH")
    try:
        frames = int(lines[0].split(":")[1])
        frame_time = float(lines[1].split(":")[1])
    except ValueError:
        raise InputError(path, "Frames/Frame Time", "not a number", "export the take as BVH") from None
    if not np.isfinite(frame_time) or frame_time <= 0:
        raise InputError(
            path, "Frame Time", f"{frame_time} s is not a frame time", "give seconds per frame, e.g. 0.0333"
        )
    fps = V.fps(path, 1.0 / frame_time, "Frame Time")
    V.frame_count(path, "Frames", frames, fps)
    try:
        motion = np.array(" ".join(lines[2 : 2 + frames]).split(), dtype=np.float64)
    except ValueError:
        raise InputError(path, "MOTION", "a value is not a number", "repair or re-export the BVH") from None
    if motion.size != frames * width:
        raise InputError(
            path, "MOTION", f"{motion.size} values for {frames} frames x {width} channels", "repair or re-export"
        )
    motion = motion.reshape(frames, width)
    if frames < 2:
        raise InputError(path, "Frames", f"only {frames} frame(s)", "a motion needs at least 2 frames")
    if not np.isfinite(motion).all():
        bad_frame = int(np.flatnonzero(~np.isfinite(motion).all(axis=1))[0])
        raise InputError(path, "MOTION", f"NaN/Inf values (first at frame {bad_frame})", "fix or trim those frames")
    return motion, frame_time


def forward_kinematics(bvh: Bvh, euler: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """World positions (F, J, 3) and rotations (F, J, 3, 3) in the file's axes and unit, all frames at once."""
    f = bvh.motion.shape[0]
    pos = np.zeros((f, len(bvh.names), 3))
    rot = np.zeros((f, len(bvh.names), 3, 3))
    col = 0
    for j, (chans, parent) in enumerate(zip(bvh.channels, bvh.parents)):
        values = bvh.motion[:, col : col + len(chans)]
        col += len(chans)
        rot_ch = [(c[0], values[:, k]) for k, c in enumerate(chans) if c.endswith("rotation")]
        pos_ch = {c[0]: values[:, k] for k, c in enumerate(chans) if c.endswith("position")}
        if rot_ch:
            order = euler or "".join(a for a, _ in rot_ch)
            angles = np.stack([dict(rot_ch)[a] for a in order], axis=1)
            local = Rotation.from_euler(order.upper(), angles, degrees=True).as_matrix()
        else:
            local = np.broadcast_to(np.eye(3), (f, 3, 3))
        offset = np.broadcast_to(bvh.offsets[j], (f, 3)).copy()
        for a, v in pos_ch.items():  # translation channels replace the offset
            offset[:, "XYZ".index(a)] = v
        if parent < 0:
            pos[:, j], rot[:, j] = offset, local
        else:
            pos[:, j] = pos[:, parent] + np.einsum("fij,fj->fi", rot[:, parent], offset)
            rot[:, j] = rot[:, parent] @ local
    return pos, rot


def _rest_positions(bvh: Bvh) -> np.ndarray:
    rest = np.zeros((len(bvh.names), 3))
    for j, parent in enumerate(bvh.parents):
        rest[j] = bvh.offsets[j] + (rest[parent] if parent >= 0 else 0.0)
    return rest


def _keypoint_joints(bvh: Bvh, path: Path, options: BvhOptions) -> dict[str, int]:
    index = {n: i for i, n in enumerate(bvh.names)}
    if options.joint_map:
        out = {}
        for kp, joint in options.joint_map.items():
            if kp not in KEYPOINTS:
                raise InputError(path, f"--bvh-map {kp}", f"unknown keypoint '{kp}'", f"use {list(KEYPOINTS)}")
            if joint not in index:
                raise InputError(
                    path, f"--bvh-map {kp}", f"the BVH has no joint '{joint}'", f"name one of {bvh.names[:8]}..."
                )
            out[kp] = index[joint]
        return out
    normal = {}
    for i, n in enumerate(bvh.names):
        normal.setdefault(_normal(n), i)
    out = {}
    for kp, spellings in JOINT_NAMES.items():
        for s in spellings:
            if s in normal:
                out[kp] = normal[s]
                break
    return out


def read_bvh(path: str | Path, options: BvhOptions = BvhOptions()) -> SourceMotion:
    path = Path(path)
    bvh = parse_bvh(path)
    joints = _keypoint_joints(bvh, path, options)
    needed = ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
    missing = [k for k in needed if k not in joints]
    if missing:
        raise InputError(
            path,
            f"joint for {missing[0]}",
            f"no BVH joint matches keypoint(s) {missing} (joints: {bvh.names[:10]}{'...' * (len(bvh.names) > 10)})",
            "pass --bvh-map map.yaml with 'keypoint: BVH joint name' lines",
        )
    rest = _rest_positions(bvh)
    kps = tuple(k for k in KEYPOINTS if k in joints)
    cols = [joints[k] for k in kps]
    # up axis: pelvis -> upper body (or ankles -> pelvis) at rest
    pelvis = rest[joints["pelvis"]]
    upper = [joints[k] for k in ("torso", "left_shoulder", "right_shoulder") if k in joints]
    ankles = 0.5 * (rest[joints["left_ankle"]] + rest[joints["right_ankle"]])
    up_vec = (rest[upper].mean(axis=0) - pelvis) if upper else (pelvis - ankles)
    up = options.up if options.up != "auto" else "xyz"[int(np.argmax(np.abs(up_vec)))]
    if up == "x" or up_vec["xyz".index(up)] < 0:
        raise InputError(
            path,
            "HIERARCHY",
            f"the rest skeleton stands along {'-' if up_vec.min() < 0 else '+'}{up}",
            "pass --bvh-up y or z (X-up and upside-down rests are not supported)",
        )
    axes = Y_UP_TO_Z_UP if up == "y" else np.eye(3)
    height = float(np.ptp(rest[:, "xyz".index(up)]))
    if options.unit != "auto":
        unit = options.unit
    else:
        unit = "mm" if height >= 1000 else "cm" if height >= 10 else "m"
    scale = UNITS[unit]
    pos, rot = forward_kinematics(bvh, options.euler)
    pos = np.einsum("ij,fkj->fki", axes, pos[:, cols]) * scale
    rot = axes @ rot[:, cols]
    rest_pos = (rest[cols] @ axes.T) * scale
    fps = 1.0 / bvh.frame_time
    if abs(fps - round(fps)) < 1e-4 * fps:  # 'Frame Time: 0.033333' is 30 Hz written to 6 decimals
        fps = float(round(fps))
    return SourceMotion(
        name=path.stem,
        file=str(path),
        kind="bvh",
        fps=fps,
        keypoints=kps,
        pos=pos,
        rot=rot,
        rest_pos=rest_pos,
        rest_rot=np.broadcast_to(axes, (len(kps), 3, 3)).copy(),
        meta={"bvh_unit": unit, "bvh_up": up, "bvh_joints": {k: bvh.names[joints[k]] for k in kps}},
    )


def load_joint_map(path: str | Path) -> dict[str, str]:
    path = Path(path)
    if not path.is_file() or path.stat().st_size > 1 << 16:
        raise InputError(path, "--bvh-map", "not a small YAML file", "give a YAML of 'keypoint: BVH joint' lines")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise InputError(path, "--bvh-map", "not valid YAML", "give 'keypoint: BVH joint' lines") from None
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise InputError(path, "--bvh-map", "expected a mapping keypoint: joint name", "e.g. left_knee: LeftLeg")
    return raw


# ------------------------------------------------------------------------------------------------------------------
# writer: a robot motion as BVH (every body a joint, ZXY rotations, root translation), e.g. for round-trip tests
# ------------------------------------------------------------------------------------------------------------------
def write_robot_bvh(
    path: str | Path,
    robot,
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    fps: float,
    unit: str = "cm",
    y_up: bool = True,
) -> Path:
    """Bodies of the robot's model as BVH joints (named like the bodies), frames aligned with the file's axes in the
    zero pose, so the rest pose is the robot standing. Joints must rotate about their body's origin (MuJoCo
    ``jnt_pos`` 0), as a BVH joint does."""
    model = build_keypoint_spec(robot, load_mapping(robot)).compile()
    bodies = list(range(1, model.nbody))
    fk = ForwardKinematics(
        robot, model, site_ids=[model.site(BODY_SITE_PREFIX + model.body(b).name).id for b in bodies]
    )
    pos, rot = fk.body_poses(root_pos, root_quat, joint_pos)
    zero = (np.zeros((1, 3)), np.array([[1.0, 0, 0, 0]]), np.zeros((1, robot.num_joints)))
    pos0, rot0 = fk.body_poses(*zero)
    axes = Y_UP_TO_Z_UP if y_up else np.eye(3)
    inv = axes.T
    scale = 1.0 / UNITS[unit]
    # G(t) = A^-1 R(t) R0^T A: the file's frame of each body, aligned with the file's axes at rest
    g = inv[None, None] @ rot @ np.swapaxes(rot0, -1, -2) @ axes[None, None]
    parent_slot = {int(b): i for i, b in enumerate(fk.body_ids)}
    lines = ["HIERARCHY"]
    columns = []
    children: dict[int, list[int]] = {}
    for i, b in enumerate(fk.body_ids):
        children.setdefault(parent_slot.get(int(model.body_parentid[b]), -1), []).append(i)

    def emit(i: int, depth: int) -> None:
        b = int(fk.body_ids[i])
        p = parent_slot.get(int(model.body_parentid[b]), -1)
        ind = "  " * depth
        offset = (inv @ (pos0[0, i] - (pos0[0, p] if p >= 0 else 0.0))) * scale
        lines.append(f"{ind}{'ROOT' if p < 0 else 'JOINT'} {model.body(b).name}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}  OFFSET {offset[0]:.6f} {offset[1]:.6f} {offset[2]:.6f}")
        if p < 0:
            lines.append(f"{ind}  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation")
            columns.append((inv @ pos[:, i].T).T * scale)
            local = g[:, i]
        else:
            lines.append(f"{ind}  CHANNELS 3 Zrotation Xrotation Yrotation")
            local = np.swapaxes(g[:, p], -1, -2) @ g[:, i]
        columns.append(Rotation.from_matrix(local).as_euler("ZXY", degrees=True))
        for c in children.get(i, []):
            emit(c, depth + 1)
        if not children.get(i):
            lines.append(f"{ind}  End Site")
            lines.append(f"{ind}  {{")
            lines.append(f"{ind}    OFFSET 0 0 0")
            lines.append(f"{ind}  }}")
        lines.append(f"{ind}}}")

    for root in children[-1]:
        emit(root, 0)
    data = np.concatenate(columns, axis=1)
    lines += ["MOTION", f"Frames: {data.shape[0]}", f"Frame Time: {1.0 / fps:.10f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in data]
    path = Path(path)
    with atomic_open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
