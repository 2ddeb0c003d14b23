"""Per-clip quality of a retargeted motion, the verdict against the gates, and what the robot cannot carry.

Measured on the written motion (after the whole-clip pass), at the clip's frame rate:

- ``joint_limit_violations``: (frame, joint) pairs outside the MJCF range (gate: 0)
- ``stance_drift_m_s``: mean horizontal speed of the stance foot's contact points (toe, heel) over the source's
  stance frames (a planted foot that slides or spins shows here)
- ``penetration_m``: deepest point of the feet's collision geometry below the floor
- ``stance_float_m``: 95th percentile height of the stance foot's lowest point over the stance frames
- ``airborne_max_s``: longest time both feet are over 3 cm above the floor
- ``joint_speed_ratio``: largest |joint speed| / the robot YAML's velocity limit
- ``self_penetration_m``: deepest leg-leg or arm-trunk interpenetration of the collision geoms (added by the
  pipeline, ``collision.max_penetration``)
- ``keypoint_error``: mean distance of the robot's keypoints to the scaled source (before foot locking), as a
  fraction of the robot's leg length (and in metres)

``carry`` says what the mapping loses: the source's total turning, the robot pelvis's heading error, the feet's yaw
and roll error in stance (WildRobot: no hip yaw, no ankle roll, so its foot yaw follows the pelvis), and the yaw rate
of the robot's planted feet (rotation that becomes foot slide).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from wildrobot_amp_ext.motion.kinematics import finite_difference
from wildrobot_amp_ext.retarget.mapping import FEET, ROOT

#: a stance foot whose yaw is off the source's by this much has lost the turn; one turning this fast while planted
#: carries it as slide (both also hold for a robot that has hip yaw but a mapping that does not use it)
TURN_DEG = 5.0
TURN_DEG_S = 5.0


@dataclass(frozen=True)
class Gates:
    max_joint_limit_violations: int = 0
    max_stance_drift_m_s: float = 0.05
    max_penetration_m: float = 0.015
    max_stance_float_m: float = 0.03
    max_airborne_s: float = 1.0
    max_joint_speed_ratio: float = 1.0
    max_keypoint_error: float = 0.10  # fraction of the robot's leg length
    max_self_penetration_m: float = 0.01  # legs into each other, arms into the trunk (pipeline, collision.py)


def _yaw(rot: np.ndarray) -> np.ndarray:
    return np.arctan2(rot[..., 1, 0], rot[..., 0, 0])


def _roll(rot: np.ndarray) -> np.ndarray:
    """Roll of the frame about its own forward axis (tilt of its y axis out of the horizontal plane)."""
    return np.arcsin(np.clip(rot[..., 2, 1], -1.0, 1.0))


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def _runs_max(mask: np.ndarray) -> int:
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


@dataclass
class QualityInputs:
    fps: float
    joint_pos: np.ndarray  # (N, J)
    joint_lo: np.ndarray
    joint_hi: np.ndarray
    velocity_limit: np.ndarray  # (J,)
    foot_lowest: np.ndarray  # (N, 2)
    contact_pos: np.ndarray  # (N, 4, 3) toe/heel per foot, RobotSpec order
    keypoints: tuple[str, ...]
    robot_kp_pos: np.ndarray  # (N, K, 3)
    robot_kp_rot: np.ndarray  # (N, K, 3, 3) relative to the robot's zero-pose link rotation
    scaled_pos: np.ndarray  # (N, K, 3) scaled source
    source_rot: np.ndarray  # (N, K, 3, 3) canonical source rotations
    stance: np.ndarray  # (N, 2)
    leg_length: float


def measure(q: QualityInputs, gates: Gates = Gates()) -> dict:
    dt = 1.0 / q.fps
    tol = 1e-6
    violations = int(((q.joint_pos < q.joint_lo - tol) | (q.joint_pos > q.joint_hi + tol)).sum())
    speed_ratio = float((np.abs(finite_difference(q.joint_pos, dt)) / q.velocity_limit).max())
    cp_speed = np.linalg.norm(finite_difference(q.contact_pos[..., :2], dt), axis=-1)  # (N, 4)
    foot_speed = cp_speed.reshape(-1, 2, 2).max(axis=2)  # (N, 2) the faster of toe/heel
    stance = q.stance
    drift = float(foot_speed[stance].mean()) if stance.any() else 0.0
    drift_p95 = float(np.percentile(foot_speed[stance], 95)) if stance.any() else 0.0
    penetration = float(max(0.0, -q.foot_lowest.min()))
    stance_float = float(np.percentile(q.foot_lowest[stance], 95)) if stance.any() else 0.0
    airborne_s = _runs_max((q.foot_lowest > 0.03).all(axis=1)) * dt
    err = np.linalg.norm(q.robot_kp_pos - q.scaled_pos, axis=-1)  # (N, K)
    kp_err_m = float(err.mean())

    k = {name: i for i, name in enumerate(q.keypoints)}
    src_heading = np.unwrap(_yaw(q.source_rot[:, k[ROOT]]))
    robot_heading = np.unwrap(_yaw(q.robot_kp_rot[:, k[ROOT]]))
    feet = [k[f] for f in FEET]
    foot_yaw_err = np.abs(_wrap(_yaw(q.robot_kp_rot[:, feet]) - _yaw(q.source_rot[:, feet])))  # (N, 2)
    foot_roll_err = np.abs(_roll(q.robot_kp_rot[:, feet]) - _roll(q.source_rot[:, feet]))
    foot_yaw_rate = np.abs(finite_difference(np.unwrap(_yaw(q.robot_kp_rot[:, feet]), axis=0), dt))
    carry = {
        "source_turn_deg": float(np.degrees(np.abs(np.diff(src_heading)).sum())),
        "pelvis_heading_error_deg": float(np.degrees(np.abs(_wrap(robot_heading - src_heading)).mean())),
        "stance_foot_yaw_error_deg": float(np.degrees(foot_yaw_err[stance].mean())) if stance.any() else 0.0,
        "stance_foot_roll_error_deg": float(np.degrees(foot_roll_err[stance].mean())) if stance.any() else 0.0,
        "stance_foot_yaw_rate_deg_s": float(np.degrees(foot_yaw_rate[stance].mean())) if stance.any() else 0.0,
    }
    lost = carry["stance_foot_yaw_error_deg"] >= TURN_DEG
    slides = carry["stance_foot_yaw_rate_deg_s"] >= TURN_DEG_S
    carry["turning"] = {(False, False): "kept", (True, False): "lost at the feet", (False, True): "foot slide"}.get(
        (lost, slides), "lost at the feet and foot slide"
    )
    metrics = {
        "joint_limit_violations": violations,
        "stance_drift_m_s": drift,
        "stance_drift_p95_m_s": drift_p95,
        "penetration_m": penetration,
        "stance_float_m": stance_float,
        "airborne_max_s": airborne_s,
        "joint_speed_ratio": speed_ratio,
        "keypoint_error": kp_err_m / q.leg_length,
        "keypoint_error_m": kp_err_m,
        "keypoint_error_max_m": float(err.max()),
        "stance_fraction": float(stance.mean()),
    }
    failed = []
    checks = (
        ("joint_limit_violations", violations, gates.max_joint_limit_violations),
        ("stance_drift_m_s", drift, gates.max_stance_drift_m_s),
        ("penetration_m", penetration, gates.max_penetration_m),
        ("stance_float_m", stance_float, gates.max_stance_float_m),
        ("airborne_max_s", airborne_s, gates.max_airborne_s),
        ("joint_speed_ratio", speed_ratio, gates.max_joint_speed_ratio),
        ("keypoint_error", kp_err_m / q.leg_length, gates.max_keypoint_error),
    )
    for name, value, limit in checks:
        if value > limit:
            failed.append(f"{name} {value:.4g} > {limit:g}")
    return {"metrics": metrics, "carry": carry, "verdict": "pass" if not failed else "fail", "failed": failed}


def carry_sentence(carry: dict, drift_m_s: float) -> str:
    """One line: turning kept by the pelvis, lost at the feet (yaw error) or turned into slide (yaw rate)."""
    return (
        f"turning {carry['turning']}: source turns {carry['source_turn_deg']:.0f} deg in all; pelvis heading error "
        f"{carry['pelvis_heading_error_deg']:.1f} deg; stance feet: yaw error {carry['stance_foot_yaw_error_deg']:.1f} "
        f"deg (turning lost at the foot), yaw rate {carry['stance_foot_yaw_rate_deg_s']:.1f} deg/s and contact-point "
        f"speed {100 * drift_m_s:.1f} cm/s (turning carried as slide), roll error "
        f"{carry['stance_foot_roll_error_deg']:.1f} deg"
    )


def gates_dict(gates: Gates) -> dict:
    return asdict(gates)
