"""The viewer's MuJoCo scene: a floor, sky and lights with one robot copy per lane (names prefixed ``lane<k>/``),
and the addresses of each copy (root and joint ``qpos``, the geoms a joint moves, feet, contact sites)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wildrobot_amp_ext.evaluation.checks import root_qpos_adr
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.mjcf import build_mjspec, contact_site_name
from wildrobot_amp_ext.viewing.lanes import lane_prefix


def build_scene_spec(robot: RobotSpec, copies: int, shadows: bool = False):
    """MjSpec with a checker floor, sky, lights and ``copies`` robots (names prefixed ``lane<k>/``)."""
    import mujoco

    spec = mujoco.MjSpec()
    spec.modelname = f"{robot.name}_viewer"
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.5, 0.5, 0.5]
    spec.add_texture(
        name="sky",
        type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.62, 0.74, 0.86],
        rgb2=[0.95, 0.96, 0.98],
        width=256,
        height=256,
    )
    spec.add_texture(
        name="grid",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.80, 0.82, 0.84],
        rgb2=[0.62, 0.65, 0.68],
        width=512,
        height=512,
    )
    grid_repeat = max(1.0, 2.0 / max(robot.init_root_height, 0.1))  # checker squares scale with the robot
    spec.add_material(
        name="grid", textures=["", "grid"], texrepeat=[grid_repeat, grid_repeat], texuniform=True, reflectance=0.0
    )
    spec.worldbody.add_geom(
        name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05], material="grid", contype=1, conaffinity=1
    )
    spec.worldbody.add_light(
        pos=[0, 0, 4],
        dir=[0.3, 0.2, -1],
        type=int(mujoco.mjtLightType.mjLIGHT_DIRECTIONAL),
        castshadow=int(shadows),
        diffuse=[0.6, 0.6, 0.6],
    )
    for k in range(copies):
        child = build_mjspec(robot, with_floor=False)
        frame = spec.worldbody.add_frame()
        frame.attach_body(child.body(robot.root_body), lane_prefix(k), "")
    return spec


@dataclass
class LaneIndex:
    """Addresses of one robot copy in the scene model."""

    root_qpos: int
    joint_qpos: np.ndarray  # (J,)
    joint_geoms: list[np.ndarray]  # per joint: geoms of the body that joint moves
    foot_geoms: np.ndarray
    contact_sites: np.ndarray  # (P,)


def index_lane(model, robot: RobotSpec, prefix: str) -> LaneIndex:
    joint_ids = [model.joint(prefix + n).id for n in robot.joint_names]
    geom_body = np.asarray(model.geom_bodyid)

    def subtree_geoms(body_id: int) -> np.ndarray:
        # geoms of the body and its descendants: a violated knee colours the shin and the foot
        bodies = {body_id}
        for b in range(body_id + 1, model.nbody):
            if int(model.body_parentid[b]) in bodies:
                bodies.add(b)
        return np.flatnonzero(np.isin(geom_body, list(bodies)))

    foot_bodies = [model.body(prefix + f.body).id for f in robot.feet]
    return LaneIndex(
        root_qpos=root_qpos_adr(model, robot, prefix),
        joint_qpos=np.array([model.jnt_qposadr[j] for j in joint_ids]),
        joint_geoms=[np.flatnonzero(geom_body == int(model.jnt_bodyid[j])) for j in joint_ids],
        foot_geoms=np.concatenate([subtree_geoms(b) for b in foot_bodies]),
        contact_sites=np.array(
            [model.site(prefix + contact_site_name(f.name, p)).id for f in robot.feet for p in ("toe", "heel")]
        ),
    )
