"""Run a policy in an AMP task env and record what the metrics and the viewer read (a :class:`Rollout`).

* :func:`pin_velocity_commands`: the env's ``base_velocity`` command term keeps per-env (vx, vy, wz) values instead of
  sampling them (resampling and resets write the pinned values; heading control and standing envs are off).
* :class:`RolloutRecorder`: after every ``env.step`` reads the root / joint / contact-point state through the task's
  own :class:`~wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp.RobotKinematics` (wxyz, RobotSpec order), plus the
  command in force during the step, the action, the done flags and (optionally) the discriminator logit.
* :func:`run_policy`: the loop; ``act`` maps policy observations to actions, ``on_step`` is called after each step
  (keyboard polling, frame grabbing).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.rollout import Rollout
from wildrobot_amp_ext.utils.progress import progress

COMMAND_TERM = "base_velocity"


def pin_commands_in_cfg(env_cfg) -> None:
    """Config edits before the env exists: no heading control, no standing envs, no resampling mid-episode."""
    term = env_cfg.commands.base_velocity
    term.heading_command = False
    term.rel_standing_envs = 0.0
    term.rel_heading_envs = 0.0
    term.resampling_time_range = (1.0e9, 1.0e9)


@dataclass
class PinnedCommands:
    """Per-env (vx, vy, wz) the command term returns; edit :attr:`values` in place to steer (keyboard)."""

    values: torch.Tensor  # (E, 3)
    term: object = field(repr=False, default=None)

    def apply(self) -> None:
        self.term.vel_command_b[:] = self.values


def pin_velocity_commands(
    env, commands: torch.Tensor | np.ndarray | list, term_name: str = COMMAND_TERM
) -> PinnedCommands:
    """Make the env's velocity command term return ``commands`` ((3,) for all envs or (E, 3))."""
    unwrapped = env.unwrapped
    term = unwrapped.command_manager.get_term(term_name)
    values = torch.as_tensor(np.asarray(commands, dtype=np.float32), device=unwrapped.device)
    if values.ndim == 1:
        values = values.expand(unwrapped.num_envs, 3).clone()
    if values.shape != (unwrapped.num_envs, 3):
        raise ValueError(f"commands must be (3,) or ({unwrapped.num_envs}, 3), got {tuple(values.shape)}")
    pinned = PinnedCommands(values, term)

    def resample(env_ids):
        term.vel_command_b[env_ids] = pinned.values[env_ids]
        term.is_standing_env[env_ids] = False
        if hasattr(term, "is_heading_env"):
            term.is_heading_env[env_ids] = False

    term._resample_command = resample  # the term's own sampling would overwrite the pinned values on every reset
    term.is_standing_env[:] = False
    if hasattr(term, "is_heading_env"):
        term.is_heading_env[:] = False
    pinned.apply()
    return pinned


class RolloutRecorder:
    """(T, E, ...) float32 buffers filled after each env step, for the first ``num_envs`` envs (default: all).

    Sized by what it records: the buffers grow in chunks as steps arrive, up to ``max_steps`` (a window session is
    capped at 30,000 steps but holds only the steps played), and only the envs asked for are kept (a video shows a
    few lanes). Before the first step, the most it can hold is checked against the memory available
    (:func:`check_recording_fits`). Every field of a step, done flags included, leaves the device in ONE copy."""

    CHUNK_STEPS = 1024

    def __init__(self, env, max_steps: int, record_disc: bool = False, num_envs: int | None = None):
        from isaaclab.managers import SceneEntityCfg

        # here: mdp.amp loads Isaac Lab at import; only a live env needs it
        from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import RobotKinematics

        unwrapped = env.unwrapped
        self.env = unwrapped
        self.robot = unwrapped.robot
        self.kinematics = RobotKinematics(unwrapped, SceneEntityCfg("robot"), self.robot)
        self.max_steps = max_steps
        self.num_envs = min(int(num_envs or unwrapped.num_envs), unwrapped.num_envs)
        j, p = self.robot.num_joints, 2 * len(self.robot.feet)
        a = int(unwrapped.action_manager.total_action_dim)
        self.shapes = {
            "root_pos": (3,), "root_quat": (4,), "root_lin_vel": (3,), "root_ang_vel": (3,),
            "joint_pos": (j,), "joint_vel": (j,),
            "contact_pos": (p, 3), "contact_vel": (p, 3), "command": (3,), "action": (a,),
        }  # fmt: skip
        if record_disc:
            self.shapes["disc_logit"] = ()
        self.widths = [math.prod(shape) for shape in self.shapes.values()]
        # float32 fields + terminated + truncated (bool)
        self.bytes_per_step = self.num_envs * (4 * sum(self.widths) + 2)
        check_recording_fits(self.bytes_per_step * max_steps, f"{max_steps} steps x {self.num_envs} envs")
        self._data = np.zeros((0, self.num_envs, sum(self.widths)), dtype=np.float32)
        self._done = np.zeros((0, self.num_envs, 2), dtype=bool)
        self.steps = 0

    def _grow(self) -> None:
        rows = min(self.max_steps, max(self.CHUNK_STEPS, 2 * self._data.shape[0]))
        data = np.zeros((rows, *self._data.shape[1:]), dtype=np.float32)
        done = np.zeros((rows, *self._done.shape[1:]), dtype=bool)
        data[: self.steps], done[: self.steps] = self._data[: self.steps], self._done[: self.steps]
        self._data, self._done = data, done

    def add(
        self,
        command: torch.Tensor,
        action: torch.Tensor,
        terminated: torch.Tensor,
        truncated: torch.Tensor,
        disc_logit: torch.Tensor | None = None,
    ) -> None:
        if self.steps >= self.max_steps:
            return
        if self.steps == self._data.shape[0]:
            self._grow()
        n, s = self.num_envs, self.kinematics.state()
        values = [
            s.root_pos_w, s.root_quat_w, s.root_lin_vel_w, s.root_ang_vel_w, s.joint_pos, s.joint_vel,
            s.contact_pos_w, s.contact_vel_w, command, action,
        ]  # fmt: skip
        if "disc_logit" in self.shapes:
            values.append(disc_logit if disc_logit is not None else torch.zeros(n, device=action.device))
        values += [terminated, truncated]
        row = torch.cat([v[:n].detach().reshape(n, -1).float() for v in values], dim=1).cpu().numpy()
        self._data[self.steps] = row[:, :-2]
        self._done[self.steps] = row[:, -2:] > 0.5
        self.steps += 1

    def rollout(self, task: str = "", meta: dict | None = None) -> Rollout:
        n = self.steps
        columns = np.cumsum([0, *self.widths])
        fields = {
            key: self._data[:n, :, columns[i] : columns[i + 1]].reshape(n, self.num_envs, *shape).copy()
            for i, (key, shape) in enumerate(self.shapes.items())
        }
        return Rollout(
            fps=1.0 / float(self.env.step_dt),
            robot=self.robot.name,
            task=task,
            joint_names=self.robot.joint_names,
            terminated=self._done[:n, :, 0].copy(),
            truncated=self._done[:n, :, 1].copy(),
            meta=dict(meta or {}),
            **fields,
        )


def available_memory_bytes() -> int | None:
    """Memory the system can give without swapping (Linux ``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_recording_fits(need_bytes: int, what: str, fraction: float = 0.5) -> None:
    """Refuse, in one line, a recording whose buffers could grow past ``fraction`` of the available memory (at
    4096 envs a 30,000-step window session would need about 50 GB), before the env steps once."""
    available = available_memory_bytes()
    if available is None or need_bytes <= fraction * available:
        return
    raise InputError(
        None,
        None,
        f"recording {what} needs up to {need_bytes / 2**30:.1f} GiB, over {fraction:.0%} of the "
        f"{available / 2**30:.1f} GiB available",
        "record fewer steps (--steps / --video_length) or fewer envs (--num_envs)",
    )


def run_policy(
    env,
    act: Callable[[torch.Tensor], torch.Tensor],
    steps: int,
    recorder: RolloutRecorder | None = None,
    disc: Callable[[torch.Tensor], torch.Tensor | None] | None = None,
    on_step: Callable[[int], bool] | None = None,
    desc: str = "play",
) -> int:
    """Step ``env`` with ``act(obs["policy"])`` for ``steps`` steps (``math.inf``: until ``on_step`` returns False).

    Returns the number of steps taken."""
    unwrapped = env.unwrapped
    term = unwrapped.command_manager.get_term(COMMAND_TERM)
    obs, extras = env.reset()
    taken = 0
    total = None if math.isinf(steps) else int(steps)
    with progress(total=total, desc=desc, unit="step") as bar, torch.no_grad():
        while taken < steps:
            command = term.command.clone()
            action = act(obs["policy"])
            obs, _, terminated, truncated, extras = env.step(action)
            logit = disc(extras["amp_obs"]) if disc is not None and "amp_obs" in extras else None
            if recorder is not None:
                recorder.add(command, action, terminated, truncated, logit)
            taken += 1
            bar.update(1)
            if on_step is not None and on_step(taken) is False:
                break
    return taken


# ----------------------------------------------------------------------------------------------------------------
# keyboard (Newton GL visualizer window)
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class KeyboardCfg:
    """Arrow keys: forward speed and turn rate; z / x: sideways speed; space: stop."""

    lin_step: float = 0.05  # m/s per key press
    ang_step: float = 0.1  # rad/s per key press
    lin_x_range: tuple[float, float] = (-1.0, 1.0)
    lin_y_range: tuple[float, float] = (-0.5, 0.5)
    ang_z_range: tuple[float, float] = (-1.5, 1.5)


class KeyboardCommand:
    """Polls the Newton GL visualizer's pressed keys once per step; a key changes the command on its press only."""

    BINDINGS = {"up": (0, +1), "down": (0, -1), "z": (1, +1), "x": (1, -1), "left": (2, +1), "right": (2, -1)}

    def __init__(self, visualizer, pinned: PinnedCommands, cfg: KeyboardCfg | None = None):
        self.visualizer = visualizer
        self.pinned = pinned
        self.cfg = cfg or KeyboardCfg()
        self._held: set[str] = set()

    def poll(self, _step: int = 0) -> bool:
        pressed = {k for k in (*self.BINDINGS, "space") if self.visualizer.is_key_down(k)}
        new = pressed - self._held
        self._held = pressed
        if not new:
            return True
        values = self.pinned.values
        if "space" in new:
            values.zero_()
        for key in new - {"space"}:
            axis, sign = self.BINDINGS[key]
            step = self.cfg.ang_step if axis == 2 else self.cfg.lin_step
            lo, hi = (self.cfg.lin_x_range, self.cfg.lin_y_range, self.cfg.ang_z_range)[axis]
            values[:, axis] = (values[:, axis] + sign * step).clamp(lo, hi)
        self.pinned.apply()
        print(
            f"[keyboard] command vx {float(values[0, 0]):+.2f}  vy {float(values[0, 1]):+.2f}  "
            f"wz {float(values[0, 2]):+.2f}"
        )
        return True
