"""Balance feedback for the closed-loop tracker: joint-target offsets computed from the simulated state each frame.

With the robot's own (soft) PD gains a joint target offset is a torque (``offset * kp``), so the feedback is written
as torques and divided by kp:

* **velocity lead** ``kd * qdot_ref`` (optional, off by default: it measured slower walks): a position actuator damps
  towards zero velocity, so every moving joint lags its reference by ``kd / kp * qdot`` (0.06 s on the G1);
* **virtual model control** of the root through the stance legs: a root wrench (weight, PD on position, velocity,
  orientation and angular velocity towards the reference) shared by the feet on the ground, mapped to each stance
  leg's joints by ``-J^T W`` (J: that leg's joints to the foot's twist seen from the root);
* **gravity compensation** of the other joints (swing leg, waist, arms): ``qfrc_bias`` of their dofs;
* **foot placement** of a swing foot (SIMBICON-style): the foot's target moves by the root's position and velocity
  error, mapped to its leg's joints by damped least squares on the root-relative foot Jacobian.

A foot is a stance foot when the reference has it in contact (the one contact rule of
:mod:`wildrobot_amp_ext.features.contact`) and one of its contact points is near the floor in the simulation; when
no foot is both, the feet near the floor carry the wrench. Kinematics come from the data as the last ``mj_step``
left them (one physics step, 2 ms, old): no extra ``mj_forward`` per control frame.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np
import torch

from wildrobot_amp_ext.constants import GRAVITY
from wildrobot_amp_ext.features.contact import POINTS_PER_FOOT, ContactRule
from wildrobot_amp_ext.miner.config import BalanceConfig
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.mjcf import contact_site_ids, joint_dof_adr


def leg_chains(robot: RobotSpec, model: mujoco.MjModel) -> list[np.ndarray]:
    """Per foot, the RobotSpec indices of the joints on the chain from the root body to that foot's body."""
    root = model.body(robot.root_body).id
    body_of = np.array([int(model.jnt_bodyid[model.joint(n).id]) for n in robot.joint_names])
    chains = []
    for foot in robot.feet:
        b, chain = model.body(foot.body).id, set()
        while b > 0 and b != root:
            chain.add(b)
            b = int(model.body_parentid[b])
        chains.append(np.flatnonzero(np.isin(body_of, list(chain))))
    return chains


def trajectory_foot_contacts(sites: np.ndarray, dt: float, rule: ContactRule) -> np.ndarray:
    """(T, F) bool: feet in contact along a trajectory of contact points (T, P, 3) - the reference's or a rollout's -
    by the features' contact rule, velocities by finite differences."""
    vel = np.gradient(sites, dt, axis=0) if sites.shape[0] > 1 else np.zeros_like(sites)
    return rule.foot_contacts(torch.from_numpy(sites), torch.from_numpy(vel)).numpy()


class BalanceFeedback:
    """Feedback joint-target offsets (RobotSpec joint order, rad) for the current simulated state."""

    def __init__(self, robot: RobotSpec, model: mujoco.MjModel, cfg: BalanceConfig, act: np.ndarray, lever: float):
        self.cfg = cfg
        self.model = model
        self.dadr = joint_dof_adr(model, robot)
        self.kp = model.actuator_gainprm[act, 0].copy()
        self.kd = -model.actuator_biasprm[act, 2].copy()
        self.legs = leg_chains(robot, model)
        self.leg_dofs = [self.dadr[c] for c in self.legs]
        self.foot_bodies = [model.body(f.body).id for f in robot.feet]
        self.sites = contact_site_ids(model, robot).reshape(len(robot.feet), POINTS_PER_FOOT)
        self.mass = float(model.body_subtreemass[model.body(robot.root_body).id])
        self.near_floor = 2.0 * ContactRule().height
        self.jacp = np.zeros((3, model.nv))
        self.jacr = np.zeros((3, model.nv))
        w_xy, w_z = 2 * math.pi * cfg.balance_position_hz, 2 * math.pi * cfg.balance_height_hz
        self.kp_xy, self.kd_xy = self.mass * w_xy**2, 2 * cfg.balance_damping_ratio * self.mass * w_xy
        self.kp_z, self.kd_z = self.mass * w_z**2, 2 * cfg.balance_damping_ratio * self.mass * w_z
        self.k_rot = cfg.balance_orientation_stiffness * self.mass * GRAVITY * lever
        self.arms_and_waist = np.ones(self.kp.size, bool)
        for chain in self.legs:
            self.arms_and_waist[chain] = False
        self.stats = {"stance_frames": 0, "swing_frames": 0}
        self._track = None

    def start(self, track, stance: np.ndarray) -> None:
        """Per track (once): the reference's stance feet (T, F) and the velocity lead of every frame."""
        if self._track is not track:
            self._track = track
            self.stance = stance
            lead = self.kd / self.kp if self.cfg.velocity_lead else np.zeros_like(self.kp)
            self.lead = lead * track.joint_vel

    def offsets(self, frame: int, data: mujoco.MjData) -> np.ndarray:
        """(J,) offsets of the state feedback at ``frame`` (the velocity lead is ``self.lead[frame]``, apart)."""
        m, d = self.model, data
        k = min(frame, self._track.num_frames - 1)
        force, moment, e_pos, e_vel = self._root_wrench(k, d)
        on_floor = d.site_xpos[self.sites, 2].min(axis=1) < self.near_floor
        swing = ~self.stance[k]
        stance = on_floor & ~swing
        if not stance.any():
            stance = on_floor
        share = 1.0 / max(int(stance.sum()), 1)
        tau = np.zeros(self.kp.size)
        tau[self.arms_and_waist] = d.qfrc_bias[self.dadr[self.arms_and_waist]]
        shift = -(self.cfg.step_position_gain * e_pos[:2] + self.cfg.step_velocity_gain * e_vel[:2])
        step = np.zeros(self.kp.size)
        for f, chain in enumerate(self.legs):
            dofs = self.leg_dofs[f]
            if stance[f]:
                mujoco.mj_jac(m, d, self.jacp, self.jacr, d.qpos[:3], self.foot_bodies[f])
                tau[chain] -= share * (self.jacp[:, dofs].T @ force + self.jacr[:, dofs].T @ moment)
                continue
            tau[chain] = d.qfrc_bias[dofs]
            if swing[f]:
                mujoco.mj_jac(m, d, self.jacp, self.jacr, d.xpos[self.foot_bodies[f]], self.foot_bodies[f])
                jp = self.jacp[:2, dofs]
                step[chain] = jp.T @ np.linalg.solve(jp @ jp.T + self.cfg.step_damping * np.eye(2), shift)
        self.stats["stance_frames"] += int(stance.any())
        self.stats["swing_frames"] += int(swing.any())
        return tau / self.kp + step

    def _root_wrench(self, k: int, d: mujoco.MjData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """World force and moment the stance legs should apply to the root at reference frame ``k``, and the root's
        position and velocity errors."""
        cfg, tr = self.cfg, self._track
        quat = d.qpos[3:7]
        e_pos, e_vel = tr.root_pos[k] - d.qpos[:3], tr.root_lin_vel_w[k] - d.qvel[:3]
        e_rot = Q.to_rotvec(Q.multiply(tr.root_quat[k], Q.conjugate(quat)))  # world frame
        e_omega = tr.root_ang_vel_w[k] - Q.rotate(quat, d.qvel[3:6])  # MuJoCo's root rate is body-frame
        force = np.empty(3)
        force[:2] = self.kp_xy * e_pos[:2] + self.kd_xy * e_vel[:2]
        force[2] = self.mass * GRAVITY + self.kp_z * e_pos[2] + self.kd_z * e_vel[2]
        # a stance foot pushes the root sideways only as far as its centre of pressure and friction allow
        horizontal = math.hypot(force[0], force[1])
        cap = cfg.balance_max_horizontal_force * self.mass * GRAVITY
        if horizontal > cap:
            force[:2] *= cap / horizontal
        moment = self.k_rot * (e_rot + cfg.balance_orientation_damping_s * e_omega)
        moment[2] *= cfg.balance_yaw_fraction
        return force, moment, e_pos, e_vel
