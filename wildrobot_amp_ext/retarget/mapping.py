"""The keypoint skeleton every source and robot is mapped onto, and the per-robot mapping file.

One skeleton (:data:`KEYPOINTS`): a small tree of body landmarks (pelvis, hips, knees, ankles, torso, shoulders,
elbows, wrists) with each keypoint's parent and the *chain* its parent segment belongs to. Scale is per chain
(``scale.chain_scales``); a source (robot, BVH, SMPL) yields keypoint trajectories, a robot's
``robots/data/<robot>/retarget.yaml`` says which link carries each keypoint and how much the IK should care::

    keypoints:
      pelvis:     {link: pelvis, position_weight: 1.0, orientation_weight: 1.0}
      left_ankle: {link: left_foot, offset: [0, 0, 0], position_weight: 4.0, orientation_weight: 0.5}
    posture_weight: 0.05       # pull towards the robot's default pose (redundant joints)
    scale: {arms: 0.8}         # optional hand overrides of the computed per-chain scale

A keypoint the robot lacks (WildRobot: arms) is left out of its file; a link the robot lacks is refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.mjcf import build_mjspec
from wildrobot_amp_ext.validation import values as V

#: keypoint -> (parent keypoint, chain of the parent->keypoint segment); parents come before children
KEYPOINTS: dict[str, tuple[str | None, str | None]] = {
    "pelvis": (None, None),
    "left_hip": ("pelvis", "hips"),
    "left_knee": ("left_hip", "legs"),
    "left_ankle": ("left_knee", "legs"),
    "right_hip": ("pelvis", "hips"),
    "right_knee": ("right_hip", "legs"),
    "right_ankle": ("right_knee", "legs"),
    "torso": ("pelvis", "spine"),
    "left_shoulder": ("torso", "shoulders"),
    "left_elbow": ("left_shoulder", "arms"),
    "left_wrist": ("left_elbow", "arms"),
    "right_shoulder": ("torso", "shoulders"),
    "right_elbow": ("right_shoulder", "arms"),
    "right_wrist": ("right_elbow", "arms"),
}
CHAINS = ("hips", "legs", "spine", "shoulders", "arms")
FEET = ("left_ankle", "right_ankle")
ROOT = "pelvis"
MAPPING_FILE = "retarget.yaml"


@dataclass(frozen=True)
class KeypointLink:
    keypoint: str
    link: str
    offset: np.ndarray  # (3,) in the link frame, m
    position_weight: float
    orientation_weight: float


@dataclass(frozen=True)
class RobotMapping:
    robot: str
    path: Path
    links: tuple[KeypointLink, ...]  # in KEYPOINTS order
    posture_weight: float
    scale_overrides: dict[str, float]

    @property
    def keypoints(self) -> tuple[str, ...]:
        return tuple(k.keypoint for k in self.links)

    def link(self, keypoint: str) -> KeypointLink:
        return next(k for k in self.links if k.keypoint == keypoint)


def mapping_path(robot: RobotSpec) -> Path:
    return robot.yaml_path.parent / MAPPING_FILE


def load_mapping(robot: RobotSpec, path: str | Path | None = None) -> RobotMapping:
    """Read and check ``retarget.yaml`` of ``robot`` (links exist in the built model, weights finite, >= 0)."""
    path = Path(path) if path is not None else mapping_path(robot)
    if not path.is_file():
        raise InputError(
            path, None, f"robot '{robot.name}' has no retarget mapping", f"write {MAPPING_FILE} next to its robot.yaml"
        )
    if path.stat().st_size > 1 << 20:
        raise InputError(path, None, "a mapping over 1 MiB is not a mapping", "check the path")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as err:
        raise InputError(path, None, f"not valid YAML ({err.__class__.__name__})", "fix the YAML syntax") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("keypoints"), dict):
        raise InputError(path, "keypoints", "missing or not a mapping", "see robots/data/wildrobot/retarget.yaml")
    spec = build_mjspec(robot)  # the spec, not a compiled model: meshes load slowly (keep it alive while read)
    bodies = {b.name for b in spec.bodies}
    links = []
    for name, entry in raw["keypoints"].items():
        field = f"keypoints.{name}"
        if name not in KEYPOINTS:
            raise InputError(path, field, f"unknown keypoint '{name}'", f"use one of {list(KEYPOINTS)}")
        if not isinstance(entry, dict) or not isinstance(entry.get("link"), str):
            raise InputError(path, f"{field}.link", "missing", "name the robot link (MJCF body) carrying this keypoint")
        if entry["link"] not in bodies:
            raise InputError(
                path,
                f"{field}.link",
                f"robot '{robot.name}' has no link '{entry['link']}'",
                f"name one of its bodies, e.g. {sorted(bodies - {'world'})[:6]}",
            )
        offset = V.real_array(path, f"{field}.offset", entry.get("offset", [0.0, 0.0, 0.0]), bound=1.0)
        if offset.shape != (3,):
            raise InputError(path, f"{field}.offset", f"shape {offset.shape}", "give [x, y, z] in metres")
        weights = [
            V.real_scalar(path, f"{field}.{w}", entry.get(w, 0.0), "give a weight >= 0")
            for w in ("position_weight", "orientation_weight")
        ]
        if min(weights) < 0:
            raise InputError(path, field, "negative weight", "give weights >= 0")
        links.append(KeypointLink(name, entry["link"], offset, *weights))
    if ROOT not in {k.keypoint for k in links}:
        raise InputError(path, f"keypoints.{ROOT}", "missing", "map the pelvis keypoint to the robot's root link")
    for foot in FEET:
        if foot not in {k.keypoint for k in links}:
            raise InputError(path, f"keypoints.{foot}", "missing", "map both ankles (foot locking needs them)")
    order = list(KEYPOINTS)
    links.sort(key=lambda k: order.index(k.keypoint))
    overrides = raw.get("scale") or {}
    if not isinstance(overrides, dict):
        raise InputError(path, "scale", "expected a mapping chain: factor", f"chains: {list(CHAINS)}")
    scale = {}
    for chain, value in overrides.items():
        if chain not in CHAINS:
            raise InputError(path, f"scale.{chain}", f"unknown chain '{chain}'", f"use one of {list(CHAINS)}")
        scale[chain] = V.real_scalar(path, f"scale.{chain}", value, "give a positive factor")
        if not 0.05 <= scale[chain] <= 20:
            raise InputError(path, f"scale.{chain}", f"{scale[chain]:g} is not a plausible scale", "give 0.05..20")
    posture = V.real_scalar(path, "posture_weight", raw.get("posture_weight", 0.05), "give a weight >= 0")
    if posture < 0:
        raise InputError(path, "posture_weight", "negative", "give a weight >= 0")
    return RobotMapping(robot.name, path, tuple(links), posture, scale)
