"""Source keypoints -> target keypoint trajectories: start alignment, per-chain scale, stance detection, foot locks.

Per-chain scale (``chain_scales``): for each chain of the skeleton (hips, legs, spine, shoulders, arms) the summed
segment lengths of the robot's zero pose over those of the source's rest pose; the mapping's ``scale:`` table only
overrides. Targets are rebuilt down the keypoint tree, ``t[k] = t[parent] + s_chain * (s[k] - s[parent])``, so each
segment keeps the source's direction and the robot's length; the hips, rigid with the pelvis, take the robot's own
pelvis->hip offset turned by the source pelvis (unless the mapping's ``scale:`` names ``hips``). The pelvis moves by
``s_root``, the vertical scale the leg chains imply, from a height chosen so that a source ankle in stance lands at
the robot's ankle height above the floor (the chain closes: no global offset, no hard-coded ground).

Stance (``detect_stance``): a source ankle below its clip floor + 8 % of the leg length, slower horizontally than
0.3 leg lengths per second. During a stance run the ankle target is locked to the run's mean position at floor
height, flat, with the run's mean yaw (contact-aware foot locking).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wildrobot_amp_ext.motion.kinematics import finite_difference
from wildrobot_amp_ext.retarget.mapping import CHAINS, FEET, KEYPOINTS, ROOT, RobotMapping
from wildrobot_amp_ext.retarget.source_motion import SourceMotion, rest_frame

#: chains rigid with their parent keypoint's link in every robot and human: carried by the parent's rotation with
#: the robot's own zero-pose offset (a G1's hip sits 13 cm below and 12 cm beside its pelvis origin, WildRobot's
#: 3 cm and 4.5 cm: one length ratio cannot scale both directions)
RIGID_CHAINS = ("hips",)


@dataclass(frozen=True)
class StanceConfig:
    #: stance when the ankle is within this fraction of the source leg length above its floor ...
    height_fraction: float = 0.08
    #: ... and slower horizontally than this many leg lengths per second
    speed_fraction: float = 0.3
    #: stance runs shorter than this many frames are not locked
    min_frames: int = 3
    #: floor of a source ankle: this percentile of its height over the clip
    floor_percentile: float = 5.0


@dataclass
class Targets:
    """What the IK tracks, per frame, for the robot's mapped keypoints (mapping order)."""

    keypoints: tuple[str, ...]
    pos: np.ndarray  # (N, K, 3)
    rot: np.ndarray  # (N, K, 3, 3)
    scaled_pos: np.ndarray  # (N, K, 3) before foot locking (the "scaled source" the report compares against)
    stance: np.ndarray  # (N, 2) bool, left/right ankle
    scales: dict[str, float]
    root_scale: float
    source_leg_length: float
    heading0_deg: float  # source heading at frame 0 removed by the start alignment


def _yaw_rot(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def canonical_rotations(source: SourceMotion) -> np.ndarray:
    """(N, K, 3, 3) rotation of each keypoint relative to an upright rest pose facing +x (``R R_rest^T B``)."""
    frame = rest_frame(source.keypoints, source.rest_pos, source.file)
    return source.rot @ np.swapaxes(source.rest_rot, -1, -2)[None] @ frame[None, None]


def chain_scales(
    source: SourceMotion, target_rest: np.ndarray, keypoints: tuple[str, ...], overrides: dict[str, float]
) -> dict[str, float]:
    """Per chain: sum of the robot's zero-pose segment lengths / sum of the source's rest segment lengths."""
    tidx = {k: i for i, k in enumerate(keypoints)}
    sidx = {k: i for i, k in enumerate(source.keypoints)}
    num = dict.fromkeys(CHAINS, 0.0)
    den = dict.fromkeys(CHAINS, 0.0)
    for k, (parent, chain) in KEYPOINTS.items():
        if parent is None or k not in tidx or parent not in tidx or k not in sidx or parent not in sidx:
            continue
        num[chain] += float(np.linalg.norm(target_rest[tidx[k]] - target_rest[tidx[parent]]))
        den[chain] += float(np.linalg.norm(source.rest_pos[sidx[k]] - source.rest_pos[sidx[parent]]))
    scales = {c: num[c] / den[c] for c in CHAINS if den[c] > 1e-9 and num[c] > 1e-9}
    scales.update(overrides)
    return scales


def _path_to_root(k: str) -> list[str]:
    path = [k]
    while KEYPOINTS[path[-1]][0] is not None:
        path.append(KEYPOINTS[path[-1]][0])
    return path


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def detect_stance(ankle_pos: np.ndarray, fps: float, leg_length: float, cfg: StanceConfig) -> np.ndarray:
    """(N, 2) stance flags of the two ankles from their height over the clip floor and horizontal speed."""
    speed = np.linalg.norm(finite_difference(ankle_pos[..., :2], 1.0 / fps), axis=-1)  # (N, 2)
    floor = np.percentile(ankle_pos[..., 2], cfg.floor_percentile, axis=0)
    stance = (ankle_pos[..., 2] < floor + cfg.height_fraction * leg_length) & (speed < cfg.speed_fraction * leg_length)
    for f in range(2):  # drop runs too short to lock
        for a, b in _runs(stance[:, f]):
            if b - a < cfg.min_frames:
                stance[a:b, f] = False
    return stance


def build_targets(
    source: SourceMotion,
    mapping: RobotMapping,
    target_rest: np.ndarray,
    target_ankle_height: float,
    stance_cfg: StanceConfig = StanceConfig(),
    align_start: bool = True,
    lock_feet: bool = True,
) -> Targets:
    """Scaled, start-aligned, foot-locked keypoint targets for the robot's mapped keypoints the source has (a
    keypoint whose parent the source lacks is dropped too). ``rot`` is the source's canonical rotation (relative to
    an upright rest facing +x): the IK multiplies it by the robot link's zero-pose rotation."""
    s = {k: i for i, k in enumerate(source.keypoints)}
    keypoints = _kept_keypoints(source, mapping)
    t = {k: i for i, k in enumerate(keypoints)}
    pos = source.pos.copy()
    rot = canonical_rotations(source)
    heading0 = 0.0
    if align_start:
        pos, rot, heading0 = _align_start(pos, rot, s[ROOT])

    scales = chain_scales(source, target_rest, mapping.keypoints, mapping.scale_overrides)
    root_scale = _root_scale(source, mapping, target_rest, scales)
    rest = source.rest_pos
    leg_length = float(np.mean([np.linalg.norm(rest[s[f]] - rest[s[f.replace("ankle", "hip")]]) for f in FEET]))

    ankles = pos[:, [s[f] for f in FEET]]
    stance = detect_stance(ankles, source.fps, leg_length, stance_cfg)
    src_ankle_floor = float(np.median(ankles[..., 2][stance])) if stance.any() else float(ankles[..., 2].min())

    out = np.zeros((source.num_frames, len(keypoints), 3))
    root = pos[:, s[ROOT]].copy()
    root[:, 2] -= src_ankle_floor
    out[:, t[ROOT]] = root * root_scale
    out[:, t[ROOT], 2] += target_ankle_height
    m = {k: i for i, k in enumerate(mapping.keypoints)}
    for k in keypoints[1:]:
        parent, chain = KEYPOINTS[k]
        if _rigid(k, mapping):
            offset = target_rest[m[k]] - target_rest[m[parent]]  # robot zero pose: upright, facing +x
            out[:, t[k]] = out[:, t[parent]] + rot[:, s[parent]] @ offset
        else:
            out[:, t[k]] = out[:, t[parent]] + scales[chain] * (pos[:, s[k]] - pos[:, s[parent]])
    scaled = out.copy()
    rot = rot[:, [s[k] for k in keypoints]]
    if lock_feet:
        _lock_feet(out, rot, stance, t, target_ankle_height)
    return Targets(
        keypoints=keypoints,
        pos=out,
        rot=rot,
        scaled_pos=scaled,
        stance=stance,
        scales=scales,
        root_scale=root_scale,
        source_leg_length=leg_length,
        heading0_deg=float(np.degrees(heading0)),
    )


def _kept_keypoints(source: SourceMotion, mapping: RobotMapping) -> tuple[str, ...]:
    """The mapping's keypoints the source has, in mapping order, dropping those whose parent was dropped."""
    kept: list[str] = []
    for k in mapping.keypoints:
        parent = KEYPOINTS[k][0]
        if k in source.keypoints and (parent is None or parent in kept):
            kept.append(k)
    return tuple(kept)


def _align_start(pos: np.ndarray, rot: np.ndarray, root: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Frame 0: pelvis at the origin (x, y), facing +x. Returns the moved positions, rotations and the heading
    removed (rad)."""
    fwd = rot[0, root][:, 0]
    heading0 = float(np.arctan2(fwd[1], fwd[0]))
    turn = _yaw_rot(-heading0)
    origin = np.array([pos[0, root, 0], pos[0, root, 1], 0.0])
    return (pos - origin) @ turn.T, turn @ rot, heading0


def _rigid(k: str, mapping: RobotMapping) -> bool:
    """The hips are rigid with the pelvis: the robot's own offset, turned with the pelvis (unless overridden)."""
    return KEYPOINTS[k][1] in RIGID_CHAINS and "hips" not in mapping.scale_overrides


def _root_scale(
    source: SourceMotion, mapping: RobotMapping, target_rest: np.ndarray, scales: dict[str, float]
) -> float:
    """The pelvis's scale: the vertical pelvis->ankle distance at rest once scaled over the source's."""
    s = {k: i for i, k in enumerate(source.keypoints)}
    m = {k: i for i, k in enumerate(mapping.keypoints)}
    rest = source.rest_pos
    drop_src, drop_scaled = [], []
    for foot in FEET:
        path = _path_to_root(foot)[:-1]  # ankle ... hip (the pelvis excluded)
        d_scaled = sum(
            (target_rest[m[KEYPOINTS[k][0]]] - target_rest[m[k]])
            if _rigid(k, mapping)
            else scales[KEYPOINTS[k][1]] * (rest[s[KEYPOINTS[k][0]]] - rest[s[k]])
            for k in path
        )
        drop_src.append((rest[s[ROOT]] - rest[s[foot]])[2])
        drop_scaled.append(d_scaled[2])
    return float(np.mean(drop_scaled) / np.mean(drop_src))


def _lock_feet(
    out: np.ndarray, rot: np.ndarray, stance: np.ndarray, t: dict[str, int], target_ankle_height: float
) -> None:
    """A planted foot (in place): flat, at floor height, not moving, not turning (its run's mean position and yaw)."""
    for f, foot in enumerate(FEET):
        for a, b in _runs(stance[:, f]):
            out[a:b, t[foot], :2] = out[a:b, t[foot], :2].mean(axis=0)
            out[a:b, t[foot], 2] = target_ankle_height
            fwd = rot[a:b, t[foot], :2, 0].mean(axis=0)
            rot[a:b, t[foot]] = _yaw_rot(float(np.arctan2(fwd[1], fwd[0])))
