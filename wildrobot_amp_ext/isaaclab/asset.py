"""Isaac Lab assets generated offline from a RobotSpec: robot USD (MJCF → USD, cached), ground plane, ArticulationCfg.

Nothing here reaches NVIDIA's asset servers. The robot USD is converted from the *built* MJCF (joints the YAML
omits are welded) by ``mujoco_usd_converter`` and cached under
``~/.cache/wildrobot_amp_ext/usd/<robot>-<hash>/`` where the hash covers the exported MJCF text, the robot YAML
and the converter version, so an edit to either regenerates it. Conversion happens in a temporary folder that is
renamed into place, so an interrupted conversion never leaves a half-written cache entry.

The MJCF's position actuators are dropped before conversion: Newton would import them as joint-target drives
on top of Isaac Lab's :class:`ImplicitActuatorCfg` groups, which carry the same gains from the RobotSpec.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from wildrobot_amp_ext.errors import InputError

if TYPE_CHECKING:
    from isaaclab.assets import ArticulationCfg
    from isaaclab.terrains import TerrainImporterCfg

    from wildrobot_amp_ext.robots import RobotSpec

#: bump when the way the USD is produced changes (invalidates every cached USD)
ASSET_FORMAT = 1
CACHE_ENV = "WILDROBOT_AMP_CACHE"


def cache_root() -> Path:
    """Root of this package's caches (USD, warp kernels): ``$WILDROBOT_AMP_CACHE`` or ``~/.cache/wildrobot_amp_ext``."""
    return Path(os.environ.get(CACHE_ENV, "~/.cache/wildrobot_amp_ext")).expanduser()


# --------------------------------------------------------------------------------------------------------------
# robot USD
# --------------------------------------------------------------------------------------------------------------


def _export_actuator_free_mjcf(robot: RobotSpec, out_dir: Path) -> Path:
    """The built MJCF (``robots.mjcf.export_mjcf``) minus its actuators; see the module docstring for why."""
    import mujoco

    from wildrobot_amp_ext.robots.mjcf import export_mjcf  # MuJoCo loads when a USD is made, not with launch

    path = export_mjcf(robot, out_dir, with_floor=False)
    spec = mujoco.MjSpec.from_file(str(path))
    for act in list(spec.actuators):
        spec.delete(act)
    spec.compile()
    path.write_text(spec.to_xml())
    return path


def _content_hash(robot: RobotSpec, mjcf_text: str) -> str:
    h = hashlib.sha256()
    for part in (
        f"format={ASSET_FORMAT}",
        f"converter={version('mujoco-usd-converter')}",
        mjcf_text,
        Path(robot.yaml_path).read_text(),
    ):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def robot_usd_path(robot: RobotSpec, cache_dir: str | Path | None = None) -> Path:
    """Path of the robot's USD, converting (once per MJCF/YAML content) if it is not cached yet."""
    from mujoco_usd_converter import Converter

    usd_root = Path(cache_dir) if cache_dir is not None else cache_root() / "usd"
    usd_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{robot.name}-", dir=usd_root) as tmp:
        tmp = Path(tmp)
        mjcf = _export_actuator_free_mjcf(robot, tmp / "mjcf")
        key = _content_hash(robot, mjcf.read_text())
        final = usd_root / f"{robot.name}-{key}"
        usd_file = final / f"{robot.name}.usdc"
        if usd_file.is_file():
            return usd_file
        staged = tmp / "usd"
        try:
            Converter(layer_structure=False, scene=False).convert(str(mjcf), str(staged))
        except Exception as err:  # the converter raises plain exceptions with the USD/MJCF problem in the text
            raise InputError(robot.mjcf_path, None, f"MJCF to USD conversion failed: {err}", "fix the MJCF") from err
        produced = sorted(staged.glob("*.usd*"))
        if not produced:
            raise RuntimeError(f"mujoco_usd_converter wrote no USD into {staged}")
        produced[0].rename(staged / usd_file.name)
        shutil.copy2(mjcf, staged / mjcf.name)  # keep the converted MJCF next to the USD for inspection
        try:
            os.rename(staged, final)
        except OSError:
            if not usd_file.is_file():  # not a concurrent winner: a real failure
                raise
    return usd_file


# --------------------------------------------------------------------------------------------------------------
# ground plane
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroundCfg:
    """Procedural flat ground: an infinite collision plane with a finite visual extent."""

    visual_size: float = 200.0  # m, the plane's visual width/length (collision is infinite)
    static_friction: float = 1.0
    dynamic_friction: float = 1.0
    restitution: float = 0.0


def ground_usd_path(cfg: GroundCfg = GroundCfg(), cache_dir: str | Path | None = None) -> Path:
    """Write (once) a tiny USD holding a collision plane with a physics material; return its path."""
    from pxr import Gf, Usd, UsdGeom, UsdPhysics, UsdShade

    root = Path(cache_dir) if cache_dir is not None else cache_root() / "usd"
    key = hashlib.sha256(f"ground{ASSET_FORMAT}{cfg}".encode()).hexdigest()[:12]
    path = root / f"ground-{key}.usda"
    if path.is_file():
        return path
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ground-", suffix=".usda", dir=root)
    os.close(fd)
    try:
        stage = Usd.Stage.CreateNew(tmp)
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
        UsdGeom.SetStageMetersPerUnit(stage, 1.0)
        ground = UsdGeom.Xform.Define(stage, "/ground")
        stage.SetDefaultPrim(ground.GetPrim())
        plane = UsdGeom.Plane.Define(stage, "/ground/plane")
        plane.CreateAxisAttr(UsdGeom.Tokens.z)
        plane.CreateWidthAttr(cfg.visual_size)
        plane.CreateLengthAttr(cfg.visual_size)
        plane.CreateDisplayColorAttr([Gf.Vec3f(0.35, 0.4, 0.45)])
        UsdPhysics.CollisionAPI.Apply(plane.GetPrim())
        material = UsdShade.Material.Define(stage, "/ground/physics_material")
        mat_api = UsdPhysics.MaterialAPI.Apply(material.GetPrim())
        mat_api.CreateStaticFrictionAttr(cfg.static_friction)
        mat_api.CreateDynamicFrictionAttr(cfg.dynamic_friction)
        mat_api.CreateRestitutionAttr(cfg.restitution)
        UsdShade.MaterialBindingAPI.Apply(plane.GetPrim()).Bind(
            material, UsdShade.Tokens.weakerThanDescendants, "physics"
        )
        stage.GetRootLayer().Save()
        del stage
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def ground_terrain_cfg(cfg: GroundCfg = GroundCfg(), prim_path: str = "/World/ground") -> TerrainImporterCfg:
    """``TerrainImporterCfg(terrain_type="usd")`` spawning :func:`ground_usd_path` (no NVIDIA ground asset)."""
    import isaaclab.sim as sim_utils
    from isaaclab.terrains import TerrainImporterCfg

    return TerrainImporterCfg(
        prim_path=prim_path,
        terrain_type="usd",
        usd_path=str(ground_usd_path(cfg)),
        collision_group=-1,
        physics_material=sim_utils.RigidBodyMaterialCfg(
            static_friction=cfg.static_friction, dynamic_friction=cfg.dynamic_friction, restitution=cfg.restitution
        ),
        debug_vis=False,
    )


# --------------------------------------------------------------------------------------------------------------
# articulation
# --------------------------------------------------------------------------------------------------------------


def _exact(name: str) -> str:
    """Regex matching exactly one joint name (Isaac Lab resolves actuator joint lists as regexes)."""
    import re

    return re.escape(name)


#: per-joint values of the explicit model that split actuator groups (ExplicitMotorActuatorCfg field names)
MOTOR_FIELDS = ("Y1", "Y2", "X1", "X2", "Fs", "Fd", "Va", "min_delay", "max_delay")


def actuator_groups(robot: RobotSpec, actuator_model: bool = False) -> dict[str, tuple[list[str], dict[str, float]]]:
    """Joints grouped by identical (kp, kd, effort, velocity, armature) and, with ``actuator_model``, identical
    motor values and delay range; group names are stable across runs."""
    am = robot.actuator_model if actuator_model else None
    keys = ["stiffness", "damping", "effort", "velocity", "armature"] + (list(MOTOR_FIELDS) if am else [])
    columns = [robot.kp, robot.kd, robot.effort_limit, robot.velocity_limit, robot.armature]
    if am is not None:
        columns += [*am.params, am.delay_min, am.delay_max]
    groups: dict[tuple[float, ...], list[str]] = {}
    for i, name in enumerate(robot.joint_names):
        groups.setdefault(tuple(float(c[i]) for c in columns), []).append(name)
    return {f"group{g}": (joints, dict(zip(keys, params))) for g, (params, joints) in enumerate(groups.items())}


def robot_articulation_cfg(
    robot: RobotSpec,
    prim_path: str = "{ENV_REGEX_NS}/Robot",
    usd_path: str | Path | None = None,
    actuator_model: bool = False,
) -> ArticulationCfg:
    """ArticulationCfg for ``robot``: cached USD, init state and actuator groups from the RobotSpec: Isaac Lab's
    ImplicitActuator (the solver's PD), or with ``actuator_model`` the robot YAML's explicit model
    (``isaaclab.actuators.ExplicitMotorActuator``)."""
    import isaaclab.sim as sim_utils
    from isaaclab.assets import ArticulationCfg
    from isaaclab_newton.sim.schemas import NewtonArticulationCfg

    usd = str(usd_path) if usd_path is not None else str(robot_usd_path(robot))
    return ArticulationCfg(
        prim_path=prim_path,
        spawn=sim_utils.UsdFileCfg(
            usd_path=usd,
            activate_contact_sensors=False,
            articulation_props=[NewtonArticulationCfg(self_collision_enabled=robot.self_collision)],
        ),
        init_state=ArticulationCfg.InitialStateCfg(
            pos=(0.0, 0.0, float(robot.init_root_height)),
            joint_pos={_exact(n): float(v) for n, v in zip(robot.joint_names, np.asarray(robot.default_joint_pos))},
            joint_vel={".*": 0.0},
        ),
        soft_joint_pos_limit_factor=1.0,
        actuators=articulation_actuators(robot, actuator_model),
    )


def articulation_actuators(robot: RobotSpec, actuator_model: bool = False) -> dict:
    """Actuator group configs of :func:`robot_articulation_cfg` (implicit PD, or the explicit model)."""
    from isaaclab.actuators import ImplicitActuatorCfg

    if actuator_model and robot.actuator_model is None:
        raise InputError(robot.yaml_path, "actuator_model", "the robot YAML has no actuator_model block",
                         "add one (see robots/data/unitree_g1_29dof) or set env.actuator_model=false")  # fmt: skip
    actuators = {}
    for name, (joints, p) in actuator_groups(robot, actuator_model).items():
        common = dict(
            joint_names_expr=[_exact(j) for j in joints],
            stiffness=p["stiffness"],
            damping=p["damping"],
            joint_effort_limit=p["effort"],
            joint_velocity_limit=p["velocity"],
            actuator_velocity_limit=p["velocity"],
            armature=p["armature"],
        )
        if actuator_model:
            # here: actuators subclasses Isaac Lab's actuator classes (loads Isaac Lab); the USD cache runs without it
            from wildrobot_amp_ext.isaaclab.actuators import ExplicitMotorActuatorCfg

            motor = {k: int(p[k]) if k.endswith("_delay") else p[k] for k in MOTOR_FIELDS}
            actuators[name] = ExplicitMotorActuatorCfg(**common, **motor)
        else:
            actuators[name] = ImplicitActuatorCfg(**common)
    return actuators
