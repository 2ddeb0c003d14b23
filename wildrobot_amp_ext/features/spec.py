"""The AMP feature specification and its version.

:class:`FeatureSpec` (named terms, velocity encoding, contact thresholds, history) plus a
:class:`~wildrobot_amp_ext.robots.RobotSpec` fixes the feature layout; the same spec drives the dataset converter,
the miner and the env's AMP observation term. :class:`FeatureVersion` is what a dataset records about its features
(format, robot, joint order, contact points, spec); readers compare it field by field and name what differs.
:func:`adopt_feature_spec` settles an env's spec: the dataset's, with the fields the user set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.features.contact import CONTACT_HEIGHT, CONTACT_SPEED, POINTS_PER_FOOT, ContactRule
from wildrobot_amp_ext.utils.keys import unknown_key_error
from wildrobot_amp_ext.validation.limits import LIMITS

if TYPE_CHECKING:
    from wildrobot_amp_ext.robots import RobotSpec

#: bump when the meaning of a term changes; datasets written before ``feature_format`` was stored are format 1
FEATURE_FORMAT = 1

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

#: joints, velocities, root height and binary contacts (29 columns for WildRobot: 9 + 9 + 3 + 3 + 1 + 4)
DEFAULT_TERMS: tuple[str, ...] = (
    "joint_pos",
    "joint_vel",
    "root_lin_vel",
    "root_ang_vel",
    "root_height",
    "foot_contacts",
)
#: the discriminator's first feature stage: no contacts and no height (the easiest shortcuts)
STAGE0_TERMS: tuple[str, ...] = ("joint_pos", "joint_vel", "root_lin_vel", "root_ang_vel")

LinVelMode = Literal["raw", "direction", "clip"]


@dataclass(frozen=True)
class FeatureSpec:
    terms: tuple[str, ...] = DEFAULT_TERMS
    root_lin_vel_mode: LinVelMode = "direction"
    #: below this speed the direction is the zero vector (stationary frames carry no direction)
    lin_vel_zero_threshold: float = 0.1
    #: per-axis clip for mode "clip"
    lin_vel_clip: float = 1.5
    #: the foot-contact rule's thresholds (features.contact): near the ground below this height, m ...
    contact_height: float = CONTACT_HEIGHT
    #: ... and in contact when also horizontally slower than this, m/s
    contact_speed: float = CONTACT_SPEED
    #: frames stacked in one AMP observation, oldest first (Isaac Lab history order); 2 = (s, s') transitions
    history: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.terms, str) or not all(isinstance(t, str) for t in self.terms):
            raise ValueError(f"terms must be a list of term names, got {self.terms!r}")
        unknown = [t for t in self.terms if t not in ALL_TERMS]
        if unknown:
            raise ValueError(f"unknown AMP feature terms {unknown}; known: {list(ALL_TERMS)}")
        if self.root_lin_vel_mode not in ("raw", "direction", "clip"):
            raise ValueError(f"root_lin_vel_mode must be raw|direction|clip, got {self.root_lin_vel_mode!r}")
        for name in ("lin_vel_zero_threshold", "lin_vel_clip", "contact_height", "contact_speed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if isinstance(self.history, bool) or not isinstance(self.history, (int, np.integer)) or self.history < 1:
            raise ValueError(f"history must be an integer >= 1, got {self.history!r}")
        if self.history > LIMITS.max_history:  # stacking is allocated per sample: bound it where it is declared
            raise ValueError(f"history must be <= {LIMITS.max_history}, got {self.history}")
        # canonical order, whatever order the user wrote
        object.__setattr__(self, "terms", tuple(t for t in ALL_TERMS if t in self.terms))

    @property
    def contact_rule(self) -> ContactRule:
        return ContactRule(height=float(self.contact_height), speed=float(self.contact_speed))

    # --- layout -------------------------------------------------------------------------------------------
    @staticmethod
    def term_dims(num_joints: int, num_points: int) -> dict[str, int]:
        dims = {"joint_pos": num_joints, "joint_vel": num_joints, "root_lin_vel": 3, "root_ang_vel": 3}
        return dims | {
            "root_height": 1,
            "foot_contacts": num_points,
            "foot_height": num_points,
            "foot_z_velocity": num_points,
        }

    @staticmethod
    def term_dim(term: str, robot: RobotSpec) -> int:
        return FeatureSpec.term_dims(robot.num_joints, POINTS_PER_FOOT * len(robot.feet))[term]

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
        d["terms"] = list(self.terms)
        return d

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], file: str | Path | None = None, path: str = "feature_spec") -> FeatureSpec:
        """Strict: an unknown key fails naming the closest valid key; a bad value fails naming its field."""
        if not isinstance(d, Mapping):
            raise InputError(
                file,
                path,
                f"expected a mapping of FeatureSpec fields, got {type(d).__name__}",
                "store FeatureSpec.to_dict()",
            )
        for key in d:
            if key not in cls.keys():
                raise unknown_key_error(file, path, str(key), cls.keys())
        values = dict(d)
        if "terms" in values and not isinstance(values["terms"], str):
            values["terms"] = tuple(values["terms"])
        try:
            return cls(**values)
        except (TypeError, ValueError) as err:
            field = next((k for k in cls.keys() if str(err).startswith(k)), None)
            raise InputError(file, f"{path}.{field}" if field else path, str(err), "use a valid value") from None

    def version(self, robot: RobotSpec) -> str:
        """Display tag of :meth:`FeatureVersion.of` (what datasets store as ``feature_version``)."""
        return FeatureVersion.of(self, robot).tag


@dataclass(frozen=True)
class FeatureVersion:
    """Everything that fixes the meaning of a feature column, as fields (compare them, never parse the tag)."""

    format: int
    robot: str
    joint_names: tuple[str, ...]
    num_contact_points: int
    spec: FeatureSpec

    @classmethod
    def of(cls, spec: FeatureSpec, robot: RobotSpec) -> FeatureVersion:
        points = POINTS_PER_FOOT * len(robot.feet)
        return cls(FEATURE_FORMAT, robot.name, tuple(robot.joint_names), points, spec)

    @property
    def frame_dim(self) -> int:
        dims = FeatureSpec.term_dims(len(self.joint_names), self.num_contact_points)
        return sum(dims[t] for t in self.spec.terms)

    @property
    def tag(self) -> str:
        """``amp<format>-<robot>-<dim>d-h<history>-<hash of every field>``: for file names and messages."""
        payload = {"format": self.format, "robot": self.robot, "joints": list(self.joint_names)}
        digest = hashlib.sha256(json.dumps(payload | self.spec.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
        return f"amp{self.format}-{self.robot}-{self.frame_dim}d-h{self.spec.history}-{digest}"

    def __str__(self) -> str:
        return self.tag

    def with_history(self, history: int) -> FeatureVersion:
        return replace(self, spec=replace(self.spec, history=history))

    def conflicts(self, other: FeatureVersion, ignore: tuple[str, ...] = ("history",)) -> list[str]:
        """``"field: mine != other's"`` for every field that differs (``ignore``: FeatureSpec fields to skip)."""
        out = [
            f"{name}: {getattr(self, name)!r} != {getattr(other, name)!r}"
            for name in ("format", "robot", "num_contact_points")
            if getattr(self, name) != getattr(other, name)
        ]
        if self.joint_names != other.joint_names:
            out.append("joint_names: the joint order differs")
        mine, theirs = self.spec.to_dict(), other.spec.to_dict()
        out += [
            f"feature_spec.{k}: {mine[k]!r} != {theirs[k]!r}" for k in mine if k not in ignore and mine[k] != theirs[k]
        ]
        return out

    # --- the dataset header ---------------------------------------------------------------------------------
    def header(self) -> dict[str, np.ndarray]:
        """The dataset members that carry this version (the writer stores them; :meth:`from_header` reads them)."""
        return {
            "robot": np.array(self.robot),
            "joint_names": np.array(self.joint_names, dtype=np.str_),
            "feature_format": np.array(self.format, dtype=np.int64),
            "feature_spec": np.array(json.dumps(self.spec.to_dict(), sort_keys=True)),
            "feature_version": np.array(self.tag),
        }

    @classmethod
    def from_header(cls, data: Mapping[str, Any], file: str | Path | None = None) -> FeatureVersion:
        """Read the version from a dataset's members (an ``np.load`` result or a dict of arrays).

        Needs ``robot``, ``joint_names``, ``feature_spec`` and ``contact_point_names`` (or ``contact_pos_w``);
        ``feature_format`` is 1 when absent (datasets written before it was stored). A stored ``feature_version``
        tag must equal the one recomputed from these fields, else the header contradicts itself."""
        keys = set(getattr(data, "files", None) or data.keys())
        fix = "rebuild it with wildrobot-convert or wildrobot-mine"
        for key in ("robot", "joint_names", "feature_spec"):
            if key not in keys:
                raise InputError(file, key, "missing: the dataset does not say which features it holds", fix)
        try:
            spec_dict = json.loads(str(np.asarray(data["feature_spec"])))
        except ValueError:
            raise InputError(file, "feature_spec", "not valid JSON", fix) from None
        spec = FeatureSpec.from_dict(spec_dict, file=file)
        if "contact_point_names" in keys:
            points = int(np.asarray(data["contact_point_names"]).size)
        elif "contact_pos_w" in keys:
            points = int(np.asarray(data["contact_pos_w"]).shape[1])
        else:
            raise InputError(file, "contact_point_names", "missing: the feature layout is unknown", fix)
        fmt = int(np.asarray(data["feature_format"])) if "feature_format" in keys else 1
        joints = tuple(str(j) for j in np.asarray(data["joint_names"]).reshape(-1).tolist())
        version = cls(fmt, str(np.asarray(data["robot"])), joints, points, spec)
        if "feature_version" in keys and str(np.asarray(data["feature_version"])) != version.tag:
            stored = str(np.asarray(data["feature_version"]))
            raise InputError(
                file,
                "feature_version",
                f"tag '{stored}' does not match the stored header (recomputed '{version.tag}')",
                fix,
            )
        return version


def adopt_feature_spec(
    user: Mapping[str, Any] | None,
    robot: RobotSpec,
    header: FeatureVersion | None,
    dataset: str | Path | None = None,
    check: bool = True,
) -> FeatureSpec:
    """The env's FeatureSpec: the dataset's (``header``), with the fields the user set (``user``: the
    ``env.amp.feature_spec`` mapping, validated here).

    An explicit field that differs from the dataset's is a real conflict (the features would not mean the same
    thing) and is refused in one line, except ``history``: the sampler stacks frames at any history. A dataset
    for another robot or joint order is refused too. Without a header (no ``dataset``, or one that declares no
    features and ``check`` off) the spec is the defaults plus the user's fields."""
    user = dict(user or {})
    spec = FeatureSpec.from_dict(user, path="env.amp.feature_spec")
    if header is None:
        if dataset and check:
            raise InputError(
                dataset,
                "feature_spec",
                "the dataset does not declare its features",
                "rebuild it with wildrobot-convert, or set env.amp.check_feature_version=false",
            )
        return spec
    clash = FeatureVersion.of(spec, robot).conflicts(header)
    clash = [c for c in clash if not c.startswith("feature_spec.")] + [
        c for c in clash if c.split(":")[0].removeprefix("feature_spec.") in user
    ]
    if clash and check:
        raise InputError(
            dataset,
            "feature_spec",
            f"the env asks for {clash[0]} (env != dataset)",
            "drop the env.amp.feature_spec override (the env adopts the dataset's) or rebuild the "
            "dataset with wildrobot-convert using that setting",
        )
    return replace(header.spec, **{k: getattr(spec, k) for k in user})
