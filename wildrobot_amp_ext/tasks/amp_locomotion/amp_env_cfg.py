"""Base configuration of the AMP velocity-tracking locomotion tasks (manager-based, Newton / MuJoCo-Warp, flat).

Everything robot-specific comes from the RobotSpec named by :attr:`AmpLocomotionEnvCfg.robot_name`: the USD and
actuators (``isaaclab.asset``), the ``preserve_order=True`` joint lists of actions and observations (RobotSpec
order, never typed here), the feet used by the contact-based rewards and the AMP features. A robot config only
sets the name and scales (``config/<robot>/flat_env_cfg.py``).

Observation groups: ``policy`` (the actor: ``observation_set``, by default what a robot measures, IMU + encoders +
command + last action, 5 frames, noisy), ``critic`` (the value network's input through skrl's ``states``: the same
terms noise-free plus base linear velocity, root height and foot contacts) and ``amp`` (the shared AMP feature
function, ``FeatureSpec.history`` frames oldest first, no noise). Term scales, noise and formulas live in one table,
``wildrobot_amp_ext.deploy.observations``, which the deploy bundle also writes. The env class
(:class:`AmpManagerBasedRLEnv`) adds ``extras["amp_obs"]`` with the true terminal frame for envs that reset.
"""

from __future__ import annotations

import math
from dataclasses import MISSING
from typing import TYPE_CHECKING

from isaaclab.assets import ArticulationCfg
from isaaclab.envs import ManagerBasedRLEnvCfg
from isaaclab.managers import EventTermCfg as EventTerm
from isaaclab.managers import ObservationGroupCfg as ObsGroup
from isaaclab.managers import ObservationTermCfg as ObsTerm
from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.managers import SceneEntityCfg
from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.sim import SimulationCfg
from isaaclab.terrains import TerrainImporterCfg
from isaaclab.utils import configclass
from isaaclab.utils.noise import UniformNoiseCfg as Unoise

from wildrobot_amp_ext.agents.reference import check_dataset_frame_rate
from wildrobot_amp_ext.constants import DECIMATION, PHYSICS_DT
from wildrobot_amp_ext.dataset.demo import DEMO_DATASET, resolve_dataset
from wildrobot_amp_ext.deploy.observations import (
    DEFAULT_OBSERVATION_SET,
    HISTORY_ORDER,
    ObsTermSpec,
    critic_terms,
    observation_set,
)
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.features.spec import FeatureSpec, adopt_feature_spec
from wildrobot_amp_ext.isaaclab.actuators import ExplicitMotorActuatorCfg
from wildrobot_amp_ext.isaaclab.asset import (
    GroundCfg,
    articulation_actuators,
    ground_terrain_cfg,
    robot_articulation_cfg,
)
from wildrobot_amp_ext.isaaclab.launch import default_sim_cfg
from wildrobot_amp_ext.tasks.amp_locomotion import mdp
from wildrobot_amp_ext.tasks.amp_locomotion.config.register import ENV_ENTRY_POINT
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import dataset_feature_header
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import robot_spec as load_robot_spec
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.randomization import randomize_encoder_bias

if TYPE_CHECKING:
    from wildrobot_amp_ext.robots import RobotSpec

ROBOT = "robot"
#: where ``resolve_inputs`` keeps the FeatureSpec object it settled: Isaac Lab's config dump and validation skip
#: names that start with "__", so the saved env.yaml holds only ``amp.feature_spec``, the spec's dict record
_RESOLVED_SPEC = "__resolved_feature_spec"


def _robot_joints(preserve_order: bool = True, names: list[str] | None = None) -> SceneEntityCfg:
    """Placeholder filled with the RobotSpec joint list in ``AmpLocomotionEnvCfg.apply_robot``."""
    return SceneEntityCfg(ROBOT, joint_names=names or [".*"], preserve_order=preserve_order)


##
# Scene
##


@configclass
class AmpSceneCfg(InteractiveSceneCfg):
    """Procedural flat ground (no NVIDIA asset) and the robot (set from the RobotSpec)."""

    terrain: TerrainImporterCfg = ground_terrain_cfg()
    robot: ArticulationCfg = MISSING


##
# MDP
##


@configclass
class CommandsCfg:
    base_velocity = mdp.UniformVelocityCommandCfg(
        asset_name=ROBOT,
        resampling_time_range=(5.0, 5.0),
        rel_standing_envs=0.1,
        rel_heading_envs=1.0,
        heading_command=True,
        heading_control_stiffness=0.5,
        debug_vis=False,  # markers would load NVIDIA-hosted assets
        ranges=mdp.UniformVelocityCommandCfg.Ranges(
            lin_vel_x=(0.0, 0.5), lin_vel_y=(-0.2, 0.2), ang_vel_z=(-1.0, 1.0), heading=(-math.pi, math.pi)
        ),
    )


@configclass
class ActionsCfg:
    joint_pos = mdp.JointPositionActionCfg(
        asset_name=ROBOT, joint_names=[".*"], scale=0.25, use_default_offset=True, preserve_order=True
    )


@configclass
class ObservationsCfg:
    @configclass
    class PolicyCfg(ObsGroup):
        """The actor's input: the terms of ``AmpLocomotionEnvCfg.observation_set`` (``deploy.observations``), noisy.
        Every possible term is declared here, in an order that keeps each set's own order; the set's terms are
        built by ``apply_observation_set`` and the others stay None."""

        base_lin_vel: ObsTerm | None = None
        base_ang_vel: ObsTerm | None = None
        imu_ang_vel: ObsTerm | None = None
        projected_gravity: ObsTerm | None = None
        imu_projected_gravity: ObsTerm | None = None
        root_height: ObsTerm | None = None
        velocity_commands: ObsTerm | None = None
        joint_pos: ObsTerm | None = None
        joint_vel: ObsTerm | None = None
        actions: ObsTerm | None = None

        def __post_init__(self):
            self.enable_corruption = True
            self.concatenate_terms = True

    @configclass
    class CriticCfg(ObsGroup):
        """The value network's input (skrl ``states``): the measured terms noise-free plus base linear velocity,
        root height and foot contacts (``deploy.observations.critic_terms``)."""

        imu_ang_vel: ObsTerm | None = None
        imu_projected_gravity: ObsTerm | None = None
        velocity_commands: ObsTerm | None = None
        joint_pos: ObsTerm | None = None
        joint_vel: ObsTerm | None = None
        actions: ObsTerm | None = None
        base_lin_vel: ObsTerm | None = None
        root_height: ObsTerm | None = None
        foot_contacts: ObsTerm | None = None

        def __post_init__(self):
            self.enable_corruption = False
            self.concatenate_terms = True

    @configclass
    class AmpCfg(ObsGroup):
        """AMP observation: the shared feature function, history set from the FeatureSpec, never corrupted."""

        # history_length is set by the env from the resolved FeatureSpec
        features = ObsTerm(
            func=mdp.amp_features,
            params={"asset_cfg": SceneEntityCfg(ROBOT)},
            history_length=2,
            flatten_history_dim=True,
        )

        def __post_init__(self):
            self.enable_corruption = False
            self.concatenate_terms = True

    policy: PolicyCfg = PolicyCfg()
    critic: CriticCfg = CriticCfg()
    amp: AmpCfg = AmpCfg()


def _obs_funcs() -> dict[str, tuple]:
    """Observation term name -> (function, params); robot-dependent params are filled by ``_obs_term``."""
    return {
        "base_lin_vel": (mdp.base_lin_vel, {}),
        "base_ang_vel": (mdp.base_ang_vel, {}),
        "projected_gravity": (mdp.projected_gravity, {}),
        "root_height": (mdp.root_height, {}),
        "imu_ang_vel": (mdp.imu_ang_vel, {"asset_cfg": "imu"}),
        "imu_projected_gravity": (mdp.imu_projected_gravity, {"asset_cfg": "imu"}),
        "velocity_commands": (mdp.generated_commands, {"command_name": "base_velocity"}),
        "joint_pos": (mdp.joint_pos_rel, {"asset_cfg": "joints"}),
        "joint_vel": (mdp.joint_vel_rel, {"asset_cfg": "joints"}),
        "actions": (mdp.last_action, {}),
        "foot_contacts": (mdp.foot_contacts, {"asset_cfg": "robot"}),
    }


def _obs_term(spec: ObsTermSpec, robot, noisy: bool = True) -> ObsTerm:
    """An Isaac Lab ObsTerm from its table entry (scale, noise, clip in one home: ``deploy.observations``)."""
    func, params = _obs_funcs()[spec.name]
    assets = {
        "imu": SceneEntityCfg(ROBOT, body_names=[robot.imu_body], preserve_order=True),
        "joints": _robot_joints(names=list(robot.joint_names)),
        "robot": SceneEntityCfg(ROBOT),
    }
    params = {k: assets[v] if k == "asset_cfg" else v for k, v in params.items()}
    return ObsTerm(
        func=func,
        params=params,
        noise=Unoise(n_min=-spec.noise, n_max=spec.noise) if noisy and spec.noise else None,
        clip=(-spec.clip, spec.clip) if spec.clip is not None else None,
        scale=spec.scale if spec.scale != 1.0 else None,
    )


def group_term_names(group: ObsGroup) -> list[str]:
    """The active (non-None) terms of an observation group config, in order."""
    return [name for name, value in vars(group).items() if isinstance(value, ObsTerm)]


@configclass
class EventsCfg:
    reset_base = EventTerm(
        func=mdp.reset_root_state_uniform,
        mode="reset",
        params={
            "pose_range": {"x": (-0.2, 0.2), "y": (-0.2, 0.2), "yaw": (-math.pi, math.pi)},
            "velocity_range": {"x": (-0.1, 0.1), "y": (-0.1, 0.1)},
        },
    )
    reset_joints = EventTerm(
        func=mdp.reset_joints_by_offset,
        mode="reset",
        params={"position_range": (-0.05, 0.05), "velocity_range": (0.0, 0.0), "asset_cfg": _robot_joints()},
    )
    # last: overrides the two above for the envs it picks (needs env.amp.dataset)
    reference_state_init = EventTerm(
        func=mdp.reset_from_reference,
        mode="reset",
        params={"fraction": 0.5, "random_heading": True, "height_offset": 0.0, "asset_cfg": SceneEntityCfg(ROBOT)},
    )
    push_robot = EventTerm(
        func=mdp.push_by_setting_velocity,
        mode="interval",
        interval_range_s=(8.0, 12.0),
        params={"velocity_range": {"x": (-0.3, 0.3), "y": (-0.3, 0.3)}},
    )
    # -- domain randomisation at start-up (mdp/randomization.py); ranges: AmpLocomotionEnvCfg.randomization
    physics_material = EventTerm(
        func=mdp.randomize_rigid_body_material,
        mode="startup",
        params={"asset_cfg": SceneEntityCfg(ROBOT), "static_friction_range": (1.0, 1.0),
                "dynamic_friction_range": (1.0, 1.0), "restitution_range": (0.0, 0.0), "num_buckets": 64},
    )  # fmt: skip
    base_mass = EventTerm(
        func=mdp.randomize_rigid_body_mass,
        mode="startup",
        params={"asset_cfg": SceneEntityCfg(ROBOT), "mass_distribution_params": (0.0, 0.0), "operation": "add"},
    )
    base_com = EventTerm(
        func=mdp.randomize_rigid_body_com,
        mode="startup",
        params={"asset_cfg": SceneEntityCfg(ROBOT), "com_range": {}},
    )
    encoder_bias = EventTerm(
        func=randomize_encoder_bias,
        mode="startup",
        params={"asset_cfg": SceneEntityCfg(ROBOT), "bias_range": (0.0, 0.0)},
    )
    actuator_gains = EventTerm(
        func=mdp.randomize_actuator_gains,
        mode="startup",
        params={"asset_cfg": SceneEntityCfg(ROBOT), "stiffness_distribution_params": (1.0, 1.0),
                "damping_distribution_params": (1.0, 1.0), "operation": "scale"},
    )  # fmt: skip


@configclass
class RewardsCfg:
    # -- task
    track_lin_vel_xy = RewTerm(
        func=mdp.track_lin_vel_xy_yaw_frame_exp, weight=1.0, params={"command_name": "base_velocity", "std": 0.25}
    )
    track_ang_vel_z = RewTerm(
        func=mdp.track_ang_vel_z_world_exp, weight=1.0, params={"command_name": "base_velocity", "std": 0.5}
    )
    # -- stability: Isaac Lab's humanoid value. Early on the per-step penalties outweigh the tracking reward, and
    # with -10 a fall cost less than 50 steps of them: a task-only WildRobot probe fell in 100 % of episodes for 40
    # updates (episodes of 0.7-2 s)
    termination_penalty = RewTerm(func=mdp.is_terminated, weight=-200.0)
    flat_orientation_l2 = RewTerm(func=mdp.flat_orientation_l2, weight=-1.0)
    lin_vel_z_l2 = RewTerm(func=mdp.lin_vel_z_l2, weight=-0.2)
    ang_vel_xy_l2 = RewTerm(func=mdp.ang_vel_xy_l2, weight=-0.05)
    # -- effort / smoothness (weights scaled per robot: torques differ by 10x between robots)
    joint_torques_l2 = RewTerm(func=mdp.joint_torques_l2, weight=-1.0e-3, params={"asset_cfg": _robot_joints()})
    mechanical_power = RewTerm(func=mdp.mechanical_power, weight=-1.0e-3, params={"asset_cfg": _robot_joints()})
    action_rate_l2 = RewTerm(func=mdp.action_rate_l2, weight=-0.01)
    joint_pos_limits = RewTerm(func=mdp.joint_pos_limits, weight=-1.0, params={"asset_cfg": _robot_joints()})
    # -- feet (the features' contact rule on the RobotSpec contact points, thresholds from amp.feature_spec)
    feet_air_time = RewTerm(
        func=mdp.feet_air_time_biped,
        weight=0.5,
        params={"command_name": "base_velocity", "threshold": 0.3, "min_command": 0.1},
    )
    feet_slide = RewTerm(func=mdp.feet_slide, weight=-0.1)
    foot_clearance = RewTerm(func=mdp.foot_clearance, weight=-1.0, params={"target_height": 0.04})


@configclass
class TerminationsCfg:
    time_out = DoneTerm(func=mdp.time_out, time_out=True)
    base_height = DoneTerm(func=mdp.root_height_below_minimum, params={"minimum_height": 0.15})
    base_orientation = DoneTerm(func=mdp.bad_orientation, params={"limit_angle": 1.0})


@configclass
class RandomizationCfg:
    """Domain randomisation ranges, in one place; :meth:`AmpLocomotionEnvCfg.apply_randomization` writes them,
    scaled to the robot, into the event terms (a 3.4 kg biped does not get the G1's +3 kg). Turn a term off with
    ``env.events.<term>=null``. Ranges follow unitree_rl_lab / ASAP / mjlab on the G1 (deploy-and-retarget notes)."""

    #: friction coefficient of each robot shape; the ground's is the low end (MuJoCo takes the larger of the two)
    friction_range: tuple[float, float] = (0.3, 1.2)
    #: body whose mass and centre of mass are randomised (None: the RobotSpec's root body)
    base_body: str | None = None
    #: mass added to it, as a fraction of the robot's total mass: the G1's -1..+3 kg on 33 kg
    added_mass_fraction: tuple[float, float] = (-0.03, 0.09)
    #: its centre-of-mass offset per axis, as a fraction of init_root_height: the G1's +-2.5 cm at 0.78 m
    com_offset_fraction: float = 0.032
    #: Kp and Kd multipliers
    gain_scale_range: tuple[float, float] = (0.75, 1.25)
    #: encoder offset per joint (rad) the policy sees in its joint positions (mjlab: +-0.015)
    encoder_bias: float = 0.015
    #: pushes: root velocity change (x, y) for a robot of the G1's size, scaled by sqrt(init_root_height / 0.78)
    #: (Froude scaling), every interval
    push_velocity: float = 0.5
    push_interval_s: tuple[float, float] = (3.0, 6.0)


@configclass
class AmpSettingsCfg:
    """What the AMP side needs from the env config (not a manager)."""

    #: FeatureSpec fields the user sets (``FeatureSpec.to_dict()`` keys). Empty: the env adopts the dataset's spec
    #: (its header); a field set here that differs from the dataset's is refused. ``resolve_inputs`` (before the env
    #: exists) writes the resolved spec back here, so a run's saved config holds the spec it trained with.
    feature_spec: dict = {}
    #: reference dataset (.npz from wildrobot-convert or wildrobot-mine): discriminator reference motions, RSI states.
    #: states. "demo" = the built-in synthetic gait for this robot (wildrobot_amp_ext.dataset.demo), built on first use
    dataset: str | None = "demo"
    #: reference sampling: softmax(segment score / temperature), min distinct clips per batch
    sampler_temperature: float = 1.0
    min_motion_ids: int = 3
    #: refuse a dataset whose features (robot, joints, an explicitly set FeatureSpec field) differ from the env's
    check_feature_version: bool = True

    def resolve_reference(self, robot: RobotSpec) -> tuple[FeatureSpec, str | None]:
        """The env's FeatureSpec (the dataset header's, with the fields set in ``feature_spec``) and the dataset file
        it reads (``"demo"``: the demo gait the dataset layer builds for that spec; its history is irrelevant, the
        sampler stacks frames). ``resolve_inputs`` and anything that must read the same file call this."""
        dataset = None if self.dataset == DEMO_DATASET else self.dataset
        header = dataset_feature_header(dataset) if dataset else None
        spec = adopt_feature_spec(self.feature_spec, robot, header, dataset, self.check_feature_version)
        path = resolve_dataset(self.dataset, robot, spec)
        return spec, None if path is None else str(path)


##
# Environment
##


@configclass
class AmpLocomotionEnvCfg(ManagerBasedRLEnvCfg):
    """AMP velocity-tracking locomotion on flat ground for the RobotSpec named ``robot_name``."""

    class_type: type | str = ENV_ENTRY_POINT

    #: RobotSpec registry name (or path to a robot.yaml)
    robot_name: str = MISSING
    #: fall terminations: root below this fraction of the RobotSpec's init_root_height / tilt beyond this (rad)
    fall_height_fraction: float = 0.5
    fall_tilt: float = 1.0
    #: physics backend (``--physics``): "mujoco-warp" (Newton / MuJoCo-Warp) or "mujoco-cpu" (MuJoCo C, one MjData
    #: per env, parallel threads; CPU only); "auto": mujoco-cpu on a CPU device, mujoco-warp on CUDA. Resolved and
    #: applied to ``sim.physics`` after overrides (``isaaclab.physics_select``); the saved config names what ran
    physics_backend: str = "auto"
    #: mujoco-cpu physics threads (0: every core this process may use)
    physics_threads: int = 0
    #: the actor's observation set (``deploy.observations``): "measured" (IMU + encoders + command + last action,
    #: history 5; what a robot can run) or "privileged" (the earlier set with root linear velocity and height,
    #: no history). ``env.observation_set=privileged`` on the command line; the env applies it at creation.
    observation_set: str = DEFAULT_OBSERVATION_SET
    #: the robot YAML's explicit actuator model (delayed PD + torque-speed curve + friction, robots/actuator_model.py)
    #: instead of the solver's implicit PD. None: the YAML's ``actuator_model.enabled`` (G1: on; WildRobot: off),
    #: resolved when the config is built; ``env.actuator_model=true|false`` on the command line.
    actuator_model: bool | None = None

    sim: SimulationCfg = default_sim_cfg()
    scene: AmpSceneCfg = AmpSceneCfg(num_envs=64, env_spacing=2.0)
    observations: ObservationsCfg = ObservationsCfg()
    actions: ActionsCfg = ActionsCfg()
    commands: CommandsCfg = CommandsCfg()
    rewards: RewardsCfg = RewardsCfg()
    terminations: TerminationsCfg = TerminationsCfg()
    events: EventsCfg = EventsCfg()
    amp: AmpSettingsCfg = AmpSettingsCfg()
    randomization: RandomizationCfg = RandomizationCfg()

    def __post_init__(self):
        self.decimation = DECIMATION
        self.episode_length_s = 10.0
        self.sim.dt = PHYSICS_DT
        self.sim.render_interval = self.decimation
        self.apply_robot()

    def robot_spec(self):
        return load_robot_spec(self.robot_name)

    def apply_robot(self) -> None:
        """Fill every robot-dependent field from the RobotSpec (joint lists, asset, heights)."""
        robot = self.robot_spec()
        joints = list(robot.joint_names)
        self.scene.robot = robot_articulation_cfg(robot, actuator_model=self.resolve_actuator_model())
        self.apply_actuator_model()
        self.actions.joint_pos.joint_names = joints
        self.actions.joint_pos.preserve_order = True
        self.apply_observation_set()
        self.apply_randomization()
        self.events.reset_joints.params["asset_cfg"] = _robot_joints(names=joints)
        for name in ("joint_torques_l2", "mechanical_power", "joint_pos_limits"):
            term = getattr(self.rewards, name, None)
            if term is not None:
                term.params["asset_cfg"] = _robot_joints(names=joints)
        self.terminations.base_height.params["minimum_height"] = self.fall_height_fraction * robot.init_root_height
        self.terminations.base_orientation.params["limit_angle"] = self.fall_tilt

    def resolve_actuator_model(self) -> bool:
        """``actuator_model`` as true/false (None: the robot YAML's ``enabled``); anything else is refused."""
        if self.actuator_model is None:
            am = self.robot_spec().actuator_model
            self.actuator_model = am is not None and am.enabled
        if not isinstance(self.actuator_model, bool):
            raise InputError(None, "env.actuator_model", f"expected true or false, got {self.actuator_model!r}",
                             "write env.actuator_model=true or env.actuator_model=false")  # fmt: skip
        return self.actuator_model

    def apply_actuator_model(self) -> None:
        """Actuator groups for ``actuator_model`` (an ``env.actuator_model`` override comes after the config was
        built); groups that already match are kept."""
        if self.resolve_actuator_model():
            # Isaac Lab 3.0 hands explicit groups to Newton-native actuators by default, which supports only its
            # own classes; off, the articulation computes the group's torque and writes it to joint_f
            self.sim.use_newton_actuators = False
        groups = self.scene.robot.actuators
        if all(isinstance(g, ExplicitMotorActuatorCfg) == bool(self.actuator_model) for g in groups.values()):
            return
        self.scene.robot.actuators = articulation_actuators(self.robot_spec(), bool(self.actuator_model))

    def apply_observation_set(self) -> None:
        """Build the policy group from ``observation_set`` and the critic group (both from the term table)."""
        robot, chosen = self.robot_spec(), observation_set(self.observation_set)
        policy, by_name = self.observations.policy, {t.name: t for t in chosen.terms}
        for name in [n for n in vars(policy) if n in _obs_funcs()]:  # the term slots, in declaration order
            setattr(policy, name, _obs_term(by_name[name], robot) if name in by_name else None)
        if group_term_names(policy) != [t.name for t in chosen.terms]:
            raise RuntimeError(f"PolicyCfg's term order cannot hold observation set {chosen.name!r}")
        policy.history_length = chosen.history if chosen.history > 1 else None
        policy.flatten_history_dim = True
        policy.history_order = HISTORY_ORDER
        critic = self.observations.critic
        for spec in critic_terms():
            setattr(critic, spec.name, _obs_term(spec, robot, noisy=False))

    def apply_randomization(self) -> None:
        """Write ``randomization`` into the event terms, scaled to the robot (terms set to None stay off); the ground
        gets the friction range's low end while material randomisation is on."""
        robot, r, ev = self.robot_spec(), self.randomization, self.events
        body = SceneEntityCfg(ROBOT, body_names=[r.base_body or robot.root_body], preserve_order=True)
        if ev.physics_material is not None:
            ev.physics_material.params.update(static_friction_range=tuple(r.friction_range),
                                              dynamic_friction_range=tuple(r.friction_range))  # fmt: skip
        low = r.friction_range[0] if ev.physics_material is not None else GroundCfg.static_friction
        self.scene.terrain = ground_terrain_cfg(GroundCfg(static_friction=low, dynamic_friction=low))
        if ev.base_mass is not None:
            added = tuple(f * robot.total_mass for f in r.added_mass_fraction)
            ev.base_mass.params.update(asset_cfg=body, mass_distribution_params=added)
        if ev.base_com is not None:
            d = r.com_offset_fraction * robot.init_root_height
            ev.base_com.params.update(asset_cfg=body, com_range={k: (-d, d) for k in ("x", "y", "z")})
        if ev.actuator_gains is not None:
            ev.actuator_gains.params.update(stiffness_distribution_params=tuple(r.gain_scale_range),
                                            damping_distribution_params=tuple(r.gain_scale_range))  # fmt: skip
        if ev.encoder_bias is not None:
            ev.encoder_bias.params["bias_range"] = (-r.encoder_bias, r.encoder_bias)
        if ev.push_robot is not None:
            v = r.push_velocity * math.sqrt(robot.init_root_height / 0.78)
            ev.push_robot.interval_range_s = tuple(r.push_interval_s)
            ev.push_robot.params["velocity_range"] = {"x": (-v, v), "y": (-v, v)}

    def resolve_inputs(self) -> None:
        """Settle everything the env reads, once, before it is built (``isaaclab.launch`` calls this; the env only
        reads the result and never writes its config). Overrides arrive after ``__post_init__``, so the observation
        set, randomisation and actuator model are re-applied here; then the reference: the dataset file
        (``"demo"``: built by the dataset layer for the resolved spec) and the FeatureSpec adopted from its header
        with the user's fields, written back in full. Idempotent: a resolved config resolves to itself."""
        if group_term_names(self.observations.policy) != [t.name for t in observation_set(self.observation_set).terms]:
            self.apply_observation_set()  # env.observation_set was overridden after the config was built
        self.apply_randomization()
        self.apply_actuator_model()
        spec, self.amp.dataset = self.amp.resolve_reference(self.robot_spec())
        # reference frames must be one env step apart (checked before the scene is built: a mismatch costs nothing)
        check_dataset_frame_rate(self.amp.dataset, 1.0 / (self.sim.dt * self.decimation))
        self.amp.feature_spec = spec.to_dict()  # the record: the run's saved env.yaml says which spec ran
        setattr(self, _RESOLVED_SPEC, spec)  # the object itself, for the env and its terms
        self.observations.amp.features.history_length = spec.history
        self.observations.amp.features.flatten_history_dim = True

    def resolved_feature_spec(self) -> FeatureSpec:
        """The FeatureSpec :meth:`resolve_inputs` settled; refuses a config that never went through it (or whose
        ``amp`` settings changed since)."""
        spec = getattr(self, _RESOLVED_SPEC, None)
        if self.amp.dataset == DEMO_DATASET or spec is None or spec.to_dict() != self.amp.feature_spec:
            raise RuntimeError(
                "the env's inputs are not resolved: create it through wildrobot_amp_ext.isaaclab.launch "
                "(make_env / create_env / env_session), or call cfg.resolve_inputs() first"
            )
        return spec

    def key_schemas(self) -> dict[str, tuple[str, ...]]:
        """Valid keys of the dicts that start empty, for the ``env.*`` override check (utils.keys)."""
        return {"amp.feature_spec": FeatureSpec.keys()}

    def apply_play(self) -> None:
        """Play variant: fewer envs, no pushes, no observation noise, longer episodes (play.py / evaluation).

        Each robot's ``...PlayEnvCfg`` derives from that robot's own config and calls this last."""
        self.scene.num_envs = 4
        self.episode_length_s = 20.0
        self.observations.policy.enable_corruption = False
        self.events.push_robot = None
        # the nominal robot: no start-up randomisation (ground friction back to its default)
        for name in ("physics_material", "base_mass", "base_com", "actuator_gains", "encoder_bias"):
            setattr(self.events, name, None)
        self.apply_randomization()
