"""Unitree G1 29-DoF (from mjlab's MJCF): human-sized commands and effort weights."""

from isaaclab.utils import configclass

from wildrobot_amp_ext.tasks.amp_locomotion.amp_env_cfg import AmpLocomotionEnvCfg, AmpLocomotionPlayEnvCfg


def _g1_scales(cfg: AmpLocomotionEnvCfg) -> None:
    cfg.actions.joint_pos.scale = 0.5
    cfg.commands.base_velocity.ranges.lin_vel_x = (0.0, 1.0)
    cfg.commands.base_velocity.ranges.lin_vel_y = (-0.3, 0.3)
    cfg.commands.base_velocity.ranges.ang_vel_z = (-1.0, 1.0)
    cfg.rewards.track_lin_vel_xy.params["std"] = 0.5
    cfg.rewards.joint_torques_l2.weight = -2.0e-6  # ~100 N.m actuators
    cfg.rewards.mechanical_power.weight = -2.0e-5
    cfg.rewards.feet_air_time.params["threshold"] = 0.4
    cfg.rewards.foot_clearance.params["target_height"] = 0.08
    cfg.rewards.feet_slide.params["contact_height"] = 0.03
    cfg.rewards.feet_air_time.params["contact_height"] = 0.03


@configclass
class G129AmpFlatEnvCfg(AmpLocomotionEnvCfg):
    robot_name: str = "unitree_g1_29dof"

    def __post_init__(self):
        super().__post_init__()
        _g1_scales(self)


@configclass
class G129AmpFlatPlayEnvCfg(AmpLocomotionPlayEnvCfg):
    robot_name: str = "unitree_g1_29dof"

    def __post_init__(self):
        super().__post_init__()
        _g1_scales(self)
