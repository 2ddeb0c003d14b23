"""The explicit actuator model: delayed PD, torque-speed limit and joint friction, from the robot YAML.

One torque function, :func:`motor_torque`, written once for numpy and torch, is what every simulator in this
project applies when the model is on: Isaac Lab (``isaaclab.actuators.ExplicitMotorActuator``, effort through
Newton's ``joint_f``), the miner's MuJoCo C tracker and the sim2sim runner (both through :class:`MujocoMotors`).
The form is unitree_rl_lab's Unitree actuator (a DelayedPDActuator with a torque-speed curve and friction)::

    tau_pd = Kp (q_target[k - d] - q) - Kd qd            d: delay in physics steps, drawn per reset
    limit  = (Y1 if tau_pd and qd have the same sign else Y2) * clip((X2 - |qd|) / (X2 - X1), 0, 1)
    tau    = clip(tau_pd, -limit, limit) - (Fs tanh(qd / Va) + Fd qd)

Y1: peak torque driving (torque and speed in the same direction), Y2: peak torque braking, X1: the speed up to
which the peak holds, X2: no-load speed; Fs / Fd: static / dynamic joint friction, Va: the speed at which static
friction is fully on. The motors' armature is the ``actuators`` groups' ``armature`` (one home; the solver adds it).

``delay_steps`` count the tasks' physics steps (``constants.PHYSICS_DT``); a simulator with another physics step
converts them through seconds (:meth:`ActuatorModel.delay_range`). The PD damps towards zero joint velocity: the
tasks command joint positions only (Isaac Lab's velocity targets stay zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from wildrobot_amp_ext.constants import PHYSICS_DT
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.validation import LIMITS
from wildrobot_amp_ext.validation import values as V

#: the longest command delay a robot YAML may ask for, in physics steps (50 ms at 5 ms)
MAX_DELAY_STEPS = 10
MOTOR_KEYS = ("Y1", "Y2", "X1", "X2", "Fs", "Fd")
BLOCK_KEYS = ("enabled", "identified", "source", "delay_steps", "friction_activation_velocity", "motors")
EXAMPLE = "see robots/data/unitree_g1_29dof/robot.yaml"


class MotorParams(NamedTuple):
    """Per-joint curve and friction, numpy arrays or torch tensors that broadcast against the joint values."""

    y1: Any
    y2: Any
    x1: Any
    x2: Any
    fs: Any
    fd: Any
    va: Any


def motor_torque(q_target, q, qd, kp, kd, p: MotorParams):
    """Joint torque of the actuator model (module docstring) for numpy arrays or torch tensors of one kind.

    ``q_target`` is the already delayed position target; every argument broadcasts over (..., joints)."""
    xp = _array_module(q)
    tau = kp * (q_target - q) - kd * qd
    peak = xp.where(qd * tau > 0, p.y1, p.y2)
    fade = xp.clip((p.x2 - abs(qd)) / (p.x2 - p.x1), 0.0, 1.0)
    limit = peak * fade
    return xp.clip(tau, -limit, limit) - (p.fs * xp.tanh(qd / p.va) + p.fd * qd)


def _array_module(x):
    if type(x).__module__.startswith("torch"):
        import torch

        return torch
    return np


@dataclass(frozen=True)
class ActuatorModel:
    """The ``actuator_model`` block of a robot YAML, per joint in RobotSpec order."""

    enabled: bool  # the tasks' default for this robot (``env.actuator_model`` overrides it)
    identified: bool  # False: guessed values, no measured data (WildRobot's hobby servos)
    source: str
    motor_type: tuple[str, ...]  # (J,)
    delay_min: np.ndarray  # (J,) physics steps of PHYSICS_DT
    delay_max: np.ndarray  # (J,)
    params: MotorParams  # numpy (J,) each

    def delay_range(self, physics_dt: float = PHYSICS_DT) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) delay per joint in steps of ``physics_dt`` (the same delay in seconds)."""
        scale = PHYSICS_DT / physics_dt
        return np.rint(self.delay_min * scale).astype(np.int64), np.rint(self.delay_max * scale).astype(np.int64)

    def torch_params(self, device: str = "cpu") -> MotorParams:
        import torch

        return MotorParams(*(torch.as_tensor(v, dtype=torch.float32, device=device) for v in self.params))

    def to_dict(self) -> dict:
        """Per-joint lists (policy order) for a deploy bundle."""
        return {
            "identified": self.identified,
            "source": self.source,
            "form": "tau = clip(Kp (q_target[k-d] - q) - Kd qd, +-Y(qd)) - (Fs tanh(qd/Va) + Fd qd)",
            "motor_type": list(self.motor_type),
            "delay_s": [[float(a) * PHYSICS_DT, float(b) * PHYSICS_DT] for a, b in zip(self.delay_min, self.delay_max)],
            **{key: [float(v) for v in getattr(self.params, key.lower())] for key in (*MOTOR_KEYS, "Va")},
        }

    @classmethod
    def from_dict(cls, d: dict) -> ActuatorModel:
        """Inverse of :meth:`to_dict` (a deploy bundle's ``actuator_model``, already checked by deploy.bundle)."""
        delay = np.rint(np.asarray(d["delay_s"], dtype=np.float64) / PHYSICS_DT).astype(np.int64)
        params = MotorParams(*(np.asarray(d[k], dtype=np.float64) for k in (*MOTOR_KEYS, "Va")))
        return cls(d.get("trained_with") == "explicit", bool(d["identified"]), str(d.get("source", "")),
                   tuple(d.get("motor_type") or ()), delay[:, 0], delay[:, 1], params)  # fmt: skip


class DelayLine:
    """Targets of the last ``max_delay + 1`` physics steps, read ``lag`` steps back per joint (numpy).

    Isaac Lab's ``DelayBuffer`` semantics: after :meth:`reset` the first target pushed fills the history (a lag
    longer than the history returns the oldest target)."""

    def __init__(self, lag: np.ndarray):
        self.lag = np.asarray(lag, dtype=np.int64)
        self.history: np.ndarray | None = None  # (max_lag + 1, J), row 0 = newest

    def reset(self, lag: np.ndarray | None = None) -> None:
        if lag is not None:
            self.lag = np.asarray(lag, dtype=np.int64)
        self.history = None

    def push(self, target: np.ndarray) -> np.ndarray:
        """Record this physics step's target; return the delayed target per joint."""
        target = np.asarray(target, dtype=np.float64)
        if self.history is None:
            self.history = np.repeat(target[None], int(self.lag.max(initial=0)) + 1, axis=0)
        else:
            self.history = np.roll(self.history, 1, axis=0)
            self.history[0] = target
        return self.history[self.lag, np.arange(target.shape[-1])]

    def replace(self, target: np.ndarray) -> np.ndarray:
        """Overwrite this physics step's target (a second call within one step); return the delayed target."""
        if self.history is None:
            return self.push(target)
        self.history[0] = target
        return self.history[self.lag, np.arange(self.history.shape[-1])]


class MujocoMotors:
    """The actuator model on a MuJoCo model: the robot's position actuators become torque motors whose control is
    :func:`motor_torque`, computed once per physics step by :meth:`apply` (before ``mj_step``).

    ``actuator_force`` then reads the model's torque (friction included) as it did the PD's. ``kp``/``kd`` are the
    gains to use (a caller that scales the PD passes the scaled gains)."""

    def __init__(self, model, act: np.ndarray, dof: np.ndarray, qpos: np.ndarray, am: ActuatorModel, kp, kd,
                 physics_dt: float, seed: int = 0):  # fmt: skip
        self.act, self.dof, self.qpos = np.asarray(act), np.asarray(dof), np.asarray(qpos)
        self.am, self.kp, self.kd = am, np.asarray(kp, dtype=np.float64), np.asarray(kd, dtype=np.float64)
        self.params = am.params
        self.low, self.high = am.delay_range(physics_dt)
        self.rng = np.random.default_rng(seed)
        self.delay = DelayLine(self.low)
        self.target = np.zeros(len(self.act))
        a = self.act
        model.actuator_gainprm[a] = 0.0
        model.actuator_gainprm[a, 0] = 1.0
        model.actuator_biasprm[a] = 0.0
        model.actuator_ctrllimited[a] = 0
        model.actuator_forcelimited[a] = 0  # the torque-speed curve is the limit (Newton's joint_f is unclamped too)
        model.jnt_actfrclimited[model.actuator_trnid[a, 0]] = 0

    def reset(self, lag: np.ndarray | None = None, rng: np.random.Generator | None = None) -> None:
        """New episode: a delay drawn per joint in its range (from ``rng`` or the own generator), or ``lag``;
        empty history."""
        if lag is None:
            lag = (rng or self.rng).integers(self.low, self.high + 1)
        self.delay.reset(lag)

    def torque(self, q_target: np.ndarray, q: np.ndarray, qd: np.ndarray) -> np.ndarray:
        return motor_torque(q_target, q, qd, self.kp, self.kd, self.params)

    def apply(self, data, target: np.ndarray | None = None, same_step: bool = False) -> np.ndarray:
        """Push this physics step's target (``target``, else the last one given) and write the torque into
        ``data.ctrl``; ``same_step``: the step was already pushed, its target is overwritten."""
        if target is not None:
            self.target = np.asarray(target, dtype=np.float64)
        delayed = self.delay.replace(self.target) if same_step else self.delay.push(self.target)
        tau = self.torque(delayed, data.qpos[self.qpos], data.qvel[self.dof])
        data.ctrl[self.act] = tau
        return tau


# ----------------------------------------------------------------------------------------------------------------
# parsing (robots.spec calls parse_actuator_model)
# ----------------------------------------------------------------------------------------------------------------


def parse_actuator_model(path: Path, raw: Any, joint_names: tuple[str, ...], match_joints) -> ActuatorModel | None:
    """The YAML's ``actuator_model`` block checked field by field (one-line InputError naming the field)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InputError(path, "actuator_model", f"expected a mapping, got {type(raw).__name__}", EXAMPLE)
    unknown = [k for k in raw if k not in BLOCK_KEYS]
    if unknown:
        raise InputError(path, f"actuator_model.{unknown[0]}", "unknown key", f"use {', '.join(BLOCK_KEYS)}")
    flags = {}
    for key in ("enabled", "identified"):
        if not isinstance(raw.get(key), bool):
            raise InputError(path, f"actuator_model.{key}", f"expected true or false, got {raw.get(key)!r}",
                             f"state '{key}: true' or '{key}: false'")  # fmt: skip
        flags[key] = raw[key]
    source = raw.get("source", "")
    if not isinstance(source, str):
        raise InputError(path, "actuator_model.source", "expected text", "say where the values come from")
    default_delay = _delay(path, "actuator_model.delay_steps", raw.get("delay_steps", [0, 0]))
    va = _number(path, "actuator_model.friction_activation_velocity", raw.get("friction_activation_velocity", 0.01),
                 strict=True)  # fmt: skip
    motors = raw.get("motors")
    if not isinstance(motors, list) or not motors:
        raise InputError(path, "actuator_model.motors", "expected a non-empty list of motor groups", EXAMPLE)
    num = len(joint_names)
    values = {k: np.full(num, np.nan) for k in MOTOR_KEYS}
    delay = np.full((2, num), -1, dtype=np.int64)
    motor_type = [""] * num
    for g, group in enumerate(motors):
        where = f"actuator_model.motors[{g}]"
        if not isinstance(group, dict):
            raise InputError(path, where, f"expected a mapping, got {type(group).__name__}", EXAMPLE)
        extra = [k for k in group if k not in (*MOTOR_KEYS, "joints", "type", "delay_steps")]
        if extra:
            raise InputError(path, f"{where}.{extra[0]}", "unknown key",
                             f"use joints, type, delay_steps, {', '.join(MOTOR_KEYS)}")  # fmt: skip
        idx = match_joints(group.get("joints", ""), joint_names, path, f"{where}.joints")
        if not idx:
            raise InputError(path, f"{where}.joints", f"'{group.get('joints')}' matches no joint",
                             "use a regex over the joint names")  # fmt: skip
        taken = [joint_names[i] for i in idx if delay[0, i] >= 0]
        if taken:
            raise InputError(path, f"{where}.joints", f"'{taken[0]}' is already in an earlier motor group",
                             "give each joint one motor type")  # fmt: skip
        for key in MOTOR_KEYS:
            if key not in group:
                raise InputError(path, f"{where}.{key}", "missing", f"give {key} for this motor type")
            values[key][idx] = _number(path, f"{where}.{key}", group[key], strict=key in ("Y1", "Y2", "X2"))
        if values["X2"][idx[0]] <= values["X1"][idx[0]]:
            raise InputError(path, f"{where}.X2", f"no-load speed {values['X2'][idx[0]]:g} rad/s is not above the "
                             f"knee X1 {values['X1'][idx[0]]:g}", "X2 must exceed X1")  # fmt: skip
        delay[:, idx] = np.asarray(_delay(path, f"{where}.delay_steps", group.get("delay_steps", list(default_delay))))[
            :, None
        ]
        kind = group.get("type", "")
        if not isinstance(kind, str):
            raise InputError(path, f"{where}.type", "expected the motor type's name", None)
        for i in idx:
            motor_type[i] = kind
    missing = [joint_names[i] for i in np.flatnonzero(delay[0] < 0)]
    if missing:
        raise InputError(path, "actuator_model.motors", f"no motor group covers {missing}",
                         "add a group whose 'joints' regex matches them")  # fmt: skip
    params = MotorParams(*(values[k] for k in MOTOR_KEYS), va=np.full(num, va))
    return ActuatorModel(flags["enabled"], flags["identified"], source, tuple(motor_type), delay[0], delay[1], params)


def _number(path: Path, field: str, value: Any, strict: bool) -> float:
    number = V.real_scalar(path, field, value, "give a number")
    if number < 0 or (strict and number == 0) or number > LIMITS.max_gain:
        raise InputError(path, field, f"{number:g} is outside {'(' if strict else '['}0, {LIMITS.max_gain:g}]",
                         "give the motor's physical value")  # fmt: skip
    return number


def _delay(path: Path, field: str, value: Any) -> tuple[int, int]:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 0 <= value[0] <= value[1] <= MAX_DELAY_STEPS
    )
    if not ok:
        raise InputError(path, field, f"expected [min, max] whole physics steps in 0..{MAX_DELAY_STEPS}, got {value!r}",
                         "write e.g. [0, 2]")  # fmt: skip
    return int(value[0]), int(value[1])
