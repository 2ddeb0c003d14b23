"""Closed-loop tracker: sampling MPC over PD target offsets (MPPI on a receding horizon, MuJoCo's C rollouts).

The robot's PD actuators (its effort limits, gains per ``TrackingConfig.kp_scale``) track
``reference + feedback + offset``: the balance feedback (:mod:`miner.balance`, recomputed from the simulated state
every control frame and held over a plan's horizon) plus the planned offsets.
``samples=0`` leaves the feedback alone. Every
``replan_frames`` control frames it rolls out ``samples`` offset plans from the current simulated state (one
``mujoco.rollout`` call: the batch runs in C, no per-sample Python), scores them against the reference over the
horizon and sets the plan to their cost-weighted mean. A plan is a linear spline of ``knots`` offset vectors over
the horizon, warm-started from the previous plan shifted by the time that passed. Sample 0 is the warm-started
plan, sample 1 the bare reference (zero offset), the rest are Gaussian perturbations of the plan.

The planning model is the tracked model with a coarser step (``plan_substeps`` per control frame, implicitfast
integration, fewer solver iterations) and frame-position sensors on the contact points; the tracked model, its
gains, effort limits and floor friction are unchanged, and the simulated (recorded) physics is never written to.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np
from mujoco import rollout as mj_rollout

from wildrobot_amp_ext.features.contact import POINTS_PER_FOOT, ContactRule
from wildrobot_amp_ext.miner.balance import BalanceFeedback, leg_chains, trajectory_foot_contacts
from wildrobot_amp_ext.miner.config import MpcConfig, TrackingConfig
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.kinematics import ForwardKinematics
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.mjcf import build_mjspec, contact_site_ids, contact_site_name


def spline_weights(times: np.ndarray, horizon: float, knots: int) -> np.ndarray:
    """(len(times), knots) weights of a linear spline with knots evenly spaced over [0, horizon] (held after)."""
    pos = np.clip(np.asarray(times, np.float64) / horizon, 0.0, 1.0) * (knots - 1)
    lo = np.minimum(np.floor(pos).astype(np.int64), knots - 2) if knots > 1 else np.zeros(pos.shape, np.int64)
    w = np.zeros((pos.size, knots))
    if knots == 1:
        w[:, 0] = 1.0
        return w
    frac = pos - lo
    w[np.arange(pos.size), lo] = 1.0 - frac
    w[np.arange(pos.size), lo + 1] = frac
    return w


class ReferenceTargets:
    """What the cost compares against, per reference frame of a track (computed once per track)."""

    def __init__(self, track, fk: ForwardKinematics, rule: ContactRule):
        self.track = track
        self.joint_pos = track.joint_pos
        self.root_pos = track.root_pos
        self.yaw = Q.yaw(track.root_quat)
        self.z_axis = track.body_z_axis
        self.vel_xy = track.root_lin_vel_w[:, :2]
        self.sites = fk.site_positions(track.root_pos, track.root_quat, track.joint_pos)  # (T, S, 3)
        self.stance = trajectory_foot_contacts(self.sites, track.dt, rule)  # (T, F)
        self.num_frames = track.num_frames


class SamplingTracker:
    """MPPI over PD target offsets; :meth:`start` for each rollout, then :meth:`targets` at every control frame."""

    def __init__(
        self,
        robot: RobotSpec,
        model: mujoco.MjModel,
        tracking: TrackingConfig,
        cfg: MpcConfig,
        actuators: np.ndarray,
        qadr: np.ndarray,
        balance: BalanceFeedback | None = None,
    ):
        self.cfg = cfg
        self.balance = balance
        self.robot = robot
        self.model = model  # the tracked model: its state starts every plan
        self.act = actuators
        self.qadr = qadr
        self.plan_model = self._planning_model(robot, model, tracking, cfg)
        self.plan_data = mujoco.MjData(self.plan_model)
        self.sites = contact_site_ids(model, robot)
        self.runner = mj_rollout.Rollout(nthread=0)
        self.nstate = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)
        self.fk = ForwardKinematics(robot, model=self.plan_model)
        self.contact_rule = ContactRule()
        kp = model.actuator_gainprm[actuators, 0]
        force = np.abs(model.actuator_forcerange[actuators]).max(axis=1)
        # an offset beyond effort / kp only saturates the actuator: that is the effort limit on offsets
        self.offset_bound = force / np.maximum(kp, 1e-9)
        jnt = np.array([model.joint(n).id for n in robot.joint_names])
        limited = model.jnt_limited[jnt].astype(bool)
        self.target_lo = np.where(limited, model.jnt_range[jnt, 0], -np.inf)
        self.target_hi = np.where(limited, model.jnt_range[jnt, 1], np.inf)
        # sampling the arms spends samples on joints that barely move the centre of mass: "legs" perturbs only the
        # joints on the chains from the root to the feet
        sampled = (
            np.isin(np.arange(len(robot.joint_names)), np.concatenate(leg_chains(robot, model)))
            if cfg.offset_joints == "legs"
            else np.ones(len(robot.joint_names), bool)
        )
        self.sigma = np.where(sampled, np.minimum(cfg.noise_rad, self.offset_bound), 0.0)
        self.control_dt = tracking.control_dt
        horizon = cfg.horizon_frames * self.control_dt
        self.knot_times = np.linspace(0.0, horizon, cfg.knots)
        self.weights = spline_weights(np.arange(cfg.horizon_frames) * self.control_dt, horizon, cfg.knots)  # (H, K)
        self.shift = spline_weights(self.knot_times + cfg.replan_frames * self.control_dt, horizon, cfg.knots)  # (K, K)
        self.cos_fall = math.cos(math.radians(tracking.fall_angle_deg))
        self.stats = {"replans": 0, "plan_steps": 0}
        self._ref: ReferenceTargets | None = None

    @staticmethod
    def _planning_model(
        robot: RobotSpec, model: mujoco.MjModel, tracking: TrackingConfig, cfg: MpcConfig
    ) -> mujoco.MjModel:
        spec = build_mjspec(robot, with_floor=True)
        for foot in robot.feet:
            for point in ("toe", "heel"):
                spec.add_sensor(
                    type=mujoco.mjtSensor.mjSENS_FRAMEPOS,
                    objtype=mujoco.mjtObj.mjOBJ_SITE,
                    objname=contact_site_name(foot.name, point),
                )
        spec.option.timestep = tracking.control_dt / cfg.plan_substeps
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
        spec.option.iterations = cfg.solver_iterations
        pm = spec.compile()
        # the tracked model's gains and floor (a gain scale, a floor friction) hold for the plans too
        for name in ("actuator_gainprm", "actuator_biasprm", "actuator_forcerange", "geom_friction", "geom_priority"):
            getattr(pm, name)[:] = getattr(model, name)
        return pm

    # ------------------------------------------------------------------------------------------------------------
    def start(self, track, start: int, seed_key: tuple[int, ...]) -> None:
        """Begin tracking ``track`` at reference frame ``start`` (zero plan, a noise stream per rollout)."""
        if self._ref is None or self._ref.track is not track:
            self._ref = ReferenceTargets(track, self.fk, self.contact_rule)
        self.plan = np.zeros((self.cfg.knots, self.act.size))
        if self.balance is not None:
            self.balance.start(track, self._ref.stance)
        self.plan_frame = start
        self.rng = np.random.default_rng(seed_key)

    def targets(self, frame: int, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """PD targets (RobotSpec joint order) and their offsets from the reference for control frame ``frame``."""
        k = min(frame, self._ref.num_frames - 1)
        feedback = 0.0 if self.balance is None else self.balance.offsets(frame, data)
        if (frame - self.plan_frame) % self.cfg.replan_frames == 0:
            if frame != self.plan_frame:
                self.plan = self.shift @ self.plan
            if self.cfg.samples:
                self._replan(frame, data, feedback)
            self.plan_frame = frame
        j = min(frame - self.plan_frame, self.cfg.horizon_frames - 1)
        offset = np.clip(self.weights[j] @ self.plan + feedback + self._lead(k), -self.offset_bound, self.offset_bound)
        ref = self._ref.joint_pos[k]
        target = np.clip(ref + offset, self.target_lo, self.target_hi)
        return target, target - ref

    def _lead(self, frames: int | np.ndarray) -> float | np.ndarray:
        return 0.0 if self.balance is None else self.balance.lead[frames]

    def _replan(self, frame: int, data: mujoco.MjData, feedback: float | np.ndarray) -> None:
        cfg, ref = self.cfg, self._ref
        H, r = cfg.horizon_frames, cfg.plan_substeps
        knots = np.empty((cfg.samples, cfg.knots, self.act.size))
        knots[0] = self.plan
        knots[1] = 0.0
        knots[2:] = self.plan + self.rng.standard_normal((cfg.samples - 2, cfg.knots, self.act.size)) * self.sigma
        np.clip(knots, -self.offset_bound, self.offset_bound, out=knots)
        frames = np.minimum(frame + np.arange(H), ref.num_frames - 1)
        offsets = np.einsum("hk,bkj->bhj", self.weights, knots) + (feedback + self._lead(frames))
        np.clip(offsets, -self.offset_bound, self.offset_bound, out=offsets)
        joint_targets = np.clip(ref.joint_pos[frames] + offsets, self.target_lo, self.target_hi)
        ctrl = np.zeros((cfg.samples, H, self.plan_model.nu))
        ctrl[..., self.act] = joint_targets
        ctrl = np.repeat(ctrl, r, axis=1)
        x0 = np.empty(self.nstate)
        mujoco.mj_getState(self.model, data, x0, mujoco.mjtState.mjSTATE_FULLPHYSICS)
        state, sensors = self.runner.rollout(self.plan_model, self.plan_data, x0[None], ctrl)
        sites_now = data.site_xpos[self.sites]
        cost = self._cost(
            state[:, r - 1 :: r], sensors[:, r - 1 :: r], joint_targets - ref.joint_pos[frames], frame, sites_now
        )
        self.stats["replans"] += 1
        self.stats["plan_steps"] += cfg.samples * H * r
        best = np.nanmin(cost)
        spread = max(float(np.nanmax(cost) - best), 1e-9)
        w = np.exp(-(cost - best) / (cfg.temperature * spread))
        w = np.where(np.isfinite(w), w, 0.0)
        self.plan = np.einsum("b,bkj->kj", w / w.sum(), knots)

    def _cost(
        self, state: np.ndarray, sites: np.ndarray, offsets: np.ndarray, frame: int, sites_now: np.ndarray
    ) -> np.ndarray:
        """(B,) total cost of rollouts with states (B, H, nstate) after each control frame of the horizon."""
        cfg, ref, m = self.cfg, self._ref, self.plan_model
        H = state.shape[1]
        idx = np.minimum(frame + 1 + np.arange(H), ref.num_frames - 1)
        qpos = state[..., 1 : 1 + m.nq]
        qvel = state[..., 1 + m.nq : 1 + m.nq + m.nv]
        pos, quat = qpos[..., :3], qpos[..., 3:7]
        joint_err = np.mean((qpos[..., self.qadr] - ref.joint_pos[idx]) ** 2, axis=-1)
        dz = pos[..., 2] - ref.root_pos[idx, 2]
        dxy = np.sum((pos[..., :2] - ref.root_pos[idx, :2]) ** 2, axis=-1)
        heading = 1.0 - np.cos(Q.yaw(quat) - ref.yaw[idx])
        w, x, y, z = np.moveaxis(quat, -1, 0)
        z_axis = np.stack((2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)), axis=-1)
        tilt = np.sum((z_axis - ref.z_axis[idx]) ** 2, axis=-1)
        dv = np.sum((qvel[..., :2] - ref.vel_xy[idx]) ** 2, axis=-1)
        rs = ref.sites[idx]
        s = sites[..., -3 * rs.shape[1] :].reshape(*sites.shape[:2], -1, 3)  # the contact-point sensors come last
        feet_xy = (s[..., :2] - pos[..., None, :2]) - (rs[..., :2] - ref.root_pos[idx, None, :2])
        feet = np.mean(np.sum(feet_xy**2, axis=-1) + (s[..., 2] - rs[..., 2]) ** 2, axis=-1)
        # a foot the reference plants must not slide: horizontal speed of its points, from frame to frame
        path = np.concatenate((np.broadcast_to(sites_now[None, None], (s.shape[0], 1, *s.shape[2:])), s), axis=1)
        speed2 = np.sum(np.diff(path[..., :2], axis=1) ** 2, axis=-1) / self.control_dt**2  # (B, H, S)
        planted = np.repeat(ref.stance[idx], POINTS_PER_FOOT, axis=-1)  # (H, S)
        slip = np.sum(speed2 * planted, axis=-1) / np.maximum(planted.sum(axis=-1), 1)
        effort = np.mean(offsets**2, axis=-1)
        fallen = (z_axis[..., 2] < self.cos_fall) | (pos[..., 2] < 0.5 * ref.root_pos[idx, 2])
        per_frame = (
            cfg.w_joint * joint_err
            + cfg.w_height * dz**2
            + cfg.w_position * dxy
            + cfg.w_heading * heading
            + cfg.w_upright * tilt
            + cfg.w_velocity * dv
            + cfg.w_feet * feet
            + cfg.w_slip * slip
            + cfg.w_effort * effort
            + cfg.w_fall * fallen
        )
        total = per_frame.sum(axis=1)
        return np.where(np.isfinite(total), total, np.inf)
