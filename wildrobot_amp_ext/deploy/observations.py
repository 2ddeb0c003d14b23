"""The policy's observation terms: one table read by the env config, the deploy bundle and the robot-side runner.

Each term is computed, then (training only) corrupted by uniform noise of +-``noise`` in the term's own unit, then
clipped to +-``clip``, then multiplied by ``scale`` (Isaac Lab's ``ObservationManager`` order). With a history of H
frames the policy input is **term-major**: each term's H frames, oldest first, then the next term (Isaac Lab's
default ``history_order="term"``; unitree_rl_lab's C++ reader uses the same layout). After a reset every slot of
the history holds the first frame.

Two actor sets, chosen by the env config's ``observation_set``:

* ``measured`` (default): what a robot's IMU and encoders give (unitree_rl_lab's G1 velocity task), history 5.
* ``privileged``: the set this package used before, with root linear velocity and height, history 1 (a policy
  trained with it needs a state estimator on hardware).

The ``critic`` group (the value network's input, asymmetric actor-critic) holds the measured terms without noise
plus base linear velocity, root height and foot contacts, history 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from wildrobot_amp_ext.errors import InputError

#: width of a term: a number, "J" (one per joint) or "F" (one per foot)
Width = int | str


@dataclass(frozen=True)
class ObsTermSpec:
    name: str
    width: Width
    #: the term is multiplied by this after noise and clip
    scale: float = 1.0
    #: training noise: uniform in +-noise, in the term's unit, before clip and scale (0: none)
    noise: float = 0.0
    #: clip to +-clip before scaling (None: no clip)
    clip: float | None = None
    #: the noise-free definition a robot-side program implements
    formula: str = ""

    def dim(self, num_joints: int, num_feet: int = 2) -> int:
        return (
            {"J": num_joints, "F": num_feet}.get(self.width, self.width) if isinstance(self.width, str) else self.width
        )


_IMU_ANG_VEL = "angular velocity of the IMU body in the IMU body frame (rad/s): the gyroscope"
_IMU_GRAVITY = "R_imu^T (0, 0, -1): unit gravity direction in the IMU body frame (from the IMU's orientation)"
_COMMAND = "commanded vx, vy (m/s, heading frame) and yaw rate wz (rad/s)"
_JOINT_POS = "q - default_joint_pos, policy joint order (rad): the encoders"
_JOINT_VEL = "dq/dt, policy joint order (rad/s)"
_ACTIONS = "the policy's previous output, before action scale and offset (0 after a reset)"

MEASURED_TERMS: tuple[ObsTermSpec, ...] = (
    ObsTermSpec("imu_ang_vel", 3, scale=0.2, noise=0.2, formula=_IMU_ANG_VEL),
    ObsTermSpec("imu_projected_gravity", 3, noise=0.05, formula=_IMU_GRAVITY),
    ObsTermSpec("velocity_commands", 3, formula=_COMMAND),
    ObsTermSpec("joint_pos", "J", noise=0.01, formula=_JOINT_POS),
    ObsTermSpec("joint_vel", "J", scale=0.05, noise=1.5, formula=_JOINT_VEL),
    ObsTermSpec("actions", "J", formula=_ACTIONS),
)

PRIVILEGED_TERMS: tuple[ObsTermSpec, ...] = (
    ObsTermSpec("base_lin_vel", 3, noise=0.1, formula="root centre-of-mass linear velocity in the root frame (m/s)"),
    ObsTermSpec("base_ang_vel", 3, noise=0.2, formula="root angular velocity in the root frame (rad/s)"),
    ObsTermSpec("projected_gravity", 3, noise=0.05, formula="R_root^T (0, 0, -1)"),
    ObsTermSpec("root_height", 1, noise=0.01, formula="root origin height above the flat ground (m)"),
    ObsTermSpec("velocity_commands", 3, formula=_COMMAND),
    ObsTermSpec("joint_pos", "J", noise=0.01, formula=_JOINT_POS),
    ObsTermSpec("joint_vel", "J", noise=0.5, formula=_JOINT_VEL),
    ObsTermSpec("actions", "J", formula=_ACTIONS),
)

#: what the critic adds to the measured terms (noise-free)
CRITIC_EXTRA_TERMS: tuple[ObsTermSpec, ...] = (
    PRIVILEGED_TERMS[0],
    PRIVILEGED_TERMS[3],
    ObsTermSpec("foot_contacts", "F", formula="1 where a foot is in contact (the features' contact rule), else 0"),
)


@dataclass(frozen=True)
class ObservationSet:
    name: str
    terms: tuple[ObsTermSpec, ...]
    history: int

    def dim(self, num_joints: int) -> int:
        return self.history * sum(t.dim(num_joints) for t in self.terms)


OBSERVATION_SETS: dict[str, ObservationSet] = {
    "measured": ObservationSet("measured", MEASURED_TERMS, 5),
    "privileged": ObservationSet("privileged", PRIVILEGED_TERMS, 1),
}
DEFAULT_OBSERVATION_SET = "measured"
#: Isaac Lab's name of the layout above (ObservationGroupCfg.history_order)
HISTORY_ORDER = "term"


def critic_terms() -> tuple[ObsTermSpec, ...]:
    """The critic group: the measured terms without noise, then the privileged extras."""
    from dataclasses import replace

    return tuple(replace(t, noise=0.0) for t in MEASURED_TERMS) + CRITIC_EXTRA_TERMS


def observation_set(name: str, file=None) -> ObservationSet:
    if name not in OBSERVATION_SETS:
        raise InputError(file, "observation_set", f"unknown set {name!r}", f"one of {sorted(OBSERVATION_SETS)}")
    return OBSERVATION_SETS[name]
