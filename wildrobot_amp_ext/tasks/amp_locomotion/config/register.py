"""Isaac Lab style ``gym.register`` of one robot's AMP task and its play variant."""

from __future__ import annotations

import gymnasium as gym

from wildrobot_amp_ext.tasks.amp_locomotion import agents

#: the env class of every AMP locomotion task (gym entry point and the env config's ``class_type``)
ENV_ENTRY_POINT = "wildrobot_amp_ext.tasks.amp_locomotion.amp_env:AmpManagerBasedRLEnv"
SKRL_AMP_CFG = f"{agents.__name__}.skrl_amp_cfg:AmpLocomotionAgentCfg"


def register_amp_task(task_id: str, cfg_module: str, cfg_class: str, play_cfg_class: str) -> None:
    """Register ``<task_id>-v0`` and ``<task_id>-Play-v0`` (``cfg_module:cfg_class`` env config entry points)."""
    for suffix, cls in (("-v0", cfg_class), ("-Play-v0", play_cfg_class)):
        gym.register(
            id=f"{task_id}{suffix}",
            entry_point=ENV_ENTRY_POINT,
            disable_env_checker=True,
            kwargs={"env_cfg_entry_point": f"{cfg_module}:{cls}", "skrl_amp_cfg_entry_point": SKRL_AMP_CFG},
        )
