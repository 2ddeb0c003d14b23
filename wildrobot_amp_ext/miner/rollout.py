"""PD tracking rollouts in MuJoCo with a capped stabiliser harness, recording the Tier 0+ signals at the control rate.

Per control step (seed 002 "PD tracking protocol"): joint position targets from the reference go to the robot's
position actuators, the harness wrench goes to the root body's ``xfrc_applied``, then ``substeps`` ``mj_step`` calls.
``qpos`` is written only once, at the initial state of a rollout.

Signals of frame k describe the state at the start of control step k: ``qpos``/``qvel`` are copied before stepping and
the contact forces, site kinematics and actuator forces are read after the first substep, whose ``mj_forward`` stage
computed them for that same state (no extra ``mj_forward``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from wildrobot_amp_ext.miner.config import TrackingConfig
from wildrobot_amp_ext.miner.generation import ReferenceTrack, neutral_root_height
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.mjcf import FLOOR_NAME, actuator_ids, contact_site_ids, joint_dof_adr, joint_qpos_adr

GRAVITY = 9.81


@dataclass
class RolloutRecord:
    """Signals of one rollout, one row per control frame (frames [start, start + num_frames) of the reference)."""

    start: int  # reference frame of row 0
    fell: bool  # the rollout ended on a fall / instability
    qpos: np.ndarray  # (T, nq)
    qvel: np.ndarray  # (T, nv)
    foot_force: np.ndarray  # (T, F) normal force of each foot on the floor / mg
    foot_slip_speed: np.ndarray  # (T, F) Fn-weighted tangential speed of each foot's floor contacts, m/s
    body_contact_force: np.ndarray  # (T,) normal force of non-foot geoms on the floor / mg
    harness_force: np.ndarray  # (T,) |F_stab| / mg (force-equivalent of the torque included)
    harness_saturated: np.ndarray  # (T,) bool, some harness component clipped at its cap
    harness_wrench: np.ndarray  # (T, 6) applied world wrench (force, torque)
    actuator_saturation: np.ndarray  # (T,) fraction of actuators at their force limit

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
        self.wrench = np.zeros(6)

    def _cap(self, w: np.ndarray) -> bool:
        """Clip force parts and torque in place; True when anything was clipped."""
        clipped = False
        fz = w[2]
        if abs(fz) > self.force_cap:
            w[2] = math.copysign(self.force_cap, fz)
            clipped = True
        fxy = math.hypot(w[0], w[1])
        if fxy > self.force_cap:
            w[:2] *= self.force_cap / fxy
            clipped = True
        txy = math.hypot(w[3], w[4])
        if txy > self.torque_cap:
            w[3:5] *= self.torque_cap / txy
            clipped = True
        return clipped

    def __call__(self, qpos: np.ndarray, qvel: np.ndarray, ref_pos: np.ndarray, ref_vel: np.ndarray, ref_z_axis: np.ndarray) -> tuple[np.ndarray, bool]:
        """World wrench (6,) for the root and whether a cap was hit. ``qvel[3:6]`` is MuJoCo's body-frame rate."""
        if not self.enabled:
            return self.wrench, False
        w, x, y, z = qpos[3], qpos[4], qpos[5], qpos[6]
        # body z axis in world (third column of R(q))
        zx, zy, zz = 2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)
        cmd = np.zeros(6)
        if zz >= self.cos_upright:
            if self.cfg.orient_assist:
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
            if self.cfg.height_assist:
                cmd[2] = self.assist_kp * (ref_pos[2] - qpos[2]) + self.assist_kd * (ref_vel[2] - qvel[2])
            if self.cfg.xy_assist:
                cmd[0] = self.assist_kp * (ref_pos[0] - qpos[0]) + self.assist_kd * (ref_vel[0] - qvel[0])
                cmd[1] = self.assist_kp * (ref_pos[1] - qpos[1]) + self.assist_kd * (ref_vel[1] - qvel[1])
        saturated = self._cap(cmd)
        self.wrench += self.alpha * (cmd - self.wrench)
        saturated |= self._cap(self.wrench)
        return self.wrench, saturated

    def magnitude(self, wrench: np.ndarray) -> float:
        """|F_stab| / mg with the roll/pitch torque as its force-equivalent at the lever."""
        txy = math.hypot(wrench[3], wrench[4]) / self.lever
        return math.sqrt(wrench[0] ** 2 + wrench[1] ** 2 + wrench[2] ** 2 + txy * txy) / self.mg


class TrackingSim:
    """One MuJoCo model + data of a robot with floor, reused for every rollout of a worker process."""

    def __init__(self, robot: RobotSpec, cfg: TrackingConfig):
        self.robot = robot
        self.cfg = cfg
        self.model = robot.build_model(with_floor=True, timestep=cfg.physics_dt)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.qadr = joint_qpos_adr(m, robot)
        self.dadr = joint_dof_adr(m, robot)
        self.act = actuator_ids(m, robot)
        self.act_identity = bool(np.array_equal(self.act, np.arange(m.nu)))
        self.sites = contact_site_ids(m, robot)
        self.root = m.body(robot.root_body).id
        root_joint = int(m.body_jntadr[self.root])
        if root_joint < 0 or int(m.jnt_type[root_joint]) != int(mujoco.mjtJoint.mjJNT_FREE) or m.jnt_qposadr[root_joint] != 0:
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
        self.cos_fall = math.cos(math.radians(cfg.fall_angle_deg))
        self.min_height = cfg.fall_height_fraction * self.standing_height

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
        """Gain scale of the tracking PD: ``cfg.kp_scale``, or with "auto" the smallest scale >= 1 whose summed
        ankle-pitch stiffness holds the standing inverted pendulum (``auto_stiffness_margin`` * m g h_com)."""
        if self.cfg.kp_scale != "auto":
            return float(self.cfg.kp_scale)
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

    def _read_contacts(self, foot_force: np.ndarray, foot_slip: np.ndarray) -> float:
        """Per-foot floor normal force and slip speed of the current contacts into the given rows; returns the
        non-foot floor force. The floor is the plane z = 0, so the tangential velocity is the xy velocity."""
        d = self.data
        n = d.ncon
        if n == 0:
            foot_force[:] = 0.0
            foot_slip[:] = 0.0
            return 0.0
        con = d.contact
        geom = con.geom
        adr = con.efc_address
        on_floor = ((geom[:, 0] == self.floor) | (geom[:, 1] == self.floor)) & (adr >= 0)
        other = geom[:, 0] + geom[:, 1] - self.floor
        if self.elliptic:
            fn = d.efc_force[adr]
        else:
            # pyramidal cone: the normal force is the sum of the contact's 2*(dim-1) edge forces (mj_contactForce);
            # contact rows are the last, contiguous efc rows, so one reduceat sums them all
            rows = np.maximum(2 * (con.dim - 1), 1)
            if (adr >= 0).all():
                fn = np.add.reduceat(d.efc_force[adr[0] : adr[-1] + rows[-1]], adr - adr[0])
            else:
                fn = np.array([d.efc_force[a : a + r].sum() if a >= 0 else 0.0 for a, r in zip(adr, rows)])
        foot = np.where(on_floor, self.geom_foot[np.where(on_floor, other, 0)], -2)
        is_foot = foot >= 0
        body_force = float(fn[foot == -1].sum())
        fn = fn * is_foot
        # velocity of the foot body at each contact point; cvel is the spatial velocity at the tree's subtree_com
        cv = d.cvel[self.model.geom_bodyid[other]]
        arm = con.pos - d.subtree_com[self.root]
        vx = cv[:, 3] + cv[:, 1] * arm[:, 2] - cv[:, 2] * arm[:, 1]
        vy = cv[:, 4] + cv[:, 2] * arm[:, 0] - cv[:, 0] * arm[:, 2]
        idx = np.where(is_foot, foot, 0)
        force = np.bincount(idx, fn, self.num_feet)
        weighted = np.bincount(idx, fn * np.hypot(vx, vy), self.num_feet)
        foot_force[:] = force
        np.divide(weighted, force, out=foot_slip, where=force > 0)
        foot_slip[force <= 0] = 0.0
        return body_force

    # --------------------------------------------------------------------------------------------------------------
    def rollout(self, track: ReferenceTrack, start: int, num_frames: int, ref_z_axis: np.ndarray | None = None) -> RolloutRecord:
        """Track ``track`` from reference frame ``start`` for up to ``num_frames`` control frames."""
        m, d = self.model, self.data
        num_frames = max(0, min(num_frames, track.num_frames - start))
        self.set_state(track, start)
        nf = self.num_feet
        qpos = np.empty((num_frames, m.nq))
        qvel = np.empty((num_frames, m.nv))
        foot_force = np.zeros((num_frames, nf))
        foot_slip = np.zeros((num_frames, nf))
        body_force = np.zeros(num_frames)
        harness_force = np.zeros(num_frames)
        harness_sat = np.zeros(num_frames, dtype=bool)
        wrenches = np.zeros((num_frames, 6))
        act_sat = np.zeros(num_frames, dtype=np.int64)
        ref_z = track.body_z_axis[start : start + num_frames] if ref_z_axis is None else ref_z_axis[start : start + num_frames]
        ref_pos = track.root_pos[start : start + num_frames]
        ref_vel = track.root_lin_vel_w[start : start + num_frames]
        targets = track.joint_pos[start : start + num_frames]
        sat_level = self.cfg.actuator_saturation_fraction * self.force_limit
        act_force = d.actuator_force if self.act_identity else None
        extra_steps = self.cfg.substeps - 1
        harness = self.harness
        root = self.root
        cos_fall, min_height = self.cos_fall, self.min_height
        bad_qacc = int(mujoco.mjtWarning.mjWARN_BADQACC)
        fell = False
        count = 0
        for k in range(num_frames):
            if self.act_identity:
                d.ctrl[:] = targets[k]
            else:
                d.ctrl[self.act] = targets[k]
            wrench, saturated = harness(d.qpos, d.qvel, ref_pos[k], ref_vel[k], ref_z[k])
            d.xfrc_applied[root] = wrench
            qpos[k] = d.qpos
            qvel[k] = d.qvel
            mujoco.mj_step(m, d)
            # derived quantities now describe the state at the start of this control step
            body_force[k] = self._read_contacts(foot_force[k], foot_slip[k])
            forces = act_force if act_force is not None else d.actuator_force[self.act]
            act_sat[k] = np.count_nonzero(np.abs(forces) >= sat_level)
            harness_force[k] = harness.magnitude(wrench)
            harness_sat[k] = saturated
            wrenches[k] = wrench
            for _ in range(extra_steps):
                mujoco.mj_step(m, d)
            count = k + 1
            q = d.qpos
            if 1.0 - 2.0 * (q[4] * q[4] + q[5] * q[5]) < cos_fall or q[2] < min_height or d.warning[bad_qacc].number:
                fell = True
                break
        sl = slice(0, count)
        if count and not np.isfinite(qpos[count - 1]).all():
            fell = True
        return RolloutRecord(
            start=start,
            fell=fell,
            qpos=qpos[sl],
            qvel=qvel[sl],
            foot_force=foot_force[sl] / self.mg,
            foot_slip_speed=foot_slip[sl],
            body_contact_force=body_force[sl] / self.mg,
            harness_force=harness_force[sl],
            harness_saturated=harness_sat[sl],
            harness_wrench=wrenches[sl],
            actuator_saturation=act_sat[sl] / self.act.size,
        )

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
