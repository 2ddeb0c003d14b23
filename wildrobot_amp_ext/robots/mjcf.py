"""Build the simulation model from a RobotSpec: weld joints the YAML omits, add PD position actuators,
armature, foot contact-point sites and (optionally) a floor. The miner, the converter's forward
kinematics, the viewer and the Isaac Lab USD all start from this one model.

Importing this module routes MuJoCo's warnings to Python logging (:mod:`.mujoco_warnings`), so no command leaves a
``MUJOCO_LOG.TXT`` in the user's folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from wildrobot_amp_ext.robots.mujoco_warnings import route_mujoco_warnings
from wildrobot_amp_ext.utils.atomic import atomic_path
from wildrobot_amp_ext.validation import check_output_dir, check_outputs, safe_component

if TYPE_CHECKING:
    from wildrobot_amp_ext.robots.spec import RobotSpec

FLOOR_NAME = "floor"

route_mujoco_warnings()


def contact_site_name(foot: str, point: str) -> str:
    return f"{foot}_{point}_contact"


def build_mjspec(robot: RobotSpec, with_floor: bool = False) -> mujoco.MjSpec:
    spec = mujoco.MjSpec.from_file(str(robot.mjcf_path))
    spec.modelname = robot.name

    for name in robot.removed_joints:
        spec.delete(spec.joint(name))

    for geom in spec.geoms:
        if not robot.self_collision and (geom.contype or geom.conaffinity):
            # collide with the floor only: contype 0 / conaffinity 1 never pairs two robot geoms
            geom.contype, geom.conaffinity = 0, 1

    for i, name in enumerate(robot.joint_names):
        joint = spec.joint(name)
        joint.armature = float(robot.armature[i])
        act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=float(robot.kp[i]), kv=float(robot.kd[i]))
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.forcerange = np.array([-robot.effort_limit[i], robot.effort_limit[i]])
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE

    for foot in robot.feet:
        body = spec.body(foot.body)
        for point, pos in zip(("toe", "heel"), foot.contact_points):
            body.add_site(name=contact_site_name(foot.name, point), pos=pos, size=[0.005, 0, 0], group=4)

    root = spec.body(robot.root_body)
    if robot.init_root_height > 0:
        root.pos = np.array([0.0, 0.0, robot.init_root_height])

    if with_floor:
        spec.worldbody.add_geom(
            name=FLOOR_NAME,
            type=mujoco.mjtGeom.mjGEOM_PLANE,
            size=[0, 0, 0.05],
            contype=1,
            conaffinity=1,
            condim=3,
            friction=[1.0, 0.02, 0.01],
            rgba=[0.35, 0.4, 0.45, 1],
        )
        spec.worldbody.add_light(pos=[0, 0, 3], dir=[0, 0, -1], type=int(mujoco.mjtLightType.mjLIGHT_DIRECTIONAL))
    return spec


def build_model(robot: RobotSpec, with_floor: bool = True, timestep: float = 0.002) -> mujoco.MjModel:
    """The compiled model of :func:`build_mjspec` with physics step ``timestep``."""
    spec = build_mjspec(robot, with_floor=with_floor)
    spec.option.timestep = timestep
    return spec.compile()


def export_mjcf(robot: RobotSpec, out_dir: str | Path, with_floor: bool = False) -> Path:
    """Write the built model (robot only by default) as MJCF next to copies of its mesh files."""
    out_dir = Path(out_dir)
    out = out_dir / f"{safe_component(robot.yaml_path, 'name', robot.name)}.xml"
    check_output_dir("--export-mjcf", out_dir)
    check_outputs({"--export-mjcf": out}, inputs=[robot.yaml_path, robot.mjcf_path])
    spec = build_mjspec(robot, with_floor=with_floor)
    spec.compile()
    mesh_src = Path(robot.mjcf_path).parent / (spec.meshdir or "")
    if spec.meshes:
        spec.meshdir = str(mesh_src.resolve())
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        tmp.write_text(spec.to_xml())
    return out


def joint_qpos_adr(model: mujoco.MjModel, robot: RobotSpec) -> np.ndarray:
    """qpos addresses of the robot's joints in RobotSpec order (MJCF tree order differs)."""
    return np.array([model.jnt_qposadr[model.joint(n).id] for n in robot.joint_names], dtype=np.int64)


def joint_dof_adr(model: mujoco.MjModel, robot: RobotSpec) -> np.ndarray:
    """qvel addresses of the robot's joints in RobotSpec order."""
    return np.array([model.jnt_dofadr[model.joint(n).id] for n in robot.joint_names], dtype=np.int64)


def contact_site_ids(model: mujoco.MjModel, robot: RobotSpec) -> np.ndarray:
    """Site ids of the contact points, ordered (foot0 toe, foot0 heel, foot1 toe, foot1 heel)."""
    return np.array(
        [model.site(contact_site_name(f.name, p)).id for f in robot.feet for p in ("toe", "heel")], dtype=np.int64
    )


def actuator_ids(model: mujoco.MjModel, robot: RobotSpec) -> np.ndarray:
    """Actuator ids in RobotSpec order (actuators are named after their joints)."""
    return np.array([model.actuator(n).id for n in robot.joint_names], dtype=np.int64)
