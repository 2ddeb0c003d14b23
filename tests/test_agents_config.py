"""The typed agent config: defaults, the registered task configs, ``agent.*`` overrides (typed, a misspelled key
names the closest valid key, skrl 1.x and moved keys name the fix), YAML in both layouts, models built from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
import torch.nn as nn
import yaml
from skrl.agents.torch.amp import AMP_CFG

from wildrobot_amp_ext.agents.config import (
    AmpAgentCfg,
    AmpExtrasCfg,
    extras_from_dict,
    load_agent_yaml,
    renamed_key_hint,
    skrl_amp_kwargs,
)
from wildrobot_amp_ext.agents.models import build_models, parameter_count
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.utils.typed_cfg import apply_overrides, split_overrides

RUNNER_LAYOUT = Path(__file__).parent / "data" / "agent_runner_layout.yaml"


def override(cfg, *tokens):
    rest = apply_overrides(cfg, list(tokens), "agent.", hint=renamed_key_hint)
    assert not rest
    return cfg.validate()


def test_defaults_make_skrls_amp_cfg():
    cfg = AmpAgentCfg().validate()
    amp = AMP_CFG(**skrl_amp_kwargs(cfg.agent))
    assert amp.task_reward_scale == 0.3 and amp.style_reward_scale == 0.7  # one per-step unit, not skrl's 0 / 2
    assert amp.amp_observation_preprocessor.__name__ == "RunningStandardScaler"
    assert amp.experiment.write_interval == "auto" and amp.discriminator_gradient_penalty_scale > 0
    assert [s.name for s in cfg.amp.feature_stages.stages] == ["stage0", "height", "contacts"]
    assert "root_height" not in cfg.amp.feature_stages.stages[0].terms
    assert cfg.models.discriminator.layers == [256, 128] and cfg.models.discriminator.activations == "relu"


def test_registered_task_configs():
    from wildrobot_amp_ext.isaaclab.launch import load_agent_cfg

    real = load_agent_cfg("WildRobot-AMP-Flat-v0")
    assert type(real).__name__ == "AmpLocomotionAgentCfg" and real.models.policy.layers == [256, 128, 64]
    assert real.models.discriminator == AmpAgentCfg().models.discriminator
    toy = load_agent_cfg("Toy-AMP-v0", ["agent.models.discriminator.layers=[32,16]"])
    assert toy.models.policy.layers == [64, 64] and toy.models.discriminator.layers == [32, 16]


def test_overrides_are_typed_and_reach_every_level():
    cfg = override(
        AmpAgentCfg(),
        "agent.agent.learning_rate=1e-4",
        "agent.models.discriminator.layers=[512,256]",
        "agent.amp.style_ramp.enabled=true",
        "agent.amp.feature_stages.stages.1.min_step=0",
        "agent.agent.experiment.wandb_kwargs.project=mine",
        "agent.seed=null",
    )
    assert cfg.agent.learning_rate == 1e-4 and isinstance(cfg.agent.learning_rate, float)
    assert cfg.models.discriminator.layers == [512, 256] and cfg.amp.style_ramp.enabled is True
    assert cfg.amp.feature_stages.stages[1].min_step == 0 and cfg.agent.experiment.wandb_kwargs == {"project": "mine"}
    assert cfg.seed is None


@pytest.mark.parametrize(
    "token, field, fix",
    [
        ("agent.agent.learning_rte=1e-4", "agent.agent.learning_rte", "agent.agent.learning_rate"),
        ("agent.amp.style_ramp.enabld=false", "agent.amp.style_ramp.enabld", "agent.amp.style_ramp.enabled"),
        ("agent.modles.policy.layers=[8]", "agent.modles", "agent.models"),
        ("agent.agent.lambda=0.9", "agent.agent.lambda", "gae_lambda"),
        ("agent.agent.discriminator_reward_scale=2", "agent.agent.discriminator_reward_scale", "remove"),
        ("agent.agent.amp_extras.style_ramp.enabled=false", "agent.agent.amp_extras", "amp.*"),
        ("agent.amp.reference.temperature=2", "agent.amp.reference", "env.amp"),
        ("agent.models.policy.layers=[a]", "agent.models.policy.layers[0]", None),
        ("agent.amp.nan_guard.enabled=maybe", "agent.amp.nan_guard.enabled", None),
        ("agent.amp.feature_stages.stages.7.min_step=0", "agent.amp.feature_stages.stages.7.min_step", "index"),
        ("agent.agent.learning_rate.x=1", "agent.agent.learning_rate.x", None),
    ],
)
def test_bad_overrides_are_one_line_naming_the_fix(token, field, fix):
    with pytest.raises(InputError) as err:
        override(AmpAgentCfg(), token)
    assert err.value.field == field
    if fix:
        assert fix in err.value.fix


@pytest.mark.parametrize(
    "token, field",
    [
        ("agent.amp.style_ramp.ramp_end=10", "amp.style_ramp.ramp_end"),
        ("agent.amp.diagnostics.attribution=[shap]", "amp.diagnostics.attribution"),
        ("agent.models.value.activations=swish", "models.value.activations"),
        ("agent.models.discriminator.input=STATES", "models.discriminator.input"),
        ("agent.agent.observation_preprocessor=os.system", "agent.observation_preprocessor"),  # never eval'd
        ("agent.amp.feature_stages.stages.0.terms=null", "amp.feature_stages.stages[0].terms"),
    ],
)
def test_invalid_values_name_the_field(token, field):
    with pytest.raises(InputError) as err:
        override(AmpAgentCfg(), token)
    assert err.value.field == field


def test_split_overrides():
    env, agent = split_overrides(["agent.agent.learning_rate=1e-4", "env.scene.num_envs=8", "presets=newton_mjwarp"])
    assert env == ["env.scene.num_envs=8", "presets=newton_mjwarp"] and agent == ["agent.agent.learning_rate=1e-4"]
    for bad in (["--oops"], ["lr=1"], ["positional"]):
        with pytest.raises(InputError):
            split_overrides(bad)


def test_yaml_round_trip_and_the_runner_layout_of_earlier_runs(tmp_path):
    cfg = override(AmpAgentCfg(), "agent.models.policy.layers=[32,16]", "agent.agent.learning_rate=3e-4")
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    assert load_agent_yaml(path) == cfg
    # skrl's runner layout, as params/agent.yaml was written before the typed config: the same settings, i.e. the
    # defaults of that time (skrl's PPO settings, 0.5 / 0.5, BCE, the style ramp on)
    legacy = load_agent_yaml(RUNNER_LAYOUT)
    then = AmpAgentCfg()
    then.agent = dataclasses.replace(
        then.agent, learning_epochs=6, mini_batches=2, learning_rate=5e-5, learning_rate_scheduler=None,
        learning_rate_scheduler_kwargs={}, task_reward_scale=0.5, style_reward_scale=0.5,
    )  # fmt: skip
    then.amp.discriminator_objective, then.amp.style_ramp.enabled = "bce", True
    then.amp.smoke_gate.min_style_reward_variance = 0.05
    then.amp.feature_stages.stages[1].min_step, then.amp.feature_stages.stages[2].min_step = 50_000, 100_000
    assert legacy.models == then.models and legacy.agent == then.agent
    assert dataclasses.asdict(legacy.amp) == dataclasses.asdict(then.amp)
    text = RUNNER_LAYOUT.read_text().replace("learning_rate: 5.0e-05", "learning_rate: 1e-4")  # YAML 1.1 string
    path.write_text(text)
    assert load_agent_yaml(path).agent.learning_rate == 1e-4


@pytest.mark.parametrize(
    "data, field",
    [
        ({"agent": {"lambda": 0.9}}, "agent.lambda"),
        ({"trainer": {"timestep": 10}}, "trainer.timestep"),
        ({"models": {"policy": {"layers": "wide"}}}, "models.policy.layers"),
        ({"amp": {"style_ramp": {"initial_fraction": 0}}}, "amp.style_ramp.initial_fraction"),
        ([1, 2], None),
    ],
)
def test_bad_yaml_is_one_line(tmp_path, data, field):
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError) as err:
        load_agent_yaml(path)
    assert err.value.field == field and str(path) in str(err.value)


def test_checkpoint_extras_of_earlier_runs_load():
    stored = dataclasses.asdict(AmpExtrasCfg()) | {"reference": {"dataset": None, "temperature": 1.0}}
    assert extras_from_dict(stored) == AmpExtrasCfg()


SPACES = dict(
    observation_space=gymnasium.spaces.Box(-np.inf, np.inf, (11,)),
    action_space=gymnasium.spaces.Box(-np.inf, np.inf, (4,)),
    amp_observation_space=gymnasium.spaces.Box(-np.inf, np.inf, (38,)),
)


def test_models_shapes_and_discriminator_last_linear():
    models = build_models(AmpAgentCfg().models, **SPACES, device="cpu")
    obs = {"observations": torch.randn(5, 11)}
    actions, out = models["policy"].act(obs, role="policy")
    assert actions.shape == (5, 4) and out["log_prob"].shape == (5, 1)
    assert torch.allclose(out["log_std"], torch.full((4,), -0.5))
    assert models["value"].act(obs, role="value")[0].shape == (5, 1)
    assert models["discriminator"].act({"observations": torch.randn(5, 38)}, role="discriminator")[0].shape == (5, 1)
    last = list(models["discriminator"].modules())[-1]
    assert isinstance(last, nn.Linear) and last.out_features == 1
    # layers [256, 128]: 38*256+256 + 256*128+128 + 128+1
    assert parameter_count(models["discriminator"]) == 38 * 256 + 256 + 256 * 128 + 128 + 128 + 1


def test_the_discriminator_layers_change_through_one_config_path():
    cfg = override(AmpAgentCfg(), "agent.models.discriminator.layers=[32,16]")
    disc = build_models(cfg.models, **SPACES)["discriminator"]
    assert [m.out_features for m in disc.modules() if isinstance(m, nn.Linear)] == [32, 16, 1]
