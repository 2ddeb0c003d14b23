"""A robot-side program that reads only the deploy bundle (``deploy.yaml`` + ONNX), and a MuJoCo robot to run it on.

:class:`DeployedPolicy` is what runs on the robot: it turns sensor readings (IMU gyroscope and orientation, joint
encoders) and a velocity command into the policy input exactly as ``deploy.yaml`` describes it (per-term formula,
clip, scale; history length and layout; first frame repeated after a reset), runs the ONNX policy and maps its
output to joint position targets. Nothing here reads this project's configuration or RobotSpec.

:class:`MujocoRobot` plays the robot in MuJoCo: it finds the bundle's joints, actuators and IMU body **by name** in
any MuJoCo model of the robot, sets the actuators' PD gains and effort limits from the bundle, and returns the
readings a robot's sensors give (plus root linear velocity and height, which only a simulator has, for policies
trained on the ``privileged`` set). A policy trained with the explicit actuator model (``actuator_model.trained_with:
explicit`` in deploy.yaml) gets the same model here: the actuators become torque motors and every physics step's
torque is ``robots.actuator_model.motor_torque`` of the bundle's values, computed in MuJoCo's control callback
(``mjcb_control``) during :meth:`MujocoRobot.step` / :meth:`MujocoRobot.forward` only (the step's target is the one
commanded last before the step, each step pushed once, delayed as the bundle says). The callback is process-wide and
any Python callback makes ``MjSpec.compile`` fail ("Python exception raised"), so it is never left installed:
step the robot through these two methods, not ``mujoco.mj_step``.
"""

from __future__ import annotations

import numpy as np

from wildrobot_amp_ext.deploy.bundle import Bundle
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots.actuator_model import ActuatorModel, MujocoMotors

DOWN = np.array([0.0, 0.0, -1.0])


def quat_to_matrix(q_wxyz: np.ndarray) -> np.ndarray:
    """Body -> world rotation of a unit quaternion (w, x, y, z)."""
    w, x, y, z = np.asarray(q_wxyz, dtype=np.float64) / np.linalg.norm(q_wxyz)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


#: readings -> raw (noise-free, unscaled) term value; ``default`` is deploy.yaml's default_joint_pos
TERM_FORMULAS = {
    "imu_ang_vel": lambda r, default: r["imu_gyro"],
    "imu_projected_gravity": lambda r, default: quat_to_matrix(r["imu_quat"]).T @ DOWN,
    "joint_pos": lambda r, default: r["q"] - default,
    "joint_vel": lambda r, default: r["dq"],
    # simulator-only readings (policies trained on the ``privileged`` set)
    "base_lin_vel": lambda r, default: r["base_lin_vel"],
    "base_ang_vel": lambda r, default: r["base_ang_vel"],
    "projected_gravity": lambda r, default: quat_to_matrix(r["root_quat"]).T @ DOWN,
    "root_height": lambda r, default: np.atleast_1d(r["root_height"]),
}
#: terms the program itself supplies
INTERNAL_TERMS = ("velocity_commands", "actions")


class ObservationHistory:
    """Policy input from per-term raw values: clip, scale, history (``term_major`` or ``frame_major``)."""

    def __init__(self, observations: dict) -> None:
        self.terms = [(t["name"], int(t["width"]), float(t["scale"]), t["clip"]) for t in observations["terms"]]
        self.length = int(observations["history_length"])
        self.layout = observations["history_layout"]
        self.frames: list[list[np.ndarray]] | None = None

    def reset(self) -> None:
        self.frames = None

    def __call__(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        frame = []
        for name, width, scale, clip in self.terms:
            value = np.asarray(raw[name], dtype=np.float64).reshape(-1)
            if value.shape != (width,):
                raise ValueError(f"term {name}: {value.shape[0]} values, deploy.yaml says {width}")
            if clip is not None:
                value = np.clip(value, -clip, clip)
            frame.append(value * scale)
        # after a reset every slot holds the first frame (Isaac Lab's CircularBuffer)
        self.frames = [frame] * self.length if self.frames is None else [*self.frames[1:], frame]
        if self.layout == "term_major":
            parts = [self.frames[k][i] for i in range(len(self.terms)) for k in range(self.length)]
        else:
            parts = [term for frame in self.frames for term in frame]
        return np.concatenate(parts).astype(np.float32)


class DeployedPolicy:
    """The bundle's policy as a robot runs it: readings + command -> joint position targets."""

    def __init__(self, bundle: Bundle) -> None:
        import onnxruntime as ort

        self.bundle = bundle
        names = [t["name"] for t in bundle["observations"]["terms"]]
        unknown = [n for n in names if n not in TERM_FORMULAS and n not in INTERNAL_TERMS]
        if unknown:
            raise InputError(bundle.yaml_path, "observations.terms", f"no robot-side reading for {unknown[0]!r}",
                             f"terms this program computes: {sorted([*TERM_FORMULAS, *INTERNAL_TERMS])}")  # fmt: skip
        self.session = ort.InferenceSession(str(bundle.onnx_path), providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.history = ObservationHistory(bundle["observations"])
        self.default = np.asarray(bundle["default_joint_pos"], dtype=np.float64)
        actions = bundle["actions"]
        self.scale = np.asarray(actions["scale"], dtype=np.float64)
        self.offset = np.asarray(actions["offset"], dtype=np.float64)
        self.clip = actions.get("clip")
        self.last_action = np.zeros(bundle.num_joints)
        self.last_obs: np.ndarray | None = None

    def reset(self) -> None:
        self.history.reset()
        self.last_action = np.zeros(self.bundle.num_joints)

    def observation_terms(self, readings: dict[str, np.ndarray], command) -> dict[str, np.ndarray]:
        """Raw (unscaled) value of every term the bundle lists."""
        raw = {"velocity_commands": np.asarray(command, dtype=np.float64), "actions": self.last_action}
        for term in self.bundle["observations"]["terms"]:
            if term["name"] not in raw:
                raw[term["name"]] = TERM_FORMULAS[term["name"]](readings, self.default)
        return raw

    def act(self, readings: dict[str, np.ndarray], command) -> np.ndarray:
        """One policy step: the action (policy output); :meth:`targets` maps it to joint position targets."""
        self.last_obs = self.history(self.observation_terms(readings, command))
        action = self.session.run(None, {self.input_name: self.last_obs[None]})[0].reshape(-1)
        self.last_action = action.astype(np.float64)
        return action

    def targets(self, action: np.ndarray) -> np.ndarray:
        a = np.asarray(action, dtype=np.float64)
        if self.clip is not None:
            a = np.clip(a, -self.clip, self.clip)
        return self.offset + self.scale * a


class MujocoRobot:
    """A MuJoCo model of the robot driven as the bundle says (joints, actuators, IMU found by name)."""

    def __init__(self, model, data, bundle: Bundle) -> None:
        import mujoco

        self.model, self.data, self.bundle = model, data, bundle
        path = bundle.yaml_path
        joint_ids = []
        for name in bundle["joint_names"]:
            jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
            if jid < 0:
                raise InputError(path, "joint_names", f"'{name}' is not a joint of the MuJoCo model", None)
            joint_ids.append(jid)
        self.qpos = np.asarray([model.jnt_qposadr[j] for j in joint_ids])
        self.dof = np.asarray([model.jnt_dofadr[j] for j in joint_ids])
        by_joint = {int(model.actuator_trnid[a, 0]): a for a in range(model.nu)}
        missing = [n for n, j in zip(bundle["joint_names"], joint_ids) if j not in by_joint]
        if missing:
            raise InputError(path, "joint_names", f"'{missing[0]}' has no actuator in the MuJoCo model", None)
        self.actuators = np.asarray([by_joint[j] for j in joint_ids])
        self.imu = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, bundle["imu_body"])
        if self.imu < 0:
            raise InputError(path, "imu_body", f"'{bundle['imu_body']}' is not a body of the MuJoCo model", None)
        free = np.flatnonzero(np.asarray(model.jnt_type) == mujoco.mjtJoint.mjJNT_FREE)
        self.root = int(model.jnt_bodyid[free[0]]) if len(free) else 0
        self.set_gains(bundle["stiffness"], bundle["damping"], bundle["effort_limit"])
        self.motors: MujocoMotors | None = None
        section = bundle.deploy.get("actuator_model") or {}
        if section.get("trained_with") == "explicit":
            am = ActuatorModel.from_dict(section)
            kp, kd = np.asarray(bundle["stiffness"]), np.asarray(bundle["damping"])
            self.motors = MujocoMotors(model, self.actuators, self.dof, self.qpos, am, kp, kd, model.opt.timestep)
            self._target = np.asarray(data.qpos[self.qpos], dtype=np.float64)  # hold the pose until commanded
            self._last_time: float | None = None

    def set_gains(self, kp, kd, effort) -> None:
        """Position actuators: tau = Kp (ctrl - q) - Kd dq, clipped to +-effort (MuJoCo's gain/bias form)."""
        m, a = self.model, self.actuators
        m.actuator_gainprm[a, 0] = kp
        m.actuator_biasprm[a, 0] = 0.0
        m.actuator_biasprm[a, 1] = -np.asarray(kp)
        m.actuator_biasprm[a, 2] = -np.asarray(kd)
        m.actuator_forcelimited[a] = 1
        m.actuator_forcerange[a, 0] = -np.asarray(effort)
        m.actuator_forcerange[a, 1] = np.asarray(effort)

    def readings(self) -> dict[str, np.ndarray]:
        """What the robot's sensors read now (call after ``mj_forward``: body poses and velocities are current)."""
        import mujoco

        m, d = self.model, self.data
        vel, root_vel = np.zeros(6), np.zeros(6)
        # (angular, linear): XBODY = the body frame, local axes; BODY = at the centre of mass, world axes
        mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_XBODY, self.imu, vel, 1)
        mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_BODY, self.root, root_vel, 0)
        root_rot = np.asarray(d.xmat[self.root]).reshape(3, 3)
        return {
            "q": np.asarray(d.qpos[self.qpos], dtype=np.float64),
            "dq": np.asarray(d.qvel[self.dof], dtype=np.float64),
            "imu_gyro": vel[:3].copy(),
            "imu_quat": np.asarray(d.xquat[self.imu], dtype=np.float64),
            "base_lin_vel": root_rot.T @ root_vel[3:],
            "base_ang_vel": root_rot.T @ root_vel[:3],
            "root_quat": np.asarray(d.xquat[self.root], dtype=np.float64),
            "root_height": np.array([d.xpos[self.root][2]]),
        }

    def command(self, targets: np.ndarray) -> None:
        if self.motors is not None:
            self._target = np.asarray(targets, dtype=np.float64).copy()
        else:
            self.data.ctrl[self.actuators] = targets

    def step(self, nstep: int = 1) -> None:
        """``nstep`` physics steps (``mujoco.mj_step``), the actuator model's torque applied at each one."""
        self._with_motors(lambda mujoco: mujoco.mj_step(self.model, self.data, nstep=nstep))

    def forward(self) -> None:
        """``mujoco.mj_forward``; with the actuator model, the torque of the current step is computed too."""
        self._with_motors(lambda mujoco: mujoco.mj_forward(self.model, self.data))

    def _with_motors(self, run) -> None:
        import mujoco

        if self.motors is None:
            run(mujoco)
            return
        previous = mujoco.get_mjcb_control()
        mujoco.set_mjcb_control(lambda model, data: self._motor_step() if data is self.data else None)
        try:
            run(mujoco)
        finally:
            mujoco.set_mjcb_control(previous)

    def _motor_step(self) -> None:
        """MuJoCo's control callback for this robot: the torque of the physics step at ``data.time``."""
        t = float(self.data.time)
        if self._last_time is not None and t < self._last_time:
            self.motors.reset()  # the data was reset: a new episode
            self._last_time = None
        self.motors.apply(self.data, self._target, same_step=t == self._last_time)
        self._last_time = t
