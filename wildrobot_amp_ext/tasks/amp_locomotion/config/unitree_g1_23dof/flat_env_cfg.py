"""Unitree G1 23-DoF (from mjlab's MJCF): human-sized commands and effort weights."""

from isaaclab.utils import configclass

from wildrobot_amp_ext.tasks.amp_locomotion.amp_env_cfg import AmpLocomotionEnvCfg


@configclass
class G123AmpFlatEnvCfg(AmpLocomotionEnvCfg):
    robot_name: str = "unitree_g1_23dof"

    def __post_init__(self):
        self.randomization.base_body = "torso_link"  # unitree_rl_lab randomises the torso's mass
        super().__post_init__()
        self.actions.joint_pos.scale = 0.5
        self.commands.base_velocity.ranges.lin_vel_x = (0.0, 1.0)
        self.commands.base_velocity.ranges.lin_vel_y = (-0.3, 0.3)
        self.commands.base_velocity.ranges.ang_vel_z = (-1.0, 1.0)
        self.rewards.track_lin_vel_xy.params["std"] = 0.5
        self.rewards.joint_torques_l2.weight = -2.0e-6  # ~100 N.m actuators
        self.rewards.mechanical_power.weight = -2.0e-5
        self.rewards.feet_air_time.params["threshold"] = 0.4
        self.rewards.foot_clearance.params["target_height"] = 0.08


@configclass
class G123AmpFlatPlayEnvCfg(G123AmpFlatEnvCfg):
    def __post_init__(self):
        super().__post_init__()
        self.apply_play()
