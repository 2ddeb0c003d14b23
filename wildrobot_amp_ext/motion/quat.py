"""Vectorised numpy quaternion helpers, **wxyz** (MuJoCo order), float64, batched over leading dims.

API (all arrays ``(..., 4)`` wxyz unless noted)::

    xyzw_to_wxyz(q) / wxyz_to_xyzw(q)
    normalize(q)                       -> unit quaternions
    conjugate(q)
    multiply(a, b)                     -> a ⊗ b (Hamilton; a applied after b)
    rotate(q, v)                       -> R(q) v, v (..., 3)
    to_matrix(q)                       -> (..., 3, 3)
    from_axis_angle(axis, angle)       -> axis (..., 3) unit, angle (...)
    to_rotvec(q) / from_rotvec(r)      -> rotation vectors (..., 3) (axis * angle, |angle| <= pi)
    yaw(q)                             -> heading angle about world z
    make_continuous(q, axis=0)         -> flip signs so consecutive quaternions lie in one hemisphere
    slerp(q0, q1, t)                   -> spherical interpolation, t (...)
    upright_cosine(q)                  -> cos of the tilt between the body z axis and world z
"""

from __future__ import annotations

import numpy as np

#: below this rotation angle (rad) slerp and log/exp fall back to first-order forms
SMALL_ANGLE = 1e-8


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    return np.asarray(q)[..., [3, 0, 1, 2]]


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    return np.asarray(q)[..., [1, 2, 3, 0]]


def normalize(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def conjugate(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0)
    bw, bx, by, bz = np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0)
    return np.stack(
        (
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ),
        axis=-1,
    )


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(np.asarray(q, dtype=np.float64), -1, 0)
    return np.stack(
        (
            np.stack((1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)), axis=-1),
            np.stack((2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)), axis=-1),
            np.stack((2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)), axis=-1),
        ),
        axis=-2,
    )


def from_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    angle = np.asarray(angle, dtype=np.float64)[..., None]
    return np.concatenate((np.cos(angle / 2), np.sin(angle / 2) * np.asarray(axis, dtype=np.float64)), axis=-1)


def to_rotvec(q: np.ndarray) -> np.ndarray:
    """Rotation vector of each quaternion, taking the shortest rotation (|angle| <= pi)."""
    q = np.asarray(q, dtype=np.float64)
    q = np.where(q[..., :1] < 0, -q, q)
    vec = q[..., 1:]
    s = np.linalg.norm(vec, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    # angle / sin(angle / 2) -> 2 as the angle goes to 0
    scale = np.where(s > SMALL_ANGLE, angle / np.maximum(s, SMALL_ANGLE), 2.0)
    return vec * scale


def from_rotvec(r: np.ndarray) -> np.ndarray:
    r = np.asarray(r, dtype=np.float64)
    angle = np.linalg.norm(r, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(half) / angle -> 0.5 as the angle goes to 0
    scale = np.where(angle > SMALL_ANGLE, np.sin(half) / np.maximum(angle, SMALL_ANGLE), 0.5)
    return np.concatenate((np.cos(half), r * scale), axis=-1)


def yaw(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(np.asarray(q, dtype=np.float64), -1, 0)
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def make_continuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs so that each quaternion is in the hemisphere of its predecessor along ``axis``."""
    q = np.moveaxis(np.asarray(q, dtype=np.float64), axis, 0)
    if q.shape[0] < 2:
        return np.moveaxis(q.copy(), 0, axis)
    flips = np.sum(q[1:] * q[:-1], axis=-1) < 0
    sign = np.concatenate((np.ones((1,) + flips.shape[1:]), np.where(np.cumsum(flips, axis=0) % 2 == 1, -1.0, 1.0)))
    return np.moveaxis(q * sign[..., None], 0, axis)


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Shortest-path spherical interpolation between unit quaternions; ``t`` broadcasts over the leading dims."""
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.clip(np.abs(dot), -1.0, 1.0)
    theta = np.arccos(dot)
    sin_theta = np.sin(theta)
    small = sin_theta < SMALL_ANGLE
    safe = np.where(small, 1.0, sin_theta)
    w0 = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(small, t, np.sin(t * theta) / safe)
    return normalize(w0 * q0 + w1 * q1)


def upright_cosine(q: np.ndarray) -> np.ndarray:
    """World-z component of the body z axis: 1 upright, 0 lying, -1 upside down."""
    q = np.asarray(q, dtype=np.float64)
    return 1.0 - 2.0 * (q[..., 1] ** 2 + q[..., 2] ** 2) / np.sum(q * q, axis=-1)
