"""Unitree G1 29-DoF (from mjlab's MJCF): the 23-DoF task settings with waist roll/pitch and wrist pitch/yaw free."""

from isaaclab.utils import configclass

from wildrobot_amp_ext.tasks.amp_locomotion.config.unitree_g1_23dof.flat_env_cfg import G123AmpFlatEnvCfg


@configclass
class G129AmpFlatEnvCfg(G123AmpFlatEnvCfg):
    robot_name: str = "unitree_g1_29dof"


@configclass
class G129AmpFlatPlayEnvCfg(G129AmpFlatEnvCfg):
    def __post_init__(self):
        super().__post_init__()
        self.apply_play()
