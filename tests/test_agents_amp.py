"""WildRobotAMP on the toy env: it learns, the NaN guard holds, checkpoints resume (exactly, with buffers)."""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import replace

import pytest
import torch

from wildrobot_amp_ext.agents.amp import CHECKPOINT_KEY, NonFiniteTrainingError
from wildrobot_amp_ext.agents.runner import build_amp_runner
from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv, tiny_agent_cfg

os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")
NUM_ENVS = 8


def make_runner(tmp_path, timesteps, cfg=None, name="run", env=None, dataset=True):
    env = env or ToyAmpEnv(num_envs=NUM_ENVS)
    if dataset:  # the env samples the reference from the dataset file, as env.amp.dataset does for real tasks
        env.cfg.amp.dataset = str(env.write_reference_npz(tmp_path / "ref.npz", segment_frames=50, scores=None))
    return build_amp_runner(
        env,
        cfg or tiny_agent_cfg(),
        experiment_directory=tmp_path / "logs",
        experiment_name=name,
        timesteps=timesteps,
    )


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_short_training_changes_policy_and_discriminator(tmp_path):
    run = make_runner(tmp_path, timesteps=96)
    agent = run.agent
    before = {k: params(getattr(agent, k)) for k in ("policy", "value", "discriminator")}
    run.train()
    history = agent.diagnostics_history
    assert len(history) == 96 // 8 and agent.update_count == 12
    for k, p in before.items():
        assert not same(p, params(getattr(agent, k))), f"{k} did not change"
    losses = [r["discriminator_loss"] for r in history]
    assert all(torch.isfinite(torch.tensor(losses))) and len(set(losses)) == len(losses)
    assert losses[-1] < losses[0]  # the discriminator learns to tell the toy gait from a random policy
    last = history[-1]
    assert 0.5 < last["auc"] <= 1.0 and last["acc_reference"] > 0.5
    assert {"grad_x_input/joint_pos", "ablation_auc_drop/joint_pos"} <= set(history[0])  # attribution on the first pass
    # stage 0 masks height and contacts: they contribute nothing
    assert history[0]["grad_x_input/root_height"] == 0.0 and history[0]["grad_x_input/foot_contacts"] == 0.0
    assert last["style_weight_fraction"] == 1.0  # no style ramp by default
    assert last["guard_skipped_minibatches"] == 0


def test_amp_reward_mix_uses_task_and_ramped_style_scale(tmp_path):
    cfg = tiny_agent_cfg(task_reward_scale=0.9, style_reward_scale=0.1)
    cfg.amp.style_ramp = replace(cfg.amp.style_ramp, enabled=True, ramp_start=0, ramp_end=16, auc_min=0.0, auc_max=1.0)
    run = make_runner(tmp_path, timesteps=32, cfg=cfg)
    run.train()
    fractions = [r["style_weight_fraction"] for r in run.agent.diagnostics_history]
    assert fractions[0] == pytest.approx(0.05 + 0.95 * 8 / 16) and fractions[-1] == 1.0
    assert run.agent.diagnostics_history[-1]["style_weight"] == pytest.approx(0.1)


def test_nan_reference_data_skips_updates_leaves_params_and_normalisers(tmp_path, caplog):
    run = make_runner(tmp_path, timesteps=8)
    agent = run.agent
    for t in agent.motion_dataset.tensors.values():  # poison the stored reference observations
        t.fill_(float("nan"))
    agent.collect_reference_motions = lambda n: torch.full((n, agent.amp_obs_dim), float("nan"))
    before = {k: params(getattr(agent, k)) for k in ("policy", "value", "discriminator")}
    amp_norm = agent._amp_observation_preprocessor.running_mean.clone()
    with caplog.at_level(logging.WARNING):
        run.train()
    for k, p in before.items():
        assert same(p, params(getattr(agent, k))), k
    assert torch.equal(amp_norm, agent._amp_observation_preprocessor.running_mean)
    record = agent.diagnostics_history[-1]
    minibatches = agent.cfg.learning_epochs * agent.cfg.mini_batches  # one update
    assert record["skipped_minibatches"] == minibatches and record["optimizer_steps"] == 0
    assert agent.guard_stats["skipped_updates"] == 1
    assert any("NaN guard" in r.message for r in caplog.records)


def test_nan_discriminator_output_is_caught_not_propagated(tmp_path, caplog):
    run = make_runner(tmp_path, timesteps=16)
    agent = run.agent
    hook = agent.discriminator.net.register_forward_hook(lambda module, inputs, out: out * float("nan"))
    before = {k: params(getattr(agent, k)) for k in ("policy", "value", "discriminator")}
    with caplog.at_level(logging.WARNING):
        run.train()
    hook.remove()
    for k, p in before.items():
        assert same(p, params(getattr(agent, k))), k
        assert all(torch.isfinite(x).all() for x in params(getattr(agent, k)))
    assert agent.guard_stats["skipped_minibatches"] == 2 * agent.cfg.learning_epochs * agent.cfg.mini_batches
    assert agent.guard_stats["nonfinite_style_rewards"] > 0  # rewards zeroed, counted
    assert any("non-finite loss" in r.message for r in caplog.records)


def test_persistent_nan_stops_the_run(tmp_path):
    cfg = tiny_agent_cfg()
    cfg.amp.nan_guard.max_consecutive_skipped_updates = 2
    run = make_runner(tmp_path, timesteps=64, cfg=cfg)
    run.agent.discriminator.net.register_forward_hook(lambda module, inputs, out: out * float("nan"))
    with pytest.raises(NonFiniteTrainingError):
        run.train()
    assert run.agent.update_count == 2


def test_nonfinite_env_amp_obs_are_zeroed_and_counted(tmp_path):
    env = ToyAmpEnv(num_envs=NUM_ENVS)
    step = env.step

    def bad_step(actions):
        out = step(actions)
        out[4]["amp_obs"][0, 0] = float("inf")
        return out

    env.step = bad_step
    run = make_runner(tmp_path, timesteps=8, env=env)
    run.train()
    assert run.agent.guard_stats["nonfinite_amp_obs_rows"] == 8
    assert torch.isfinite(run.agent.memory.get_tensor_by_name("amp_observations")).all()


def agent_state(agent):
    state = copy.deepcopy(agent.checkpoint_state())
    state[CHECKPOINT_KEY].pop("rng")
    return state


def assert_state_equal(a, b, path=""):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            assert_state_equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_state_equal(x, y, f"{path}[{i}]")
    else:
        assert a == b or (a != a and b != b), path


def test_checkpoint_round_trip_and_step_counter_continues(tmp_path):
    first = make_runner(tmp_path, timesteps=32, name="a")
    first.train()
    ckpt = tmp_path / "agent_32.pt"
    first.agent.save(ckpt)
    assert not list(tmp_path.glob(".agent_32.pt*")), "temporary file left behind"
    saved = agent_state(first.agent)

    second = make_runner(tmp_path, timesteps=48, name="b")
    extra = second.load(ckpt)
    assert extra["timestep"] == 32 and second.trainer.start_timestep == 32
    assert_state_equal(saved, agent_state(second.agent))
    # normalisers and optimiser moments really were restored (not just equal by chance at init)
    assert second.agent._amp_observation_preprocessor.current_count.item() > 1
    assert len(second.agent.optimizer.state) > 0
    second.train()
    records = second.agent.diagnostics_history
    assert [r["timestep"] for r in records] == [40, 48] and [r["update"] for r in records] == [5, 6]
    second.agent.write_checkpoint(timestep=second.agent.timestep, timesteps=48)
    assert (second.experiment_dir / "checkpoints" / "agent_48.pt").is_file()


def test_resume_is_bit_exact_with_buffers_and_env_state(tmp_path):
    cfg = tiny_agent_cfg()
    cfg.amp.checkpoint.save_buffers = True
    cfg.amp.style_ramp = replace(cfg.amp.style_ramp, enabled=True, ramp_start=0, ramp_end=64, auc_min=0.0, auc_max=1.0)

    straight = make_runner(tmp_path, timesteps=48, cfg=cfg, name="straight")
    straight.train()

    half = make_runner(tmp_path, timesteps=24, cfg=cfg, name="half")
    half.train()
    half.agent.save(tmp_path / "half.pt")
    env_state = half.env.unwrapped.state_dict()

    resumed = make_runner(tmp_path, timesteps=48, cfg=cfg, name="resumed")
    resumed.load(tmp_path / "half.pt")
    toy = resumed.env.unwrapped
    resumed.env.reset()  # the skrl wrapper resets once; then put the env back where the first half left it
    toy.load_state_dict(env_state)
    resumed.env._observations = toy._observations()["policy"]
    resumed.train()

    for k in ("policy", "value", "discriminator"):
        assert same(params(getattr(straight.agent, k)), params(getattr(resumed.agent, k))), k
    a, b = straight.agent.diagnostics_history[-1], resumed.agent.diagnostics_history[-1]
    for key in ("timestep", "update", "discriminator_loss", "auc", "style_reward_var", "style_weight_fraction"):
        assert a[key] == b[key], key


# ----------------------------------------------------------------------------------------------------------------
# the gate's figures are held out, the reward mix has one unit, short runs reach TensorBoard
# ----------------------------------------------------------------------------------------------------------------
def test_gate_auc_is_measured_before_the_discriminator_trains_on_the_rollout(tmp_path):
    run = make_runner(tmp_path, timesteps=32)
    agent = run.agent
    at_update, at_diagnostics = [], []
    update, diagnostics = agent.update, agent._discriminator_diagnostics

    def spy_update(**kwargs):
        at_update.append(params(agent.discriminator))
        update(**kwargs)

    def spy_diagnostics(amp_observations):
        rows = amp_observations.reshape(-1, amp_observations.shape[-1])
        replay = agent.reply_buffer.tensors["observations"].reshape(-1, rows.shape[-1])
        in_replay = bool((replay[:, None, :] == rows[None, :4, :]).all(dim=-1).any())
        at_diagnostics.append((params(agent.discriminator), in_replay))
        return diagnostics(amp_observations)

    agent.update, agent._discriminator_diagnostics = spy_update, spy_diagnostics
    run.train()
    assert len(at_update) == len(at_diagnostics) == 4
    for before, (seen, in_replay) in zip(at_update, at_diagnostics):
        assert same(before, seen), "diagnostics ran after the discriminator trained on the rollout"
        assert not in_replay, "the rollout was already in the replay buffer"
    history = agent.diagnostics_history
    assert all(0.0 <= r["auc"] <= 1.0 and 0.0 <= r["auc_train"] <= 1.0 for r in history)
    assert history[0]["auc"] != history[0]["auc_train"]  # two measurements, not one logged twice


def test_task_and_style_rewards_are_mixed_in_the_env_per_step_unit(tmp_path, monkeypatch):
    import wildrobot_amp_ext.agents.amp as amp_module

    mixed = []
    gae = amp_module.compute_gae
    monkeypatch.setattr(amp_module, "compute_gae", lambda **kw: mixed.append(kw["rewards"].clone()) or gae(**kw))
    cfg = tiny_agent_cfg(task_reward_scale=0.9, style_reward_scale=0.1)
    cfg.amp.style_ramp = replace(cfg.amp.style_ramp, enabled=True, ramp_start=0, ramp_end=16, auc_min=0.0, auc_max=1.0)
    run = make_runner(tmp_path, timesteps=32, cfg=cfg)
    run.train()
    dt = run.env.unwrapped.step_dt
    fraction_before = 0.05
    for record, rewards in zip(run.agent.diagnostics_history, mixed):
        # the style reward gets the env's step_dt, like every Isaac Lab reward term: 0.9 / 0.1 is what PPO sees
        expected_style = 0.1 * fraction_before * dt * record["style_reward_mean"]
        assert record["style_reward_per_step"] == pytest.approx(expected_style, rel=1e-4)
        assert float(rewards.mean()) == pytest.approx(record["task_reward_per_step"] + expected_style, rel=1e-4)
        fraction_before = record["style_weight_fraction"]
    task = run.agent.diagnostics_history[-1]["task_reward_per_step"]
    assert 0 < task < 0.9 * dt * 1.01  # the toy task reward is at most 1 per second, in step_dt units


def test_auto_write_interval_run_of_three_updates_writes_every_update_to_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_agent_cfg()
    cfg.agent.experiment.write_interval = "auto"
    run = make_runner(tmp_path, timesteps=3 * 8, cfg=cfg)
    run.train()
    events = EventAccumulator(str(run.experiment_dir))
    events.Reload()
    for tag in (
        "Discriminator / AUC (held out)",
        "Reward / Style per step (scaled, what PPO sees)",
        "Style / Gate open",
    ):
        assert len(events.Scalars(tag)) == 3, tag
    assert (run.experiment_dir / "diagnostics.jsonl").read_text().count("\n") == 3


def test_constant_style_reward_control_replaces_the_style_reward_with_its_constant(tmp_path, monkeypatch):
    import wildrobot_amp_ext.agents.amp as amp_module

    mixed = []
    gae = amp_module.compute_gae
    monkeypatch.setattr(amp_module, "compute_gae", lambda **kw: mixed.append(kw["rewards"].clone()) or gae(**kw))
    cfg = tiny_agent_cfg(task_reward_scale=0.3, style_reward_scale=0.7)
    cfg.amp.constant_style_reward = 0.0123
    run = make_runner(tmp_path, timesteps=32, cfg=cfg)
    run.train()
    for record, rewards in zip(run.agent.diagnostics_history, mixed):
        assert record["style_reward_per_step"] == pytest.approx(0.0123)  # what PPO sees: the constant
        assert float(rewards.mean()) == pytest.approx(record["task_reward_per_step"] + 0.0123, rel=1e-4)
        assert record["style_reward_var"] > 0  # the discriminator still trains and scores (same cost per update)
