"""Miner configuration: every threshold as a dataclass default, overridable from the command line.

Groups: :class:`TrackingConfig` (tracker choice, PD rollout and stabiliser harness), :class:`MpcConfig` (the
closed-loop sampling tracker), :class:`GenerationConfig` (looping, blends, multi-start, augmentations),
:class:`GateConfig` (Tier 0+ gates and scoring), :class:`WindowConfig` (windowing and dedupe). :class:`MinerConfig`
bundles them and hashes itself for the result cache. The dataclass defaults are the default tracker's (``mpc``);
:data:`TRACKER_PRESETS` holds what another tracker changes (``MinerConfig.for_tracker``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Literal

from wildrobot_amp_ext.constants import CONTROL_HZ
from wildrobot_amp_ext.features.contact import SLIP_SPEED

#: bump when a change of the miner's code changes its results (invalidates cached clip results)
MINER_VERSION = 5  # 5: fall look-ahead past every window, segments gated whole after merging

DEDUPE_MODES = ("merge", "centre")
#: "mpc": closed-loop sampling MPC over PD target offsets (miner/mpc.py); "pd": open-loop PD on the reference
TRACKERS = ("mpc", "pd")
#: where the per-clip jobs run: a local process pool, or a Ray cluster (local or remote; miner/ray_executor.py)
EXECUTORS = ("process", "ray")
#: fields whose values are a fixed set (command-line choices)
FIELD_CHOICES = {
    "dedupe": DEDUPE_MODES,
    "tracker": TRACKERS,
    "offset_joints": ("legs", "all"),
    "support_gates": ("auto", "on", "off"),
}


@dataclass(frozen=True)
class TrackingConfig:
    tracker: Literal["mpc", "pd"] = "mpc"
    control_hz: float = CONTROL_HZ
    substeps: int = 10  # physics at control_hz * substeps (500 Hz)
    #: gain scale of the tracking PD over the RobotSpec gains (kd scaled by its square root: same damping ratio); the
    #: effort limits stay the robot's. "auto", closed-loop tracker: the smallest scale >= 1 that brings the PD's lag
    #: behind a moving target (kd/kp) down to ``max_pd_lag_s``; open-loop tracker: the smallest scale >= 1 whose
    #: ankle-pitch stiffness alone holds the standing inverted pendulum (it has no balance feedback)
    kp_scale: float | Literal["auto"] = "auto"
    auto_stiffness_margin: float = 1.5
    #: A policy makes up for a soft PD's lag with large learned target offsets; 32 MPPI samples do not find them.
    #: The G1's gains (10 Hz with the rotor inertia, damping ratio 2) lag 64 ms: x2 (45 ms) covered 72.7/68.9 strict
    #: seconds of the G1 dev clips (no mirrors, seeds 0/1) where x1 covered 66.3/61.6, falls 3/3 of 85 (x1: 13/15),
    #: at about the same effort (mean 5-12 % of the limits per clip, <= 1 % of actuator-frames saturated); x4 (32 ms)
    #: 73.6/70.9 with falls 4/4. WildRobot's servos lag 30 ms: x2 covered 26.2 of 28.0 s with 3 falls, x1 27.1 s
    #: with none
    max_pd_lag_s: float = 0.045
    # --- stabiliser harness on the root body (xfrc_applied), each part capped as a fraction of m*g ----------------
    #: roll/pitch PD torque towards the reference's roll/pitch (orientation, not height, is held).
    #: Off for the closed-loop tracker: with its balance feedback, harness-free rollouts covered more of the G1 dev
    #: clips in the strict tier (58.9 s vs 53.8 s with the harness, no mirrors) and record pure physics. On in the
    #: ``pd`` preset: the open-loop tracker has no balance of its own
    orient_assist: bool = False
    #: stiffness in units of m*g*lever per rad of tilt error (lever: standing COM height). Soft on purpose: a stiff
    #: stabiliser saturates fighting the natural pelvis sway of a gait (measured on the synthetic walks: 1.0 mined
    #: ~0 s where 0.25 mined 5-11 s per 12 s variant)
    orient_kp: float = 0.25
    #: damping ratio w.r.t. the point-mass pendulum inertia m*lever^2
    orient_damping_ratio: float = 0.5
    #: cap of |tau_xy| / lever, as a fraction of m*g
    orient_cap: float = 0.15
    #: vertical spring to the reference root height (most artifact-prone: off by default)
    height_assist: bool = False
    #: horizontal spring to the reference root xy (off by default)
    xy_assist: bool = False
    assist_freq_hz: float = 2.0  # natural frequency of the height/xy springs
    assist_damping_ratio: float = 0.7
    assist_cap: float = 0.15  # cap of each assist force (height, |xy|), fraction of m*g
    #: the harness only acts while the root tilt is below this (orientation-gated harness)
    upright_angle_deg: float = 25.0
    #: first-order low-pass on the commanded wrench (low-frequency harness, filters impulses)
    filter_cutoff_hz: float = 5.0
    #: sliding friction of the floor for every contact (None: the model's). Match the env's ground material
    floor_friction: float | None = None
    # --- rollout --------------------------------------------------------------------------------------------------
    #: place each rollout's initial state so the lowest contact point touches the floor
    init_on_floor: bool = True
    #: a rollout ends when the root tilts beyond this ...
    fall_angle_deg: float = 60.0
    #: ... or the root drops below this fraction of the standing root height
    fall_height_fraction: float = 0.5
    #: an actuator counts as saturated when |force| >= this fraction of its force limit
    actuator_saturation_fraction: float = 0.99
    #: the robot YAML's explicit actuator model (robots/actuator_model.py: delayed PD, torque-speed curve, friction)
    #: in place of MuJoCo's position actuators, on the tracking PD's gains (``kp_scale`` included); the closed-loop
    #: tracker still plans with the position actuators. Off by default: the miner is a tracker, not the policy
    actuator_model: bool = False

    @property
    def control_dt(self) -> float:
        return 1.0 / self.control_hz

    @property
    def physics_dt(self) -> float:
        return 1.0 / (self.control_hz * self.substeps)


@dataclass(frozen=True)
class MpcConfig:
    """Closed-loop tracker: sampling MPC over PD target offsets from the reference on a receding horizon.

    Every ``replan_frames`` control frames, ``samples`` offset plans (linear splines with ``knots`` knots over
    ``horizon_frames``) are rolled out in MuJoCo's C rollout module from the current simulated state with a coarser
    planning step; the plan is their cost-weighted mean (MPPI), warm-started from the previous plan shifted in time.
    Costs (per control frame of the horizon) are squared errors against the reference."""

    horizon_frames: int = 20  # control frames (0.4 s at 50 Hz)
    replan_frames: int = 1  # replanning every this many control frames (50 Hz)
    plan_substeps: int = 2  # planning physics steps per control frame (0.01 s at 50 Hz, implicitfast)
    samples: int = 32  # rollouts per replan (incl. the warm-started plan and the bare reference)
    knots: int = 3  # spline knots over the horizon
    noise_rad: float = 0.15  # sampling std of the knot offsets (rad)
    #: joints whose offsets are sampled: "legs" (the chains from the root to the feet) or "all"
    offset_joints: Literal["legs", "all"] = "legs"
    temperature: float = 0.1  # MPPI temperature as a fraction of the cost spread (max - min) of a replan
    solver_iterations: int = 10  # constraint solver iterations of the planning model (the tracked model: its own)
    # --- cost weights ---------------------------------------------------------------------------------------------
    w_joint: float = 1.0  # mean squared joint error (rad^2)
    w_height: float = 20.0  # root height error (m^2)
    w_position: float = 10.0  # root xy error (m^2)
    w_heading: float = 1.0  # 1 - cos(yaw error)
    w_upright: float = 10.0  # |z_body - z_body_ref|^2 (tilt)
    #: root xy velocity error (m^2/s^2). Velocity tracking is the gate the G1 dev walks fail most: with the PD gains
    #: at x2, weight 10 covered 79.1/77.7 strict s (no mirrors, seeds 0/1); 2: 72.7/68.9, 6: 77.8/76.0, 15: 77.0/79.1
    w_velocity: float = 10.0
    w_feet: float = 20.0  # contact-point error (m^2): height absolute, xy relative to the root
    w_slip: float = 10.0  # squared horizontal speed of the reference's planted contact points (m^2/s^2)
    w_effort: float = 0.05  # mean squared target offset (rad^2)
    w_fall: float = 100.0  # per frame fallen (tilt beyond fall_angle_deg or root below the fall height)


@dataclass(frozen=True)
class BalanceConfig:
    """Balance feedback under the closed-loop tracker (miner/balance.py): joint-target offsets from the simulated
    state every control frame, written as torques over the robot's own kp."""

    balance: bool = True
    #: kd * qdot_ref added to the PD torque (the PD damps towards zero velocity, not the reference's). Off: measured on
    #: the G1 dev clips it slows the walks (velocity-gate failures; 53.8 s strict coverage without it, 50.7 s with)
    velocity_lead: bool = False
    balance_position_hz: float = 1.0  # natural frequency of the root's horizontal position feedback (virtual force)
    balance_height_hz: float = 2.0  # ... of its height feedback
    balance_max_horizontal_force: float = 0.2  # cap of that horizontal virtual force, fraction of m*g
    balance_damping_ratio: float = 1.0
    #: root orientation stiffness in units of m*g*lever per rad (lever: standing COM height)
    balance_orientation_stiffness: float = 0.5
    balance_orientation_damping_s: float = 0.1  # damping over stiffness of the root orientation feedback (s)
    #: yaw share of that stiffness: a foot's friction holds far less torque about the vertical than about a tilt axis
    balance_yaw_fraction: float = 0.1
    #: swing-foot placement: target shift (m) per m of root position error and per m/s of velocity error
    step_position_gain: float = 0.0
    step_velocity_gain: float = 0.1
    step_damping: float = 1e-3  # damped least squares on the root-relative foot Jacobian (m^2)


@dataclass(frozen=True)
class GenerationConfig:
    #: generated reference length per variant (20-60 s per source clip); 0 = no looping. The closed-loop
    #: tracker plays each clip once: repeating it adds no distinct motion (the ``pd`` preset loops to 30 s)
    loop_seconds: float = 0.0
    #: fixed number of cycles (overrides loop_seconds when > 0)
    cycles: int = 0
    #: linear blend to the neutral standing pose between cycles, duration drawn in [min, max] s
    blend_min_s: float = 0.2
    blend_max_s: float = 0.4
    #: a rollout starts from the reference state every this many frames (--multi-start-interval 50, the
    #: ``pd`` preset) ... Measured on the G1 dev clips (no mirrors), harness-free closed-loop rollouts fall after
    #: ~2.6 s (median): 1.6 s rollouts 1.2 s apart covered 66.0 s with 15 % falls, 2 s rollouts 1.5 s apart 58.9 s
    #: with 30 %, at the same simulated seconds per reference second (1.33)
    multi_start_interval: int = 60
    #: ... and its windows lie within this many frames (--max-window-frames 200); overlapping the next start by
    #: the warm-up, so the next rollout's settling frames are covered by this one. The rollout runs on for
    #: ``GateConfig.fall_lookahead_s`` of free physics after them (the fall look-ahead)
    rollout_frames: int = 80
    #: first frames of every rollout are settling from a kinematic state: never mined
    warmup_frames: int = 10
    #: playback speed factors (0.9-1.1x, the ``pd`` preset); warps add repeated, not distinct seconds
    time_warps: tuple[float, ...] = (1.0,)
    #: add left/right mirrored variants (RobotSpec symmetry map)
    mirror: bool = True
    #: constant heading offsets (deg). On a flat floor with heading-frame features these give near-duplicates,
    #: so the default is none; useful with an xy assist or yaw-dependent terrain
    headings_deg: tuple[float, ...] = (0.0,)
    seed: int = 0


@dataclass(frozen=True)
class GateConfig:
    """Tier 0+ gates evaluated per window; an inf/-inf threshold disables a gate."""

    # load support
    min_load_mean: float = 0.85  # mean(sum Fn)/mg
    min_load_p10: float = 0.60  # p10(sum Fn)/mg
    # harness reliance
    max_harness_p90: float = 0.15  # |F_stab|/mg
    max_harness_p95: float = 0.25
    max_harness_saturated: float = 0.05  # fraction of frames at the cap
    strict_harness_p95: float = 0.10  # stricter tier (low harness reliance): reported and flagged, not a gate
    #: "auto": the load-p10 and unloaded-frame gates apply only when the harness can lift the root (height assist);
    #: a torque-only or absent harness carries no weight, so dips of the feet's load are the motion's physics
    support_gates: Literal["auto", "on", "off"] = "auto"
    # unloaded frames
    unloaded_threshold: float = 0.60  # sum Fn/mg below this is an unloaded frame
    max_unloaded_fraction: float = 0.10
    # attitude
    max_pitch_p95_deg: float = 25.0
    max_roll_p95_deg: float = 25.0
    # slip when loaded
    loaded_foot_threshold: float = 0.10  # Fn_foot/mg above this: the foot is loaded
    slip_speed: float = SLIP_SPEED  # m/s tangential speed of a loaded foot counted as slipping (the evaluation's too)
    max_slip_rate: float = 0.15
    # non-foot bodies on the floor (knees, hands, pelvis): frames with such force above body_contact_threshold*mg
    body_contact_threshold: float = 0.05
    max_body_contact_fraction: float = 0.0
    # tracking: the simulated window must still be the reference motion (catches floating or
    # gliding references that physics silently turns into standing)
    max_root_height_error: float = 0.10  # mean |z_sim - z_ref| / standing root height
    max_velocity_error: float = 0.10  # |mean v_sim - mean v_ref| (heading frames) / sqrt(g * standing height)
    max_joint_rms_error: float = 0.25  # mean over frames of the RMS joint tracking error, rad
    #: fraction of a window's foot-frames whose contact state (the one contact rule, on the contact points) differs
    #: between simulation and reference. Catches a tracker that reaches the reference's speed by stepping where the
    #: reference's feet glide (a gliding standing sway on WildRobot: 0.52-0.67); on the G1 dev walks and jogs the
    #: windows reach at most 0.42 (p90 0.19-0.29): touch-down and lift-off timing
    max_contact_mismatch: float = 0.4
    #: falls: a window is accepted only if the robot is still up this long after its end. Every rollout runs this
    #: long past the last window it can vouch for (``GenerationConfig.rollout_frames``), so a robot that falls right
    #: after a window rejects it whether or not the fall came before the rollout's nominal end (at 0.5 s, applied
    #: only to rollouts that fell within 1.6 s, a median G1 walk falling after ~2.6 s was never seen falling). At a
    #: clip's end the look-ahead is what is left of the clip
    fall_lookahead_s: float = 1.0
    # quality scoring (sampling weights)
    score_load_mean: float = 0.95
    score_slip_rate: float = 0.05
    score_attitude_deg: float = 15.0
    #: "harness p95 close to limit": above this the score loses a point
    score_harness_close: float = 0.10


@dataclass(frozen=True)
class WindowConfig:
    window: int = 50  # W frames (1.0 s)
    stride: int = 10  # S frames (0.2 s)
    min_segment: int = 20  # frames (0.4 s)
    #: "merge": union of overlapping accepted windows; "centre": keep the centre_frames of each accepted window
    dedupe: Literal["merge", "centre"] = "merge"
    centre_frames: int = 30


@dataclass(frozen=True)
class MinerConfig:
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    gates: GateConfig = field(default_factory=GateConfig)
    windows: WindowConfig = field(default_factory=WindowConfig)
    mpc: MpcConfig = field(default_factory=MpcConfig)
    balance: BalanceConfig = field(default_factory=BalanceConfig)

    @classmethod
    def for_tracker(cls, tracker: str) -> MinerConfig:
        """Defaults of ``tracker``: the dataclass defaults with its :data:`TRACKER_PRESETS` entry applied."""
        groups = {f.name: f.default_factory() for f in fields(cls)}
        for group, values in TRACKER_PRESETS[tracker].items():
            groups[group] = replace(groups[group], **values)
        return cls(**groups)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> MinerConfig:
        groups = {f.name: f.type for f in fields(cls)}
        kinds = {
            "tracking": TrackingConfig,
            "generation": GenerationConfig,
            "gates": GateConfig,
            "windows": WindowConfig,
            "mpc": MpcConfig,
            "balance": BalanceConfig,
        }
        out = {}
        for name in groups:
            sub = dict(d.get(name, {}))
            for k, v in sub.items():
                if isinstance(v, list):
                    sub[k] = tuple(v)
            out[name] = kinds[name](**sub)
        return cls(**out)

    def digest(self, *extra: object) -> str:
        payload = json.dumps(
            {"miner_version": MINER_VERSION, "config": self.to_dict(), "extra": [str(e) for e in extra]}, sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


#: what each tracker changes from the dataclass defaults. ``pd`` reproduces the open-loop miner: its stabiliser
#: harness on, and the looping, multi-start and time warps that make up for its short rollouts
TRACKER_PRESETS: dict[str, dict[str, dict]] = {
    "mpc": {},
    "pd": {
        "tracking": {"tracker": "pd", "orient_assist": True},
        "generation": {
            "loop_seconds": 30.0,
            "multi_start_interval": 50,
            "rollout_frames": 200,
            "time_warps": (0.9, 1.0, 1.1),
        },
    },
}
