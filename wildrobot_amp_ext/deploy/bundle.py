"""The deploy bundle: ``deploy.yaml`` next to ``policy.onnx``, the same fields in the ONNX ``metadata_props``.

Everything a robot-side program needs to feed the policy and apply its output, and nothing from this project's
configuration (the layout follows unitree_rl_lab's ``deploy.yaml``; mjlab writes the same into ONNX metadata):

=====================  ==========================================================================================
field                  meaning
=====================  ==========================================================================================
format                 ``wildrobot-deploy/1``
robot                  robot name (informative)
step_dt                policy period (s) = sim_dt x decimation; commands are held this long
joint_names            the policy's joint order (actions and joint observations)
sdk_motor_index        per policy joint, its slot in the hardware SDK's motor arrays (G1: unitree_sdk2's order);
                       null when the robot has none
default_joint_pos      rad, policy order
stiffness / damping    PD gains Kp (N.m/rad) / Kd (N.m.s/rad), policy order
effort_limit           N.m, policy order
actions                ``q_target = offset + scale * clip(action, -clip, clip)`` per joint (clip null: none)
observations           ``set``, ``history_length``, ``history_layout`` (``term_major``: each term's frames oldest
                       first, then the next term; ``frame_major``: whole frames oldest first), ``dim``, and per term
                       ``name, width, scale, clip, formula, train_noise`` (term = clip(raw, +-clip) * scale); after a
                       reset every history slot holds the first frame
commands               the ranges the policy was trained on (vx, vy m/s; wz rad/s)
imu_body               the body whose IMU the ``imu_*`` terms read
terminations           ``min_root_height`` (m), ``max_tilt_rad``: where training ended an episode
actuator_model         ``trained_with``: ``explicit`` (the robot YAML's delayed PD + torque-speed curve + friction,
                       robots/actuator_model.py, whose ``form`` and per-joint ``Y1 Y2 X1 X2 Fs Fd Va``,
                       ``delay_s`` [min, max], ``motor_type`` follow) or ``implicit_pd`` (the simulator's ideal PD);
                       ``identified``: false when the values are guesses (WildRobot's servos); ``source``
=====================  ==========================================================================================

:func:`load_bundle` reads a bundle and refuses, in one line naming the field, one whose ONNX metadata, ONNX widths,
history or per-joint lists disagree, or (given the robot) whose joint order, default pose, gains or observation
scales differ from the robot's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wildrobot_amp_ext.deploy.observations import OBSERVATION_SETS, observation_set
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.utils.atomic import atomic_open, atomic_path

FORMAT = "wildrobot-deploy/1"
DEPLOY_FILE = "deploy.yaml"
LAYOUTS = ("term_major", "frame_major")
#: the Isaac Lab name of each layout (ObservationGroupCfg.history_order)
ISAACLAB_HISTORY_ORDER = {"term": "term_major", "time": "frame_major"}
#: fields that must be present, and their types
REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "robot": str,
    "step_dt": float,
    "sim_dt": float,
    "decimation": int,
    "joint_names": list,
    "default_joint_pos": list,
    "stiffness": list,
    "damping": list,
    "effort_limit": list,
    "actions": dict,
    "observations": dict,
    "commands": dict,
    "imu_body": str,
}
PER_JOINT = ("default_joint_pos", "stiffness", "damping", "effort_limit")
#: a previous run's env.yaml without ``observation_set`` trained on the earlier observation set
SET_BEFORE_THE_OPTION = "privileged"


# ----------------------------------------------------------------------------------------------------------------
# build (export side: project config -> bundle)
# ----------------------------------------------------------------------------------------------------------------
def build_deploy(robot, env_cfg: dict, obs_dim: int, action_dim: int) -> dict:
    """The bundle of a policy trained on ``robot`` in an env whose resolved config (``params/env.yaml``) is
    ``env_cfg``. Raises InputError naming the env.yaml field when the run cannot be described."""
    where = "params/env.yaml"
    action = ((env_cfg.get("actions") or {}).get("joint_pos")) or {}
    sim_dt, decimation = (env_cfg.get("sim") or {}).get("dt"), env_cfg.get("decimation")
    if not isinstance(sim_dt, (int, float)) or not isinstance(decimation, int):
        raise InputError(where, "sim.dt / decimation", "missing", "export the checkpoint of a run of this package")
    if not action.get("use_default_offset"):
        raise InputError(where, "actions.joint_pos.use_default_offset", "must be true", "train with the default")
    scale = _per_joint(where, "actions.joint_pos.scale", action.get("scale"), robot.joint_names)
    clip = action.get("clip")
    obs_set = observation_set(env_cfg.get("observation_set", SET_BEFORE_THE_OPTION), where)
    trained = _policy_terms_in(env_cfg)
    if trained is not None and trained != [t.name for t in obs_set.terms]:
        raise InputError(where, "observations.policy", f"terms {trained} are not the {obs_set.name!r} set",
                         "export a run whose policy group is one of deploy.observations' sets")  # fmt: skip
    history_order = ((env_cfg.get("observations") or {}).get("policy") or {}).get("history_order", "term")
    terms = [
        {
            "name": t.name,
            "width": t.dim(robot.num_joints, len(robot.feet)),
            "scale": float(t.scale),
            "clip": t.clip,
            "formula": t.formula,
            "train_noise": float(t.noise),
        }
        for t in obs_set.terms
    ]
    dim = obs_set.history * sum(t["width"] for t in terms)
    if dim != obs_dim or action_dim != robot.num_joints:
        problem = f"{obs_set.name!r}: {dim} inputs, {robot.num_joints} actions; the policy: {obs_dim}, {action_dim}"
        raise InputError(where, "observation_set", problem, "export the checkpoint of this run")
    ranges = (((env_cfg.get("commands") or {}).get("base_velocity")) or {}).get("ranges") or {}
    term_cfg = env_cfg.get("terminations") or {}
    height = ((term_cfg.get("base_height") or {}).get("params") or {}).get("minimum_height")
    tilt = ((term_cfg.get("base_orientation") or {}).get("params") or {}).get("limit_angle")
    return {
        "format": FORMAT,
        "robot": robot.name,
        "step_dt": float(sim_dt) * int(decimation),
        "sim_dt": float(sim_dt),
        "decimation": int(decimation),
        "joint_names": list(robot.joint_names),
        "sdk_motor_index": list(robot.sdk_motor_index) if robot.sdk_motor_index is not None else None,
        "default_joint_pos": [float(v) for v in robot.default_joint_pos],
        "stiffness": [float(v) for v in robot.kp],
        "damping": [float(v) for v in robot.kd],
        "effort_limit": [float(v) for v in robot.effort_limit],
        "actions": {
            "scale": scale,
            "offset": [float(v) for v in robot.default_joint_pos],
            "clip": float(clip) if isinstance(clip, (int, float)) else None,
            "formula": "q_target = offset + scale * clip(action, -clip, clip); tau = Kp (q_target - q) - Kd dq",
        },
        "observations": {
            "set": obs_set.name,
            "history_length": obs_set.history,
            "history_layout": ISAACLAB_HISTORY_ORDER.get(history_order, history_order),
            "dim": dim,
            "terms": terms,
        },
        "commands": {k: [float(v) for v in ranges[k]] for k in ("lin_vel_x", "lin_vel_y", "ang_vel_z") if k in ranges},
        "imu_body": robot.imu_body,
        "terminations": {
            "min_root_height": float(height) if isinstance(height, (int, float)) else None,
            "max_tilt_rad": float(tilt) if isinstance(tilt, (int, float)) else None,
        },
        "actuator_model": _actuator_model(robot, env_cfg),
    }


def _actuator_model(robot, env_cfg: dict) -> dict:
    """What drove the joints in training; a run from before ``env.actuator_model`` had the implicit PD."""
    trained = "explicit" if env_cfg.get("actuator_model") else "implicit_pd"
    am = robot.actuator_model
    if am is None:
        return {"trained_with": trained, "identified": False, "source": "the robot YAML has no actuator_model"}
    return {"trained_with": trained, **am.to_dict()}


def _policy_terms_in(env_cfg: dict) -> list[str] | None:
    """Non-null term names of the saved policy group (None when the file does not list them)."""
    group = (env_cfg.get("observations") or {}).get("policy")
    if not isinstance(group, dict):
        return None
    skip = {"enable_corruption", "concatenate_terms", "history_length", "flatten_history_dim", "history_order"}
    names = [k for k, v in group.items() if k not in skip and k != "concatenate_dim" and isinstance(v, dict)]
    return names or None


def _per_joint(where, field: str, value: Any, joints) -> list[float]:
    if isinstance(value, (int, float)):
        return [float(value)] * len(joints)
    if isinstance(value, dict):  # Isaac Lab's {regex: scale}
        import re

        out = []
        for j in joints:
            hit = next((float(v) for k, v in value.items() if re.fullmatch(k, j)), None)
            if hit is None:
                raise InputError(where, field, f"no scale for joint {j}", "give one number or a regex for every joint")
            out.append(hit)
        return out
    raise InputError(where, field, f"expected a number or {{regex: number}}, got {value!r}", None)


# ----------------------------------------------------------------------------------------------------------------
# write
# ----------------------------------------------------------------------------------------------------------------
def metadata_props(deploy: dict) -> dict[str, str]:
    """The ONNX ``metadata_props``: one JSON string per deploy.yaml field."""
    return {key: json.dumps(value, sort_keys=True) for key, value in deploy.items()}


def write_bundle(deploy: dict, out_dir: str | Path, onnx_path: str | Path) -> Path:
    """``deploy.yaml`` in ``out_dir``, and the same fields written into ``onnx_path``'s metadata (atomically)."""
    import onnx
    import yaml

    onnx_path = Path(onnx_path)
    model = onnx.load(str(onnx_path))
    keep = [p for p in model.metadata_props if p.key not in deploy]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in metadata_props(deploy).items():
        model.metadata_props.add(key=key, value=value)
    with atomic_path(onnx_path) as tmp:
        onnx.save(model, str(tmp))
    path = Path(out_dir) / DEPLOY_FILE
    with atomic_open(path, "w") as f:
        yaml.safe_dump(deploy, f, sort_keys=False, width=120)
    return path


# ----------------------------------------------------------------------------------------------------------------
# read and check (robot side)
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Bundle:
    deploy: dict
    onnx_path: Path
    yaml_path: Path
    obs_dim: int
    action_dim: int

    def __getitem__(self, key: str) -> Any:
        return self.deploy[key]

    @property
    def num_joints(self) -> int:
        return len(self.deploy["joint_names"])


def load_bundle(folder: str | Path, robot=None, onnx_name: str = "policy.onnx") -> Bundle:
    """Read ``deploy.yaml`` + ``policy.onnx`` from ``folder`` and check them against each other (and ``robot``, a
    RobotSpec, when given). Every refusal is one line naming the file and field."""
    import onnx
    import yaml

    folder = Path(folder)
    yaml_path, onnx_path = folder / DEPLOY_FILE, folder / onnx_name
    for path in (yaml_path, onnx_path):
        if not path.is_file():
            raise InputError(path, None, "missing from the deploy bundle", "re-export the policy with wildrobot-export")
    try:
        deploy = yaml.safe_load(yaml_path.read_text())
    except yaml.YAMLError as err:
        raise InputError(yaml_path, None, f"not valid YAML ({err.__class__.__name__})", None) from None
    if not isinstance(deploy, dict):
        raise InputError(yaml_path, None, "top level must be a mapping", None)
    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as err:  # onnx raises DecodeError and friends
        raise InputError(onnx_path, None, f"not an ONNX model ({err.__class__.__name__})", None) from None
    check_fields(deploy, yaml_path)
    meta = {p.key: p.value for p in model.metadata_props}
    for key, value in deploy.items():
        if key not in meta:
            raise InputError(onnx_path, f"metadata_props.{key}", "missing", "re-export: the ONNX carries deploy.yaml")
        if json.loads(meta[key]) != json.loads(json.dumps(value)):
            raise InputError(onnx_path, f"metadata_props.{key}", f"differs from {DEPLOY_FILE}'s {key}",
                             "use the deploy.yaml exported with this ONNX")  # fmt: skip
    obs_dim, action_dim = _io_widths(model, onnx_path)
    bundle = Bundle(deploy, onnx_path, yaml_path, obs_dim, action_dim)
    check_widths(bundle)
    if robot is not None:
        check_against_robot(bundle, robot)
    return bundle


def check_fields(deploy: dict, path: Path) -> None:
    """Types and per-joint lengths of deploy.yaml's fields."""
    for key, kind in REQUIRED.items():
        value = deploy.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InputError(path, key, f"expected {getattr(kind, '__name__', kind)}, got {value!r}"[:200], None)
    if deploy["format"] != FORMAT:
        raise InputError(path, "format", f"{deploy['format']!r} is not {FORMAT!r}", "re-export with this version")
    joints = deploy["joint_names"]
    if not joints or len(set(joints)) != len(joints) or not all(isinstance(j, str) for j in joints):
        raise InputError(path, "joint_names", "expected distinct joint names", None)
    if abs(deploy["step_dt"] - deploy["sim_dt"] * deploy["decimation"]) > 1e-9 or deploy["step_dt"] <= 0:
        raise InputError(path, "step_dt", f"{deploy['step_dt']} != sim_dt x decimation", None)
    for key in PER_JOINT:
        _finite_list(path, key, deploy[key], len(joints))
    actions = deploy["actions"]
    _finite_list(path, "actions.scale", actions.get("scale"), len(joints))
    _finite_list(path, "actions.offset", actions.get("offset"), len(joints))
    clip = actions.get("clip")
    if clip is not None and not (isinstance(clip, (int, float)) and clip > 0):
        raise InputError(path, "actions.clip", f"expected null or a positive number, got {clip!r}", None)
    sdk = deploy.get("sdk_motor_index")
    if sdk is not None and (
        not isinstance(sdk, list) or len(sdk) != len(joints) or len(set(sdk)) != len(sdk)
        or not all(isinstance(i, int) and i >= 0 for i in sdk)
    ):  # fmt: skip
        raise InputError(path, "sdk_motor_index", f"expected {len(joints)} distinct slots >= 0", None)
    obs = deploy["observations"]
    history = obs.get("history_length")
    if not isinstance(history, int) or isinstance(history, bool) or not 1 <= history <= 64:
        raise InputError(path, "observations.history_length", f"expected an int in [1, 64], got {history!r}", None)
    if obs.get("history_layout") not in LAYOUTS:
        raise InputError(path, "observations.history_layout", f"{obs.get('history_layout')!r}", f"one of {LAYOUTS}")
    terms = obs.get("terms")
    if not isinstance(terms, list) or not terms:
        raise InputError(path, "observations.terms", "expected a list of terms", None)
    for i, term in enumerate(terms):
        where = f"observations.terms[{i}]"
        if not isinstance(term, dict) or not isinstance(term.get("name"), str):
            raise InputError(path, f"{where}.name", "missing", None)
        width, scale, clip = term.get("width"), term.get("scale"), term.get("clip")
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            raise InputError(path, f"{where}.width", f"expected a positive int, got {width!r}", None)
        if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale == 0:
            raise InputError(path, f"{where}.scale", f"expected a finite non-zero number, got {scale!r}", None)
        if clip is not None and not (isinstance(clip, (int, float)) and clip > 0):
            raise InputError(path, f"{where}.clip", f"expected null or a positive number, got {clip!r}", None)
    dim = history * sum(t["width"] for t in terms)
    if obs.get("dim") != dim:
        raise InputError(path, "observations.dim", f"{obs.get('dim')!r} != history x term widths = {dim}", None)
    if "actuator_model" in deploy:
        _check_actuator_model(path, deploy["actuator_model"], len(joints))


ACTUATOR_MODELS = ("explicit", "implicit_pd")


def _check_actuator_model(path, section: Any, n: int) -> None:
    """``actuator_model``: an explicit model needs every per-joint value (the runner applies them)."""
    if not isinstance(section, dict) or section.get("trained_with") not in ACTUATOR_MODELS:
        raise InputError(path, "actuator_model.trained_with", f"expected one of {ACTUATOR_MODELS}", None)
    if not isinstance(section.get("identified"), bool):
        raise InputError(path, "actuator_model.identified", "expected true or false", None)
    if section["trained_with"] != "explicit":
        return
    for key in ("Y1", "Y2", "X1", "X2", "Fs", "Fd", "Va"):
        _finite_list(path, f"actuator_model.{key}", section.get(key), n)
        if min(section[key]) < 0:
            raise InputError(path, f"actuator_model.{key}", "expected values >= 0", None)
    if any(x2 <= x1 for x1, x2 in zip(section["X1"], section["X2"])) or min(section["Va"]) <= 0:
        raise InputError(path, "actuator_model.X2", "expected X2 > X1 and Va > 0 per joint", None)
    delay = section.get("delay_s")
    if not (isinstance(delay, list) and len(delay) == n and all(
        isinstance(d, list) and len(d) == 2 and all(isinstance(v, (int, float)) for v in d) and 0 <= d[0] <= d[1] <= 1
        for d in delay
    )):  # fmt: skip
        raise InputError(path, "actuator_model.delay_s", f"expected {n} pairs [min, max] in seconds", None)


def _finite_list(path, field: str, value: Any, n: int) -> None:
    if not isinstance(value, list) or len(value) != n:
        raise InputError(path, field, f"expected {n} numbers (one per joint), got {str(value)[:80]}", None)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        raise InputError(path, field, "expected finite numbers", None)


def _io_widths(model, path: Path) -> tuple[int, int]:
    def width(value_info) -> int:
        dims = value_info.type.tensor_type.shape.dim
        last = dims[-1].dim_value if dims else 0
        if not last:
            raise InputError(path, value_info.name, "the last dimension is not fixed", "export with a fixed width")
        return int(last)

    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise InputError(path, "graph", "expected one input (observations) and one output (actions)", None)
    return width(model.graph.input[0]), width(model.graph.output[0])


def check_widths(bundle: Bundle) -> None:
    """The ONNX input and output widths agree with the history, the term widths and the joint count."""
    deploy, path, joints = bundle.deploy, bundle.onnx_path, bundle.num_joints
    obs = deploy["observations"]
    if bundle.obs_dim != obs["dim"]:
        raise InputError(path, "observations.history_length", f"the ONNX takes {bundle.obs_dim} inputs, deploy.yaml "
                         f"gives {obs['history_length']} x {obs['dim'] // obs['history_length']} = {obs['dim']}",
                         "use the deploy.yaml exported with this ONNX")  # fmt: skip
    if bundle.action_dim != joints:
        raise InputError(path, "joint_names", f"the ONNX returns {bundle.action_dim} actions for {joints} joints", None)
    for i, term in enumerate(obs["terms"]):  # the per-joint terms must have one column per joint
        if term["name"] in ("joint_pos", "joint_vel", "actions") and term["width"] != joints:
            raise InputError(bundle.yaml_path, f"observations.terms[{i}].width",
                             f"{term['name']} has {term['width']} columns for {joints} joints", None)  # fmt: skip


def check_against_robot(bundle: Bundle, robot) -> None:
    """Refuse a bundle whose joint order, default pose, gains or observation table differ from ``robot``'s."""
    deploy, path = bundle.deploy, bundle.yaml_path
    names = list(deploy["joint_names"])
    if names != list(robot.joint_names):
        k = next(
            (i for i, (a, b) in enumerate(zip(names, robot.joint_names)) if a != b), min(len(names), robot.num_joints)
        )
        theirs = names[k] if k < len(names) else "(none)"
        mine = robot.joint_names[k] if k < robot.num_joints else "(none)"
        raise InputError(path, "joint_names", f"joint {k} is '{theirs}', {robot.name}'s is '{mine}'",
                         "export the policy of a run trained on this robot (same joint order)")  # fmt: skip
    for key, mine in (("default_joint_pos", robot.default_joint_pos), ("stiffness", robot.kp), ("damping", robot.kd)):
        theirs = np.asarray(deploy[key], dtype=np.float64)
        if np.abs(theirs - mine).max() > 1e-6:
            j = int(np.abs(theirs - mine).argmax())
            raise InputError(path, key, f"{names[j]}: {theirs[j]:g}, {robot.name}'s is {mine[j]:g}",
                             "export the policy of a run trained with this robot's values")  # fmt: skip
    obs = deploy["observations"]
    name = obs.get("set")
    if name not in OBSERVATION_SETS:
        raise InputError(path, "observations.set", f"unknown set {name!r}", f"one of {sorted(OBSERVATION_SETS)}")
    table = OBSERVATION_SETS[name]
    if obs["history_length"] != table.history:
        raise InputError(path, "observations.history_length", f"{obs['history_length']}, the {name!r} set has "
                         f"{table.history}", "use the deploy.yaml exported with this policy")  # fmt: skip
    if [t["name"] for t in obs["terms"]] != [t.name for t in table.terms]:
        raise InputError(path, "observations.terms", f"{[t['name'] for t in obs['terms']]} are not the {name!r} set",
                         None)  # fmt: skip
    for i, (term, spec) in enumerate(zip(obs["terms"], table.terms)):
        if abs(term["scale"] - spec.scale) > 1e-12 or term["clip"] != spec.clip:
            field = "scale" if abs(term["scale"] - spec.scale) > 1e-12 else "clip"
            raise InputError(path, f"observations.terms[{i}].{field}", f"{term['name']}: {term[field]}, the env's is "
                             f"{getattr(spec, field)}", "use the deploy.yaml exported with this policy")  # fmt: skip
