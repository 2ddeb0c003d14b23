"""Self-collision between limbs: the IK's avoidance limit (legs vs legs, arms vs trunk) and the report's check.

Groups come from the mapping, not a table: a leg is the subtree below the root on the way to that ankle's link, an
arm the subtree below the torso link on the way to that wrist's link, the trunk the root and torso links. Only the
robot's collision geoms count. The robot models keep limb-limb contacts off for physics (``self_collision: false``),
so the IK's copy of the model marks these geoms with an extra contype/conaffinity bit that mink's pair filter needs;
nothing physical uses that copy.
"""

from __future__ import annotations

import mujoco
import numpy as np

from wildrobot_amp_ext.retarget.mapping import ROOT, RobotMapping

PAIR_BIT = 1 << 7


def _path_child(model: mujoco.MjModel, start: int, ancestor: int) -> int | None:
    """The child of ``ancestor`` on the path up from ``start`` (None if ``ancestor`` is not above it)."""
    b = start
    while b > 0:
        parent = int(model.body_parentid[b])
        if parent == ancestor:
            return b
        b = parent
    return None


def _subtree(model: mujoco.MjModel, top: int) -> set[int]:
    out = {top}
    for b in range(top + 1, model.nbody):  # MuJoCo numbers parents before children
        if int(model.body_parentid[b]) in out:
            out.add(b)
    return out


def _geoms(model: mujoco.MjModel, bodies: set[int]) -> list[int]:
    return [
        g
        for g in range(model.ngeom)
        if int(model.geom_bodyid[g]) in bodies and (model.geom_contype[g] or model.geom_conaffinity[g])
    ]


def limb_pairs(model: mujoco.MjModel, mapping: RobotMapping) -> list[tuple[list[int], list[int]]]:
    """(geoms, geoms) pairs that must not intersect: left vs right leg, each arm vs the trunk."""
    body = {k.keypoint: model.body(k.link).id for k in mapping.links}
    root = body[ROOT]
    groups: dict[str, list[int]] = {}
    for side in ("left", "right"):
        top = _path_child(model, body[f"{side}_ankle"], root)
        if top is not None:
            groups[f"{side}_leg"] = _geoms(model, _subtree(model, top))
        if f"{side}_wrist" in body and "torso" in body:
            top = _path_child(model, body[f"{side}_wrist"], body["torso"])
            if top is not None:
                groups[f"{side}_arm"] = _geoms(model, _subtree(model, top))
    trunk = _geoms(model, {root, body.get("torso", root)})
    pairs = []
    if groups.get("left_leg") and groups.get("right_leg"):
        pairs.append((groups["left_leg"], groups["right_leg"]))
    for side in ("left", "right"):
        if groups.get(f"{side}_arm") and trunk:
            pairs.append((groups[f"{side}_arm"], trunk))
    return pairs


def enable_pairs(model: mujoco.MjModel, pairs: list[tuple[list[int], list[int]]]) -> None:
    """Give the paired geoms a shared contype/conaffinity bit (mink skips pairs that could never touch)."""
    for a, b in pairs:
        for g in (*a, *b):
            model.geom_contype[g] |= PAIR_BIT
            model.geom_conaffinity[g] |= PAIR_BIT


def max_penetration(
    model: mujoco.MjModel, pairs: list[tuple[list[int], list[int]]], qpos: np.ndarray, stride: int = 1
) -> float:
    """Deepest limb-limb interpenetration (m, >= 0) over the frames (every ``stride``-th) of ``qpos`` (N, nq)."""
    data = mujoco.MjData(model)
    flat = [(ga, gb) for a, b in pairs for ga in a for gb in b]
    if not flat:
        return 0.0
    fromto = np.empty(6)
    deepest = 0.0
    for q in qpos[::stride]:  # a check over a handful of geom pairs, not the hot path
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        for ga, gb in flat:
            d = mujoco.mj_geomDistance(model, data, ga, gb, 0.05, fromto)
            deepest = max(deepest, -d)
    return deepest
