"""Tracking rollouts in MuJoCo with an optional capped stabiliser harness, recording the Tier 0+ signals at the
control rate.

Per control step (the PD tracking protocol): joint position targets go to the robot's position actuators
(the reference itself with the open-loop ``pd`` tracker; the reference plus the offsets the closed-loop ``mpc``
tracker plans from the current simulated state, :mod:`miner.mpc`), the harness wrench goes to the root body's
``xfrc_applied``, then ``substeps`` ``mj_step`` calls. ``qpos`` is written only once, at the initial state of a
rollout.

Signals of frame k describe the state at the start of control step k: ``qpos``/``qvel`` are copied before stepping and
the contact forces, site kinematics and actuator forces are read after the first substep, whose ``mj_forward`` stage
computed them for that same state (no extra ``mj_forward``).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import mujoco
import numpy as np

from wildrobot_amp_ext.constants import GRAVITY
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.miner.balance import BalanceFeedback
from wildrobot_amp_ext.miner.config import BalanceConfig, MpcConfig, TrackingConfig
from wildrobot_amp_ext.miner.generation import ReferenceTrack, neutral_root_height
from wildrobot_amp_ext.miner.mpc import SamplingTracker
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.actuator_model import MujocoMotors
from wildrobot_amp_ext.robots.mjcf import (
    FLOOR_NAME,
    actuator_ids,
    build_model,
    contact_site_ids,
    joint_dof_adr,
    joint_qpos_adr,
)


@dataclass
class RolloutRecord:
    """Signals of one rollout, one row per control frame (frames [start, start + num_frames) of the reference)."""

    start: int  # reference frame of row 0
    fell: bool  # the rollout ended on a fall / instability
    qpos: np.ndarray  # (T, nq)
    qvel: np.ndarray  # (T, nv)
    foot_force: np.ndarray  # (T, F) normal force of each foot on the floor / mg
    foot_slip_speed: np.ndarray  # (T, F) horizontal speed of each loaded foot at its centre of pressure, m/s
    body_contact_force: np.ndarray  # (T,) normal force of non-foot geoms on the floor / mg
    harness_force: np.ndarray  # (T,) |F_stab| / mg (force-equivalent of the torque included)
    harness_saturated: np.ndarray  # (T,) bool, some harness component clipped at its cap
    harness_wrench: np.ndarray  # (T, 6) applied world wrench (force, torque)
    actuator_saturation: np.ndarray  # (T,) fraction of actuators at their force limit
    effort: np.ndarray  # (T,) mean |actuator force| / force limit
    target_offset: np.ndarray  # (T,) RMS offset of the PD targets from the reference joints, rad (0 with ``pd``)
    ctrl: np.ndarray  # (T, nu) actuator targets applied at each control step
    site_pos: np.ndarray  # (T, P, 3) world positions of the contact points (RobotSpec feet order)

    @property
    def num_frames(self) -> int:
        return int(self.qpos.shape[0])


class Harness:
    """Root stabiliser: roll/pitch PD torque towards the reference tilt plus optional height / xy springs.

    Every part is capped (torque as force-equivalent |tau| / lever), the sum is low-pass filtered and the
    filtered wrench is re-capped, so the applied wrench never exceeds the caps. Active only while upright."""

    def __init__(self, cfg: TrackingConfig, mass: float, lever: float):
        self.cfg = cfg
        self.mg = mass * GRAVITY
        self.lever = lever
        inertia = mass * lever * lever
        self.orient_kp = cfg.orient_kp * self.mg * lever
        self.orient_kd = 2.0 * cfg.orient_damping_ratio * math.sqrt(max(self.orient_kp, 0.0) * inertia)
        omega = 2.0 * math.pi * cfg.assist_freq_hz
        self.assist_kp = mass * omega * omega
        self.assist_kd = 2.0 * cfg.assist_damping_ratio * mass * omega
        self.torque_cap = cfg.orient_cap * self.mg * lever
        self.force_cap = cfg.assist_cap * self.mg
        self.cos_upright = math.cos(math.radians(cfg.upright_angle_deg))
        tau = 1.0 / (2.0 * math.pi * cfg.filter_cutoff_hz) if cfg.filter_cutoff_hz > 0 else 0.0
        self.alpha = cfg.control_dt / (tau + cfg.control_dt)
        self.enabled = cfg.orient_assist or cfg.height_assist or cfg.xy_assist
        self.reset()

    def reset(self) -> None:
        self.wrench = [0.0] * 6

    def _cap(self, w: list[float]) -> bool:
        """Clip the force parts and the torque of ``w`` in place; True when anything was clipped."""
        clipped = False
        if abs(w[2]) > self.force_cap:
            w[2] = math.copysign(self.force_cap, w[2])
            clipped = True
        fxy = math.hypot(w[0], w[1])
        if fxy > self.force_cap:
            scale = self.force_cap / fxy
            w[0] *= scale
            w[1] *= scale
            clipped = True
        txy = math.hypot(w[3], w[4])
        if txy > self.torque_cap:
            scale = self.torque_cap / txy
            w[3] *= scale
            w[4] *= scale
            clipped = True
        return clipped

    def __call__(self, qpos, qvel, ref_pos, ref_vel, ref_z_axis) -> tuple[list[float], bool]:
        """World wrench [fx, fy, fz, tx, ty, tz] for the root and whether a cap was hit. ``qvel[3:6]`` is MuJoCo's
        body-frame rate. Scalar Python on purpose: it runs once per control step."""
        if not self.enabled:
            return self.wrench, False
        w, x, y, z = qpos[3], qpos[4], qpos[5], qpos[6]
        # body z axis in world (third column of R(q))
        zx, zy, zz = 2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)
        cmd = [0.0] * 6
        if zz >= self.cos_upright:
            cfg = self.cfg
            if cfg.orient_assist:
                # rotation taking the body z axis onto the reference's: axis z_b x z_ref, angle between them
                rx, ry, rz = ref_z_axis
                cx, cy, cz = zy * rz - zz * ry, zz * rx - zx * rz, zx * ry - zy * rx
                s = math.sqrt(cx * cx + cy * cy + cz * cz)
                angle = math.atan2(s, zx * rx + zy * ry + zz * rz)
                k = self.orient_kp * angle / s if s > 1e-12 else 0.0
                # world angular velocity from the body-frame rate: omega_w = R(q) omega_b (x, y rows)
                bx, by, bz = qvel[3], qvel[4], qvel[5]
                wx = (1 - 2 * (y * y + z * z)) * bx + 2 * (x * y - w * z) * by + 2 * (x * z + w * y) * bz
                wy = 2 * (x * y + w * z) * bx + (1 - 2 * (x * x + z * z)) * by + 2 * (y * z - w * x) * bz
                cmd[3] = k * cx - self.orient_kd * wx
                cmd[4] = k * cy - self.orient_kd * wy
            if cfg.height_assist:
                cmd[2] = self.assist_kp * (ref_pos[2] - qpos[2]) + self.assist_kd * (ref_vel[2] - qvel[2])
            if cfg.xy_assist:
                cmd[0] = self.assist_kp * (ref_pos[0] - qpos[0]) + self.assist_kd * (ref_vel[0] - qvel[0])
                cmd[1] = self.assist_kp * (ref_pos[1] - qpos[1]) + self.assist_kd * (ref_vel[1] - qvel[1])
        saturated = self._cap(cmd)
        a = self.alpha
        wrench = [f + a * (c - f) for f, c in zip(self.wrench, cmd)]
        saturated |= self._cap(wrench)
        self.wrench = wrench
        return wrench, saturated

    def magnitude(self, wrench: np.ndarray) -> np.ndarray:
        """|F_stab| / mg of wrenches (..., 6), the roll/pitch torque as its force-equivalent at the lever."""
        wrench = np.asarray(wrench, np.float64)
        txy = np.hypot(wrench[..., 3], wrench[..., 4]) / self.lever
        return np.sqrt(np.sum(wrench[..., :3] ** 2, axis=-1) + txy * txy) / self.mg


def _grow(a: np.ndarray, cap: int, fill) -> np.ndarray:
    out = np.full((a.shape[0], cap, *a.shape[2:]), fill, dtype=a.dtype)
    out[:, : a.shape[1]] = a
    return out


@dataclass
class _RolloutBuffers:
    """One rollout's per-frame arrays, filled by the control loop (raw contacts are post-processed after it)."""

    qpos: np.ndarray  # (T, nq) before the step
    qvel: np.ndarray  # (T, nv)
    wrenches: np.ndarray  # (T, 6) harness wrench applied
    harness_sat: np.ndarray  # (T,) bool
    act_force: np.ndarray  # (T, nu)
    ncon: np.ndarray  # (T,) contacts after the first substep
    cgeom: np.ndarray  # (T, cap, 2) their geoms (-1: none); cap grows with the most contacts seen
    cpos: np.ndarray  # (T, cap, 3)
    cfn: np.ndarray  # (T, cap) normal forces
    foot_cvel: np.ndarray  # (T, F, 6)
    com: np.ndarray  # (T, 3) subtree centre of mass of the root
    site_pos: np.ndarray  # (T, P, 3)
    offsets: np.ndarray  # (T,) RMS target offset of the closed-loop tracker
    ctrls: np.ndarray  # (T, nu) applied targets

    @classmethod
    def allocate(cls, sim: TrackingSim, num_frames: int, ctrls: np.ndarray) -> _RolloutBuffers:
        m, cap = sim.model, sim.contact_capacity
        return cls(
            qpos=np.empty((num_frames, m.nq)),
            qvel=np.empty((num_frames, m.nv)),
            wrenches=np.zeros((num_frames, 6)),
            harness_sat=np.zeros(num_frames, dtype=bool),
            act_force=np.zeros((num_frames, m.nu)),
            ncon=np.zeros(num_frames, dtype=np.int64),
            cgeom=np.full((num_frames, cap, 2), -1, dtype=np.int64),
            cpos=np.zeros((num_frames, cap, 3)),
            cfn=np.zeros((num_frames, cap)),
            foot_cvel=np.zeros((num_frames, sim.num_feet, 6)),
            com=np.zeros((num_frames, 3)),
            site_pos=np.zeros((num_frames, sim.sites.size, 3)),
            offsets=np.zeros(num_frames),
            ctrls=ctrls,
        )


class TrackingSim:
    """One MuJoCo model + data of a robot with floor, reused for every rollout of a worker process."""

    def __init__(
        self, robot: RobotSpec, cfg: TrackingConfig, mpc: MpcConfig | None = None, balance: BalanceConfig | None = None
    ):
        self.robot = robot
        self.cfg = cfg
        self.model = build_model(robot, with_floor=True, timestep=cfg.physics_dt)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.qadr = joint_qpos_adr(m, robot)
        self.dadr = joint_dof_adr(m, robot)
        self.act = actuator_ids(m, robot)
        self.act_identity = bool(np.array_equal(self.act, np.arange(m.nu)))
        self.sites = contact_site_ids(m, robot)
        self.root = m.body(robot.root_body).id
        root_joint = int(m.body_jntadr[self.root])
        if (
            root_joint < 0
            or int(m.jnt_type[root_joint]) != int(mujoco.mjtJoint.mjJNT_FREE)
            or m.jnt_qposadr[root_joint] != 0
        ):
            raise ValueError(f"{robot.name}: root body '{robot.root_body}' must carry the model's first (free) joint")
        self.floor = m.geom(FLOOR_NAME).id
        self.geom_foot = self._geom_foot_map()
        if cfg.floor_friction is not None:
            # a higher priority makes the floor's friction the contact's, instead of the max over both geoms
            m.geom_priority[self.floor] = int(m.geom_priority.max()) + 1
            m.geom_friction[self.floor, 0] = cfg.floor_friction
        self.num_feet = len(robot.feet)
        self.mass = float(m.body_subtreemass[self.root])
        self.mg = self.mass * GRAVITY
        self.elliptic = int(m.opt.cone) == int(mujoco.mjtCone.mjCONE_ELLIPTIC)
        self.site_body = m.site_bodyid[self.sites]
        self.force_limit = np.abs(m.actuator_forcerange[self.act]).max(axis=1)
        self.standing_height = neutral_root_height(robot)
        self.lever = self._standing_com_height()
        self.kp_scale = self._kp_scale()
        if self.kp_scale != 1.0:
            kd_scale = math.sqrt(self.kp_scale)  # same damping ratio
            m.actuator_gainprm[self.act, 0] *= self.kp_scale
            m.actuator_biasprm[self.act, 1] *= self.kp_scale
            m.actuator_biasprm[self.act, 2] *= kd_scale
        self.harness = Harness(cfg, self.mass, self.lever)
        self.foot_bodies = np.array([m.body(f.body).id for f in robot.feet], dtype=np.int64)
        self.contact_capacity = 16
        # every contact pair has the same pyramid size when all colliding geoms share condim (the usual case)
        dims = {int(c) for c in m.geom_condim[(m.geom_contype > 0) | (m.geom_conaffinity > 0)]}
        self.uniform_pyramid = (
            len(dims) == 1 and int(m.opt.cone) == int(mujoco.mjtCone.mjCONE_PYRAMIDAL) and not any(m.pair_dim)
        )
        self.pyramid_rows = max(2 * (dims.pop() - 1), 1) if self.uniform_pyramid else 0
        self.cos_fall = math.cos(math.radians(cfg.fall_angle_deg))
        self.min_height = cfg.fall_height_fraction * self.standing_height
        self.tracker = None
        if cfg.tracker == "mpc":
            balance = balance or BalanceConfig()
            feedback = BalanceFeedback(robot, m, balance, self.act, self.lever) if balance.balance else None
            self.tracker = SamplingTracker(robot, m, cfg, mpc or MpcConfig(), self.act, self.qadr, feedback)
        # last: the planner and the balance feedback above copied the position actuators' gains
        self.motors = self._actuator_model() if cfg.actuator_model else None

    def _actuator_model(self) -> MujocoMotors:
        """The explicit actuator model on the tracking PD's (scaled) gains; ``ctrl`` becomes the motor torque."""
        m, am = self.model, self.robot.actuator_model
        if am is None:
            raise InputError(self.robot.yaml_path, "actuator_model", "the robot YAML has no actuator_model block",
                             "add one, or mine without actuator_model")  # fmt: skip
        kp, kd = m.actuator_gainprm[self.act, 0].copy(), -m.actuator_biasprm[self.act, 2].copy()
        return MujocoMotors(m, self.act, self.dadr, self.qadr, am, kp, kd, self.cfg.physics_dt)

    def _geom_foot_map(self) -> np.ndarray:
        """geom -> foot index for the geoms of each foot body's subtree, -1 elsewhere."""
        m = self.model
        out = np.full(m.ngeom, -1, dtype=np.int64)
        for f, foot in enumerate(self.robot.feet):
            fb = m.body(foot.body).id
            for g in range(m.ngeom):
                b = int(m.geom_bodyid[g])
                while b > 0 and b != fb:
                    b = int(m.body_parentid[b])
                if b == fb:
                    out[g] = f
        return out

    def _standing_com_height(self) -> float:
        d = self.data
        mujoco.mj_resetData(self.model, d)
        d.qpos[:3] = [0, 0, self.standing_height]
        d.qpos[3:7] = [1, 0, 0, 0]
        d.qpos[self.qadr] = self.robot.default_joint_pos
        mujoco.mj_kinematics(self.model, d)
        mujoco.mj_comPos(self.model, d)
        return float(d.subtree_com[self.root][2])

    def ankle_pitch_joints(self) -> list[int]:
        """Per foot, the RobotSpec index of the hinge nearest the foot whose axis is the lateral (y) axis."""
        m, d = self.model, self.data
        column = {int(m.joint(n).id): i for i, n in enumerate(self.robot.joint_names)}
        found = []
        for foot in self.robot.feet:
            b = m.body(foot.body).id
            while b > 0:
                for j in range(int(m.body_jntadr[b]), int(m.body_jntadr[b]) + int(m.body_jntnum[b])):
                    if j in column and abs(float(d.xaxis[j][1])) > 0.9:
                        found.append(column[j])
                        break
                else:
                    b = int(m.body_parentid[b])
                    continue
                break
        return found

    def _kp_scale(self) -> float:
        """Gain scale of the tracking PD: ``cfg.kp_scale``, or with "auto" the smallest scale >= 1 whose PD lag
        (kd/kp, falling as 1/sqrt(scale)) is at most ``max_pd_lag_s`` (closed-loop tracker), or whose summed
        ankle-pitch stiffness holds the standing inverted pendulum (``auto_stiffness_margin`` * m g h_com, open-loop
        tracker)."""
        if self.cfg.kp_scale != "auto":
            return float(self.cfg.kp_scale)
        if self.cfg.tracker != "pd":
            lag = float(np.max(self.robot.kd / np.maximum(self.robot.kp, 1e-9)))
            return max(1.0, (lag / self.cfg.max_pd_lag_s) ** 2)
        ankles = self.ankle_pitch_joints()  # xaxis is valid: _standing_com_height ran mj_kinematics
        if not ankles:
            return 1.0
        stiffness = float(np.sum(self.robot.kp[ankles]))
        needed = self.cfg.auto_stiffness_margin * self.mg * self.lever
        return max(1.0, needed / stiffness)

    # --------------------------------------------------------------------------------------------------------------
    def set_state(self, track: ReferenceTrack, frame: int) -> None:
        """Initial state of a rollout from the reference (the only qpos write)."""
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        quat = Q.normalize(track.root_quat[frame])
        d.qpos[:3] = track.root_pos[frame]
        d.qpos[3:7] = quat
        d.qpos[self.qadr] = track.joint_pos[frame]
        d.qvel[:3] = track.root_lin_vel_w[frame]
        d.qvel[3:6] = Q.rotate(Q.conjugate(quat), track.root_ang_vel_w[frame])  # MuJoCo: body-frame rate
        d.qvel[self.dadr] = track.joint_vel[frame]
        if self.cfg.init_on_floor:
            mujoco.mj_kinematics(m, d)
            d.qpos[2] -= float(d.site_xpos[self.sites, 2].min())
        mujoco.mj_forward(m, d)
        self.harness.reset()

    def _contact_normal_forces(self) -> np.ndarray:
        """Normal force of every current contact (mj_contactForce's first component, all contacts at once)."""
        d = self.data
        con = d.contact
        adr = con.efc_address
        if self.elliptic:
            return np.where(adr >= 0, d.efc_force[np.maximum(adr, 0)], 0.0)
        n = adr.size
        if self.uniform_pyramid and adr.min() >= 0:
            # pyramidal cone: the normal force is the sum of the contact's 2*(dim-1) edge forces; contact rows are the
            # last, contiguous efc rows, so one reshape sums them all
            r = self.pyramid_rows
            return d.efc_force[adr[0] : adr[0] + r * n].reshape(n, r).sum(axis=1)
        rows = np.maximum(2 * (con.dim - 1), 1)
        return np.array([d.efc_force[a : a + k].sum() if a >= 0 else 0.0 for a, k in zip(adr, rows)])

    def contact_signals(
        self,
        ncon: np.ndarray,
        geom: np.ndarray,
        pos: np.ndarray,
        fn: np.ndarray,
        foot_cvel: np.ndarray,
        com: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-frame foot signals from the raw contacts recorded during a rollout (vectorised over frames).

        Returns the normal force of each foot on the floor (T, F), its slip speed (T, F): the horizontal speed of
        the foot's material point at its centre of pressure (the floor is the plane z = 0, so tangential = xy),
        and the normal force of non-foot geoms on the floor (T,)."""
        valid = np.arange(geom.shape[1])[None, :] < ncon[:, None]
        on_floor = valid & ((geom[..., 0] == self.floor) | (geom[..., 1] == self.floor))
        other = np.where(on_floor, geom[..., 0] + geom[..., 1] - self.floor, 0)
        foot = np.where(on_floor, self.geom_foot[other], -2)
        fn = np.where(on_floor, fn, 0.0)
        body_force = np.sum(np.where(foot == -1, fn, 0.0), axis=1)
        force = np.empty((ncon.size, self.num_feet))
        slip = np.zeros((ncon.size, self.num_feet))
        for f in range(self.num_feet):
            w = np.where(foot == f, fn, 0.0)
            force[:, f] = w.sum(axis=1)
            loaded = force[:, f] > 0
            cop = np.einsum("tc,tci->ti", w, pos) / np.where(loaded, force[:, f], 1.0)[:, None]
            arm = cop - com
            omega, lin = foot_cvel[:, f, :3], foot_cvel[:, f, 3:]
            vx = lin[:, 0] + omega[:, 1] * arm[:, 2] - omega[:, 2] * arm[:, 1]
            vy = lin[:, 1] + omega[:, 2] * arm[:, 0] - omega[:, 0] * arm[:, 2]
            slip[:, f] = np.where(loaded, np.hypot(vx, vy), 0.0)
        return force, slip, body_force

    def current_contact_signals(self) -> tuple[np.ndarray, np.ndarray, float]:
        """:meth:`contact_signals` of the data's current contacts (after mj_forward/mj_step): force, slip, body."""
        d = self.data
        n = d.ncon
        con = d.contact
        fn = self._contact_normal_forces() if n else np.zeros(0)
        force, slip, body = self.contact_signals(
            np.array([n]),
            con.geom[None],
            con.pos[None],
            fn[None],
            d.cvel[self.foot_bodies][None],
            d.subtree_com[self.root][None],
        )
        return force[0], slip[0], float(body[0])

    # --------------------------------------------------------------------------------------------------------------
    def rollout(
        self, track: ReferenceTrack, start: int, num_frames: int, ref_z_axis: np.ndarray | None = None, seed: int = 0
    ) -> RolloutRecord:
        """Track ``track`` from reference frame ``start`` for up to ``num_frames`` control frames (``seed``: the
        closed-loop tracker's sampling noise, with the track and start)."""
        m = self.model
        num_frames = max(0, min(num_frames, track.num_frames - start))
        self.set_state(track, start)
        sl = slice(start, start + num_frames)
        ref_z = (track.body_z_axis if ref_z_axis is None else ref_z_axis)[sl].tolist()
        targets = track.joint_pos[sl] if self.act_identity else np.zeros((num_frames, m.nu))
        if not self.act_identity:
            targets[:, self.act] = track.joint_pos[sl]
        ctrls = targets.copy() if self.tracker is None else np.zeros((num_frames, m.nu))
        buf = _RolloutBuffers.allocate(self, num_frames, ctrls)
        self._start_controllers(track, start, seed)
        count, fell = self._step_frames(track, start, buf, targets, ref_z)
        return self._record(start, fell, count, buf)

    def _start_controllers(self, track: ReferenceTrack, start: int, seed: int) -> None:
        """Seed the closed-loop tracker and draw the motors' per-joint delays for this rollout."""
        key = (seed, start, zlib.crc32(f"{track.name}|{track.variant.tag}".encode()))
        if self.tracker is not None:
            self.tracker.start(track, start, key)
        if self.motors is not None:
            self.motors.reset(rng=np.random.default_rng(key))  # the delay per joint, drawn per rollout

    def _step_frames(
        self, track: ReferenceTrack, start: int, buf: _RolloutBuffers, targets: np.ndarray, ref_z: list
    ) -> tuple[int, bool]:
        """The control loop: targets and harness wrench in, ``substeps`` physics steps, the frame's signals into
        ``buf``; stops at a fall. Returns the frames recorded and whether it fell."""
        m, d = self.model, self.data
        num_frames = buf.qpos.shape[0]
        ref_pos = track.root_pos[start : start + num_frames].tolist()
        ref_vel = track.root_lin_vel_w[start : start + num_frames].tolist()
        # the buffers as locals: this loop runs once per control frame of every rollout
        qpos, qvel, wrenches, harness_sat, act_force = buf.qpos, buf.qvel, buf.wrenches, buf.harness_sat, buf.act_force
        ncon, foot_cvel, com, site_pos, offsets, ctrls = (
            buf.ncon, buf.foot_cvel, buf.com, buf.site_pos, buf.offsets, buf.ctrls,
        )  # fmt: skip
        cgeom, cpos, cfn = buf.cgeom, buf.cpos, buf.cfn
        cap = self.contact_capacity
        tracker, motors, sites = self.tracker, self.motors, self.sites
        extra_steps = self.cfg.substeps - 1
        harness, root, foot_bodies = self.harness, self.root, self.foot_bodies
        cos_fall, min_height = self.cos_fall, self.min_height
        bad_qacc = int(mujoco.mjtWarning.mjWARN_BADQACC)
        step = mujoco.mj_step
        for k in range(num_frames):
            if tracker is None:
                d.ctrl[:] = targets[k]
            else:
                d.ctrl[self.act], offset = tracker.targets(start + k, d)
                offsets[k] = math.sqrt(float(offset @ offset) / offset.size)
                ctrls[k] = d.ctrl
            if motors is not None:
                motors.apply(d, d.ctrl[self.act])  # ctrl: position targets -> this physics step's torque
            qp, qv = d.qpos, d.qvel
            wrench, harness_sat[k] = harness(qp, qv, ref_pos[k], ref_vel[k], ref_z[k])
            d.xfrc_applied[root] = wrench
            wrenches[k] = wrench
            qpos[k] = qp
            qvel[k] = qv
            step(m, d)
            # derived quantities now describe the state at the start of this control step
            n = d.ncon
            if n:
                if n > cap:
                    cap = self._grow_capacity(n)
                    cgeom, cpos, cfn = _grow(cgeom, cap, -1), _grow(cpos, cap, 0.0), _grow(cfn, cap, 0.0)
                    buf.cgeom, buf.cpos, buf.cfn = cgeom, cpos, cfn
                con = d.contact
                ncon[k] = n
                cgeom[k, :n] = con.geom
                cpos[k, :n] = con.pos
                cfn[k, :n] = self._contact_normal_forces()
            foot_cvel[k] = d.cvel[foot_bodies]
            site_pos[k] = d.site_xpos[sites]
            com[k] = d.subtree_com[root]
            act_force[k] = d.actuator_force
            for _ in range(extra_steps):
                if motors is not None:
                    motors.apply(d)
                step(m, d)
            q = d.qpos
            if 1.0 - 2.0 * (q[4] * q[4] + q[5] * q[5]) < cos_fall or q[2] < min_height or d.warning[bad_qacc].number:
                return k + 1, True
        return num_frames, False

    def _record(self, start: int, fell: bool, count: int, buf: _RolloutBuffers) -> RolloutRecord:
        """The first ``count`` frames of the buffers as a record: contact signals post-processed, forces in mg."""
        sl = slice(0, count)
        if count and not np.isfinite(buf.qpos[count - 1]).all():
            fell = True
        foot_force, foot_slip, body_force = self.contact_signals(
            buf.ncon[sl], buf.cgeom[sl], buf.cpos[sl], buf.cfn[sl], buf.foot_cvel[sl], buf.com[sl]
        )
        force = np.abs(buf.act_force[sl][:, self.act])
        saturated = force >= self.cfg.actuator_saturation_fraction * self.force_limit
        return RolloutRecord(
            start=start,
            fell=fell,
            qpos=buf.qpos[sl],
            qvel=buf.qvel[sl],
            foot_force=foot_force / self.mg,
            foot_slip_speed=foot_slip,
            body_contact_force=body_force / self.mg,
            harness_force=self.harness.magnitude(buf.wrenches[sl]),
            harness_saturated=buf.harness_sat[sl],
            harness_wrench=buf.wrenches[sl],
            actuator_saturation=saturated.mean(axis=1),
            effort=(force / self.force_limit).mean(axis=1),
            target_offset=buf.offsets[sl],
            ctrl=buf.ctrls[sl],
            site_pos=buf.site_pos[sl],
        )

    def _grow_capacity(self, n: int) -> int:
        self.contact_capacity = max(2 * self.contact_capacity, n)
        return self.contact_capacity

    # --------------------------------------------------------------------------------------------------------------
    def site_kinematics(self, qpos: np.ndarray, qvel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World positions and velocities (N, P, 3) of the contact-point sites for recorded states (exact
        MuJoCo kinematics, computed only for the frames that are kept)."""
        m = self.model
        d = mujoco.MjData(m)
        n = qpos.shape[0]
        pos = np.empty((n, self.sites.size, 3))
        cvel = np.empty((n, self.sites.size, 6))
        com = np.empty((n, 3))
        for i in range(n):
            d.qpos[:] = qpos[i]
            d.qvel[:] = qvel[i]
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            mujoco.mj_comVel(m, d)
            pos[i] = d.site_xpos[self.sites]
            cvel[i] = d.cvel[self.site_body]
            com[i] = d.subtree_com[self.root]
        arm = pos - com[:, None, :]
        vel = cvel[..., 3:] + np.cross(cvel[..., :3], arm)
        return pos, vel
