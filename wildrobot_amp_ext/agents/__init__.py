"""skrl 2.x AMP: the typed agent config, models, reference sampler, diagnostics, schedules, checkpoints, runner.

Heavy imports (skrl, torch) happen in the submodules; import what you need from them::

    from wildrobot_amp_ext.agents.config import AmpAgentCfg
    from wildrobot_amp_ext.agents.runner import build_amp_runner
    from wildrobot_amp_ext.agents.reference import ReferenceMotionSampler
"""

from wildrobot_amp_ext.agents.config import AmpAgentCfg, AmpExtrasCfg, load_agent_yaml

__all__ = ["AmpAgentCfg", "AmpExtrasCfg", "load_agent_yaml"]
