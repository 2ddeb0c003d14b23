"""skrl 2.x AMP glue: models, reference sampler, diagnostics, schedules, checkpoints, runner.

Heavy imports (skrl, torch) happen in the submodules; import what you need from them::

    from wildrobot_amp_ext.agents.runner import build_amp_runner
    from wildrobot_amp_ext.agents.reference import ReferenceMotionSampler
"""

from wildrobot_amp_ext.agents.config import DEFAULT_CFG_PATH, AmpExtrasCfg, default_cfg, load_cfg

__all__ = ["DEFAULT_CFG_PATH", "AmpExtrasCfg", "default_cfg", "load_cfg"]
