"""The one AMP feature function. The dataset converter, the miner and the Isaac Lab observation term all call
:func:`compute_amp_features`, so "reference features = policy features" holds by construction.

Frames: ``root_lin_vel`` and ``root_ang_vel`` are expressed in the **heading frame** (world frame rotated by the
root's yaw only: x forward along the heading, z up), so they do not depend on where the robot faces nor on its
pitch/roll. Contacts follow the one rule of :mod:`wildrobot_amp_ext.features.contact` (contact-point height and
horizontal speed), in the env and in the reference alike.
"""

from __future__ import annotations

import torch

from wildrobot_amp_ext.features.spec import FeatureSpec
from wildrobot_amp_ext.motion.state import KinematicState


def heading_yaw(quat_wxyz: torch.Tensor) -> torch.Tensor:
    w, x, y, z = quat_wxyz.unbind(-1)
    return torch.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def rotate_into_heading(vec_w: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """Express world vectors in the heading frame (rotate by -yaw about z)."""
    c, s = torch.cos(yaw), torch.sin(yaw)
    x, y, z = vec_w.unbind(-1)
    return torch.stack((c * x + s * y, -s * x + c * y, z), dim=-1)


def encode_lin_vel(vel: torch.Tensor, spec: FeatureSpec) -> torch.Tensor:
    if spec.root_lin_vel_mode == "raw":
        return vel
    if spec.root_lin_vel_mode == "clip":
        return vel.clamp(-spec.lin_vel_clip, spec.lin_vel_clip)
    speed = torch.linalg.vector_norm(vel, dim=-1, keepdim=True)
    moving = speed >= spec.lin_vel_zero_threshold
    return torch.where(moving, vel / speed.clamp_min(1e-9), torch.zeros_like(vel))


def contact_labels(contact_pos_w: torch.Tensor, contact_vel_w: torch.Tensor, spec: FeatureSpec) -> torch.Tensor:
    """1.0 where a contact point is in contact by ``spec.contact_rule``, else 0.0; shape (N, P)."""
    return spec.contact_rule.point_contacts(contact_pos_w, contact_vel_w).to(contact_pos_w.dtype)


def compute_amp_features(state: KinematicState, spec: FeatureSpec, default_joint_pos: torch.Tensor) -> torch.Tensor:
    """One frame of AMP features per row: (N, spec.frame_dim(robot)), terms in canonical order."""
    yaw = heading_yaw(state.root_quat_w)
    parts: list[torch.Tensor] = []
    for term in spec.terms:
        if term == "joint_pos":
            parts.append(state.joint_pos - default_joint_pos.to(state.joint_pos))
        elif term == "joint_vel":
            parts.append(state.joint_vel)
        elif term == "root_lin_vel":
            parts.append(encode_lin_vel(rotate_into_heading(state.root_lin_vel_w, yaw), spec))
        elif term == "root_ang_vel":
            parts.append(rotate_into_heading(state.root_ang_vel_w, yaw))
        elif term == "root_height":
            parts.append(state.root_pos_w[..., 2:3])
        elif term == "foot_contacts":
            parts.append(contact_labels(state.contact_pos_w, state.contact_vel_w, spec))
        elif term == "foot_height":
            parts.append(state.contact_pos_w[..., 2])
        elif term == "foot_z_velocity":
            parts.append(state.contact_vel_w[..., 2])
    return torch.cat(parts, dim=-1)
