"""Policy export: ONNX / TorchScript reproduce skrl's own mean actions (normaliser folded in) to 1e-5."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
import yaml
from skrl.models.torch import GaussianMixin, Model
from skrl.resources.preprocessors.torch import RunningStandardScaler

from wildrobot_amp_ext.agents.models import GaussianPolicy
from wildrobot_amp_ext.deploy.checkpoint import read_checkpoint
from wildrobot_amp_ext.deploy.export import INPUT_NAME, OUTPUT_NAME, export_policy, reference_actions
from wildrobot_amp_ext.deploy.policy import policy_from_checkpoint
from wildrobot_amp_ext.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")
OBS, ACT = 37, 9


def box(n: int, bound: float = np.inf) -> gymnasium.spaces.Box:
    return gymnasium.spaces.Box(-bound, bound, (n,), np.float32)


@pytest.fixture()
def policy():
    torch.manual_seed(0)
    model = GaussianPolicy(
        observation_space=box(OBS), action_space=box(ACT), device="cpu", layers=[64, 32], activations=["elu", "tanh"]
    )
    # a last layer large enough that actions are O(1): errors are measured on a meaningful scale
    with torch.no_grad():
        model.net[-1].weight.mul_(5.0)
    return model.eval()


@pytest.fixture()
def scaler():
    """Stats far from (0, 1): per-column means in [-3, 3], standard deviations in [0.01, 5]."""
    torch.manual_seed(1)
    s = RunningStandardScaler(size=box(OBS), device="cpu")
    scale, shift = torch.linspace(0.01, 5.0, OBS), torch.linspace(-3.0, 3.0, OBS)
    for _ in range(4):
        s(torch.randn(256, OBS) * scale + shift, train=True)
    return s.eval()


def onnx_run(path: Path, obs: torch.Tensor) -> torch.Tensor:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run([OUTPUT_NAME], {INPUT_NAME: obs.numpy().astype(np.float32)})[0])


def raw_obs(scaler: RunningStandardScaler, n: int = 300, seed: int = 7) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    std = scaler.running_variance.float().sqrt()
    return scaler.running_mean.float() + 4.0 * std * torch.randn(n, OBS, generator=gen)


def test_onnx_and_torchscript_match_skrl_actions(policy, scaler, tmp_path):
    result = export_policy(policy, scaler, tmp_path, metadata={"task": "unit"})
    assert result.ok and result.parity["onnx_max_abs_err"] <= 1e-5
    # independent of the module's own check: new observations, compared with skrl's act() path
    obs = raw_obs(scaler)
    ref = reference_actions(policy, scaler, obs)
    assert ref.abs().max() > 0.5  # a meaningful action scale
    clipped = (
        (obs - scaler.running_mean.float()) / (scaler.running_variance.float().sqrt() + scaler.epsilon)
    ).abs() > scaler.clip_threshold
    assert clipped.float().mean() > 0.05  # the normaliser's clip is exercised
    assert (onnx_run(result.onnx, obs) - ref).abs().max() <= 1e-5
    ts = torch.jit.load(str(result.torchscript))
    assert (ts(obs) - ref).abs().max() <= 1e-5
    # any batch size
    assert onnx_run(result.onnx, obs[:1]).shape == (1, ACT)
    meta = json.loads(result.metadata.read_text())
    assert meta["input"]["shape"] == ["batch", OBS] and meta["output"]["shape"] == ["batch", ACT]
    assert meta["normaliser"] == {"folded_in": True, "epsilon": scaler.epsilon, "clip_threshold": scaler.clip_threshold}
    assert meta["task"] == "unit"


def test_the_normaliser_is_folded_in(policy, scaler, tmp_path):
    with_scaler = export_policy(policy, scaler, tmp_path / "a")
    without = export_policy(policy, None, tmp_path / "b")
    obs = raw_obs(scaler, 50)
    folded, plain = onnx_run(with_scaler.onnx, obs), onnx_run(without.onnx, obs)
    # raw observations -> same actions as the network on normalised inputs, not on raw inputs
    np.testing.assert_allclose(folded, policy.net(scaler(obs)).detach(), atol=1e-5)
    np.testing.assert_allclose(plain, policy.net(obs).detach(), atol=1e-5)
    assert (folded - plain).abs().max() > 0.1


class BoundedPolicy(GaussianMixin, Model):
    """A plain skrl model (not this package's) with clip_mean_actions on a bounded action space."""

    def __init__(self, observation_space, action_space):
        Model.__init__(self, observation_space=observation_space, action_space=action_space, device="cpu")
        GaussianMixin.__init__(self, clip_mean_actions=True, role="policy")
        self.body = torch.nn.Sequential(
            torch.nn.Linear(self.num_observations, 16), torch.nn.ReLU(), torch.nn.Linear(16, self.num_actions)
        )
        self.log_std = torch.nn.Parameter(torch.zeros(self.num_actions))

    def compute(self, inputs, role=""):
        return 10.0 * self.body(inputs["observations"]), {"log_std": self.log_std}


def test_plain_skrl_model_with_mean_clipping(scaler, tmp_path):
    torch.manual_seed(3)
    model = BoundedPolicy(box(OBS), box(ACT, bound=0.5)).eval()
    result = export_policy(model, scaler, tmp_path)
    assert result.ok
    out = onnx_run(result.onnx, raw_obs(scaler, 100))
    assert out.abs().max() == pytest.approx(0.5)  # clamped to the action space, like skrl's mean_actions


# ----------------------------------------------------------------------------------------------------------------
# checkpoints of train_amp.py runs
# ----------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A real (tiny) training run of train_amp.py on the toy env: checkpoint + params/ folder."""
    from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv, tiny_agent_cfg

    tmp = tmp_path_factory.mktemp("toy")
    cfg = tmp / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_agent_cfg().to_dict()))
    dataset = ToyAmpEnv(num_envs=2).write_reference_npz(tmp / "ref.npz", segment_frames=50)
    spec = importlib.util.spec_from_file_location("train_amp", ROOT / "train_amp.py")
    train_amp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_amp)
    argv = [
        "--task",
        "Toy-AMP-v0",
        "--num_envs",
        "4",
        "--steps",
        "32",
        "--agent_cfg",
        str(cfg),
        "--dataset",
        str(dataset),
        "--log_root",
        str(tmp / "logs"),
    ]
    assert train_amp.main(argv) == 0
    run = next((tmp / "logs" / "Toy-AMP-v0").iterdir())
    return max((run / "checkpoints").glob("agent_*.pt"), key=lambda p: int(p.stem.split("_")[1]))


def test_checkpoint_export_cli(toy_run, tmp_path):
    info = read_checkpoint(toy_run)
    assert info.task == "Toy-AMP-v0" and info.agent_cfg is not None
    policy, scaler = policy_from_checkpoint(info)
    assert scaler is not None and scaler.current_count > 1  # the trained normaliser, not a fresh one
    out = tmp_path / "exported"
    done = subprocess.run(
        [sys.executable, "-m", "wildrobot_amp_ext.deploy.export", "--checkpoint", str(toy_run), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "parity PASS" in done.stdout
    obs = scaler.running_mean.float() + 3 * scaler.running_variance.float().sqrt() * torch.randn(64, info.obs_dim)
    np.testing.assert_allclose(onnx_run(out / "policy.onnx", obs), reference_actions(policy, scaler, obs), atol=1e-5)


def test_bad_checkpoints_are_refused(toy_run, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable torch checkpoint"):
        read_checkpoint(junk)
    torch.save({"value": {}}, tmp_path / "nopolicy.pt")
    with pytest.raises(InputError, match="no policy state"):
        read_checkpoint(tmp_path / "nopolicy.pt")
    # a checkpoint next to a params/agent.yaml describing another network
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "params").mkdir()
    torch.save(torch.load(toy_run, weights_only=False), run / "checkpoints" / "agent_1.pt")
    cfg = read_checkpoint(toy_run).agent_cfg
    cfg.models.policy.layers = [7, 7]
    (run / "params" / "agent.yaml").write_text(yaml.safe_dump(cfg.to_dict()))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wildrobot_amp_ext.deploy.export",
            "--checkpoint",
            str(run / "checkpoints" / "agent_1.pt"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "layers [7, 7]" in done.stderr
    assert not (run / "exported").exists()


# ----------------------------------------------------------------------------------------------------------------
# the agent play / evaluation rebuild from a checkpoint
# ----------------------------------------------------------------------------------------------------------------
def test_loaded_agent_matches_the_training_agent(toy_run):
    """Policy actions and discriminator logits (normaliser + feature-stage mask) equal skrl's agent's own."""
    from wildrobot_amp_ext.agents.runner import build_amp_runner, env_feature_layout
    from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv, ToyReferenceCfg
    from wildrobot_amp_ext.deploy.policy import load_agent

    info = read_checkpoint(toy_run)
    env_yaml = yaml.safe_load((toy_run.parent.parent / "params" / "env.yaml").read_text())
    env = ToyAmpEnv(num_envs=4, amp=ToyReferenceCfg(dataset=env_yaml["amp"]["dataset"]))
    runner = build_amp_runner(env, info.agent_cfg, experiment_directory=toy_run.parent / "reload")
    runner.load(toy_run)
    trained = runner.agent
    loaded = load_agent(info, amp_layout=env_feature_layout(env))
    assert loaded.discriminator is not None and loaded.feature_mask is not None
    torch.testing.assert_close(loaded.feature_mask, trained.feature_mask)

    gen = torch.Generator().manual_seed(0)
    obs = 2.0 * torch.randn(64, info.obs_dim, generator=gen)
    _, outputs = trained.policy.act({"observations": trained._observation_preprocessor(obs)}, role="policy")
    torch.testing.assert_close(loaded.act(obs), outputs["mean_actions"], rtol=0, atol=1e-6)

    amp = 2.0 * torch.randn(64, info.amp_obs_dim, generator=gen)
    with torch.no_grad():
        expected = trained._discriminate(trained._amp_observation_preprocessor(amp)).reshape(-1)
    torch.testing.assert_close(loaded.disc_logit(amp), expected, rtol=0, atol=1e-6)


def test_checkpoints_of_other_robots_or_widths_are_refused(toy_run):
    from wildrobot_amp_ext.deploy.policy import check_compatible

    info = read_checkpoint(toy_run)
    info.robot = "wildrobot"
    with pytest.raises(InputError, match="trained for robot 'wildrobot'"):
        check_compatible(info, task="G1-29dof-AMP-Flat-Play-v0", robot="unitree_g1_29dof")
    with pytest.raises(InputError, match=f"observation width {info.obs_dim} != "):
        check_compatible(
            info, task="WildRobot-AMP-Flat-v0", robot="wildrobot", obs_dim=info.obs_dim + 1, action_dim=info.action_dim
        )
    with pytest.raises(InputError, match="AMP observation width"):
        check_compatible(
            info,
            task="WildRobot-AMP-Flat-v0",
            robot="wildrobot",
            obs_dim=info.obs_dim,
            amp_obs_dim=info.amp_obs_dim + 3,
        )
    # a Play variant of the training task is the same task; another task is refused unless allowed
    info.task = "WildRobot-AMP-Flat-v0"
    assert check_compatible(info, task="WildRobot-AMP-Flat-Play-v0", robot="wildrobot", obs_dim=info.obs_dim) == []
    with pytest.raises(InputError, match="trained on WildRobot-AMP-Flat-v0, not WildRobot-AMP-Rough-v0"):
        check_compatible(info, task="WildRobot-AMP-Rough-v0", robot="wildrobot")
    assert check_compatible(info, task="WildRobot-AMP-Rough-v0", robot="wildrobot", allow_other_task=True)


def test_sim2sim_refuses_an_export_without_a_contract(toy_run, tmp_path, capsys):
    """The toy env's policy has no robot, so no sim2sim contract: refused in one line, exit 2."""
    import runpy

    play = runpy.run_path(str(ROOT / "play.py"))
    argv = ["--task", "Toy-AMP-v0", "--checkpoint", str(toy_run), "--sim2sim", "mujoco", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as stop:
        play["main"](argv)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert stop.value.code == 2 and len(errors) == 1 and "no sim2sim contract" in errors[0], errors
