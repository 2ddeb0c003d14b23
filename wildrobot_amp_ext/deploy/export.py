"""Export a skrl 2.1.1 Gaussian policy, with its observation normaliser folded in, to ONNX and TorchScript.

The exported graph maps **raw** observations to **deterministic** actions (the Gaussian's mean), exactly as skrl's
agent computes them at play time::

    x = clamp((obs - running_mean) / (sqrt(running_variance) + epsilon), -clip_threshold, clip_threshold)
    actions = policy.compute({"observations": x})[0]          # + clamp to the action space if clip_mean_actions

(``skrl.resources.preprocessors.torch.RunningStandardScaler._compute``: mean and variance are stored in float64 and
cast to float32 before use; epsilon is added to the standard deviation, not the variance.)

A parity check runs the original skrl objects (``preprocessor(obs)`` then ``policy.act(...)["mean_actions"]``) and
both exports (onnxruntime, ``torch.jit.load``) on the same observations (a spread around the normaliser's mean wide
enough to hit its clip) and reports the largest absolute difference; the default tolerance is 1e-5.

Outputs in ``out_dir``: ``policy.onnx``, ``policy.pt`` (TorchScript), ``policy.json`` (dims, action joint order,
normaliser constants, parity numbers) and, for a robot task, ``deploy.yaml`` (the deploy bundle, ``deploy.bundle``:
joint order and SDK motor map, default pose, gains, action map, observation terms with scales, history length and
layout, step dt, command ranges, IMU body), whose fields are also written into the ONNX ``metadata_props``; all
written atomically.

Command line (no env needed; the architecture comes from the run's ``params/agent.yaml``)::

    wildrobot-export --checkpoint logs/skrl/<task>/<run>/checkpoints/agent_32000.pt
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from wildrobot_amp_ext.deploy.bundle import build_deploy, write_bundle
from wildrobot_amp_ext.deploy.checkpoint import CheckpointInfo, read_checkpoint, run_dir_of
from wildrobot_amp_ext.deploy.policy import policy_from_checkpoint
from wildrobot_amp_ext.errors import InputError, cli_entry
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.utils.atomic import atomic_path, save_json_atomic
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt

ONNX_OPSET = 17
INPUT_NAME = "obs"
OUTPUT_NAME = "actions"
PARITY_TOL = 1e-5


@dataclass
class ExportCfg:
    opset: int = ONNX_OPSET
    #: observations used by the parity check
    parity_samples: int = 512
    #: parity inputs: mean + spread x std x N(0, 1); > clip_threshold reaches the normaliser's clip
    parity_spread: float = 3.0
    parity_seed: int = 0
    parity_tol: float = PARITY_TOL


@dataclass
class ExportResult:
    onnx: Path
    torchscript: Path
    metadata: Path
    obs_dim: int
    action_dim: int
    parity: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.parity.get("ok", False))


class NormalisedPolicy(nn.Module):
    """Raw observation -> mean action: skrl's RunningStandardScaler (frozen) followed by the policy network."""

    def __init__(self, policy: nn.Module, preprocessor: Any | None = None, input_key: str | None = None) -> None:
        super().__init__()
        self.policy = copy.deepcopy(policy).cpu().eval()
        self.input_key = input_key or getattr(policy, "input_key", "observations")
        obs_dim = _policy_input_dim(self.policy, self.input_key)
        scaler = _as_scaler(preprocessor)
        if scaler is None:
            mean, std, eps, clip = torch.zeros(obs_dim), torch.ones(obs_dim), 0.0, math.inf
        else:
            mean = scaler.running_mean.detach().cpu().float()
            std = torch.sqrt(scaler.running_variance.detach().cpu().float())
            eps, clip = float(scaler.epsilon), float(scaler.clip_threshold)
        if mean.numel() != obs_dim:
            raise ValueError(f"normaliser width {mean.numel()} != policy input width {obs_dim}")
        self.register_buffer("obs_mean", mean.clone())
        self.register_buffer("obs_std", std.clone())
        self.epsilon = eps
        self.clip_threshold = clip
        self.has_normaliser = scaler is not None
        # GaussianMixin clamps the mean to the action space only with clip_mean_actions
        self.clip_mean = bool(getattr(self.policy, "_g_clip_mean_actions", False))
        low, high = getattr(self.policy, "_g_min_actions", None), getattr(self.policy, "_g_max_actions", None)
        self.register_buffer(
            "action_low", torch.as_tensor(low).float().cpu() if self.clip_mean and low is not None else torch.zeros(0)
        )
        self.register_buffer(
            "action_high",
            torch.as_tensor(high).float().cpu() if self.clip_mean and high is not None else torch.zeros(0),
        )
        self.clamp_output = bool(self.clip_mean and self.action_low.numel())  # a python bool: constant under tracing
        self.obs_dim = obs_dim
        self.action_dim = int(getattr(self.policy, "num_actions", 0) or 0)

    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        if not self.has_normaliser:
            return obs
        return torch.clamp(
            (obs - self.obs_mean) / (self.obs_std + self.epsilon), min=-self.clip_threshold, max=self.clip_threshold
        )

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = self.normalise(obs)
        actions, _ = self.policy.compute({self.input_key: x}, role="policy")
        if self.clamp_output:
            actions = torch.clamp(actions, min=self.action_low, max=self.action_high)
        return actions


def _as_scaler(preprocessor: Any | None):
    from skrl.resources.preprocessors.torch import RunningStandardScaler

    if preprocessor is None or not isinstance(preprocessor, RunningStandardScaler):
        # skrl uses a plain identity function (agent._empty_preprocessor) when no preprocessor is configured
        return None
    return preprocessor


def _policy_input_dim(policy: nn.Module, input_key: str) -> int:
    dim = getattr(policy, "num_observations" if input_key == "observations" else "num_states", None)
    if not dim:
        first = next(m for m in policy.modules() if isinstance(m, nn.Linear))
        dim = first.in_features
    return int(dim)


# ----------------------------------------------------------------------------------------------------------------
# export
# ----------------------------------------------------------------------------------------------------------------
def export_onnx(module: NormalisedPolicy, path: Path, opset: int = ONNX_OPSET) -> Path:
    import warnings

    example = torch.zeros(1, module.obs_dim)
    # the TorchScript-based exporter is deprecated but exports an MLP in well under a second with no extra deps
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            (example,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    return path


def export_torchscript(module: NormalisedPolicy, path: Path) -> Path:
    import warnings

    example = torch.zeros(4, module.obs_dim)
    # TorchScript is deprecated in torch 2.11 but still the format C++ (libtorch) deployments load
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(module, (example,), check_trace=True)
    with atomic_path(path) as tmp:
        traced.save(str(tmp))
    return path


def reference_actions(
    policy: nn.Module, preprocessor: Any | None, obs: torch.Tensor, input_key: str = "observations"
) -> torch.Tensor:
    """The mean actions skrl itself computes: ``preprocessor(obs)`` then ``policy.act(...)["mean_actions"]``."""
    with torch.no_grad():
        x = preprocessor(obs) if preprocessor is not None else obs
        _, outputs = policy.act({input_key: x}, role="policy")
    return outputs["mean_actions"]


def parity_observations(module: NormalisedPolicy, cfg: ExportCfg) -> torch.Tensor:
    gen = torch.Generator().manual_seed(cfg.parity_seed)
    noise = torch.randn(cfg.parity_samples, module.obs_dim, generator=gen)
    return module.obs_mean + cfg.parity_spread * module.obs_std * noise


def parity_check(
    policy: nn.Module,
    preprocessor: Any | None,
    onnx_path: Path,
    ts_path: Path,
    cfg: ExportCfg | None = None,
    input_key: str | None = None,
) -> dict:
    """Largest |export - skrl| over ``cfg.parity_samples`` observations, for ONNX (onnxruntime) and TorchScript."""
    import onnxruntime as ort

    cfg = cfg or ExportCfg()
    key = input_key or getattr(policy, "input_key", "observations")
    module = NormalisedPolicy(policy, preprocessor, key)
    obs = parity_observations(module, cfg)
    device = next(iter(policy.parameters())).device
    ref = reference_actions(policy, preprocessor, obs.to(device), key).detach().cpu().float()

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_out = torch.from_numpy(session.run([OUTPUT_NAME], {INPUT_NAME: obs.numpy().astype(np.float32)})[0])
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ts_out = torch.jit.load(str(ts_path), map_location="cpu")(obs)
    clipped = (
        float((module.normalise(obs).abs() >= module.clip_threshold).float().mean()) if module.has_normaliser else 0.0
    )
    onnx_err = float((onnx_out - ref).abs().max())
    ts_err = float((ts_out - ref).abs().max())
    return {
        "samples": cfg.parity_samples,
        "tolerance": cfg.parity_tol,
        "onnx_max_abs_err": onnx_err,
        "torchscript_max_abs_err": ts_err,
        "action_abs_max": float(ref.abs().max()),
        "clipped_input_fraction": clipped,
        "ok": onnx_err <= cfg.parity_tol and ts_err <= cfg.parity_tol,
    }


def export_policy(
    policy: nn.Module,
    preprocessor: Any | None,
    out_dir: str | Path,
    *,
    cfg: ExportCfg | None = None,
    metadata: dict | None = None,
    input_key: str | None = None,
) -> ExportResult:
    """Write ``policy.onnx`` / ``policy.pt`` / ``policy.json`` to ``out_dir`` and run the parity check.

    ``policy`` is a skrl GaussianMixin model (e.g. ``agent.policy``), ``preprocessor`` the agent's observation
    preprocessor (``agent._observation_preprocessor``: a RunningStandardScaler, or skrl's identity function)."""
    cfg = cfg or ExportCfg()
    out_dir = Path(out_dir)
    metadata = dict(metadata or {})
    deploy = metadata.pop("deploy", None)
    module = NormalisedPolicy(policy, preprocessor, input_key)
    onnx_path = export_onnx(module, out_dir / "policy.onnx", cfg.opset)
    if deploy is not None:
        write_bundle(deploy, out_dir, onnx_path)
    ts_path = export_torchscript(module, out_dir / "policy.pt")
    parity = parity_check(policy, preprocessor, onnx_path, ts_path, cfg, module.input_key)
    import skrl

    info = {
        "format": 1,
        "input": {"name": INPUT_NAME, "shape": ["batch", module.obs_dim], "kind": "raw observations (policy group)"},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", module.action_dim], "kind": "mean actions (deterministic)"},
        "normaliser": {
            "folded_in": module.has_normaliser,
            "epsilon": module.epsilon,
            "clip_threshold": module.clip_threshold if math.isfinite(module.clip_threshold) else None,
        },
        "clip_mean_actions": module.clip_mean,
        "onnx_opset": cfg.opset,
        "skrl": skrl.__version__,
        "torch": torch.__version__,
        "parity": parity,
        "export_cfg": asdict(cfg),
        #: the deploy bundle (deploy.yaml; the same fields are in the ONNX metadata_props), None without a robot
        "deploy": "deploy.yaml" if deploy is not None else None,
        **metadata,
    }
    meta_path = out_dir / "policy.json"
    save_json_atomic(meta_path, info)
    return ExportResult(onnx_path, ts_path, meta_path, module.obs_dim, module.action_dim, parity)


def checkpoint_metadata(info: CheckpointInfo) -> dict:
    meta: dict[str, Any] = {"checkpoint": str(info.path), "task": info.task, "robot": info.robot}
    if info.robot:
        try:
            meta["action_joint_names"] = list(load_robot(info.robot).joint_names)
        except InputError:
            pass
    if info.env_cfg and info.robot:
        # what a robot (or the MuJoCo sim2sim runner) needs to run the policy: deploy.yaml + ONNX metadata
        meta["deploy"] = build_deploy(load_robot(info.robot), info.env_cfg, info.obs_dim, info.action_dim)
    if info.env_cfg:
        action = ((info.env_cfg.get("actions") or {}).get("joint_pos")) or {}
        meta["action_scale"] = action.get("scale")
        meta["action_use_default_offset"] = action.get("use_default_offset")
        meta["decimation"] = info.env_cfg.get("decimation")
        sim = info.env_cfg.get("sim") or {}
        if sim.get("dt") and info.env_cfg.get("decimation"):
            meta["control_dt"] = float(sim["dt"]) * int(info.env_cfg["decimation"])
    return meta


def export_checkpoint(
    info: CheckpointInfo,
    out_dir: str | Path,
    *,
    cfg: ExportCfg | None = None,
    activation: str = "elu",
    require_deploy: bool = False,
) -> ExportResult:
    """A checkpoint's policy (rebuilt by the one loader, ``deploy.policy``) exported to ``out_dir`` with its metadata
    and, for a robot task's run, the deploy bundle; ``require_deploy`` refuses a run without one before writing."""
    policy, preprocessor = policy_from_checkpoint(info, activation)
    meta = checkpoint_metadata(info)
    if require_deploy and "deploy" not in meta:
        raise InputError(info.path, "robot", "the run names no robot task", "pass a robot task's checkpoint")
    return export_policy(policy, preprocessor, out_dir, cfg=cfg, metadata=meta)


# ----------------------------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class ExportArgs:
    """``wildrobot-export``'s flags (defaults from :class:`ExportCfg`)."""

    checkpoint: str = opt(required=True, help="agent_<timestep>.pt")
    out: str | None = opt(None, help="output folder (default: <run>/exported)")
    activation: str = opt("elu", help="hidden activation when the run has no params/agent.yaml")
    opset: int = ExportCfg.opset
    parity_samples: int = ExportCfg.parity_samples
    parity_tol: float = ExportCfg.parity_tol


def build_parser():
    p = CliParser(
        description="Export a skrl AMP checkpoint's policy (+ observation normaliser) to ONNX and TorchScript, "
        "with a parity check."
    )
    add_config(p, ExportArgs)
    return p


def run_cli(argv=None) -> int:
    args = build_parser().parse_args(argv)
    info = read_checkpoint(args.checkpoint)
    out = Path(args.out) if args.out else run_dir_of(info.path) / "exported"
    cfg = ExportCfg(opset=args.opset, parity_samples=args.parity_samples, parity_tol=args.parity_tol)
    result = export_checkpoint(info, out, cfg=cfg, activation=args.activation)
    print(format_result(result))
    return 0 if result.ok else 1


def format_result(result: ExportResult) -> str:
    p = result.parity
    verdict = "PASS" if result.ok else "FAIL"
    return (
        f"[export] obs {result.obs_dim} -> actions {result.action_dim}: "
        f"{result.onnx}, {result.torchscript}, {result.metadata}\n"
        f"[export] parity {verdict}: max |onnx - torch| = {p['onnx_max_abs_err']:.2e}, max |torchscript - torch| = "
        f"{p['torchscript_max_abs_err']:.2e} over {p['samples']} observations "
        f"({100 * p['clipped_input_fraction']:.1f}% of inputs "
        f"at the normaliser clip; tolerance {p['tolerance']:.0e})"
    )


def main(argv=None) -> int:
    return cli_entry(run_cli)(argv)


if __name__ == "__main__":
    raise SystemExit(main())
