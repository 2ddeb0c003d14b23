"""``Toy-AMP-v0``: the torch toy AMP task (wildrobot_amp_ext.agents.toy_env), registered like the real tasks so
``train_amp.py --task Toy-AMP-v0`` takes the same path (env and agent configs from the registry, ``env.*`` /
``agent.*`` overrides) in seconds, without physics."""

import gymnasium as gym

gym.register(
    id="Toy-AMP-v0",
    entry_point="wildrobot_amp_ext.agents.toy_env:ToyAmpEnv",
    disable_env_checker=True,
    order_enforce=False,
    kwargs={
        "env_cfg_entry_point": "wildrobot_amp_ext.agents.toy_env:ToyAmpEnvCfg",
        "skrl_amp_cfg_entry_point": "wildrobot_amp_ext.agents.toy_env:ToyAmpAgentCfg",
    },
)
