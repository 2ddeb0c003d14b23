"""Unitree G1 23-DoF AMP tasks: ``G1-23dof-AMP-Flat-v0`` and ``G1-23dof-AMP-Flat-Play-v0``."""

from wildrobot_amp_ext.tasks.amp_locomotion.config.register import register_amp_task

register_amp_task("G1-23dof-AMP-Flat", f"{__name__}.flat_env_cfg", "G123AmpFlatEnvCfg", "G123AmpFlatPlayEnvCfg")
