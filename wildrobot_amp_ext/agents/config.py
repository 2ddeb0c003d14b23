"""The AMP agent's configuration: one typed tree of dataclasses.

Each task registers a subclass of :class:`AmpAgentCfg` as its ``skrl_amp_cfg_entry_point`` (the way Isaac Lab
registers its RL configs); ``train_amp.py`` resolves it and applies ``agent.<path>=<value>`` overrides, e.g.
``agent.models.discriminator.layers=[512,256]`` or ``agent.agent.learning_rate=1e-4``. The layout is skrl 2.x's
runner layout (``seed``, ``models``, ``memory``, ``motion_dataset``, ``reply_buffer``, ``agent``, ``trainer``), so
a run's ``params/agent.yaml`` reads like Isaac Lab's ``skrl_amp_cfg.yaml``; ``agent`` holds skrl's AMP keys and
``amp`` what this package adds to skrl's AMP (style ramp, feature stages, diagnostics, guards). Reference sampling
is an env setting (``env.amp.*``), not an agent one.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.features.spec import STAGE0_TERMS
from wildrobot_amp_ext.utils.typed_cfg import from_dict, to_dict

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


# ------------------------------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class MlpCfg:
    """One MLP: hidden widths, activation (one name, or one per layer) and the observation group it reads."""

    layers: list[int] = field(default_factory=lambda: [512, 256, 128])
    activations: str | list[str] = "elu"
    #: OBSERVATIONS (the policy group) or STATES (the critic group, asymmetric actor-critic)
    input: str = "OBSERVATIONS"


@dataclass
class PolicyCfg(MlpCfg):
    """Gaussian policy (skrl's GaussianMixin)."""

    initial_log_std: float = -0.5
    fixed_log_std: bool = False
    clip_actions: bool = False
    clip_log_std: bool = True
    min_log_std: float = -20.0
    max_log_std: float = 2.0


@dataclass
class ValueCfg(MlpCfg):
    """State value (skrl's DeterministicMixin)."""

    clip_actions: bool = False


@dataclass
class DiscriminatorCfg(MlpCfg):
    """Reads the AMP observation; its last module is an nn.Linear (skrl's logit regulariser reads its weight).
    Small on purpose: at [256, 128] it already separates policy from reference within three updates."""

    layers: list[int] = field(default_factory=lambda: [256, 128])
    activations: str | list[str] = "relu"
    clip_actions: bool = False


@dataclass
class ModelsCfg:
    policy: PolicyCfg = field(default_factory=PolicyCfg)
    value: ValueCfg = field(default_factory=ValueCfg)
    discriminator: DiscriminatorCfg = field(default_factory=DiscriminatorCfg)


@dataclass
class MemoryCfg:
    #: -1: the agent's rollouts (the rollout memory)
    memory_size: int = -1


# ------------------------------------------------------------------------------------------------------------------
# skrl's AMP keys (AMP_CFG), with names for classes so the tree stays YAML
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class ExperimentCfg:
    """skrl's ExperimentCfg; ``directory`` / ``experiment_name`` are set by train_amp.py."""

    directory: str = ""
    experiment_name: str = ""
    #: timesteps between TensorBoard writes ("auto": once per update, see WildRobotAMP)
    write_interval: int | str = "auto"
    #: rounded up to a multiple of rollouts ("auto": timesteps / 10)
    checkpoint_interval: int | str = "auto"
    wandb: bool = False
    wandb_kwargs: dict = field(default_factory=dict)


@dataclass
class AmpAlgorithmCfg:
    """skrl 2.1.1 AMP_CFG keys (same names, this package's defaults).

    PPO as Isaac Lab's locomotion tasks run it (rsl_rl: 5 epochs x 4 minibatches, lr 1e-3 under a KL-adaptive
    schedule, desired KL 0.01) rather than skrl's AMP example (6 x 2, fixed lr 5e-5): measured on the toy env
    (1500 timesteps, nearest-reference distance after / before training), 6 x 2 at 5e-5 reached 0.79x (seed 0),
    5 x 4 at 1e-3 0.44-0.62x (seeds 0-2)."""

    rollouts: int = 16
    learning_epochs: int = 5
    mini_batches: int = 4
    discount_factor: float = 0.99
    gae_lambda: float = 0.95
    learning_rate: float = 1.0e-3
    #: null or KLAdaptiveLR (shared by policy, value and discriminator: skrl's AMP has one optimiser)
    learning_rate_scheduler: str | None = "KLAdaptiveLR"
    learning_rate_scheduler_kwargs: dict = field(default_factory=lambda: {"kl_threshold": 0.01})
    #: null or RunningStandardScaler, for each preprocessor
    observation_preprocessor: str | None = "RunningStandardScaler"
    observation_preprocessor_kwargs: dict = field(default_factory=dict)
    state_preprocessor: str | None = None
    state_preprocessor_kwargs: dict = field(default_factory=dict)
    value_preprocessor: str | None = "RunningStandardScaler"
    value_preprocessor_kwargs: dict = field(default_factory=dict)
    amp_observation_preprocessor: str | None = "RunningStandardScaler"
    amp_observation_preprocessor_kwargs: dict = field(default_factory=dict)
    grad_norm_clip: float = 1.0
    ratio_clip: float = 0.2
    value_clip: float = 0.2
    entropy_loss_scale: float = 0.0
    value_loss_scale: float = 2.5
    discriminator_loss_scale: float = 5.0
    amp_batch_size: int = 512
    #: task and style rewards in one per-step unit (the style reward x step_dt, like every Isaac Lab reward term):
    #: their ratio is what PPO sees (skrl's own defaults, 0 / 2, ignore the task). 0.3 / 0.7 is AMP for legged
    #: robots' task/style interpolation (Escontrela et al. 2022, amp_task_reward_lerp 0.3); measured on the toy env
    #: (least-squares objective): 0.5 / 0.5 ended 1.04x its starting distance to the reference, 0.3 / 0.7
    #: 0.25-0.6x, 0.2 / 0.8 0.28-0.35x.
    task_reward_scale: float = 0.3
    style_reward_scale: float = 0.7
    discriminator_batch_size: int = 4096
    discriminator_logit_regularization_scale: float = 0.05
    discriminator_gradient_penalty_scale: float = 5.0
    discriminator_weight_decay_scale: float = 1.0e-4
    #: skrl adds the bootstrapped value to the *task* reward before task_reward_scale multiplies it: keep off
    time_limit_bootstrap: bool = False
    mixed_precision: bool = False
    experiment: ExperimentCfg = field(default_factory=ExperimentCfg)


@dataclass
class TrainerCfg:
    """skrl's SequentialTrainerCfg keys this package sets (``train_amp.py --max_iterations`` sets timesteps)."""

    timesteps: int = 100000
    environment_info: str = "log"
    disable_progressbar: bool = False


# ------------------------------------------------------------------------------------------------------------------
# what this package adds to skrl's AMP
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class StyleRampCfg:
    """Style (AMP) reward weight ramp: start at ``initial_fraction`` of the final weight, reach it between two
    timesteps, and advance only while the discriminator is informative on samples it has not trained on.

    Defaults from measurements (held-out AUC: the rollout before the update trains on it). On the toy env and on
    WildRobot-AMP-Flat-v0 (CPU, 16 envs) the held-out AUC read 0.3-0.5 at the first update, 0.85-0.94 at the
    second and 0.98-1.0 from the third on, with unsaturated logits (saturation 0.0) and a varying style reward:
    an upper AUC bound below 1 (the former 0.85) held the ramp for good. The gate now holds only an uninformative
    discriminator (AUC < auc_min) or a flat reward (most logits saturated). The ramp spans updates a CPU run
    reaches (the former 5k-50k timesteps are 4.4 h at 256 envs on 2 cores).

    Off by default: on the toy env (least-squares objective, 0.3 / 0.7, 1500 timesteps) a ramp from 50 % left the
    policy at 0.90x its starting distance to the reference, none at 0.37x; from 5 % it learned no style at all.
    Turn it on (``agent.amp.style_ramp.enabled=true``) when the task must be learned before the style."""

    enabled: bool = False
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
    # min_step in trainer timesteps: 1,600 / 3,200 = update 100 / 200 at 16 rollouts. The fall-rate trigger is the
    # real gate; the earlier 50k / 100k (3,125 / 6,250 updates) were never reached by a CPU run (about 1,000 updates
    # in two hours), so the height and contact terms never engaged
    return [
        FeatureStageCfg(name="stage0", terms=list(STAGE0_TERMS)),
        FeatureStageCfg(name="height", add=["root_height"], min_step=1_600, max_fall_rate=0.2, hold_updates=3),
        FeatureStageCfg(
            name="contacts",
            add=["foot_contacts", "foot_height", "foot_z_velocity"],
            min_step=3_200,
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


#: style-reward variance a micro-train run must exceed, per discriminator objective. bce: -log(1 - D) spans 0-9.2;
#: least_squares: max(0, 1 - 0.25 (d - 1)^2) spans 0-1, and a toy policy that imitated (0.44x its starting
#: distance to the reference) read 0.0245 where bce's 0.05 would have failed it
MIN_STYLE_REWARD_VARIANCE = {"bce": 0.05, "least_squares": 0.01}


@dataclass
class SmokeGateCfg:
    """Micro-train smoke gate: discriminator AUC band and style-reward variance."""

    #: held-out AUC band (see StyleRampCfg: a learning discriminator reads 0.98-1.0 held out after 3 updates)
    auc_min: float = 0.6
    auc_max: float = 1.0
    #: at most this fraction of logits saturated (a flat style reward)
    max_logit_saturation: float = 0.5
    #: None: the objective's own (MIN_STYLE_REWARD_VARIANCE): the two style rewards live on different scales
    min_style_reward_variance: float | None = None
    #: the gate reads the mean over this last fraction of the diagnostics records
    window_fraction: float = 0.25


@dataclass
class AmpExtrasCfg:
    #: std of Gaussian noise added to the (normalised) discriminator inputs while training it
    discriminator_input_noise_std: float = 0.05
    #: least_squares (targets +1 / -1, style reward max(0, 1 - 0.25 (d - 1)^2), Escontrela et al. 2022) or bce
    #: (skrl: BCE loss, style reward -log(1 - D)). Measured on the toy env (0.3 / 0.7, 1500 timesteps, seeds 0-2):
    #: least_squares ended at 0.25-0.62x the starting distance to the reference, bce at 0.76-1.58x
    discriminator_objective: str = "least_squares"
    #: a control for experiments: the style reward PPO sees is replaced by this constant per-step value (the unit
    #: of ``Reward / Style per step``), so a run keeps a style run's survival incentive without its information;
    #: the discriminator still trains (same cost per update). None: the discriminator's style reward
    constant_style_reward: float | None = None
    style_ramp: StyleRampCfg = field(default_factory=StyleRampCfg)
    feature_stages: FeatureStagesCfg = field(default_factory=FeatureStagesCfg)
    diagnostics: DiagnosticsCfg = field(default_factory=DiagnosticsCfg)
    nan_guard: NanGuardCfg = field(default_factory=NanGuardCfg)
    checkpoint: CheckpointCfg = field(default_factory=CheckpointCfg)
    smoke_gate: SmokeGateCfg = field(default_factory=SmokeGateCfg)

    def validate(self, file: str | Path | None = None) -> None:
        p = "amp"
        ramp, gate, diag = self.style_ramp, self.smoke_gate, self.diagnostics
        checks: list[tuple[bool, str, str, str]] = [
            (self.discriminator_input_noise_std >= 0, "discriminator_input_noise_std", "must be >= 0", "0: off"),
            (0 < ramp.initial_fraction <= 1, "style_ramp.initial_fraction", "must be in (0, 1]", "e.g. 0.05"),
            (ramp.ramp_end > ramp.ramp_start >= 0, "style_ramp.ramp_end", "must be > ramp_start >= 0", "e.g. 1600"),
            (ramp.auc_min < ramp.auc_max, "style_ramp.auc_min", "must be < auc_max", "e.g. 0.60 / 1.0"),
            (diag.interval >= 1, "diagnostics.interval", "must be >= 1", "e.g. 1"),
            (diag.batch_size >= 2, "diagnostics.batch_size", "must be >= 2", "e.g. 2048"),
            (diag.attribution_interval >= 1, "diagnostics.attribution_interval", "must be >= 1", "e.g. 10"),
            (gate.auc_min < gate.auc_max, "smoke_gate.auc_min", "must be < auc_max", "e.g. 0.6 / 1.0"),
            (0 < gate.window_fraction <= 1, "smoke_gate.window_fraction", "must be in (0, 1]", "e.g. 0.25"),
        ]
        for ok, name, problem, fix in checks:
            if not ok:
                raise InputError(file, f"{p}.{name}", problem, fix)
        unknown = set(diag.attribution) - {"grad_x_input", "ablation"}
        if unknown:
            raise InputError(
                file, f"{p}.diagnostics.attribution", f"unknown methods {sorted(unknown)}", "grad_x_input, ablation"
            )
        stages = self.feature_stages
        if stages.enabled and not stages.stages:
            raise InputError(file, f"{p}.feature_stages.stages", "is empty", "list a stage or set enabled: false")
        if stages.enabled and stages.stages[0].terms is None:
            raise InputError(
                file,
                f"{p}.feature_stages.stages[0].terms",
                "the first stage needs an explicit term list",
                "e.g. [joint_pos, joint_vel, root_lin_vel, root_ang_vel]",
            )


# ------------------------------------------------------------------------------------------------------------------
# the whole tree
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class AmpAgentCfg:
    """skrl AMP agent config of this package's tasks (a task registers a subclass as its agent entry point)."""

    seed: int | None = 42
    models: ModelsCfg = field(default_factory=ModelsCfg)
    #: rollout memory (-1: agent.rollouts)
    memory: MemoryCfg = field(default_factory=MemoryCfg)
    #: reference AMP observations, refilled with amp_batch_size samples every update
    motion_dataset: MemoryCfg = field(default_factory=lambda: MemoryCfg(200_000))
    #: skrl's replay of past policy AMP observations (the discriminator does not forget old policies)
    reply_buffer: MemoryCfg = field(default_factory=lambda: MemoryCfg(1_000_000))
    agent: AmpAlgorithmCfg = field(default_factory=AmpAlgorithmCfg)
    amp: AmpExtrasCfg = field(default_factory=AmpExtrasCfg)
    trainer: TrainerCfg = field(default_factory=TrainerCfg)

    def validate(self, file: str | Path | None = None) -> AmpAgentCfg:
        # here: agents.models loads torch and skrl; the config itself reads without them
        from wildrobot_amp_ext.agents.models import ACTIVATIONS

        self.amp.validate(file)
        for role in ("policy", "value", "discriminator"):
            m = getattr(self.models, role)
            if not m.layers or not all(isinstance(w, int) and w > 0 for w in m.layers):
                raise InputError(file, f"models.{role}.layers", f"must be positive ints, got {m.layers}", "[256, 128]")
            acts = [m.activations] * len(m.layers) if isinstance(m.activations, str) else list(m.activations)
            if len(acts) != len(m.layers) or any(a not in ACTIVATIONS for a in acts):
                raise InputError(
                    file,
                    f"models.{role}.activations",
                    f"got {m.activations!r}",
                    f"one name or one per layer of {sorted(ACTIVATIONS)}",
                )
            if m.input not in ("OBSERVATIONS", "STATES") or (role == "discriminator" and m.input != "OBSERVATIONS"):
                raise InputError(file, f"models.{role}.input", f"got {m.input!r}", "use OBSERVATIONS")
        for name in ("observation", "state", "value", "amp_observation"):
            value = getattr(self.agent, f"{name}_preprocessor")
            if value not in (None, "RunningStandardScaler"):
                raise InputError(
                    file, f"agent.{name}_preprocessor", f"unknown {value!r}", "RunningStandardScaler or null"
                )
        if self.agent.learning_rate_scheduler not in (None, "KLAdaptiveLR"):
            raise InputError(file, "agent.learning_rate_scheduler", "unknown scheduler", "KLAdaptiveLR or null")
        if self.agent.rollouts < 1 or self.agent.mini_batches < 1 or self.agent.learning_epochs < 1:
            raise InputError(file, "agent.rollouts", "rollouts, mini_batches and learning_epochs must be >= 1", None)
        return self

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, file: str | Path | None = None) -> AmpAgentCfg:
        """Strict: every key must be a field of the tree (a run's params/agent.yaml, an --agent_cfg file)."""
        data = _from_runner_layout(data) if _is_runner_layout(data) else data
        return from_dict(cls, data, file=file, hint=renamed_key_hint).validate(file)


def renamed_key_hint(file: str | Path | None, path: str, key: str) -> InputError | None:
    """A one-line fix for a key that skrl 1.x or an earlier layout of this config used."""
    full, section = (f"{path}.{key}" if path else key), path.rsplit(".", 1)[-1]
    if section == "agent" and key in LEGACY_AGENT_KEYS:
        new = LEGACY_AGENT_KEYS[key]
        return InputError(file, full, "is a skrl 1.x key", f"rename it to '{new}'" if new else "remove it")
    if section == "agent" and key == "amp_extras":
        return InputError(
            file, full, "has moved", "this package's AMP settings are under amp.* (agent.amp.* on the command line)"
        )
    if section in ("amp", "amp_extras") and key == "reference":
        return InputError(
            file,
            full,
            "has moved",
            "reference sampling is an env setting: env.amp.dataset / sampler_temperature / min_motion_ids",
        )
    return None


def load_agent_yaml(path: str | Path) -> AmpAgentCfg:
    """An agent config file (a run's ``params/agent.yaml`` or an ``--agent_cfg`` file), either layout."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "agent cfg file not found", "pass an existing agent.yaml")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise InputError(path, None, f"not valid YAML: {' '.join(str(err).split())}", None) from None
    return AmpAgentCfg.from_dict(data, path)


#: runs written before ``amp.discriminator_objective`` existed trained with skrl's BCE: they resume with it
OBJECTIVE_BEFORE_THE_OPTION = "bce"


def extras_from_dict(data: Any, file: str | Path | None = None) -> AmpExtrasCfg:
    """The ``amp`` section as stored in a checkpoint (one written before the typed config may carry ``reference``,
    now an env setting: dropped)."""
    data = {k: v for k, v in (data or {}).items() if k != "reference"}
    data.setdefault("discriminator_objective", OBJECTIVE_BEFORE_THE_OPTION)
    return from_dict(AmpExtrasCfg, data, file=file, path="amp", hint=renamed_key_hint)


# ------------------------------------------------------------------------------------------------------------------
# runs written before the typed config: skrl's runner YAML (models.<role>.network[0], agent.amp_extras, class keys)
# ------------------------------------------------------------------------------------------------------------------
def _is_runner_layout(data: Any) -> bool:
    models = (data or {}).get("models") if isinstance(data, dict) else None
    agent = (data or {}).get("agent") if isinstance(data, dict) else None
    old_models = isinstance(models, dict) and any(isinstance(m, dict) and "network" in m for m in models.values())
    return old_models or (isinstance(agent, dict) and "amp_extras" in agent)


#: keys of skrl's runner layout that the typed tree does not carry (they have one possible value here)
_RUNNER_ONLY = {"class", "output", "separate", "random_timesteps", "learning_starts", "clip_predicted_values"}


def _from_runner_layout(data: dict) -> dict:
    data = copy.deepcopy(data)
    for spec in (data.get("models") or {}).values():
        if isinstance(spec, dict) and isinstance(spec.get("network"), list) and spec["network"]:
            net = spec.pop("network")[0]
            spec.update({k: net[k] for k in ("layers", "activations", "input") if k in net})
    data["models"] = {r: _drop(s) for r, s in (data.get("models") or {}).items() if r != "separate"}
    for section in ("memory", "motion_dataset", "reply_buffer", "trainer"):
        if isinstance(data.get(section), dict):
            data[section] = {
                k: v for k, v in _drop(data[section]).items() if k not in ("headless", "close_environment_at_exit")
            }
    agent = _drop(data.get("agent") or {})
    extras = agent.pop("amp_extras", None) or {}
    extras.pop("reference", None)  # reference sampling is an env setting now (env.amp.*)
    extras.setdefault("discriminator_objective", OBJECTIVE_BEFORE_THE_OPTION)
    agent.pop("rewards_shaper_scale", None)
    for key in [k for k, v in agent.items() if k.endswith("_kwargs") and v is None]:
        agent[key] = {}
    data["agent"], data["amp"] = agent, extras
    return data


def _drop(section: Any) -> Any:
    return {k: v for k, v in section.items() if k not in _RUNNER_ONLY} if isinstance(section, dict) else section


# ------------------------------------------------------------------------------------------------------------------
# tree -> skrl objects
# ------------------------------------------------------------------------------------------------------------------
def skrl_component(name: str | None, kind: str) -> type | None:
    """The class a name in the config stands for (no ``eval``: only the names skrl's runner accepts)."""
    if name is None:
        return None
    if kind == "preprocessor":
        from skrl.resources.preprocessors.torch import RunningStandardScaler

        return {"RunningStandardScaler": RunningStandardScaler}[name]
    from skrl.resources.schedulers.torch import KLAdaptiveLR

    return {"KLAdaptiveLR": KLAdaptiveLR}[name]


def skrl_amp_kwargs(cfg: AmpAlgorithmCfg) -> dict:
    """skrl AMP_CFG keyword arguments (classes resolved, experiment as skrl's ExperimentCfg)."""
    from skrl.agents.torch import ExperimentCfg as SkrlExperimentCfg

    kwargs = {f.name: copy.deepcopy(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    for key in ("observation_preprocessor", "state_preprocessor", "value_preprocessor", "amp_observation_preprocessor"):
        kwargs[key] = skrl_component(kwargs[key], "preprocessor")
    kwargs["learning_rate_scheduler"] = skrl_component(kwargs["learning_rate_scheduler"], "scheduler")
    kwargs["experiment"] = SkrlExperimentCfg(**to_dict(cfg.experiment))
    return kwargs
