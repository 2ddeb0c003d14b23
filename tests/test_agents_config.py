"""Agent cfg YAML: default file, strict keys (skrl 1.x names refused with the fix), models, overrides."""

from __future__ import annotations

import copy

import gymnasium
import numpy as np
import pytest
import torch
import torch.nn as nn
import yaml
from skrl.agents.torch.amp import AMP_CFG

from wildrobot_amp_ext.agents.config import (
    DEFAULT_CFG_PATH,
    AmpExtrasCfg,
    default_cfg,
    load_cfg,
    parse_extras,
    split_agent_section,
)
from wildrobot_amp_ext.agents.models import build_models, parameter_count
from wildrobot_amp_ext.agents.overrides import apply_dict_overrides, split_overrides
from wildrobot_amp_ext.errors import InputError


def test_default_cfg_parses_into_amp_cfg_and_extras():
    cfg = default_cfg()
    kwargs, experiment, extras = split_agent_section(cfg["agent"], DEFAULT_CFG_PATH)
    amp = AMP_CFG(**kwargs)
    assert amp.task_reward_scale == 0.5 and amp.style_reward_scale == 0.5  # one per-step unit, not skrl's 0 / 2
    assert amp.amp_observation_preprocessor.__name__ == "RunningStandardScaler"
    assert amp.discriminator_gradient_penalty_scale > 0
    assert extras.discriminator_input_noise_std == 0.05
    assert extras.style_ramp.initial_fraction == 0.05 and (
        extras.style_ramp.ramp_start,
        extras.style_ramp.ramp_end,
    ) == (160, 1600)
    assert [s.name for s in extras.feature_stages.stages] == ["stage0", "height", "contacts"]
    assert "root_height" not in extras.feature_stages.stages[0].terms
    assert cfg["reply_buffer"]["class"] == "RandomMemory" and cfg["motion_dataset"]["memory_size"] > 0
    assert set(experiment) >= {"directory", "experiment_name", "write_interval", "checkpoint_interval"}
    # the YAML defaults and the dataclass defaults agree (one source of truth for readers of either)
    assert extras == parse_extras(yaml.safe_load(DEFAULT_CFG_PATH.read_text())["agent"]["amp_extras"]) == AmpExtrasCfg()


@pytest.mark.parametrize(
    "key, value, fix_word",
    [
        ("lambda", 0.95, "gae_lambda"),
        ("task_reward_weight", 0.5, "task_reward_scale"),
        ("amp_state_preprocessor", "RunningStandardScaler", "amp_observation_preprocessor"),
        ("discriminator_reward_scale", 2.0, "remove"),
        ("learning_rte", 1e-4, "learning_rate"),
    ],
)
def test_legacy_and_unknown_agent_keys_are_refused_with_the_fix(key, value, fix_word):
    agent = copy.deepcopy(default_cfg()["agent"])
    agent[key] = value
    with pytest.raises(InputError) as err:
        split_agent_section(agent, "cfg.yaml")
    assert err.value.field == f"agent.{key}" and fix_word in err.value.fix


@pytest.mark.parametrize(
    "extras, field",
    [
        ({"style_ramp": {"ramp_start": 100, "ramp_end": 50}}, "agent.amp_extras.style_ramp.ramp_end"),
        ({"style_ramp": {"rampstart": 100}}, "agent.amp_extras.style_ramp.rampstart"),
        ({"reference": {"temperature": 0}}, "agent.amp_extras.reference.temperature"),
        ({"diagnostics": {"attribution": ["shap"]}}, "agent.amp_extras.diagnostics.attribution"),
        ({"nan_guard": {"enabled": "yes"}}, "agent.amp_extras.nan_guard.enabled"),
        (
            {"feature_stages": {"stages": [{"name": "s", "add": ["root_height"]}]}},
            "agent.amp_extras.feature_stages.stages[0].terms",
        ),
    ],
)
def test_bad_extras_name_the_field(extras, field):
    with pytest.raises(InputError) as err:
        parse_extras(extras, "cfg.yaml")
    assert err.value.field == field


def test_yaml_exponent_without_dot_is_a_number(tmp_path):
    text = DEFAULT_CFG_PATH.read_text().replace("learning_rate: 5.0e-05", "learning_rate: 1e-4")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    kwargs, _, _ = split_agent_section(load_cfg(path)["agent"], path)
    assert kwargs["learning_rate"] == 1e-4 and isinstance(kwargs["learning_rate"], float)


def test_unknown_preprocessor_and_missing_section(tmp_path):
    agent = copy.deepcopy(default_cfg()["agent"])
    agent["observation_preprocessor"] = "os.system"  # never eval'd
    with pytest.raises(InputError):
        split_agent_section(agent)
    bad = default_cfg()
    del bad["trainer"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(InputError) as err:
        load_cfg(path)
    assert err.value.field == "trainer"


SPACES = dict(
    observation_space=gymnasium.spaces.Box(-np.inf, np.inf, (11,)),
    action_space=gymnasium.spaces.Box(-np.inf, np.inf, (4,)),
    amp_observation_space=gymnasium.spaces.Box(-np.inf, np.inf, (38,)),
)


def test_models_from_yaml_shapes_and_discriminator_last_linear():
    models = build_models(default_cfg()["models"], **SPACES, device="cpu")
    obs = {"observations": torch.randn(5, 11)}
    actions, out = models["policy"].act(obs, role="policy")
    assert actions.shape == (5, 4) and out["log_prob"].shape == (5, 1)
    assert torch.allclose(out["log_std"], torch.full((4,), -0.5))
    assert models["value"].act(obs, role="value")[0].shape == (5, 1)
    assert models["discriminator"].act({"observations": torch.randn(5, 38)}, role="discriminator")[0].shape == (5, 1)
    last = list(models["discriminator"].modules())[-1]
    assert isinstance(last, nn.Linear) and last.out_features == 1
    # layers [256, 128] from the YAML: 38*256+256 + 256*128+128 + 128+1
    assert parameter_count(models["discriminator"]) == 38 * 256 + 256 + 256 * 128 + 128 + 128 + 1


@pytest.mark.parametrize(
    "path, value, field",
    [
        (("policy", "network"), [{"layers": [64], "activations": "swish"}], "models.policy.network[0].activations"),
        (("value", "output"), "2 * ONE", "models.value.output"),
        (("discriminator", "class"), "GaussianMixin", "models.discriminator.class"),
        (("policy", "initial_std"), 1.0, "models.policy.initial_std"),
    ],
)
def test_bad_model_cfg(path, value, field):
    models = default_cfg()["models"]
    models[path[0]][path[1]] = value
    with pytest.raises(InputError) as err:
        build_models(models, **SPACES)
    assert err.value.field == field


def test_overrides_set_existing_keys_refuse_typos_and_add_with_plus():
    cfg = default_cfg()
    env, agent = split_overrides(
        [
            "agent.agent.learning_rate=1e-4",
            "env.scene.num_envs=8",
            "agent.models.policy.network.0.layers=[32,32]",
            "+agent.agent.amp_extras.new_key=true",
            "presets=newton_mjwarp",
        ]
    )
    assert env == ["env.scene.num_envs=8", "presets=newton_mjwarp"]
    apply_dict_overrides(cfg, agent)
    assert cfg["agent"]["learning_rate"] == 1e-4 and isinstance(cfg["agent"]["learning_rate"], float)
    assert cfg["models"]["policy"]["network"][0]["layers"] == [32, 32]
    assert cfg["agent"]["amp_extras"]["new_key"] is True
    with pytest.raises(InputError) as err:
        apply_dict_overrides(cfg, ["agent.agent.learning_rte=1e-4"])
    assert "learning_rate" in err.value.fix
    for bad in (["--oops"], ["lr=1"], ["positional"]):
        with pytest.raises(InputError):
            split_overrides(bad)
