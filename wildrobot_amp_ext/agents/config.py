"""Agent configuration: the skrl runner-style YAML plus our ``agent.amp_extras`` section.

The YAML keeps skrl 2.x's runner layout (``seed``, ``models``, ``memory``, ``motion_dataset``, ``reply_buffer``,
``agent``, ``trainer``) so it reads like Isaac Lab's ``skrl_amp_cfg.yaml`` files; what skrl does not know
(schedules, diagnostics, reference sampling, guards) lives under ``agent.amp_extras`` and is parsed here into
dataclasses. Every key is checked: a typo or a skrl 1.x name is refused with the fix, not silently ignored.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wildrobot_amp_ext.errors import InputError

DEFAULT_CFG_PATH = Path(__file__).with_name("default_skrl_amp_cfg.yaml")

#: skrl 1.x agent keys and what skrl 2.1 calls them (None: removed, drop it)
LEGACY_AGENT_KEYS: dict[str, str | None] = {
    "lambda": "gae_lambda",
    "task_reward_weight": "task_reward_scale",
    "style_reward_weight": "style_reward_scale",
    "amp_state_preprocessor": "amp_observation_preprocessor",
    "amp_state_preprocessor_kwargs": "amp_observation_preprocessor_kwargs",
    "collect_observation": None,
    "discriminator_reward_scale": None,
}
#: keys Isaac Lab's shipped AMP yaml carries that skrl's runner drops for on-policy agents
IGNORED_AGENT_KEYS = ("random_timesteps", "learning_starts", "clip_predicted_values", "class")


def coerce_number(value: Any) -> Any:
    """PyYAML (YAML 1.1) reads ``1e-4`` as a string: turn number-looking strings into numbers."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


# ------------------------------------------------------------------------------------------------------------------
# amp_extras dataclasses
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class ReferenceSamplingCfg:
    #: reference dataset (.npz); ``train_amp.py --dataset`` overrides it; None: the env's collect_reference_motions
    dataset: str | None = None
    #: segment sampling weight = softmax(segment_score / temperature)
    temperature: float = 1.0
    #: every sampled batch holds at least min(this, number of clips) distinct motion ids
    min_motion_ids: int = 3
    #: AMP observations built from per-frame ``features`` skip rows whose history would cross a segment start
    require_full_history: bool = True
    #: frames per AMP observation when built from ``features``; None: AMP obs width / feature width
    history: int | None = None


@dataclass
class StyleRampCfg:
    """Style (AMP) reward weight ramp: start at ``initial_fraction`` of the final weight, reach it between two
    timesteps, and advance only while the discriminator is informative on samples it has not trained on.

    Defaults from measurements (held-out AUC: the rollout before the update trains on it). On the toy env and on
    WildRobot-AMP-Flat-v0 (CPU, 16 envs) the held-out AUC read 0.3-0.5 at the first update, 0.85-0.94 at the
    second and 0.98-1.0 from the third on, with unsaturated logits (saturation 0.0) and a varying style reward:
    an upper AUC bound below 1 (the former 0.85) held the ramp for good. The gate now holds only an uninformative
    discriminator (AUC < auc_min) or a flat reward (most logits saturated). The ramp spans updates a CPU run
    reaches (the former 5k-50k timesteps are 4.4 h at 256 envs on 2 cores)."""

    enabled: bool = True
    initial_fraction: float = 0.05
    #: trainer timesteps (one vectorised env step each); 160 / 1600 = update 10 / 100 at 16 rollouts
    ramp_start: int = 160
    ramp_end: int = 1600
    auc_min: float = 0.60
    #: 1.0: no upper bound (a discriminator that ranks perfectly still gives a graded reward unless saturated)
    auc_max: float = 1.0
    #: also hold the ramp while more than this fraction of logits is saturated (None: no check)
    max_logit_saturation: float | None = 0.5
    #: warn (log + TensorBoard) every this many consecutive updates the gate holds the ramp (0: never)
    warn_after_updates: int = 20


@dataclass
class FeatureStageCfg:
    """One stage of the discriminator feature reintroduction (a mask over the AMP observation)."""

    name: str = "stage"
    #: full term set of this stage (first stage); None: previous stage's terms (+ add - remove)
    terms: list[str] | None = None
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    #: earliest trainer timestep at which this stage may start
    min_step: int = 0
    #: triggers, all must hold for ``hold_updates`` consecutive updates (None: not checked)
    min_episode_length: float | None = None
    max_fall_rate: float | None = None
    auc_min: float | None = None
    auc_max: float | None = None
    hold_updates: int = 1


def _default_stages() -> list[FeatureStageCfg]:
    return [
        FeatureStageCfg(name="stage0", terms=["joint_pos", "joint_vel", "root_lin_vel", "root_ang_vel"]),
        FeatureStageCfg(name="height", add=["root_height"], min_step=50_000, max_fall_rate=0.2, hold_updates=3),
        FeatureStageCfg(
            name="contacts",
            add=["foot_contacts", "foot_height", "foot_z_velocity"],
            min_step=100_000,
            max_fall_rate=0.2,
            hold_updates=3,
        ),
    ]


@dataclass
class FeatureStagesCfg:
    enabled: bool = True
    stages: list[FeatureStageCfg] = field(default_factory=_default_stages)


@dataclass
class DiagnosticsCfg:
    #: compute discriminator diagnostics every this many updates
    interval: int = 1
    #: policy / reference samples per diagnostics pass
    batch_size: int = 2048
    #: a logit counts as saturated when |logit| exceeds this (sigmoid(5) = 0.993)
    logit_saturation_threshold: float = 5.0
    #: per-feature-term contribution methods: grad_x_input, ablation
    attribution: list[str] = field(default_factory=lambda: ["grad_x_input", "ablation"])
    attribution_interval: int = 10
    #: also append every diagnostics record to <run>/diagnostics.jsonl
    jsonl: bool = True


@dataclass
class NanGuardCfg:
    enabled: bool = True
    #: stop the run when every minibatch of this many consecutive updates was skipped (0: never)
    max_consecutive_skipped_updates: int = 20


@dataclass
class CheckpointCfg:
    #: keep only the newest N agent_<step>.pt (None: keep all)
    keep_last: int | None = None
    #: also store the motion dataset and replay buffer (bit-exact resume; large files)
    save_buffers: bool = False
    #: restore python / numpy / torch RNG states on load
    restore_rng: bool = True


@dataclass
class SmokeGateCfg:
    """Micro-train smoke gate: discriminator AUC band and style-reward variance."""

    #: held-out AUC band (see StyleRampCfg: a learning discriminator reads 0.98-1.0 held out after 3 updates)
    auc_min: float = 0.6
    auc_max: float = 1.0
    #: at most this fraction of logits saturated (a flat style reward)
    max_logit_saturation: float = 0.5
    min_style_reward_variance: float = 0.05
    #: the gate reads the mean over this last fraction of the diagnostics records
    window_fraction: float = 0.25


@dataclass
class AmpExtrasCfg:
    #: std of Gaussian noise added to the (normalised) discriminator inputs while training it
    discriminator_input_noise_std: float = 0.05
    reference: ReferenceSamplingCfg = field(default_factory=ReferenceSamplingCfg)
    style_ramp: StyleRampCfg = field(default_factory=StyleRampCfg)
    feature_stages: FeatureStagesCfg = field(default_factory=FeatureStagesCfg)
    diagnostics: DiagnosticsCfg = field(default_factory=DiagnosticsCfg)
    nan_guard: NanGuardCfg = field(default_factory=NanGuardCfg)
    checkpoint: CheckpointCfg = field(default_factory=CheckpointCfg)
    smoke_gate: SmokeGateCfg = field(default_factory=SmokeGateCfg)

    def validate(self, file: str | Path | None = None) -> None:
        p = "agent.amp_extras"
        checks: list[tuple[bool, str, str, str]] = [
            (
                self.discriminator_input_noise_std >= 0,
                f"{p}.discriminator_input_noise_std",
                "must be >= 0",
                "use 0 to disable",
            ),
            (self.reference.temperature > 0, f"{p}.reference.temperature", "must be > 0", "e.g. 1.0"),
            (self.reference.min_motion_ids >= 0, f"{p}.reference.min_motion_ids", "must be >= 0", "e.g. 3"),
            (
                0 < self.style_ramp.initial_fraction <= 1,
                f"{p}.style_ramp.initial_fraction",
                "must be in (0, 1]",
                "e.g. 0.05",
            ),
            (
                self.style_ramp.ramp_end > self.style_ramp.ramp_start >= 0,
                f"{p}.style_ramp.ramp_end",
                "must be > ramp_start >= 0",
                "e.g. 5000 / 50000",
            ),
            (
                self.style_ramp.auc_min < self.style_ramp.auc_max,
                f"{p}.style_ramp.auc_min",
                "must be < auc_max",
                "e.g. 0.60 / 0.85",
            ),
            (self.diagnostics.interval >= 1, f"{p}.diagnostics.interval", "must be >= 1", "e.g. 1"),
            (self.diagnostics.batch_size >= 2, f"{p}.diagnostics.batch_size", "must be >= 2", "e.g. 2048"),
            (
                self.diagnostics.attribution_interval >= 1,
                f"{p}.diagnostics.attribution_interval",
                "must be >= 1",
                "e.g. 10",
            ),
            (
                self.smoke_gate.auc_min < self.smoke_gate.auc_max,
                f"{p}.smoke_gate.auc_min",
                "must be < auc_max",
                "e.g. 0.6 / 0.9",
            ),
            (
                0 < self.smoke_gate.window_fraction <= 1,
                f"{p}.smoke_gate.window_fraction",
                "must be in (0, 1]",
                "e.g. 0.25",
            ),
        ]
        for ok, name, problem, fix in checks:
            if not ok:
                raise InputError(file, name, problem, fix)
        unknown = set(self.diagnostics.attribution) - {"grad_x_input", "ablation"}
        if unknown:
            raise InputError(
                file,
                f"{p}.diagnostics.attribution",
                f"unknown methods {sorted(unknown)}",
                "use grad_x_input and/or ablation",
            )
        if self.feature_stages.enabled:
            if not self.feature_stages.stages:
                raise InputError(
                    file, f"{p}.feature_stages.stages", "is empty", "list at least one stage or set enabled: false"
                )
            if self.feature_stages.stages[0].terms is None:
                raise InputError(
                    file,
                    f"{p}.feature_stages.stages[0].terms",
                    "the first stage needs an explicit term list",
                    "e.g. [joint_pos, joint_vel, root_lin_vel, root_ang_vel]",
                )


# ------------------------------------------------------------------------------------------------------------------
# strict dict -> dataclass
# ------------------------------------------------------------------------------------------------------------------
def dataclass_from_dict(cls: type, data: dict | None, *, file: str | Path | None, path: str) -> Any:
    """Build ``cls`` from ``data``, recursing into nested dataclasses; unknown keys raise :class:`InputError`."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise InputError(file, path, f"must be a mapping, got {type(data).__name__}", None)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(file, f"{path}.{unknown[0]}", "unknown key", f"valid keys: {', '.join(sorted(names))}")
    kwargs = {}
    for key, value in data.items():
        kwargs[key] = _convert(hints[key], value, file=file, path=f"{path}.{key}")
    return cls(**kwargs)


def _convert(hint: Any, value: Any, *, file, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if value is None:
        if hint is type(None) or (origin in (typing.Union, types.UnionType) and type(None) in args):
            return None
        raise InputError(file, path, "must not be null", None)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        return _convert(non_none[0], value, file=file, path=path) if len(non_none) == 1 else value
    if dataclasses.is_dataclass(hint):
        return dataclass_from_dict(hint, value, file=file, path=path)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise InputError(file, path, f"must be a list, got {value!r}", None)
        return (
            [_convert(args[0], v, file=file, path=f"{path}[{i}]") for i, v in enumerate(value)] if args else list(value)
        )
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(file, path, f"must be true/false, got {value!r}", None)
        return value
    if hint in (int, float):
        value = coerce_number(value)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (hint is int and float(value) != int(value))
        ):
            raise InputError(file, path, f"must be a number ({hint.__name__}), got {value!r}", None)
        return hint(value)
    if hint is str and not isinstance(value, str):
        raise InputError(file, path, f"must be a string, got {value!r}", None)
    return value


def parse_extras(data: dict | None, file: str | Path | None = None) -> AmpExtrasCfg:
    extras = dataclass_from_dict(AmpExtrasCfg, data, file=file, path="agent.amp_extras")
    extras.validate(file)
    return extras


# ------------------------------------------------------------------------------------------------------------------
# the whole runner-style cfg
# ------------------------------------------------------------------------------------------------------------------
REQUIRED_SECTIONS = ("models", "memory", "agent", "trainer")


def load_cfg(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "agent cfg file not found", "pass an existing skrl_amp_cfg.yaml")
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise InputError(path, None, f"not valid YAML: {' '.join(str(err).split())}", None) from None
    if not isinstance(cfg, dict):
        raise InputError(path, None, "must be a YAML mapping", "see wildrobot_amp_ext/agents/default_skrl_amp_cfg.yaml")
    check_cfg_sections(cfg, path)
    return cfg


def check_cfg_sections(cfg: dict, file: str | Path | None = None) -> None:
    for section in REQUIRED_SECTIONS:
        if section not in cfg:
            raise InputError(file, section, "missing section", "see wildrobot_amp_ext/agents/default_skrl_amp_cfg.yaml")
    agent_class = str(cfg["agent"].get("class", "AMP"))
    if agent_class.lower() != "amp":
        raise InputError(file, "agent.class", f"is {agent_class!r}; train_amp.py trains AMP", "set agent.class: AMP")


def default_cfg() -> dict:
    return load_cfg(DEFAULT_CFG_PATH)


def split_agent_section(agent: dict, file: str | Path | None = None) -> tuple[dict, dict, AmpExtrasCfg]:
    """``cfg["agent"]`` -> (AMP_CFG keyword arguments without ``experiment``, experiment dict, extras)."""
    from skrl.agents.torch.amp import AMP_CFG

    agent = copy.deepcopy(agent)
    extras = parse_extras(agent.pop("amp_extras", None), file)
    experiment = agent.pop("experiment", None) or {}
    valid = {f.name for f in dataclasses.fields(AMP_CFG)} - {"experiment"}
    kwargs: dict[str, Any] = {}
    for key, value in agent.items():
        if key in IGNORED_AGENT_KEYS:
            continue
        if key == "rewards_shaper_scale":
            if value not in (None, 1.0):
                kwargs["rewards_shaper"] = _RewardScale(float(value))
            continue
        if key in LEGACY_AGENT_KEYS:
            new = LEGACY_AGENT_KEYS[key]
            fix = f"rename it to '{new}'" if new else "remove it (not in skrl 2.x)"
            raise InputError(file, f"agent.{key}", "is a skrl 1.x key", fix)
        if key not in valid:
            raise InputError(file, f"agent.{key}", "unknown AMP_CFG key", f"valid keys: {', '.join(sorted(valid))}")
        kwargs[key] = coerce_number(value)
    for key in list(kwargs):
        if key.endswith("_kwargs") and kwargs[key] is None:
            kwargs[key] = {}
    for key in ("observation_preprocessor", "state_preprocessor", "value_preprocessor", "amp_observation_preprocessor"):
        if key in kwargs:
            kwargs[key] = resolve_component(kwargs[key], "preprocessor", file=file, path=f"agent.{key}")
    if "learning_rate_scheduler" in kwargs:
        kwargs["learning_rate_scheduler"] = resolve_component(
            kwargs["learning_rate_scheduler"], "scheduler", file=file, path="agent.learning_rate_scheduler"
        )
    return kwargs, dict(experiment), extras


class _RewardScale:
    """Picklable reward shaper (skrl's runner uses a lambda)."""

    def __init__(self, scale: float):
        self.scale = scale

    def __call__(self, rewards, *args, **kwargs):
        return rewards * self.scale


def _component_table(kind: str) -> dict[str, type]:
    if kind == "preprocessor":
        from skrl.resources.preprocessors.torch import RunningStandardScaler

        return {"RunningStandardScaler": RunningStandardScaler}
    from skrl.resources.schedulers.torch import KLAdaptiveLR

    return {"KLAdaptiveLR": KLAdaptiveLR}


def resolve_component(value: Any, kind: str, *, file, path: str) -> Any:
    """A class named in YAML (no ``eval``: only the names skrl's runner accepts for this kind)."""
    if value is None or value is False or isinstance(value, type):
        return value or None
    table = _component_table(kind)
    cls = table.get(str(value))
    if cls is None:
        raise InputError(file, path, f"unknown {kind} {value!r}", f"use one of {sorted(table)} or null")
    return cls


def memory_kwargs(cfg: dict, section: str, *, rollouts: int, default_size: int, file=None) -> dict:
    """RandomMemory keyword arguments of a memory section (``memory_size: -1`` = the agent's rollouts)."""
    data = dict(cfg.get(section) or {})
    cls = str(data.pop("class", "RandomMemory"))
    if cls != "RandomMemory":
        raise InputError(file, f"{section}.class", f"unsupported memory {cls!r}", "use RandomMemory")
    size = int(data.pop("memory_size", default_size))
    allowed = {"replacement", "export", "export_format", "export_directory"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputError(
            file,
            f"{section}.{unknown[0]}",
            "unknown memory key",
            f"valid keys: memory_size, {', '.join(sorted(allowed))}",
        )
    return {"memory_size": rollouts if size < 0 else size, **data}


def trainer_kwargs(cfg: dict, file=None) -> dict:
    from skrl.trainers.torch import SequentialTrainerCfg

    data = dict(cfg.get("trainer") or {})
    cls = str(data.pop("class", "SequentialTrainer"))
    if cls != "SequentialTrainer":
        raise InputError(file, "trainer.class", f"unsupported trainer {cls!r}", "use SequentialTrainer")
    valid = {f.name for f in dataclasses.fields(SequentialTrainerCfg)}
    unknown = sorted(set(data) - valid)
    if unknown:
        raise InputError(
            file, f"trainer.{unknown[0]}", "unknown trainer key", f"valid keys: {', '.join(sorted(valid))}"
        )
    return data
