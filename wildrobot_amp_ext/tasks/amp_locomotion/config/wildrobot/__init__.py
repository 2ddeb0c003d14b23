"""WildRobot AMP tasks: ``WildRobot-AMP-Flat-v0`` and ``WildRobot-AMP-Flat-Play-v0``."""

from wildrobot_amp_ext.tasks.amp_locomotion.config.register import register_amp_task

register_amp_task(
    "WildRobot-AMP-Flat", f"{__name__}.flat_env_cfg", "WildRobotAmpFlatEnvCfg", "WildRobotAmpFlatPlayEnvCfg"
)
