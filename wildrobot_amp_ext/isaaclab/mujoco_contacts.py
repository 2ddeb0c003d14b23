"""Newton's ``Contacts`` filled from MuJoCo C's per-world ``MjData.contact`` (the ``mujoco-cpu`` physics' contact
output, read by contact sensors), laid out as the MuJoCo-Warp path lays them out: shapes, contact points in each
body's frame, normal from geom 0 to geom 1, force on shape 0 in the world frame."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import mujoco
import numpy as np


def fill_newton_contacts(
    contacts: Any, worlds: Iterable[Any], model: Any, geom_to_shape: np.ndarray, geom_body: np.ndarray
) -> None:
    """Write every world's contacts (``worlds``: one ``MjData`` per world, in world order; ``model``: an
    ``MjModel`` they step with) into Newton's ``contacts``. ``geom_to_shape[w, geom]`` is Newton's shape of a
    MuJoCo geom in world w, ``geom_body`` the body of each geom."""
    rows = _read_world_contacts(worlds, model)
    total = sum(len(r[1]) for r in rows)
    if total > contacts.rigid_contact_max:
        raise ValueError(f"mujoco-cpu: {total} contacts exceed contacts.rigid_contact_max={contacts.rigid_contact_max}")
    shape0 = np.full(total, -1, np.int32)
    shape1 = np.full(total, -1, np.int32)
    p0 = np.zeros((total, 3), np.float32)
    p1 = np.zeros((total, 3), np.float32)
    normal = np.zeros((total, 3), np.float32)
    wrench = np.zeros((total, 6), np.float32)
    k = 0
    for w, geom, pos, frame, dist, force, xpos, xquat in rows:
        n = len(geom)
        sl = slice(k, k + n)
        shape0[sl] = geom_to_shape[w, geom[:, 0]]
        shape1[sl] = geom_to_shape[w, geom[:, 1]]
        nrm = frame[:, 0]
        normal[sl] = nrm
        for side, (col, dst) in enumerate(((0, p0), (1, p1))):
            point = pos + (0.5 if side else -0.5) * dist[:, None] * nrm
            body = geom_body[geom[:, col]]
            dst[sl] = _to_body_frame(point, xpos[body], xquat[body], body > 0)
        # force on geom 1 in the contact frame -> world frame; Newton stores the force on shape 0
        wrench[sl, :3] = -np.einsum("ni,nij->nj", force[:, :3], frame)
        wrench[sl, 3:] = -np.einsum("ni,nij->nj", force[:, 3:], frame)
        k += n
    contacts.rigid_contact_count.assign(np.array([total], np.int32))
    for dst, src in (
        (contacts.rigid_contact_shape0, shape0),
        (contacts.rigid_contact_shape1, shape1),
        (contacts.rigid_contact_point0, p0),
        (contacts.rigid_contact_point1, p1),
        (contacts.rigid_contact_normal, normal),
        (contacts.force, wrench),
    ):
        if dst is not None and total:
            dst.numpy()[:total] = src
    contacts.n_contacts = contacts.rigid_contact_count


def _read_world_contacts(worlds: Iterable[Any], model: Any) -> list[tuple]:
    """Per world with contacts: (world, geoms (n, 2), positions, frames (n, 3, 3), distances, 6D forces in the
    contact frame, body positions, body quaternions)."""
    rows = []
    for w, d in enumerate(worlds):
        n = d.ncon
        if n == 0:
            continue
        c = d.contact
        geom = np.asarray(c.geom[:n])
        frame = np.asarray(c.frame[:n]).reshape(n, 3, 3)
        force = np.zeros((n, 6))
        out = np.zeros(6)
        for i in range(n):
            mujoco.mj_contactForce(model, d, i, out)
            force[i] = out
        rows.append((w, geom, np.asarray(c.pos[:n]), frame, np.asarray(c.dist[:n]), force, d.xpos, d.xquat))
    return rows


def _to_body_frame(points: np.ndarray, xpos: np.ndarray, xquat: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """World points into body frames (MuJoCo wxyz quaternions); points on the world body stay in the world frame."""
    w, v = xquat[:, :1], xquat[:, 1:]
    rel = points - xpos
    # rotate by the inverse quaternion: r' = r + 2 w (r x v)... written for q* = (w, -v)
    t = 2.0 * np.cross(-v, rel)
    local = rel + w * t + np.cross(-v, t)
    return np.where(moving[:, None], local, points)
