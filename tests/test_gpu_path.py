"""The GPU path, checked on a CPU (issue 26): CUDA graphs in the resolved config, seeds per run and per rank,
rank-consistent reductions (a fake all-reduce and a real two-process gloo run), the device under torchrun, no
silent CPU fallback for large runs, one host transfer per step for logs and for the play recorder."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from skrl import config

from wildrobot_amp_ext.agents.ranks import UPDATE_SUMS, offset_rng_for_rank, reduce_update_metrics
from wildrobot_amp_ext.agents.runner import build_amp_runner, seed_and_wrap
from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv, tiny_agent_cfg

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")
os.environ.setdefault("WARP_CACHE_PATH", str(Path.home() / ".cache" / "wildrobot_amp_ext" / "warp"))
needs_isaaclab = pytest.mark.skipif(importlib.util.find_spec("isaaclab") is None, reason="Isaac Lab is not installed")


@pytest.fixture()
def as_rank(monkeypatch):
    """Make skrl's config say this process is rank ``rank`` of ``world`` (no process group is created)."""

    def set_rank(rank: int, world: int = 2) -> None:
        monkeypatch.setattr(config.torch, "_is_distributed", True)
        monkeypatch.setattr(config.torch, "_rank", rank)
        monkeypatch.setattr(config.torch, "_local_rank", rank)
        monkeypatch.setattr(config.torch, "_world_size", world)

    return set_rank


def toy_runner(tmp_path, name="run", seed=1, env=None, timesteps=16):
    env = env or ToyAmpEnv(num_envs=8)
    env.cfg.amp.dataset = str(env.write_reference_npz(tmp_path / f"{name}.npz", segment_frames=50, scores=None))
    cfg = tiny_agent_cfg()
    cfg.seed = seed
    return build_amp_runner(env, cfg, experiment_directory=tmp_path / "logs", experiment_name=name, timesteps=timesteps)


# ----------------------------------------------------------------------------------------------------------------
# 1. CUDA graphs
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.isaaclab
@needs_isaaclab
def test_cuda_graphs_are_on_in_the_resolved_config_for_a_cuda_device():
    from wildrobot_amp_ext.isaaclab.launch import load_env_cfg

    task = "WildRobot-AMP-Flat-v0"
    cuda = load_env_cfg(task, num_envs=4096, device="cuda:0")
    assert cuda.sim.device == "cuda:0" and cuda.sim.physics.use_cuda_graph is True
    # graphs do not exist on CPU: the config says what runs
    assert load_env_cfg(task, device="cpu").sim.physics.use_cuda_graph is False
    assert load_env_cfg(task).sim.physics.use_cuda_graph is False  # the default device is the CPU
    # the user can still turn them off on a GPU
    off = load_env_cfg(task, device="cuda:0", overrides=["env.sim.physics.use_cuda_graph=false"])
    assert off.sim.physics.use_cuda_graph is False


# ----------------------------------------------------------------------------------------------------------------
# 2. seeds: the run's seed reaches the first reset; ranks differ; a restored RNG is offset per rank
# ----------------------------------------------------------------------------------------------------------------
def first_reset_state(runner) -> torch.Tensor:
    runner.env.reset()
    toy = runner.env.unwrapped
    return torch.cat([toy.q, toy.qd, toy.cmd.reshape(toy.num_envs, -1)], dim=1).clone()


def test_the_seed_reaches_the_first_reset(tmp_path):
    a = first_reset_state(toy_runner(tmp_path, "a", seed=1))
    b = first_reset_state(toy_runner(tmp_path, "b", seed=1))
    c = first_reset_state(toy_runner(tmp_path, "c", seed=2))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)  # wrapped before seeding, every run reset with skrl's default key 0


def test_ranks_reset_from_seed_plus_rank(as_rank):
    states, seeds = [], []
    for rank in (0, 1):
        as_rank(rank)
        env, seed = seed_and_wrap(ToyAmpEnv(num_envs=8), 5)
        env.reset()
        seeds.append(seed)
        states.append(env.unwrapped.q.clone())
    assert seeds == [5, 6]
    assert not torch.allclose(states[0], states[1])
    # rank 1 of seed 5 resets like rank 0 of seed 6: the offset is the rank, nothing else
    config.torch._is_distributed = False
    env, _ = seed_and_wrap(ToyAmpEnv(num_envs=8), 6)
    env.reset()
    assert torch.equal(env.unwrapped.q, states[1])


def test_an_env_wrapped_before_seeding_still_resets_with_the_seed():
    from wildrobot_amp_ext.agents.runner import wrap

    early = wrap(ToyAmpEnv(num_envs=8))  # captured skrl's key before any seed existed
    env, seed = seed_and_wrap(early, 9)
    assert env is early and env._seed == seed == 9


def test_restored_rng_state_is_offset_per_rank():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    draws = {}
    for rank in (0, 1, 2):
        torch.set_rng_state(state)
        offset_rng_for_rank(rank)
        draws[rank] = torch.rand(4)
    torch.set_rng_state(state)
    assert torch.equal(draws[0], torch.rand(4))  # rank 0 keeps the saved state: a 1-GPU resume stays bit-exact
    assert not torch.allclose(draws[0], draws[1]) and not torch.allclose(draws[1], draws[2])


def test_resume_restores_rng_per_rank_and_the_first_reset_keeps_it(tmp_path, as_rank):
    run = toy_runner(tmp_path, "first", timesteps=16)
    run.train()
    run.agent.save(tmp_path / "ckpt.pt")
    after = {}
    for rank in (0, 1):
        resumed = toy_runner(tmp_path, f"resumed{rank}", timesteps=32)
        if rank:
            as_rank(rank)
        resumed.load(tmp_path / "ckpt.pt")
        config.torch._is_distributed = False
        assert resumed.agent.rng_restored
        # the wrapper's first reset must not call env.reset(seed=...) (Isaac Lab would reseed every generator)
        assert resumed.env._seed is None
        after[rank] = torch.rand(4)
    assert not torch.allclose(after[0], after[1])


@pytest.mark.slow
@pytest.mark.isaaclab
@needs_isaaclab
def test_isaaclab_env_first_reset_follows_the_seed():
    """Isaac Lab reseeds torch / numpy / random / warp on ``reset(seed=...)``: the first reset through skrl's wrapper
    must carry the run's seed (same seed, same starts; another seed, other starts)."""
    from wildrobot_amp_ext.isaaclab.launch import create_env, load_env_cfg

    cfg = load_env_cfg("WildRobot-AMP-Flat-v0", num_envs=8, device="cpu")
    env = create_env(cfg, task="WildRobot-AMP-Flat-v0")
    try:
        starts = {}
        for name, seed in (("a", 1), ("b", 1), ("c", 2)):
            torch.manual_seed(1000)  # whatever came before must not matter
            wrapped, _ = seed_and_wrap(env, seed)
            wrapped.reset()
            starts[name] = env.unwrapped.scene["robot"].data.root_link_pose_w.torch.clone()
    finally:
        env.close()
    assert torch.equal(starts["a"], starts["b"])
    assert not torch.allclose(starts["a"], starts["c"])


# ----------------------------------------------------------------------------------------------------------------
# 3. rank-consistent reductions
# ----------------------------------------------------------------------------------------------------------------
class FakeAllReduce:
    """An in-process all-reduce for ``world`` threads: every rank's tensor is summed and handed back to all;
    the size each rank sent is kept (a real NCCL all-reduce with different sizes hangs)."""

    def __init__(self, world: int):
        self.world = world
        self.barrier = threading.Barrier(world, timeout=10)
        self.sent: dict[int, list[tuple[int, ...]]] = {r: [] for r in range(world)}
        self.slots: dict[int, torch.Tensor] = {}

    def for_rank(self, rank: int):
        def all_reduce(t: torch.Tensor) -> None:
            self.sent[rank].append(tuple(t.shape))
            self.slots[rank] = t.clone()
            self.barrier.wait()
            shapes = {tuple(s.shape) for s in self.slots.values()}
            if len(shapes) > 1:
                raise RuntimeError(f"ranks sent different sizes {shapes}: NCCL would hang")
            t.copy_(sum(self.slots.values()))
            self.barrier.wait()

        return all_reduce


def run_ranks(world: int, fn) -> list:
    results, errors = [None] * world, []

    def target(rank):
        try:
            results[rank] = fn(rank)
        except Exception as err:  # surfaced in the main thread
            errors.append(err)

    threads = [threading.Thread(target=target, args=(r,)) for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    return results


def test_update_metrics_send_the_same_size_from_every_rank_and_pool_the_raw_sums():
    fake = FakeAllReduce(world=3)
    # rank 0: 4 episodes (lengths 100 in all, 1 fell) and a held-out AUC; rank 1: nothing finished, no AUC yet;
    # rank 2: 1 episode of 50 steps that fell, AUC measured
    stats = {0: [100.0, 4.0, 1.0], 1: [0.0, 0.0, 0.0], 2: [50.0, 1.0, 1.0]}
    diags = {0: {"auc": 0.8, "logit_saturation": 0.1}, 1: {}, 2: {"auc": 0.6, "logit_saturation": 0.3}}

    def rank_fn(rank):
        local = torch.tensor(stats[rank], dtype=torch.float64)
        return reduce_update_metrics(local, diags[rank], all_reduce=fake.for_rank(rank))

    results = run_ranks(3, rank_fn)
    assert all(sent == [(len(UPDATE_SUMS),)] for sent in fake.sent.values()), fake.sent
    assert results[0] == results[1] == results[2]  # every rank steps its schedules on the same figures
    m = results[0]
    assert m["episodes_finished"] == 5
    assert m["episode_length_mean"] == pytest.approx(150.0 / 5)  # pooled, not a mean of per-rank means
    assert m["fall_rate"] == pytest.approx(2 / 5)
    assert m["auc"] == pytest.approx(0.7) and m["logit_saturation"] == pytest.approx(0.2)


def test_update_metrics_with_nothing_measured_anywhere_are_none():
    m = reduce_update_metrics(torch.zeros(3, dtype=torch.float64), {"auc": None}, all_reduce=lambda t: None)
    assert m == {
        "episode_length_mean": None,
        "fall_rate": None,
        "episodes_finished": 0,
        "auc": None,
        "logit_saturation": None,
    }


def test_agent_sends_one_fixed_size_reduction_whether_or_not_episodes_ended(tmp_path, monkeypatch, as_rank):
    run = toy_runner(tmp_path, timesteps=16)
    run.train()
    agent = run.agent
    sent = []

    def fake_all_reduce(t, op=None):
        sent.append(tuple(t.shape))
        t.mul_(2)  # two identical ranks

    monkeypatch.setattr(torch.distributed, "all_reduce", fake_all_reduce)
    as_rank(0)
    agent._episode_stats.copy_(torch.tensor([30.0, 2.0, 1.0], dtype=torch.float64))
    agent.last_diagnostics = {"auc": 0.9, "logit_saturation": 0.0}
    with_episodes: dict = {}
    agent._advance_schedules(agent.timestep, with_episodes)
    agent.last_diagnostics = {}
    without: dict = {}
    agent._advance_schedules(agent.timestep, without)  # the stats were popped: nothing ended since
    assert sent == [(len(UPDATE_SUMS),)] * 2
    assert with_episodes["episodes_finished"] == 4 and with_episodes["fall_rate"] == pytest.approx(0.5)
    assert without["episodes_finished"] == 0 and without["fall_rate"] is None


GLOO_WORKER = r"""
import datetime, json, sys
import torch, torch.distributed as dist
rank, world, store, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world,
                        timeout=datetime.timedelta(seconds=60))
from skrl import config
config.torch._is_distributed, config.torch._rank, config.torch._local_rank = True, rank, rank
config.torch._world_size = world
sizes = []
_all_reduce = dist.all_reduce
def recording_all_reduce(t, *a, **k):
    sizes.append(int(t.numel()))
    return _all_reduce(t, *a, **k)
torch.distributed.all_reduce = recording_all_reduce
from wildrobot_amp_ext.agents.runner import build_amp_runner
from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv, tiny_agent_cfg
env = ToyAmpEnv(num_envs=8, episode_length=12 if rank == 0 else 10**6, fall_limit=1.6 if rank == 0 else 1e9)
env.cfg.amp.dataset = str(env.write_reference_npz(f"{out}.ref{rank}.npz", segment_frames=50, scores=None))
cfg = tiny_agent_cfg()
cfg.seed = 7
run = build_amp_runner(env, cfg, experiment_directory=f"{out}.logs{rank}", experiment_name="r", timesteps=24)
run.env.reset()
first_reset = env.q.clone()
run.train()
params = torch.cat([p.detach().reshape(-1) for p in run.agent.policy.parameters()])
json.dump({"sizes": sizes, "first_reset": first_reset.tolist(), "params": params.tolist(),
           "records": run.agent.diagnostics_history}, open(out, "w"))
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_two_gloo_ranks_train_in_step_when_only_one_finishes_episodes(tmp_path):
    """Two real processes (gloo on CPU, skrl's distributed code path): rank 1's episodes never end within the run.
    Before the fix the update-metrics all-reduce had 2 numbers on rank 0 and 0 on rank 1."""
    world, outs = 2, [tmp_path / f"rank{r}.json" for r in range(2)]
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"  # two processes on a small CPU: spinning torch threads slow gloo 30x
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", GLOO_WORKER, str(r), str(world), str(tmp_path / "store"), str(outs[r])],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(world)
    ]
    logs = []
    for p in procs:
        try:
            logs.append(p.communicate(timeout=240)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("ranks hung")
    assert all(p.returncode == 0 for p in procs), "\n".join(log[-3000:] for log in logs)
    r0, r1 = (json.loads(o.read_text()) for o in outs)
    assert r0["sizes"] == r1["sizes"]  # every collective had the same size on both ranks
    assert r0["params"] == r1["params"]  # gradients reduced: the ranks' policies are bit-identical
    assert r0["first_reset"] != r1["first_reset"]  # rank 1 resets from seed + 1
    last0, last1 = r0["records"][-1], r1["records"][-1]
    assert last0["episodes_finished"] == last1["episodes_finished"] > 0  # pooled: rank 1 sees rank 0's episodes


# ----------------------------------------------------------------------------------------------------------------
# 4. device: the local rank's GPU under torchrun; no silent CPU fallback for large runs
# ----------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def train_amp():
    spec = importlib.util.spec_from_file_location("train_amp", ROOT / "train_amp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_torchrun_rank_uses_its_local_gpu_with_or_without_distributed(train_amp, as_rank, capsys):
    as_rank(5, world=8)
    config.torch._local_rank = 1  # rank 5 of 8 is the second process of its node
    for argv in ([], ["--distributed"], ["--device", "cuda:0"]):
        args = train_amp.build_parser().parse_args(argv)
        assert train_amp.resolve_device(args) == ("cuda:1", 5)
    assert "--device cuda:0 ignored under torchrun: rank 5 uses cuda:1" in capsys.readouterr().err


def test_large_run_without_a_visible_gpu_is_refused_in_one_line(train_amp, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = ["--task", "Toy-AMP-v0", "--num_envs", "4096", "--headless", "--log_root", str(tmp_path / "logs")]
    with pytest.raises(SystemExit) as exit_info:
        train_amp.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no CUDA device visible" in err and "--device cpu --num_envs 64 (or --physics mujoco-cpu)" in err
    assert not (tmp_path / "logs").exists()
    # a small run still defaults to the CPU, and an explicit --device cpu is the user's choice
    args = train_amp.build_parser().parse_args(["--num_envs", "64"])
    assert train_amp.resolve_device(args) == ("cpu", 0)
    args = train_amp.build_parser().parse_args(["--num_envs", "4096", "--device", "cpu"])
    assert train_amp.resolve_device(args) == ("cpu", 0)
    args = train_amp.build_parser().parse_args(["--num_envs", "4096", "--physics", "mujoco-cpu"])
    assert train_amp.resolve_device(args) == ("cpu", 0)  # the CPU physics backend is a CPU run by choice


def test_cuda_unavailable_reason_names_the_build_and_the_driver(monkeypatch, tmp_path):
    from wildrobot_amp_ext.utils import gpu

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(torch.version, "cuda", None)
    assert "has no CUDA support" in gpu.cuda_unavailable_reason()
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(gpu, "NVIDIA_DRIVER_VERSION_FILE", tmp_path / "missing")
    monkeypatch.setattr(gpu.nvidia_driver_version, "__defaults__", (tmp_path / "missing",))
    assert "no NVIDIA driver is loaded" in gpu.cuda_unavailable_reason()
    version = tmp_path / "version"
    version.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.161.07  Sat Feb 17 22:55:48 UTC 2024\n")
    monkeypatch.setattr(gpu.nvidia_driver_version, "__defaults__", (version,))
    reason = gpu.cuda_unavailable_reason()
    assert "driver 535.161.07" in reason and "needs NVIDIA driver >= 580" in reason
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert "hides every GPU" in gpu.cuda_unavailable_reason()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gpu.cuda_unavailable_reason() is None


# ----------------------------------------------------------------------------------------------------------------
# 5. per-step host syncs; the play recorder's size and memory check
# ----------------------------------------------------------------------------------------------------------------
class CountingAgent:
    def __init__(self, write_interval):
        self.write_interval = write_interval
        self.tracked: dict[str, float] = {}

    def track_data(self, tag, value):
        self.tracked[tag] = value


def count_host_copies(monkeypatch) -> dict[str, int]:
    counts = {"item": 0, "tolist": 0, "cpu": 0}
    for name in counts:
        original = getattr(torch.Tensor, name)

        def counted(self, *a, _name=name, _original=original, **k):
            counts[_name] += 1
            return _original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return counts


def test_isaaclab_log_scalars_leave_the_device_in_one_transfer(monkeypatch):
    from wildrobot_amp_ext.agents.trainer import track_env_log

    log = {f"Episode_Reward/term{i}": torch.tensor(float(i)) for i in range(18)}
    log["Episode_Termination/time_out"] = torch.tensor(3, dtype=torch.long)
    log["Metrics/vector"] = torch.ones(4)  # not a scalar: not tracked (as before)
    agent = CountingAgent(write_interval=16)
    counts = count_host_copies(monkeypatch)
    track_env_log(agent, log)
    assert counts == {"item": 0, "tolist": 1, "cpu": 0}
    assert agent.tracked["Episode_Reward/term7"] == 7.0 and agent.tracked["Episode_Termination/time_out"] == 3.0
    assert "Metrics/vector" not in agent.tracked and len(agent.tracked) == 19
    # ranks above 0 (write_interval 0) write nothing: no transfer, nothing kept
    idle = CountingAgent(write_interval=0)
    track_env_log(idle, log)
    assert counts["tolist"] == 1 and idle.tracked == {}


def test_reward_tracking_matches_skrl_with_one_transfer_per_step(tmp_path, monkeypatch):
    from skrl.agents.torch.base import Agent

    agent = toy_runner(tmp_path).agent
    agent.write_interval = 8
    gen = torch.Generator().manual_seed(0)
    steps = [
        (torch.randn(8, 1, generator=gen), torch.rand(8, 1, generator=gen) < 0.2, torch.rand(8, 1, generator=gen) < 0.1)
        for _ in range(40)
    ]

    def fresh():
        agent.tracking_data.clear()
        agent._track_rewards.clear()
        agent._track_timesteps.clear()
        agent._cumulative_rewards = agent._cumulative_timesteps = None

    def snapshot():
        return (
            {k: [float(v) for v in vs] for k, vs in agent.tracking_data.items()},
            list(agent._track_rewards),
            list(agent._track_timesteps),
            agent._cumulative_rewards.clone(),
        )

    fresh()
    for r, term, trunc in steps:  # skrl's own per-step tracking
        none = dict.fromkeys(("observations", "states", "actions", "next_observations", "next_states", "infos"))
        Agent.record_transition(agent, rewards=r, terminated=term, truncated=trunc, timestep=0, timesteps=0, **none)
    expected = snapshot()
    fresh()
    counts = count_host_copies(monkeypatch)
    for r, term, trunc in steps:
        agent._track_rewards_one_transfer(r, term, trunc)
    assert counts["cpu"] == len(steps) and counts["item"] == 0  # skrl: 3 .item() and a nonzero() per step
    got = snapshot()
    assert got[0] == expected[0] and got[1] == expected[1] and got[2] == expected[2]
    assert torch.equal(got[3], expected[3]) and len(expected[1]) > 10


def test_tracking_lists_stay_empty_where_nothing_is_written(tmp_path):
    run = toy_runner(tmp_path, timesteps=16)  # tiny config: write_interval 0, as skrl sets on ranks > 0
    run.train()
    assert run.agent.write_interval == 0 and not run.agent.tracking_data


class FakeKinematics:
    """Stands in for the task's RobotKinematics: a state whose values encode (step, env, column)."""

    def __init__(self, env, asset_cfg, robot):
        self.env, self.robot, self.step = env, robot, 0

    def state(self):
        from wildrobot_amp_ext.features import KinematicState

        n, j, p = self.env.num_envs, self.robot.num_joints, 2 * len(self.robot.feet)
        base = self.step * 1000 + torch.arange(n, dtype=torch.float32).reshape(n, 1)
        self.step += 1
        return KinematicState(
            root_pos_w=base.expand(n, 3).clone(),
            root_quat_w=torch.tensor([1.0, 0.0, 0.0, 0.0]).expand(n, 4).clone(),
            root_lin_vel_w=base.expand(n, 3) + 0.5,
            root_ang_vel_w=base.expand(n, 3) + 0.25,
            joint_pos=base.expand(n, j) + torch.arange(j) / 100,
            joint_vel=-base.expand(n, j),
            contact_pos_w=base.reshape(n, 1, 1).expand(n, p, 3).clone(),
            contact_vel_w=torch.zeros(n, p, 3),
        )


def fake_play_env(num_envs: int, robot: str = "wildrobot"):
    from wildrobot_amp_ext.robots import load_robot

    robot = load_robot(robot)
    unwrapped = SimpleNamespace(
        robot=robot,
        num_envs=num_envs,
        action_manager=SimpleNamespace(total_action_dim=robot.num_joints),
        step_dt=0.02,
    )
    return SimpleNamespace(unwrapped=unwrapped)


def test_recorder_keeps_only_the_envs_and_steps_it_records_in_one_copy_per_step(monkeypatch):
    import wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp as mdp_amp
    from wildrobot_amp_ext.evaluation.env_loop import RolloutRecorder

    monkeypatch.setattr(mdp_amp, "RobotKinematics", FakeKinematics)
    env = fake_play_env(num_envs=8)
    a = env.unwrapped.action_manager.total_action_dim
    recorder = RolloutRecorder(env, max_steps=30_000, record_disc=True, num_envs=2)
    assert recorder._data.nbytes == 0  # nothing allocated before the first step
    counts = count_host_copies(monkeypatch)
    steps = 1100
    for t in range(steps):
        done = torch.zeros(8, dtype=torch.bool)
        done[1] = t % 7 == 0
        recorder.add(
            torch.full((8, 3), 0.3), torch.full((8, a), float(t)), done, ~done, disc_logit=torch.arange(8.0) + t
        )
    assert counts["cpu"] == steps and counts["item"] == 0  # one device-to-host copy per step
    assert recorder._data.shape[:2] == (2048, 2)  # grew in chunks: 1024, then 2048 rows, not 30,000 x 8
    r = recorder.rollout("task")
    assert r.num_steps == steps and r.num_envs == 2
    np.testing.assert_array_equal(r.root_pos[5, 1], [5001.0] * 3)
    np.testing.assert_allclose(r.joint_pos[5, 1, :3], 5001.0 + np.arange(3) / 100, rtol=1e-6)
    np.testing.assert_array_equal(r.root_quat[10, 0], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(r.action[7, :, 0], [7.0, 7.0])
    np.testing.assert_array_equal(r.disc_logit[3], [3.0, 4.0])
    assert r.terminated[7, 1] and not r.terminated[8, 1] and r.truncated[8, 1] and not r.terminated[7, 0]


def test_recording_that_cannot_fit_is_refused_before_the_first_step(monkeypatch):
    import wildrobot_amp_ext.evaluation.env_loop as env_loop
    import wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp as mdp_amp
    from wildrobot_amp_ext.errors import InputError

    monkeypatch.setattr(mdp_amp, "RobotKinematics", FakeKinematics)
    monkeypatch.setattr(env_loop, "available_memory_bytes", lambda: 64 * 2**30)  # a 64 GiB machine
    # a G1-23 window session at 4096 envs: 30,000 steps x 4096 envs x 438 bytes = 54 GB
    with pytest.raises(InputError, match=r"recording 30000 steps x 4096 envs needs up to 50.1 GiB"):
        env_loop.RolloutRecorder(fake_play_env(4096, "unitree_g1_23dof"), max_steps=30_000)
    # the same session sized by what a video shows (4 lanes) fits
    small = env_loop.RolloutRecorder(fake_play_env(4096, "unitree_g1_23dof"), max_steps=30_000, num_envs=4)
    assert small.bytes_per_step == 4 * 438


# ----------------------------------------------------------------------------------------------------------------
# 6. the GPU benchmark on a machine without one
# ----------------------------------------------------------------------------------------------------------------
def test_bench_gpu_without_cuda_says_so_in_one_line_and_exits_0():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench_gpu.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(out) == 1 and out[0].startswith("[bench_gpu] no CUDA device visible"), out
