"""Isaac Lab's side of the explicit actuator model (robots/actuator_model.py): a DelayedPDActuator whose torque is
:func:`~wildrobot_amp_ext.robots.actuator_model.motor_torque`.

How the torque reaches the solver (kit-less Newton, Isaac Lab 3.0): an explicit group's joints get zero solver
stiffness/damping (``write_resolved_joint_properties``); ``Articulation.write_data_to_sim`` calls ``compute`` once
per physics step (``sim.dt``) and writes the returned efforts into Newton's ``control.joint_f``, which Newton's
MuJoCo solver copies into ``qfrc_applied`` for every substep of that step. The mujoco-cpu backend
(``isaaclab.mujoco_cpu``) stages the same ``qfrc_applied`` into each world's ``MjData``, so both backends apply the
same torque. Gains stay randomisable: ``randomize_actuator_gains`` writes an explicit group's ``stiffness`` /
``damping`` tensors, which ``compute`` reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from isaaclab.actuators import DelayedPDActuator, DelayedPDActuatorCfg
from isaaclab.actuators.actuator_base import resolve_joint_parameter
from isaaclab.utils import configclass
from isaaclab.utils.types import ArticulationActions

from wildrobot_amp_ext.robots.actuator_model import MotorParams, motor_torque


class ExplicitMotorActuator(DelayedPDActuator):
    """Delayed PD + torque-speed curve + friction (the robot YAML's ``actuator_model``), on explicit efforts."""

    cfg: ExplicitMotorActuatorCfg

    def __init__(self, cfg: ExplicitMotorActuatorCfg, *args, **kwargs):
        super().__init__(cfg, *args, **kwargs)
        names, n, dev = self._joint_names, self._num_envs, self._device
        self.motor = MotorParams(*(resolve_joint_parameter(getattr(cfg, k), None, names, n, dev)
                                   for k in ("Y1", "Y2", "X1", "X2", "Fs", "Fd", "Va")))  # fmt: skip

    def reset(self, env_ids: Sequence[int] | None):
        super().reset(env_ids)  # a new delay per env, drawn in [min_delay, max_delay]; empty history

    def compute(
        self, control_action: ArticulationActions, joint_pos: torch.Tensor, joint_vel: torch.Tensor
    ) -> ArticulationActions:
        target = self.positions_delay_buffer.compute(control_action.joint_positions)
        self.computed_effort = self.stiffness * (target - joint_pos) - self.damping * joint_vel
        self.applied_effort = motor_torque(target, joint_pos, joint_vel, self.stiffness, self.damping, self.motor)
        control_action.joint_efforts = self.applied_effort
        control_action.joint_positions = None
        control_action.joint_velocities = None
        return control_action


@configclass
class ExplicitMotorActuatorCfg(DelayedPDActuatorCfg):
    """Per-joint (``{regex: value}``) or per-group curve and friction; see robots/actuator_model.py."""

    class_type: type = ExplicitMotorActuator
    Y1: dict[str, float] | float = 0.0
    Y2: dict[str, float] | float = 0.0
    X1: dict[str, float] | float = 0.0
    X2: dict[str, float] | float = 1.0
    Fs: dict[str, float] | float = 0.0
    Fd: dict[str, float] | float = 0.0
    Va: dict[str, float] | float = 0.01
