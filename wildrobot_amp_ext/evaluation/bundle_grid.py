"""The deploy bundle in MuJoCo on a grid of velocity commands, scored exactly like the Isaac Lab evaluation.

The robot-side program (:mod:`wildrobot_amp_ext.deploy.runner`: it reads only ``deploy.yaml`` + ``policy.onnx``)
drives the robot's MJCF in MuJoCo, ``episodes_per_command`` envs per command for ``duration_s`` each. Every step's
state is recorded in the :class:`~wildrobot_amp_ext.evaluation.rollout.Rollout` schema (world root state, joints,
the RobotSpec's contact points) and scored by the same :func:`~wildrobot_amp_ext.evaluation.metrics.rollout_metrics`
(and, given the reference dataset, the same style metric) as ``wildrobot-evaluate``, so an Isaac Lab figure and a
MuJoCo figure mean the same thing. Like Isaac Lab, a fall ends the episode and the env restarts in the same step
(the row flagged ``terminated`` holds the new episode's first state).

Each episode starts from the bundle's default pose with the task's reset noise: joint offsets uniform in
+-``joint_noise`` rad and a random heading, drawn from ``seed``.

    wildrobot-sim2sim --bundle pretrained/wildrobot_walk --grid "0,0,0;0.3,0,0" --episodes 4 --out grid/
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from wildrobot_amp_ext.dataset.schema import open_dataset
from wildrobot_amp_ext.deploy.runner import DeployedPolicy, MujocoRobot
from wildrobot_amp_ext.deploy.sim2sim import mujoco_world
from wildrobot_amp_ext.evaluation.metrics import MetricsCfg, rollout_metrics
from wildrobot_amp_ext.evaluation.rollout import Rollout
from wildrobot_amp_ext.evaluation.style_metric import rollout_style
from wildrobot_amp_ext.robots.mjcf import contact_site_ids, joint_dof_adr, joint_qpos_adr

Command = tuple[float, float, float]
#: the Rollout arrays :meth:`_World.record` fills each step
STATE_ROWS = ("root_pos", "root_quat", "root_lin_vel", "root_ang_vel", "joint_pos", "joint_vel", "contact_pos",
              "contact_vel")  # fmt: skip


@dataclass
class BundleGridCfg:
    commands: list[Command] = field(default_factory=lambda: [(0.0, 0.0, 0.0), (0.3, 0.0, 0.0)])
    episodes_per_command: int = 4
    duration_s: float = 10.0
    seed: int = 0
    #: rad: uniform joint offsets at each episode start (the task's reset_joints range)
    joint_noise: float = 0.05
    metrics: MetricsCfg = field(default_factory=MetricsCfg)


class _World:
    """One MuJoCo world of the robot driven by the bundle's program, with the recording the metrics need."""

    def __init__(self, bundle, robot) -> None:
        self.mj = mujoco
        self.model, self.data = mujoco_world(robot, bundle["sim_dt"])
        self.init_qpos = self.data.qpos.copy()
        self.policy, self.robot = DeployedPolicy(bundle), MujocoRobot(self.model, self.data, bundle)
        self.qpos_adr, self.dof_adr = joint_qpos_adr(self.model, robot), joint_dof_adr(self.model, robot)
        self.sites = contact_site_ids(self.model, robot)
        self.decimation = int(bundle["decimation"])
        ends = bundle.deploy.get("terminations") or {}
        self.low, self.tilt = ends.get("min_root_height"), ends.get("max_tilt_rad")
        self._site_vel = np.zeros(6)

    def reset(self, rng: np.random.Generator, joint_noise: float) -> None:
        d = self.data
        self.mj.mj_resetData(self.model, d)
        d.qpos[:] = self.init_qpos
        d.qpos[self.qpos_adr] += rng.uniform(-joint_noise, joint_noise, len(self.qpos_adr))
        yaw = rng.uniform(-math.pi, math.pi)
        d.qpos[3:7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
        self.policy.reset()
        self.mj.mj_forward(self.model, d)

    def step(self, command: np.ndarray) -> tuple[np.ndarray, bool]:
        """One policy step; returns the action and whether the robot fell (root too low or too tilted)."""
        action = self.policy.act(self.robot.readings(), command)
        self.robot.command(self.policy.targets(action))
        self.robot.step(self.decimation)
        self.mj.mj_forward(self.model, self.data)  # poses and velocities of the new state
        d = self.data
        up = float(d.xmat[self.robot.root][8])  # world z of the root's z axis
        fell = (self.low is not None and d.qpos[2] < self.low) or (
            self.tilt is not None and math.acos(max(-1.0, min(1.0, up))) > self.tilt
        )
        return action, bool(fell)

    def record(self, row: dict[str, np.ndarray]) -> None:
        """Write the current state into ``row`` (one env's slice of each Rollout array)."""
        d = self.data
        row["root_pos"][:] = d.qpos[0:3]
        row["root_quat"][:] = d.qpos[3:7]
        row["root_lin_vel"][:] = d.qvel[0:3]
        row["root_ang_vel"][:] = np.asarray(d.xmat[self.robot.root]).reshape(3, 3) @ d.qvel[3:6]
        row["joint_pos"][:] = d.qpos[self.qpos_adr]
        row["joint_vel"][:] = d.qvel[self.dof_adr]
        row["contact_pos"][:] = d.site_xpos[self.sites]
        for k, s in enumerate(self.sites):
            self.mj.mj_objectVelocity(self.model, d, self.mj.mjtObj.mjOBJ_SITE, int(s), self._site_vel, 0)
            row["contact_vel"][k] = self._site_vel[3:]


def run_bundle_grid(bundle, robot, cfg: BundleGridCfg) -> Rollout:
    """Roll the bundle's policy out in MuJoCo over ``cfg.commands`` (``episodes_per_command`` envs each)."""
    world = _World(bundle, robot)
    k = cfg.episodes_per_command
    envs, steps = len(cfg.commands) * k, int(math.ceil(cfg.duration_s / float(bundle["step_dt"])))
    j, p = len(world.qpos_adr), len(world.sites)
    shapes = {"root_pos": (3,), "root_quat": (4,), "root_lin_vel": (3,), "root_ang_vel": (3,), "joint_pos": (j,),
              "joint_vel": (j,), "contact_pos": (p, 3), "contact_vel": (p, 3), "command": (3,),
              "action": (bundle.num_joints,)}  # fmt: skip
    arrays = {key: np.zeros((steps, envs, *shape)) for key, shape in shapes.items()}
    terminated = np.zeros((steps, envs), dtype=bool)
    rng = np.random.default_rng(cfg.seed)
    for e in range(envs):
        command = np.asarray(cfg.commands[e // k], dtype=np.float64)
        world.reset(rng, cfg.joint_noise)
        for t in range(steps):
            action, fell = world.step(command)
            if fell:  # Isaac Lab's convention: the done row holds the next episode's first state
                terminated[t, e] = True
                world.reset(rng, cfg.joint_noise)
            world.record({key: arrays[key][t, e] for key in STATE_ROWS})
            arrays["command"][t, e] = command
            arrays["action"][t, e] = action
    fps = 1.0 / float(bundle["step_dt"])
    command_of_env = np.repeat(np.arange(len(cfg.commands)), k)
    meta = {
        "simulator": "mujoco",
        "commands": [list(c) for c in cfg.commands],
        "command_of_env": command_of_env.tolist(),
    }
    return Rollout(fps=fps, robot=robot.name, joint_names=tuple(robot.joint_names), terminated=terminated,
                   truncated=np.zeros_like(terminated), task="sim2sim", meta=meta, **arrays)  # fmt: skip


def grid_report(rollout: Rollout, cfg: BundleGridCfg, reference: str | Path | None = None, robot=None) -> dict:
    """``overall`` + ``per_command`` metrics (the layout of ``wildrobot-evaluate``'s metrics.json), and the style
    metric against ``reference`` (a dataset .npz) when given."""
    command_of_env = np.asarray(rollout.meta["command_of_env"])
    report = {
        "robot": rollout.robot,
        "simulator": "mujoco",
        "eval_cfg": asdict(cfg) | {"commands": [list(c) for c in cfg.commands]},
        "overall": rollout_metrics(rollout, cfg.metrics),
        "per_command": [
            {"command": list(c), **rollout_metrics(rollout, cfg.metrics, np.flatnonzero(command_of_env == i))}
            for i, c in enumerate(cfg.commands)
        ],
    }
    if reference is not None and robot is not None:
        with open_dataset(reference) as f:
            spec = f.feature_spec
        report["style"] = {"reference": str(reference), **rollout_style(rollout, reference, spec, robot)}
    return report
