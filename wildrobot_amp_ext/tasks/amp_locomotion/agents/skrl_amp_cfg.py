"""skrl AMP agent config of the AMP locomotion tasks (registered as their ``skrl_amp_cfg_entry_point``)."""

from dataclasses import dataclass

from wildrobot_amp_ext.agents.config import AmpAgentCfg


@dataclass
class AmpLocomotionAgentCfg(AmpAgentCfg):
    """The package's AMP defaults with CPU-sized policy and value networks (the discriminator's stay as is)."""

    def __post_init__(self) -> None:
        self.models.policy.layers = [256, 128, 64]
        self.models.value.layers = [256, 128, 64]
