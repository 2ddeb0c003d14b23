"""RobotSpec: the one robot description every other part reads (joint order, defaults, feet, symmetry, PD).

A robot is a folder with ``robot.yaml`` and (optionally) its MJCF. The YAML's ``joints`` list is the
canonical joint order for actions, observations, datasets and the miner; nothing else types it again.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots.actuator_model import ActuatorModel, parse_actuator_model
from wildrobot_amp_ext.robots.model_size import check_model_size
from wildrobot_amp_ext.robots.mujoco_warnings import route_mujoco_warnings
from wildrobot_amp_ext.validation import LIMITS, check_link_loop, safe_component
from wildrobot_amp_ext.validation import values as V

ROBOTS_DIR = Path(__file__).parent / "data"
CONTACT_POINTS_PER_FOOT = 2


@dataclass(frozen=True)
class FootSpec:
    name: str
    body: str
    contact_points: np.ndarray  # (2, 3) in the foot body's frame: toe, heel


@dataclass(frozen=True)
class RobotSpec:
    name: str
    yaml_path: Path
    mjcf_path: Path
    root_body: str
    joint_names: tuple[str, ...]
    default_joint_pos: np.ndarray  # (J,) rad
    init_root_height: float
    feet: tuple[FootSpec, ...]
    mirror_index: np.ndarray  # (J,) joint j of a mirrored motion reads joint mirror_index[j] ...
    mirror_sign: np.ndarray  # (J,) ... multiplied by mirror_sign[j]
    kp: np.ndarray
    kd: np.ndarray
    effort_limit: np.ndarray
    velocity_limit: np.ndarray
    armature: np.ndarray
    total_mass: float  # measured from the MJCF
    self_collision: bool = False
    removed_joints: tuple[str, ...] = field(default=())  # MJCF joints welded because the YAML omits them
    #: body whose orientation and angular velocity the robot's IMU measures (the actor's IMU terms read it)
    imu_body: str = ""
    #: the hardware SDK's motor slots in order (``sdk_motor_order`` in the YAML; empty: the policy order is the
    #: motor order). A deploy bundle maps each policy joint to its slot.
    sdk_motor_order: tuple[str, ...] = field(default=())
    #: the explicit actuator model (``actuator_model`` in the YAML; robots.actuator_model), None when not given
    actuator_model: ActuatorModel | None = None

    @property
    def sdk_motor_index(self) -> tuple[int, ...] | None:
        """SDK slot of each joint in policy order, None when the robot has no SDK order."""
        if not self.sdk_motor_order:
            return None
        return tuple(self.sdk_motor_order.index(j) for j in self.joint_names)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def foot_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.feet)

    @property
    def contact_point_names(self) -> tuple[str, ...]:
        return tuple(f"{f.name}_{p}" for f in self.feet for p in ("toe", "heel"))

    @cached_property
    def joint_index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.joint_names)}

    def mirror_joint_values(self, values: np.ndarray) -> np.ndarray:
        """Mirror (..., J) joint values left<->right with the sign flips of the symmetry map."""
        return values[..., self.mirror_index] * self.mirror_sign


def list_robots() -> list[str]:
    return sorted(p.name for p in ROBOTS_DIR.iterdir() if (p / "robot.yaml").is_file())


def load_robot(name_or_path: str | Path) -> RobotSpec:
    """Load a robot by registry name (``wildrobot``, ``unitree_g1_23dof``...) or by a path to its YAML."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        if not isinstance(name_or_path, str) or not name_or_path or "/" in name_or_path or ".." in name_or_path:
            raise InputError(
                None,
                "robot",
                f"unknown robot {str(name_or_path)!r}",
                f"use one of {list_robots()} or a path to a robot.yaml",
            )
        candidate = ROBOTS_DIR / str(name_or_path) / "robot.yaml"
        if not candidate.is_file():
            raise InputError(
                None,
                "robot",
                f"unknown robot '{name_or_path}'",
                f"use one of {list_robots()} or a path to a robot.yaml",
            )
        path = candidate
    check_link_loop(path)
    if not path.is_file():
        problem = "not a regular file (a device, FIFO or socket)" if path.exists() else "robot YAML not found"
        raise InputError(path, None, problem, "check the path")
    if path.stat().st_size > 1 << 20:
        raise InputError(path, None, "a robot YAML over 1 MiB is not a robot description", "check the path")
    try:
        text = path.read_text(encoding="utf-8")
        if _flow_depth(text) > MAX_YAML_DEPTH:  # PyYAML recurses per level: 10,000 '[' take seconds to fail
            raise InputError(
                path, None, f"nested deeper than {MAX_YAML_DEPTH} levels", "a robot YAML is a few levels deep"
            )
        raw = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise InputError(path, None, "not UTF-8 text", "save the YAML as UTF-8") from None
    except (yaml.YAMLError, RecursionError) as err:
        raise InputError(path, None, f"not valid YAML ({err.__class__.__name__})", "fix the YAML syntax") from None
    if not isinstance(raw, dict):
        raise InputError(path, None, "top level must be a mapping", "see robots/data/wildrobot/robot.yaml")
    return _parse(path, raw)


MAX_YAML_DEPTH = 64
_FLOW = re.compile(r"[\[\]{}]")


def _flow_depth(text: str) -> int:
    """Deepest nesting of YAML flow collections (brackets inside quoted strings counted too: an upper bound)."""
    depth = deepest = 0
    for match in _FLOW.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def resolve_mjcf(yaml_path: Path, ref: str) -> Path:
    """``pkg://<package>/<path>`` points into an installed package (found without importing it)."""
    if ref.startswith("pkg://"):
        package, _, rel = ref[len("pkg://") :].partition("/")
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise InputError(
                yaml_path,
                "mjcf",
                f"package '{package}' providing {ref} is not installed",
                f"run: pip install --no-deps {package}  (scripts/setup.sh does this)",
            )
        return Path(list(found.submodule_search_locations)[0]) / rel
    return (yaml_path.parent / ref).resolve()


def _require(path: Path, raw: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in raw:
        raise InputError(path, key, "missing", f"add '{key}:' (see robots/data/wildrobot/robot.yaml)")
    value = raw[key]
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        raise InputError(path, key, f"expected {'/'.join(k.__name__ for k in kinds)}, got {type(value).__name__}", None)
    return value


def _match_joints(pattern: str, names: tuple[str, ...], path: Path | None = None, field: str = "joints") -> list[int]:
    if not isinstance(pattern, str):
        raise InputError(path, field, f"expected a joint-name regex, got {type(pattern).__name__} {pattern!r}", None)
    if len(pattern) > 1000:
        raise InputError(path, field, f"a regex of {len(pattern)} characters", "match joint names with a short regex")
    try:
        rx = re.compile(pattern)
        nested = _nested_repeat(re._parser.parse(pattern))
    except (re.error, RecursionError, OverflowError) as err:
        raise InputError(
            path, field, f"'{pattern}' is not a valid regex ({getattr(err, 'msg', err)})", "fix the pattern"
        ) from None
    if nested:  # '(.*)*x' backtracks 2^len(name) times: a 30-character joint name would take minutes
        raise InputError(
            path,
            field,
            f"'{pattern}' repeats a repetition (exponential matching time)",
            "write it without nested quantifiers, e.g. '.*x'",
        )
    return [i for i, n in enumerate(names) if rx.fullmatch(n)]


_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _nested_repeat(parsed: Any, inside: bool = False) -> bool:
    """True if an unbounded repeat sits inside another repeat (the classic catastrophic-backtracking shape)."""
    for op, arg in parsed:
        name = str(op)
        if name in _REPEATS:
            low, high, sub = arg
            unbounded = high is re._parser.MAXREPEAT or high > 1
            if inside and unbounded:
                return True
            if _nested_repeat(sub, inside or unbounded):
                return True
        elif name == "SUBPATTERN":
            if _nested_repeat(arg[-1], inside):
                return True
        elif name == "BRANCH":
            if any(_nested_repeat(branch, inside) for branch in arg[1]):
                return True
        elif name in ("ASSERT", "ASSERT_NOT"):
            if _nested_repeat(arg[1], inside):
                return True
    return False


#: robot YAML gains / limits: key -> (smallest allowed, strictly above it?)
GAIN_RANGES = {
    "kp": (0.0, False),
    "kd": (0.0, False),
    "effort_limit": (0.0, True),
    "velocity_limit": (0.0, True),
    "armature": (0.0, False),
}


def _gain(path: Path, field: str, value: Any) -> float:
    key = field.rsplit(".", 1)[-1]
    number = V.real_scalar(path, field, value, f"give {key} as a number")
    low, strict = GAIN_RANGES[key]
    if number < low or (strict and number == low) or number > LIMITS.max_gain:
        raise InputError(
            path,
            field,
            f"{number:g} is outside {'(' if strict else '['}{low:g}, {LIMITS.max_gain:g}]",
            f"give a physical {key}",
        )
    return number


def _parse(path: Path, raw: dict[str, Any]) -> RobotSpec:
    # the steps run in the YAML's reading order, so a file with several mistakes is refused for the same first one
    name = safe_component(path, "name", _require(path, raw, "name", str))
    mjcf_path, source_model, mj_joints, mj_bodies = _load_mjcf(path, raw)
    joint_names = _parse_joint_names(path, raw, mjcf_path, mj_joints)
    root_body = _parse_body(path, raw, "root_body", mjcf_path, mj_bodies, None, "name the floating-base body")
    default = _parse_default_pose(path, raw, joint_names)
    feet = _parse_feet(path, raw, mjcf_path, mj_bodies)
    mirror_index, mirror_sign = _parse_symmetry(path, raw.get("symmetry") or {}, joint_names)
    gains = _parse_actuator_gains(path, raw, joint_names)
    imu_body = _parse_body(path, raw, "imu_body", mjcf_path, mj_bodies, root_body, "name the IMU's body")
    sdk_order = _sdk_motor_order(path, raw.get("sdk_motor_order"), joint_names)
    spec = RobotSpec(
        name=name,
        yaml_path=path,
        mjcf_path=mjcf_path,
        root_body=root_body,
        joint_names=joint_names,
        default_joint_pos=default,
        init_root_height=V.real_scalar(path, "init_root_height", raw.get("init_root_height", 0.0), "give metres"),
        feet=feet,
        mirror_index=mirror_index,
        mirror_sign=mirror_sign,
        total_mass=float(source_model.body_subtreemass[0]),
        self_collision=_flag(path, "self_collision", raw.get("self_collision", False)),
        removed_joints=tuple(j for j in mj_joints if j not in joint_names),
        imu_body=imu_body,
        sdk_motor_order=sdk_order,
        actuator_model=parse_actuator_model(path, raw.get("actuator_model"), joint_names, _match_joints),
        **gains,
    )
    _check_total_mass(path, raw, mjcf_path, spec.total_mass)
    return spec


def _load_mjcf(path: Path, raw: dict[str, Any]) -> tuple[Path, Any, list[str], set[str]]:
    """Compile the YAML's MJCF (size-checked first); return its path, model, hinge/slide joints and body names."""
    import mujoco  # lazy: robots.spec is imported by every command, and `--help` must not load MuJoCo

    route_mujoco_warnings()  # MuJoCo's default handler writes MUJOCO_LOG.TXT into the user's folder
    mjcf_path = resolve_mjcf(path, str(_require(path, raw, "mjcf", str)))
    if not mjcf_path.is_file():
        problem = "is not a regular file" if mjcf_path.exists() else "does not exist"
        raise InputError(path, "mjcf", f"MJCF file {mjcf_path} {problem}", "point 'mjcf' at an existing MJCF file")
    if mjcf_path.stat().st_size > LIMITS.max_file_bytes // 64:
        raise InputError(
            mjcf_path, None, f"{mjcf_path.stat().st_size >> 20} MiB is not a robot description", "check the 'mjcf' path"
        )
    try:
        check_model_size(mjcf_path)  # before MuJoCo allocates what the XML declares
        source = mujoco.MjSpec.from_file(str(mjcf_path))
        source_model = source.compile()
    except InputError:
        raise
    except Exception as err:  # mujoco raises plain ValueError with a multi-line message
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(mjcf_path, None, f"MuJoCo cannot load this MJCF: {first}", "fix the XML") from None

    balls = [
        source_model.joint(j).name
        for j in range(source_model.njnt)
        if int(source_model.jnt_type[j]) == int(mujoco.mjtJoint.mjJNT_BALL)
    ]
    if balls:
        raise InputError(
            mjcf_path,
            f"joint {balls[0]}",
            "ball joints are not supported (hinge/slide only)",
            "model the ball joint as three hinges",
        )
    mj_joints = [
        source_model.joint(j).name
        for j in range(source_model.njnt)
        if int(source_model.jnt_type[j]) in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    ]
    mj_bodies = {source_model.body(b).name for b in range(source_model.nbody)}
    return mjcf_path, source_model, mj_joints, mj_bodies


def _parse_joint_names(path: Path, raw: dict[str, Any], mjcf_path: Path, mj_joints: list[str]) -> tuple[str, ...]:
    """The canonical joint order: distinct names, each a hinge or slide joint of the MJCF."""
    joints = _require(path, raw, "joints", list)
    if not joints:
        raise InputError(path, "joints", "empty list", "list the actuated joints in the order the env should use")
    seen: set[str] = set()
    for i, j in enumerate(joints):
        if not isinstance(j, str):
            raise InputError(path, f"joints[{i}]", f"expected a joint name, got {j!r}", None)
        if j in seen:
            raise InputError(path, f"joints[{i}]", f"joint '{j}' listed twice", "list each joint once")
        if j not in mj_joints:
            near = [m for m in mj_joints if j.split("_")[0] in m][:6]
            raise InputError(
                path,
                f"joints[{i}]",
                f"joint '{j}' is not in {mjcf_path.name}",
                f"use a joint of the MJCF, e.g. {near or mj_joints[:6]}",
            )
        seen.add(j)
    return tuple(joints)


def _parse_body(
    path: Path, raw: dict[str, Any], key: str, mjcf_path: Path, mj_bodies: set[str], default: str | None, fix: str
) -> str:
    """A body named by the YAML (required when ``default`` is None) that the MJCF has."""
    body = str(_require(path, raw, key, str) if default is None else raw.get(key, default))
    if body not in mj_bodies:
        raise InputError(path, key, f"body '{body}' is not in {mjcf_path.name}", fix)
    return body


def _parse_default_pose(path: Path, raw: dict[str, Any], joint_names: tuple[str, ...]) -> np.ndarray:
    """``default_joint_pos``: joint regex -> angle (rad); joints no regex matches stand at 0."""
    default = np.zeros(len(joint_names))
    default_raw = raw.get("default_joint_pos") or {}
    if not isinstance(default_raw, dict):
        raise InputError(
            path,
            "default_joint_pos",
            f"expected a mapping 'joint regex: angle', got {type(default_raw).__name__}",
            "write e.g. '.*_knee_joint: 0.3'",
        )
    for pattern, value in default_raw.items():
        field_name = f"default_joint_pos.{pattern}"
        idx = _match_joints(pattern, joint_names, path, field_name)
        if not idx:
            raise InputError(path, field_name, "matches no joint", "use a regex that matches a listed joint")
        angle = V.real_scalar(path, field_name, value, "give the angle in radians")
        if abs(angle) > 2 * np.pi:
            raise InputError(path, field_name, f"{angle:g} rad is beyond one turn", "give the angle in radians")
        default[idx] = angle
    return default


def _parse_feet(path: Path, raw: dict[str, Any], mjcf_path: Path, mj_bodies: set[str]) -> tuple[FootSpec, ...]:
    """Two feet, each its own MJCF body with two contact points (toe, heel) in that body's frame."""
    feet_raw = _require(path, raw, "feet", dict)
    if len(feet_raw) != 2:
        raise InputError(path, "feet", f"expected 2 feet (left, right), got {len(feet_raw)}", None)
    feet: list[FootSpec] = []
    for foot_name, foot in feet_raw.items():
        if not isinstance(foot, dict) or not isinstance(foot.get("body"), str):
            raise InputError(path, f"feet.{foot_name}.body", "missing", "name the foot's body in the MJCF")
        if foot["body"] not in mj_bodies:
            raise InputError(
                path,
                f"feet.{foot_name}.body",
                f"body '{foot['body']}' is not in {mjcf_path.name}",
                "name an existing body",
            )
        if any(f.body == foot["body"] for f in feet):
            raise InputError(
                path,
                f"feet.{foot_name}.body",
                f"body '{foot['body']}' is already the other foot",
                "name each foot's own body",
            )
        points = V.real_array(
            path,
            f"feet.{foot_name}.contact_points",
            foot.get("contact_points", []),
            bound=1.0,
            fix="give two finite points [[x, y, z], [x, y, z]] in metres, in the foot body's frame",
        )
        if points.shape != (CONTACT_POINTS_PER_FOOT, 3):
            raise InputError(
                path,
                f"feet.{foot_name}.contact_points",
                f"expected 2 points [[x,y,z],[x,y,z]] (toe, heel), got shape {points.shape}",
                None,
            )
        feet.append(FootSpec(str(foot_name), str(foot["body"]), points))
    return tuple(feet)


def _parse_actuator_gains(path: Path, raw: dict[str, Any], joint_names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``actuators``: groups of joints (regex) with their PD gains and limits; every joint must be covered."""
    gains = {k: np.full(len(joint_names), np.nan) for k in GAIN_RANGES}
    for g, group in enumerate(_require(path, raw, "actuators", list)):
        if not isinstance(group, dict):
            raise InputError(
                path,
                f"actuators[{g}]",
                f"expected a mapping (joints, kp, kd, ...), got {type(group).__name__}",
                "see robots/data/wildrobot/robot.yaml",
            )
        pattern = group.get("joints", "")
        idx = _match_joints(pattern, joint_names, path, f"actuators[{g}].joints")
        if not idx:
            raise InputError(
                path, f"actuators[{g}].joints", f"'{pattern}' matches no joint", "use a regex over the joint names"
            )
        for key, arr in gains.items():
            if key not in group:
                raise InputError(path, f"actuators[{g}].{key}", "missing", f"give {key} for this actuator group")
            arr[idx] = _gain(path, f"actuators[{g}].{key}", group[key])
    missing = [joint_names[i] for i in np.flatnonzero(np.isnan(gains["kp"]))]
    if missing:
        raise InputError(
            path, "actuators", f"no actuator group covers {missing}", "add a group whose 'joints' regex matches them"
        )
    return gains


def _check_total_mass(path: Path, raw: dict[str, Any], mjcf_path: Path, total_mass: float) -> None:
    """The MJCF's mass is physical, and within 5 % of the YAML's ``total_mass`` when it gives one."""
    if not 0 < total_mass <= LIMITS.max_mass_kg:
        raise InputError(mjcf_path, "mass", f"the MJCF weighs {total_mass:g} kg", "give the bodies physical masses")
    expected_mass = raw.get("total_mass")
    if expected_mass is not None:
        expected_mass = V.real_scalar(path, "total_mass", expected_mass, "give kg")
    if expected_mass is not None and abs(total_mass - float(expected_mass)) > 0.05 * float(expected_mass):
        raise InputError(
            path,
            "total_mass",
            f"YAML says {expected_mass} kg but the MJCF weighs {total_mass:.3f} kg",
            "fix the MJCF or the YAML",
        )


def _sdk_motor_order(path: Path, raw: Any, joint_names: tuple[str, ...]) -> tuple[str, ...]:
    """The SDK's motor slot names in slot order; every policy joint must have a slot."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw) or len(set(raw)) != len(raw):
        raise InputError(path, "sdk_motor_order", "expected a list of distinct joint names", "one name per SDK slot")
    missing = [j for j in joint_names if j not in raw]
    if missing:
        raise InputError(path, "sdk_motor_order", f"no SDK slot for {missing[0]}", "list every joint in 'joints'")
    return tuple(raw)


def _flag(path: Path, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InputError(path, field, f"expected true or false, got {value!r}", None)
    return value


def _parse_symmetry(path: Path, raw: dict[str, Any], joint_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    num = len(joint_names)
    index = {n: i for i, n in enumerate(joint_names)}
    pairs: dict[str, str] = {}
    if not isinstance(raw, dict):
        raise InputError(
            path, "symmetry", f"expected a mapping, got {type(raw).__name__}", "see robots/data/wildrobot/robot.yaml"
        )
    swap = raw.get("swap_prefixes")
    if swap:
        if not (isinstance(swap, list) and len(swap) == 2 and all(isinstance(p, str) and p for p in swap)):
            raise InputError(path, "symmetry.swap_prefixes", f"expected two prefixes [left, right], got {swap!r}", None)
        left, right = swap
        if left.startswith(right) or right.startswith(left):
            raise InputError(
                path,
                "symmetry.swap_prefixes",
                f"prefixes {swap!r} overlap: a joint would mirror onto itself",
                "give the two sides' distinct prefixes, e.g. [left_, right_]",
            )
        for n in joint_names:
            if n.startswith(left):
                pairs[n] = right + n[len(left) :]
        lefts, rights = sum(n.startswith(left) for n in joint_names), sum(n.startswith(right) for n in joint_names)
        if not lefts or lefts != rights:
            raise InputError(
                path,
                "symmetry.swap_prefixes",
                f"{lefts} joint(s) start with '{left}' but {rights} with '{right}'",
                "give prefixes that pair every left joint with a right one",
            )
    raw_pairs = raw.get("pairs") or {}
    if not isinstance(raw_pairs, dict):
        raise InputError(
            path, "symmetry.pairs", f"expected a mapping left: right, got {type(raw_pairs).__name__}", None
        )
    for a, b in raw_pairs.items():
        pairs[str(a)] = str(b)

    mirror_index = np.arange(num)
    named: set[str] = set()
    for a, b in pairs.items():
        for n in (a, b):
            if n not in index:
                raise InputError(
                    path, f"symmetry.pairs.{a}", f"joint '{n}' is not in 'joints'", "pair listed joints only"
                )
            if n in named:
                raise InputError(
                    path, f"symmetry.pairs.{a}", f"joint '{n}' is named twice", "each joint may appear in one pair only"
                )
            named.add(n)
        mirror_index[index[a]], mirror_index[index[b]] = index[b], index[a]

    sign = np.ones(num)
    negate = raw.get("negate") or []
    if not isinstance(negate, list):
        raise InputError(
            path, "symmetry.negate", f"expected a list of joint regexes, got {type(negate).__name__}", None
        )
    for pattern in negate:
        idx = _match_joints(pattern, joint_names, path, "symmetry.negate")
        if not idx:
            raise InputError(
                path, "symmetry.negate", f"'{pattern}' matches no joint", "use a regex over the joint names"
            )
        sign[idx] = -1.0
    for i, j in enumerate(mirror_index):
        if sign[i] != sign[j]:
            raise InputError(
                path,
                "symmetry.negate",
                f"'{joint_names[i]}' and its mirror '{joint_names[j]}' differ in sign",
                "negate both or neither",
            )
    return mirror_index, sign
