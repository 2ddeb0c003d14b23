"""Unitree G1 29-DoF AMP tasks: ``G1-29dof-AMP-Flat-v0`` and ``G1-29dof-AMP-Flat-Play-v0``."""

from wildrobot_amp_ext.tasks.amp_locomotion.config.register import register_amp_task

register_amp_task("G1-29dof-AMP-Flat", f"{__name__}.flat_env_cfg", "G129AmpFlatEnvCfg", "G129AmpFlatPlayEnvCfg")
