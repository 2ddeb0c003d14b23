"""train_amp.py end to end: toy env on CPU (fast), the real Isaac Lab task when it is installed (slow)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
import torch
import yaml

from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv, tiny_agent_cfg

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")


def load_script():
    spec = importlib.util.spec_from_file_location("train_amp", ROOT / "train_amp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def train_amp():
    return load_script()


@pytest.fixture()
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_agent_cfg().to_dict()))
    dataset = ToyAmpEnv(num_envs=2).write_reference_npz(tmp_path / "ref.npz", segment_frames=50)
    return path, dataset


def only_run(log_root: Path, task: str = "Toy-AMP-v0") -> Path:
    runs = sorted((log_root / task).iterdir())
    assert len(runs) == 1
    return runs[0]


def test_micro_train_writes_logs_params_gate_and_checkpoints(train_amp, tiny, tmp_path, capsys):
    cfg_path, dataset = tiny
    logs = tmp_path / "logs"
    argv = [
        "--task", "Toy-AMP-v0", "--num_envs", "8", "--steps", "64", "--seed", "3", "--headless",
        "--agent_cfg", str(cfg_path), "--dataset", str(dataset), "--log_root", str(logs), "--experiment_name", "smoke",
        "agent.agent.learning_rate=1e-3", "agent.agent.experiment.checkpoint_interval=32",
        "agent.agent.experiment.write_interval=16", "env.episode_length=40",
    ]  # fmt: skip
    assert train_amp.main(argv) == 0
    run = only_run(logs)
    assert run.name.endswith("_smoke")
    agent_yaml = yaml.safe_load((run / "params" / "agent.yaml").read_text())
    assert agent_yaml["agent"]["learning_rate"] == 1e-3 and agent_yaml["seed"] == 3
    assert agent_yaml["trainer"]["timesteps"] == 64
    env_yaml = yaml.safe_load((run / "params" / "env.yaml").read_text())
    assert env_yaml["episode_length"] == 40 and env_yaml["amp"]["dataset"] == str(dataset.resolve())
    assert sorted(p.name for p in (run / "checkpoints").glob("agent_*.pt")) == ["agent_32.pt", "agent_64.pt"]
    assert list(run.glob("events.out.tfevents.*"))
    gate = json.loads((run / "micro_train_gate.json").read_text())
    assert gate["verdict"] in ("PASS", "FAIL") and gate["timesteps"] == 64 and gate["updates"] == 8
    assert 0.0 <= gate["auc"] <= 1.0 and 0.0 <= gate["logit_saturation"] <= 1.0 and gate["style_reward_variance"] >= 0.0
    assert set(gate["checks"]) == {"auc_in_band", "logits_not_saturated", "style_reward_variance", "no_nonfinite"}
    out = capsys.readouterr().out
    assert "AMP MICRO-TRAIN SMOKE TEST" in out and f"VERDICT: {gate['verdict']}" in out
    lines = (run / "diagnostics.jsonl").read_text().splitlines()
    assert [json.loads(line)["timestep"] for line in lines] == list(range(8, 65, 8))


def test_three_iteration_run_with_default_write_interval_writes_discriminator_scalars(train_amp, tiny, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg_path, dataset = tiny
    logs = tmp_path / "logs"
    argv = [
        "--task", "Toy-AMP-v0", "--num_envs", "8", "--max_iterations", "3", "--headless", "--agent_cfg", str(cfg_path),
        "--dataset", str(dataset), "--log_root", str(logs), "agent.agent.experiment.write_interval=auto",
    ]  # fmt: skip
    assert train_amp.main(argv) == 0
    events = EventAccumulator(str(only_run(logs)))
    events.Reload()
    for tag in (
        "Discriminator / AUC (held out)",
        "Discriminator / Accuracy (policy)",
        "Style / Weight fraction (ramp)",
    ):
        assert len(events.Scalars(tag)) == 3, tag  # one point per update


def test_resume_from_checkpoint_continues_the_step_count(train_amp, tiny, tmp_path):
    cfg_path, dataset = tiny
    first, second = tmp_path / "a", tmp_path / "b"
    common = ["--task", "Toy-AMP-v0", "--num_envs", "8", "--agent_cfg", str(cfg_path), "--dataset", str(dataset)]
    assert train_amp.main(common + ["--steps", "32", "--log_root", str(first)]) == 0
    ckpt = only_run(first) / "checkpoints" / "agent_32.pt"
    saved = torch.load(ckpt, weights_only=False)
    assert saved["wildrobot_amp"]["timestep"] == 32 and saved["wildrobot_amp"]["update_count"] == 4
    assert train_amp.main(common + ["--max_iterations", "6", "--checkpoint", str(ckpt), "--log_root", str(second)]) == 0
    run = only_run(second)
    records = (
        [json.loads(line) for line in (run / "diagnostics.jsonl").read_text().splitlines()]
        if (run / "diagnostics.jsonl").exists()
        else []
    )
    final = torch.load(run / "checkpoints" / "agent_48.pt", weights_only=False)
    assert final["wildrobot_amp"]["timestep"] == 48 and final["wildrobot_amp"]["update_count"] == 6
    assert all(r["timestep"] > 32 for r in records)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["agent.agent.learning_rte=1e-3"], "learning_rte"),
        (["lr=1"], "env. or agent."),
        (["--checkpoint", "/nonexistent/agent.pt"], "checkpoint not found"),
        (["--steps", "0"], "--steps"),
        (["agent.agent.task_reward_weight=1"], None),  # +key needed for new keys, and it is a 1.x name anyway
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_run_folder(train_amp, tiny, tmp_path, capsys, extra, message):
    cfg_path, dataset = tiny
    logs = tmp_path / "logs"
    with pytest.raises(SystemExit) as err:
        train_amp.main(
            [
                "--task",
                "Toy-AMP-v0",
                "--num_envs",
                "4",
                "--steps",
                "8",
                "--agent_cfg",
                str(cfg_path),
                "--log_root",
                str(logs),
            ]
            + extra
        )
    assert err.value.code == 2
    stderr = capsys.readouterr().err.strip().splitlines()
    assert len(stderr) == 1 and stderr[0].startswith("error:")
    if message:
        assert message in stderr[0]
    assert not logs.exists()


def test_dataset_width_mismatch_is_refused(train_amp, tiny, tmp_path, capsys):
    cfg_path, _ = tiny
    other = ToyAmpEnv(num_envs=2, num_joints=6).write_reference_npz(tmp_path / "wide.npz")
    with pytest.raises(SystemExit) as err:
        train_amp.main(
            [
                "--task",
                "Toy-AMP-v0",
                "--num_envs",
                "4",
                "--steps",
                "8",
                "--agent_cfg",
                str(cfg_path),
                "--dataset",
                str(other),
                "--log_root",
                str(tmp_path / "logs"),
            ]
        )
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.value.code == 2 and last.startswith("error:") and "AMP observation width" in last
    assert not (tmp_path / "logs").exists()


def feature_dataset(path: Path, robot_name: str, clips: int = 4, frames: int = 120) -> Path:
    """A features-only reference set of the env's width (smooth per-clip sinusoids, real column names)."""
    import numpy as np

    from wildrobot_amp_ext.features import FeatureSpec, FeatureVersion
    from wildrobot_amp_ext.robots import load_robot

    robot, spec = load_robot(robot_name), FeatureSpec()
    dim = spec.frame_dim(robot)
    t = np.arange(frames)[:, None] * 0.02
    feats = np.concatenate(
        [0.3 * np.sin(2 * np.pi * (1.0 + 0.2 * c) * t + np.arange(dim)[None, :]) for c in range(clips)]
    )
    np.savez(
        path,
        features=feats.astype(np.float32),
        motion_id=np.repeat(np.arange(clips), frames),
        column_names=np.asarray(spec.column_names(robot)),
        contact_point_names=np.asarray(robot.contact_point_names),
        fps=np.float64(50.0),
        **FeatureVersion.of(spec, robot).header(),  # the header the env adopts its FeatureSpec from
    )
    return path


@pytest.mark.slow
@pytest.mark.isaaclab
@pytest.mark.skipif(importlib.util.find_spec("isaaclab") is None, reason="Isaac Lab is not installed")
def test_real_env_micro_train_and_resume(train_amp, tmp_path):
    import gymnasium as gym

    import wildrobot_amp_ext.tasks  # noqa: F401 - registers the tasks: an error here is a failure, not a skip

    task = "WildRobot-AMP-Flat-v0"
    assert task in gym.registry, f"{task} is not registered by wildrobot_amp_ext.tasks"
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump(tiny_agent_cfg().to_dict()))
    dataset = feature_dataset(tmp_path / "ref.npz", "wildrobot")
    logs = tmp_path / "logs"
    common = [
        "--task", task, "--num_envs", "2", "--device", "cpu", "--headless", "--agent_cfg", str(cfg_path),
        "--dataset", str(dataset), "--log_root", str(logs),
        "env.events.reference_state_init.params.fraction=0.0",  # RSI needs raw states this dataset lacks
    ]  # fmt: skip
    assert train_amp.main(common + ["--steps", "16", "--experiment_name", "first"]) == 0
    first = next((logs / task).glob("*_first"))
    gate = json.loads((first / "micro_train_gate.json").read_text())
    assert gate["updates"] == 2 and gate["checks"]["no_nonfinite"] and 0.0 <= gate["auc"] <= 1.0
    env_yaml = (first / "params" / "env.yaml").read_text()
    assert str(dataset.resolve()) in env_yaml
    ckpt = first / "checkpoints" / "agent_16.pt"
    assert train_amp.main(common + ["--steps", "24", "--checkpoint", str(ckpt), "--experiment_name", "second"]) == 0
    second = next((logs / task).glob("*_second"))
    assert torch.load(second / "checkpoints" / "agent_24.pt", weights_only=False)["wildrobot_amp"]["update_count"] == 3


def test_wandb_without_the_package_is_one_line(train_amp, tiny, tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    cfg_path, dataset = tiny
    argv = ["--task", "Toy-AMP-v0", "--num_envs", "2", "--steps", "8", "--agent_cfg", str(cfg_path), "--wandb",
            "--dataset", str(dataset), "--log_root", str(tmp_path / "logs")]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        train_amp.main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_info.value.code == 2 and len(err) == 1 and ".[wandb]" in err[0]
    assert not (tmp_path / "logs").exists()


def wandb_history_keys(path: Path) -> set[str]:
    """Scalar names in an offline run's .wandb file (LevelDB-log framing: 32 KiB blocks, 7-byte record headers)."""
    import struct

    from wandb.proto import wandb_internal_pb2

    data, pos, buf, keys = path.read_bytes(), 7, b"", set()
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:
            pos += 32768 - pos % 32768
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 0:
            break
        buf = chunk if kind in (1, 2) else buf + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(buf)
            if record.WhichOneof("record_type") == "history":
                keys.update(item.key or "/".join(item.nested_key) for item in record.history.item)
    return keys


def test_wandb_offline_run_receives_the_tensorboard_scalars(train_amp, tiny, tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb", reason="optional extra: pip install -e '.[wandb]'")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    cfg_path, dataset = tiny
    logs = tmp_path / "logs"
    argv = ["--task", "Toy-AMP-v0", "--num_envs", "4", "--max_iterations", "3", "--agent_cfg", str(cfg_path),
            "--wandb", "--dataset", str(dataset), "--log_root", str(logs),
            "agent.agent.experiment.write_interval=8"]  # fmt: skip
    assert train_amp.main(argv) == 0
    wandb.finish()  # no-op when train_amp.py already finished the run
    assert yaml.safe_load((only_run(logs) / "params" / "agent.yaml").read_text())["agent"]["experiment"]["wandb"]
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    keys = wandb_history_keys(next(runs[0].glob("*.wandb")))
    assert "Discriminator / AUC (held out)" in keys and "Loss / Discriminator loss" in keys, sorted(keys)
    assert "Reward / Style per step (scaled, what PPO sees)" in keys
