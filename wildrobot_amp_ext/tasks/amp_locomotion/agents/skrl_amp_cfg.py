"""skrl AMP agent config of the AMP locomotion tasks (registered as their ``skrl_amp_cfg_entry_point``)."""

from dataclasses import dataclass

from wildrobot_amp_ext.agents.config import AmpAgentCfg


@dataclass
class AmpLocomotionAgentCfg(AmpAgentCfg):
    """The package's AMP defaults with CPU-sized policy and value networks (the discriminator's stay as is).

    Asymmetric actor-critic: the value network reads the env's ``critic`` group (skrl's ``states``: the actor's
    terms noise-free plus base linear velocity, root height, foot contacts) through its own running normaliser;
    the policy reads the ``policy`` group, what a robot measures."""

    def __post_init__(self) -> None:
        self.models.policy.layers = [256, 128, 64]
        self.models.value.layers = [256, 128, 64]
        self.models.value.input = "STATES"
        self.agent.state_preprocessor = "RunningStandardScaler"
        # a velocity command must be followed, not only styled: equal shares of the per-step reward (the package
        # default 0.3 / 0.7 was tuned for imitation on the toy env, which has no command)
        self.agent.task_reward_scale = 0.5
        self.agent.style_reward_scale = 0.5
        # explore (rsl_rl's humanoid setting: entropy bonus, wide initial noise): with no entropy term the policy std
        # fell from 0.61 to 0.33 in 150 updates while the robot still stood still
        self.models.policy.initial_log_std = -0.35
        self.agent.entropy_loss_scale = 0.005
        # walk first, then style: the reference holds standing clips the discriminator rewards, so at full style
        # weight from the start standing is the easiest high-reward behaviour. 5 % until update 150, full at 400
        self.amp.style_ramp.enabled = True
        self.amp.style_ramp.ramp_start = 2_400
        self.amp.style_ramp.ramp_end = 6_400
