"""The AMP feature specification: which named terms, how velocity is encoded, contact thresholds, history.

One :class:`FeatureSpec` plus a :class:`~wildrobot_amp_ext.robots.RobotSpec` fixes the feature layout; the same
spec drives the dataset converter, the miner and the env's AMP observation term, and its :meth:`version` tag is
stored with every dataset so a mismatch is refused instead of silently training on the wrong features.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from wildrobot_amp_ext.robots import RobotSpec

FEATURE_FORMAT = 1  # bump when the meaning of a term changes

#: every term the feature function knows, in canonical concatenation order
ALL_TERMS: tuple[str, ...] = (
    "joint_pos",  # joint_pos - default_joint_pos (Isaac Lab joint_pos_rel), J
    "joint_vel",  # J
    "root_lin_vel",  # heading frame, 3 (raw / unit direction / clipped)
    "root_ang_vel",  # heading frame, 3
    "root_height",  # world z of the root, 1
    "foot_contacts",  # binary per contact point (toe, heel per foot), P
    "foot_height",  # continuous contact proxy: contact-point world z, P
    "foot_z_velocity",  # continuous contact proxy: contact-point world z velocity, P
)

#: seed 000's 29-dim WildRobot table: 9 + 9 + 3 + 3 + 1 + 4
DEFAULT_TERMS: tuple[str, ...] = ("joint_pos", "joint_vel", "root_lin_vel", "root_ang_vel", "root_height", "foot_contacts")
#: seed 002's stage 0: no contacts, no height
STAGE0_TERMS: tuple[str, ...] = ("joint_pos", "joint_vel", "root_lin_vel", "root_ang_vel")

LinVelMode = Literal["raw", "direction", "clip"]


@dataclass(frozen=True)
class FeatureSpec:
    terms: tuple[str, ...] = DEFAULT_TERMS
    root_lin_vel_mode: LinVelMode = "direction"
    #: below this speed the direction is the zero vector (seed 004: stationary frames)
    lin_vel_zero_threshold: float = 0.1
    #: per-axis clip for mode "clip" (seed 002 option B)
    lin_vel_clip: float = 1.5
    #: a contact point is in contact when its height is below this ...
    contact_height: float = 0.025
    #: ... and its horizontal speed below this
    contact_speed: float = 0.3
    #: frames stacked in one AMP observation, oldest first (Isaac Lab history order); 2 = (s, s') transitions
    history: int = 2
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        unknown = [t for t in self.terms if t not in ALL_TERMS]
        if unknown:
            raise ValueError(f"unknown AMP feature terms {unknown}; known: {list(ALL_TERMS)}")
        if self.root_lin_vel_mode not in ("raw", "direction", "clip"):
            raise ValueError(f"root_lin_vel_mode must be raw|direction|clip, got {self.root_lin_vel_mode!r}")
        if self.history < 1:
            raise ValueError("history must be >= 1")
        # canonical order, whatever order the user wrote
        object.__setattr__(self, "terms", tuple(t for t in ALL_TERMS if t in self.terms))

    # --- layout -------------------------------------------------------------------------------------------
    @staticmethod
    def term_dim(term: str, robot: RobotSpec) -> int:
        num_points = 2 * len(robot.feet)
        return {
            "joint_pos": robot.num_joints,
            "joint_vel": robot.num_joints,
            "root_lin_vel": 3,
            "root_ang_vel": 3,
            "root_height": 1,
            "foot_contacts": num_points,
            "foot_height": num_points,
            "foot_z_velocity": num_points,
        }[term]

    def layout(self, robot: RobotSpec) -> dict[str, slice]:
        """Slices of each enabled term in one frame's feature vector."""
        out, start = {}, 0
        for term in self.terms:
            dim = self.term_dim(term, robot)
            out[term] = slice(start, start + dim)
            start += dim
        return out

    def frame_dim(self, robot: RobotSpec) -> int:
        return sum(self.term_dim(t, robot) for t in self.terms)

    def obs_dim(self, robot: RobotSpec) -> int:
        return self.frame_dim(robot) * self.history

    def column_names(self, robot: RobotSpec) -> list[str]:
        names: list[str] = []
        for term in self.terms:
            if term in ("joint_pos", "joint_vel"):
                names += [f"{term}/{j}" for j in robot.joint_names]
            elif term in ("root_lin_vel", "root_ang_vel"):
                names += [f"{term}/{a}" for a in "xyz"]
            elif term == "root_height":
                names.append("root_height")
            else:
                names += [f"{term}/{p}" for p in robot.contact_point_names]
        return names

    def term_mask(self, robot: RobotSpec, enabled: tuple[str, ...] | list[str]) -> np.ndarray:
        """Boolean mask over one AMP observation (history included) keeping only ``enabled`` terms.

        Used by the feature-reintroduction schedule: the dataset keeps every term, the mask hides some."""
        frame = np.zeros(self.frame_dim(robot), dtype=bool)
        for term, sl in self.layout(robot).items():
            frame[sl] = term in enabled
        return np.tile(frame, self.history)

    # --- identity -----------------------------------------------------------------------------------------
    def with_terms(self, terms: tuple[str, ...] | list[str]) -> FeatureSpec:
        return replace(self, terms=tuple(terms))

    def drop(self, *terms: str) -> FeatureSpec:
        return replace(self, terms=tuple(t for t in self.terms if t not in terms))

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        d["terms"] = list(self.terms)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        d = dict(d)
        d["terms"] = tuple(d.get("terms", DEFAULT_TERMS))
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        return cls(**{k: v for k, v in d.items() if k in known})

    def version(self, robot: RobotSpec) -> str:
        """Tag naming the exact feature layout: format, robot, joint order, terms and their parameters."""
        payload = json.dumps(
            {"format": FEATURE_FORMAT, "robot": robot.name, "joints": list(robot.joint_names), **self.to_dict()},
            sort_keys=True,
        )
        digest = hashlib.sha256(payload.encode()).hexdigest()[:12]
        return f"amp{FEATURE_FORMAT}-{robot.name}-{self.frame_dim(robot)}d-h{self.history}-{digest}"
