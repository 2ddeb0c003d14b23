"""Miner configuration: every threshold of seed 002 as a dataclass default, overridable from the command line.

Groups: :class:`TrackingConfig` (PD rollout and stabiliser harness), :class:`GenerationConfig` (looping, blends,
multi-start, augmentations), :class:`GateConfig` (Tier 0+ gates and scoring), :class:`WindowConfig` (windowing and
dedupe). :class:`MinerConfig` bundles them and hashes itself for the result cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

#: bump when a change of the miner's code changes its results (invalidates cached clip results)
MINER_VERSION = 1

DEDUPE_MODES = ("merge", "centre")
#: fields whose values are a fixed set (command-line choices)
FIELD_CHOICES = {"dedupe": DEDUPE_MODES}


@dataclass(frozen=True)
class TrackingConfig:
    control_hz: float = 50.0
    substeps: int = 10  # physics at control_hz * substeps (500 Hz)
    #: gain scale of the tracking PD over the RobotSpec gains (kd scaled by its square root: same damping ratio).
    #: "auto": the smallest scale >= 1 whose ankle-pitch stiffness alone holds the standing inverted pendulum;
    #: an open-loop tracker has no balance feedback, unlike the policy these gains were tuned for
    kp_scale: float | Literal["auto"] = "auto"
    auto_stiffness_margin: float = 1.5
    # --- stabiliser harness on the root body (xfrc_applied), each part capped as a fraction of m*g ----------------
    #: roll/pitch PD torque towards the reference's roll/pitch (seed 002: "replace height spring with orientation")
    orient_assist: bool = True
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
    #: the harness only acts while the root tilt is below this (seed 002: orientation-gated harness)
    upright_angle_deg: float = 25.0
    #: first-order low-pass on the commanded wrench (seed 002: low-frequency harness, filter impulses)
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

    @property
    def control_dt(self) -> float:
        return 1.0 / self.control_hz

    @property
    def physics_dt(self) -> float:
        return 1.0 / (self.control_hz * self.substeps)


@dataclass(frozen=True)
class GenerationConfig:
    #: generated reference length per variant (seed 002: 20-60 s per source clip); 0 = no looping
    loop_seconds: float = 30.0
    #: fixed number of cycles (overrides loop_seconds when > 0)
    cycles: int = 0
    #: linear blend to the neutral standing pose between cycles, duration drawn in [min, max] s
    blend_min_s: float = 0.2
    blend_max_s: float = 0.4
    #: a rollout starts from the reference state every this many frames (seed 002: --multi-start-interval 50) ...
    multi_start_interval: int = 50
    #: ... and runs at most this many frames (seed 002: --max-window-frames 200)
    rollout_frames: int = 200
    #: first frames of every rollout are settling from a kinematic state: never mined
    warmup_frames: int = 10
    #: playback speed factors (seed 002: 0.9-1.1x)
    time_warps: tuple[float, ...] = (0.9, 1.0, 1.1)
    #: add left/right mirrored variants (RobotSpec symmetry map)
    mirror: bool = True
    #: constant heading offsets (deg). On a flat floor with heading-frame features these give near-duplicates,
    #: so the default is none; useful with an xy assist or yaw-dependent terrain
    headings_deg: tuple[float, ...] = (0.0,)
    seed: int = 0


@dataclass(frozen=True)
class GateConfig:
    """Tier 0+ gates (seed 002, v1.1.0) evaluated per window; an inf/-inf threshold disables a gate."""

    # load support
    min_load_mean: float = 0.85  # mean(sum Fn)/mg
    min_load_p10: float = 0.60  # p10(sum Fn)/mg
    # harness reliance
    max_harness_p90: float = 0.15  # |F_stab|/mg
    max_harness_p95: float = 0.25
    max_harness_saturated: float = 0.05  # fraction of frames at the cap
    strict_harness_p95: float = 0.10  # stricter tier (Blocker B target): reported and flagged, not a gate
    # unloaded frames
    unloaded_threshold: float = 0.60  # sum Fn/mg below this is an unloaded frame
    max_unloaded_fraction: float = 0.10
    # attitude
    max_pitch_p95_deg: float = 25.0
    max_roll_p95_deg: float = 25.0
    # slip when loaded
    loaded_foot_threshold: float = 0.10  # Fn_foot/mg above this: the foot is loaded
    slip_speed: float = 0.10  # m/s tangential speed of a loaded foot counted as slipping
    max_slip_rate: float = 0.15
    # non-foot bodies on the floor (knees, hands, pelvis): frames with such force above body_contact_threshold*mg
    body_contact_threshold: float = 0.05
    max_body_contact_fraction: float = 0.0
    # tracking: the simulated window must still be the reference motion (not in seed 002; catches floating or
    # gliding references that physics silently turns into standing)
    max_root_height_error: float = 0.10  # mean |z_sim - z_ref| / standing root height
    max_velocity_error: float = 0.10  # |mean v_sim - mean v_ref| (heading frames) / sqrt(g * standing height)
    max_joint_rms_error: float = 0.25  # mean over frames of the RMS joint tracking error, rad
    # falls: frames this close before a rollout's fall are its onset, not reference material
    fall_margin_s: float = 0.5
    # scoring (seed 002 "quality scoring")
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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> MinerConfig:
        groups = {f.name: f.type for f in fields(cls)}
        kinds = {"tracking": TrackingConfig, "generation": GenerationConfig, "gates": GateConfig, "windows": WindowConfig}
        out = {}
        for name in groups:
            sub = dict(d.get(name, {}))
            for k, v in sub.items():
                if isinstance(v, list):
                    sub[k] = tuple(v)
            out[name] = kinds[name](**sub)
        return cls(**out)

    def digest(self, *extra: object) -> str:
        payload = json.dumps({"miner_version": MINER_VERSION, "config": self.to_dict(), "extra": [str(e) for e in extra]}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
