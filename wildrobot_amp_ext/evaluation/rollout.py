"""A recorded policy rollout: per-step world-frame states of every env, the schema the metrics and viewer read.

Row ``t`` holds the state **after** env step ``t`` (what the policy observes next). Isaac Lab resets finished envs
inside ``step``, so on a row where ``terminated | truncated`` is set the state is already the next episode's first
state; episode ``k`` of an env spans the rows after its ``k``-th done flag up to and including the next one.

Arrays (T steps, E envs, J joints, P contact points, A actions, D AMP width); quaternions **wxyz**:

=================  ===============  ======================================================================
key                shape            meaning
=================  ===============  ======================================================================
root_pos           (T, E, 3)        world root position, m
root_quat          (T, E, 4)        world root orientation, wxyz
root_lin_vel       (T, E, 3)        world root linear velocity, m/s
root_ang_vel       (T, E, 3)        world root angular velocity, rad/s
joint_pos          (T, E, J)        absolute joint angles, RobotSpec order
joint_vel          (T, E, J)
contact_pos        (T, E, P, 3)     world contact points (foot0 toe, foot0 heel, foot1 toe, foot1 heel)
contact_vel        (T, E, P, 3)
command            (T, E, 3)        commanded (vx, vy, wz), heading frame, in force during step t
action             (T, E, A)        policy action of step t
terminated         (T, E) bool      episode ended by a termination term (a fall) at step t
truncated          (T, E) bool      episode ended by the time limit at step t
disc_logit         (T, E)           optional: discriminator logit of the step's AMP observation
=================  ===============  ======================================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.constants import CONTROL_HZ
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.motion import MotionClip
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.utils.atomic import save_npz_atomic

ROLLOUT_FORMAT = 1
STATE_KEYS = ("root_pos", "root_quat", "root_lin_vel", "root_ang_vel", "joint_pos", "joint_vel")
OPTIONAL_KEYS = ("contact_pos", "contact_vel", "command", "action", "disc_logit")


@dataclass
class Rollout:
    fps: float
    robot: str
    joint_names: tuple[str, ...]
    root_pos: np.ndarray
    root_quat: np.ndarray
    joint_pos: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    root_lin_vel: np.ndarray | None = None
    root_ang_vel: np.ndarray | None = None
    joint_vel: np.ndarray | None = None
    contact_pos: np.ndarray | None = None
    contact_vel: np.ndarray | None = None
    command: np.ndarray | None = None
    action: np.ndarray | None = None
    disc_logit: np.ndarray | None = None
    task: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def num_steps(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def num_envs(self) -> int:
        return int(self.root_pos.shape[1])

    @property
    def dt(self) -> float:
        return 1.0 / self.fps

    def arrays(self) -> dict[str, np.ndarray]:
        skip = {"fps", "robot", "joint_names", "task", "meta"}
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in skip and getattr(self, f.name) is not None
        }

    # --- I/O ------------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        save_npz_atomic(
            path,
            rollout_format=np.int64(ROLLOUT_FORMAT),
            fps=np.float64(self.fps),
            robot=np.str_(self.robot),
            task=np.str_(self.task),
            joint_names=np.array(self.joint_names),
            meta=np.str_(json.dumps(self.meta, default=str)),
            **self.arrays(),
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Rollout:
        path = Path(path)
        if not path.is_file():
            raise InputError(path, None, "rollout file not found", "record one with play.py --record")
        with np.load(path, allow_pickle=False) as data:
            return cls.from_npz_data(path, data)

    @classmethod
    def from_npz_data(cls, path: Path, data) -> Rollout:
        for key in ("root_pos", "root_quat", "joint_pos", "terminated", "truncated"):
            if key not in data.files:
                raise InputError(path, key, "missing from the rollout", "record it with play.py --record")
        arrays = {
            k: np.asarray(data[k]) for k in STATE_KEYS + OPTIONAL_KEYS + ("terminated", "truncated") if k in data.files
        }
        t, e = arrays["root_pos"].shape[:2]
        for key, value in arrays.items():
            if value.shape[:2] != (t, e):
                raise InputError(path, key, f"shape {value.shape} does not start with (T, E) = ({t}, {e})", None)
        meta = {}
        if "meta" in data.files:
            try:
                meta = json.loads(str(data["meta"]))
            except ValueError:
                meta = {}
        return cls(
            fps=float(data["fps"]) if "fps" in data.files else CONTROL_HZ,
            robot=str(data["robot"]) if "robot" in data.files else "",
            task=str(data["task"]) if "task" in data.files else "",
            joint_names=tuple(str(n) for n in data["joint_names"].tolist()) if "joint_names" in data.files else (),
            meta=meta,
            **{k: v.astype(bool) if k in ("terminated", "truncated") else v for k, v in arrays.items()},
        )

    # --- viewer ---------------------------------------------------------------------------------------------
    def frame_text(self, env: int, start: int, stop: int) -> list[str] | None:
        """Per row: the command and the achieved heading-frame velocity, for the viewer's overlay."""
        if self.command is None or self.root_lin_vel is None or self.root_ang_vel is None:
            return None
        q = self.root_quat[start:stop, env].astype(np.float64)
        yaw = np.arctan2(2 * (q[:, 0] * q[:, 3] + q[:, 1] * q[:, 2]), 1 - 2 * (q[:, 2] ** 2 + q[:, 3] ** 2))
        v = self.root_lin_vel[start:stop, env]
        c, s = np.cos(yaw), np.sin(yaw)
        vx, vy = c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1]
        wz, cmd = self.root_ang_vel[start:stop, env, 2], self.command[start:stop, env]
        return [
            f"cmd ({a:+.2f},{b:+.2f},{w:+.2f})  v ({x:+.2f},{y:+.2f},{z:+.2f})"
            for (a, b, w), x, y, z in zip(cmd, vx, vy, wz)
        ]

    def to_clips(self, robot: RobotSpec, max_clips: int | None = None) -> list[MotionClip]:
        """One clip per env and episode (episodes split after each done flag)."""
        if self.robot and self.robot != robot.name:
            raise InputError(
                None, "robot", f"rollout is of robot '{self.robot}', not '{robot.name}'", f"pass --robot {self.robot}"
            )
        if self.joint_names and tuple(self.joint_names) != tuple(robot.joint_names):
            raise InputError(
                None,
                "joint_names",
                "rollout joint order differs from the RobotSpec",
                "record it with this package's play.py",
            )
        done = self.terminated | self.truncated
        clips: list[MotionClip] = []
        for env in range(self.num_envs):
            # a done row already holds the next episode's first state: episode k is rows [start_k, done_k)
            dones = np.flatnonzero(done[:, env])
            starts = np.concatenate([[0], dones])
            stops = np.concatenate([dones, [self.num_steps]])
            for k, (s, e) in enumerate(zip(starts, stops)):
                if e - s < 2:
                    continue
                fell = e < self.num_steps and bool(self.terminated[e, env])
                name = f"env{env}/ep{k}" + (" (fell)" if fell else "")
                meta = {"env": env, "episode": k, "frame_text": self.frame_text(env, s, e)}
                clips.append(
                    MotionClip(
                        name,
                        self.fps,
                        self.root_pos[s:e, env],
                        self.root_quat[s:e, env],
                        robot.joint_names,
                        self.joint_pos[s:e, env],
                        source="rollout",
                        meta=meta,
                    )
                )
                if max_clips is not None and len(clips) >= max_clips:
                    return clips
        return clips
