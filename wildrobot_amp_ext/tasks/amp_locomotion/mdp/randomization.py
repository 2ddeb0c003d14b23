"""Domain randomisation: Isaac Lab event terms the Newton (MuJoCo-Warp) backend applies, ranges scaled per robot,
and every randomised value read back from the solver's model once per run.

Terms (``EventsCfg``; ranges in ``AmpLocomotionEnvCfg.randomization``, scaled to the robot by
:func:`apply_randomization`):

==================  =========================================  =================================================
term                Isaac Lab function (mode)                  model field it changes (Newton -> MuJoCo-Warp)
==================  =========================================  =================================================
physics_material    randomize_rigid_body_material (startup)    shape_material_mu -> geom_friction[:, 0], per shape
base_mass           randomize_rigid_body_mass (startup)        body_mass, body_inertia -> body_mass, body_inertia
base_com            randomize_rigid_body_com (startup)         body_com -> body_ipos
actuator_gains      randomize_actuator_gains (startup)         joint_target_ke / _kd -> actuator gain / bias
                                                               (explicit actuator model: the group's Kp / Kd)
encoder_bias        randomize_encoder_bias (startup, ours)     none: the articulation's default_joint_pos, which
                                                               the joint_pos observation subtracts
push_robot          push_by_setting_velocity (interval)        root velocity (state, not model)
==================  =========================================  =================================================

Newton keeps one friction coefficient per shape and MuJoCo combines two touching geoms' friction by their maximum,
so the procedural ground's friction is set to the range's low end (``isaaclab.asset.GroundCfg``): a foot's sampled
value is then the contact's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from isaaclab.managers import ManagerTermBase

from wildrobot_amp_ext.errors import InputError

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedEnv
    from isaaclab.managers import EventTermCfg

__all__ = ["read_back", "distribution", "check_applied", "format_summary", "randomize_encoder_bias", "RANDOMIZED_TERMS"]

#: event term -> the read-back quantities it changes
RANDOMIZED_TERMS: dict[str, tuple[str, ...]] = {
    "physics_material": ("friction",),
    "base_mass": ("base_mass_kg",),
    "base_com": ("base_com_x_m", "base_com_y_m", "base_com_z_m"),
    "actuator_gains": ("kp_scale", "kd_scale"),
    "encoder_bias": ("encoder_bias_rad",),
}


class randomize_encoder_bias(ManagerTermBase):
    """A per-env, per-joint encoder offset (rad): the policy observes ``q - (default + bias)``. Written into the
    articulation's ``default_joint_pos`` (which ``joint_pos_rel`` subtracts); the action offset was copied from it
    before start-up events run, and the physics never reads it, so only the observation moves."""

    def __init__(self, cfg: EventTermCfg, env: ManagerBasedEnv):
        super().__init__(cfg, env)
        self.asset = env.scene[cfg.params["asset_cfg"].name]
        self.nominal = self.asset.data.default_joint_pos.torch.clone()

    def __call__(self, env: ManagerBasedEnv, env_ids, bias_range: tuple[float, float], asset_cfg) -> None:
        ids = slice(None) if env_ids is None else env_ids
        nominal = self.nominal[ids]
        bias = torch.empty_like(nominal).uniform_(float(bias_range[0]), float(bias_range[1]))
        self.asset.data.default_joint_pos.torch[ids] = nominal + bias  # a view of the articulation's buffer


def _term_params(env: ManagerBasedEnv, name: str) -> dict | None:
    """The event manager's (resolved) params of a term, None when the term is off."""
    if name not in env.event_manager.active_terms.get("startup", []):
        return None
    return env.event_manager.get_term_cfg(name).params


def shape_attribute(env: ManagerBasedEnv, name: str) -> torch.Tensor:
    """A per-shape Newton model attribute of the robot, (num_envs, shapes), as the solver holds it."""
    import warp as wp

    robot = env.scene["robot"]
    return wp.to_torch(robot._root_view.get_attribute(name, env.sim.physics_manager.get_model())[:, 0])


def colliding_shapes(env: ManagerBasedEnv, bodies: list[str] | None = None) -> list[int]:
    """Indices (in the robot's shape axis) of the shapes that collide (Newton ShapeFlags.COLLIDE_SHAPES), of
    ``bodies`` or all bodies."""
    from newton import ShapeFlags

    robot = env.scene["robot"]
    flags = shape_attribute(env, "shape_flags")[0].cpu()
    names = robot.body_names if bodies is None else bodies
    body_ids, _ = robot.find_bodies(names, preserve_order=True)
    shapes = [s for b in robot.map_body_ids_to_backend(body_ids) for s in robot._root_view.body_shapes[b]]
    return [s for s in shapes if int(flags[s]) & int(ShapeFlags.COLLIDE_SHAPES)]


def read_back(env: ManagerBasedEnv) -> dict[str, torch.Tensor]:
    """The randomised values as the solver's model holds them now, one flat tensor per quantity (every env)."""
    robot, spec = env.scene["robot"], env.robot
    out: dict[str, torch.Tensor] = {}
    if _term_params(env, "physics_material") is not None:
        mu = shape_attribute(env, "shape_material_mu")
        out["friction"] = mu[:, colliding_shapes(env)].reshape(-1).float().cpu()  # visual shapes never touch
    params = _term_params(env, "base_mass")
    if params is not None:
        ids = params["asset_cfg"].body_ids
        out["base_mass_kg"] = robot.data.body_mass.torch[:, ids].reshape(-1).float().cpu()
    params = _term_params(env, "base_com")
    if params is not None:
        com = robot.data.body_com_pos_b.torch[:, params["asset_cfg"].body_ids].reshape(-1, 3).float().cpu()
        for axis, name in enumerate(("base_com_x_m", "base_com_y_m", "base_com_z_m")):
            out[name] = com[:, axis]
    if _term_params(env, "actuator_gains") is not None:
        ids = [robot.joint_names.index(n) for n in spec.joint_names]
        kp = torch.as_tensor(spec.kp, dtype=torch.float32)
        kd = torch.as_tensor(spec.kd, dtype=torch.float32)
        stiffness, damping = _joint_gains(robot)
        out["kp_scale"] = (stiffness[:, ids] / kp).reshape(-1)
        out["kd_scale"] = (damping[:, ids] / kd.clamp(min=1e-9)).reshape(-1)
    if _term_params(env, "encoder_bias") is not None:
        ids = [robot.joint_names.index(n) for n in spec.joint_names]
        nominal = torch.as_tensor(spec.default_joint_pos, dtype=torch.float32)
        out["encoder_bias_rad"] = (robot.data.default_joint_pos.torch[:, ids].float().cpu() - nominal).reshape(-1)
    return out


def _joint_gains(robot) -> tuple[torch.Tensor, torch.Tensor]:
    """(num_envs, joints) Kp and Kd in use: the solver's for implicit groups; an explicit group's (the actuator
    model, whose solver gains are zero) from the actuator object that computes its torque."""
    stiffness = robot.data.joint_stiffness.torch.float().cpu().clone()
    damping = robot.data.joint_damping.torch.float().cpu().clone()
    for name in robot.actuators:
        group = robot.actuators[name]
        if getattr(group, "is_implicit_model", True):
            continue
        ids = group.joint_indices
        ids = ids.cpu() if isinstance(ids, torch.Tensor) else ids
        stiffness[:, ids] = group.stiffness.float().cpu()
        damping[:, ids] = group.damping.float().cpu()
    return stiffness, damping


def distribution(values: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """min / 5 % / mean / 95 % / max / std and count of each quantity."""
    stats = {}
    for name, v in values.items():
        q = torch.quantile(v.double(), torch.tensor([0.05, 0.95], dtype=torch.float64))
        stats[name] = {
            "min": float(v.min()),
            "p05": float(q[0]),
            "mean": float(v.double().mean()),
            "p95": float(q[1]),
            "max": float(v.max()),
            "std": float(v.double().std()) if v.numel() > 1 else 0.0,
            "n": int(v.numel()),
        }
    return stats


def check_applied(env: ManagerBasedEnv, stats: dict[str, dict[str, float]]) -> None:
    """Refuse, naming the term, a randomisation whose range is wide but whose values the solver does not hold."""
    if env.num_envs < 2:
        return  # one sample cannot show a spread
    for term, quantities in RANDOMIZED_TERMS.items():
        params = _term_params(env, term)
        if params is None or _range_width(params) < 1e-9:
            continue
        if all(stats[q]["max"] - stats[q]["min"] < 1e-9 for q in quantities if q in stats):
            raise InputError(
                None,
                f"env.events.{term}",
                "the backend holds the same value in every env after start-up: the range was not applied",
                f"use a term this backend applies, or set env.events.{term}=null",
            )


def _range_width(params: dict) -> float:
    """Width of the range a term samples from (the largest over its ranges)."""
    ranges = [params.get(k) for k in ("static_friction_range", "mass_distribution_params", "bias_range",
                                      "stiffness_distribution_params", "damping_distribution_params")]  # fmt: skip
    ranges += list((params.get("com_range") or {}).values())
    return max((float(r[1]) - float(r[0]) for r in ranges if r is not None), default=0.0)


def format_summary(stats: dict[str, dict[str, float]]) -> str:
    lines = [f"[randomization] {'quantity':16s} {'min':>9} {'p05':>9} {'mean':>9} {'p95':>9} {'max':>9} {'n':>6}"]
    for name, s in stats.items():
        lines.append(
            f"[randomization] {name:16s} {s['min']:9.4f} {s['p05']:9.4f} {s['mean']:9.4f} {s['p95']:9.4f} "
            f"{s['max']:9.4f} {s['n']:6d}"
        )
    return "\n".join(lines)
