"""benchmarks/bench_backend_learning.py: the parity math on synthetic curves, the wall-clock stop of a run (a fake
train_amp.py), bad input (fast); the whole benchmark at a tiny size (slow)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location(
        "bench_backend_learning", ROOT / "benchmarks/bench_backend_learning.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load_bench()


def curve(values, steps=None):
    values = np.asarray(values, dtype=np.float64)
    steps = np.arange(1, values.size + 1) * 16 if steps is None else np.asarray(steps)
    return steps, values


def learning(seed: int, n: int = 40, level: float = 1.0) -> np.ndarray:
    """A rising reward curve with its own per-update noise."""
    rng = np.random.default_rng(seed)
    return level * (1 - np.exp(-np.arange(n) / 10)) + 0.05 * rng.standard_normal(n)


def test_parity_verdict_flips_when_backend_difference_exceeds_seed_spread(bench):
    cpu, control = curve(np.zeros(8)), curve(np.ones(8))  # seed spread exactly 1
    for d, expected in ((0.5, True), (1.5, True), (1.6, False), (3.0, False)):
        t = bench.compare_tag(curve(np.full(8, d)), cpu, control)
        assert t["backend_difference"] == pytest.approx(d)
        assert t["seed_spread"] == pytest.approx(1.0)
        assert t["difference_ratio"] == pytest.approx(d)
        assert t["parity"] is expected, d
    # the threshold is the flag's
    assert bench.compare_tag(curve(np.full(8, 1.2)), cpu, control, threshold=1.0)["parity"] is False
    assert bench.PARITY_THRESHOLD == 1.5


def test_noisy_learning_curves(bench):
    """Same learning, other noise: parity; the warp curve learning to half the level: no parity."""
    warp, cpu, control = learning(0), learning(1), learning(2)
    same = bench.compare_tag(curve(warp), curve(cpu), curve(control))
    assert same["parity"] is True and same["difference_ratio"] < 1.5
    assert same["ratio_cpu_over_warp"] == pytest.approx(1.0, abs=0.1)
    worse = bench.compare_tag(curve(learning(0, level=0.5)), curve(cpu), curve(control))
    assert worse["parity"] is False and worse["difference_ratio"] > 3
    assert worse["ratio_cpu_over_warp"] == pytest.approx(2.0, rel=0.1)


def test_last_quarter_and_common_steps(bench):
    # warp missed the write of its last update (stopped by time): compared on the 7 steps all three logged
    warp = curve(np.arange(7.0))
    cpu = curve(np.arange(8.0) * 2)
    control = curve(np.arange(8.0) * 2 + 1)
    t = bench.compare_tag(warp, cpu, control)
    assert t["points"] == 7 and t["first_step"] == 16 and t["last_step"] == 7 * 16
    # last quarter of 7 points = the last 2 (ceil(7 / 4))
    assert t["last_quarter_mean"] == pytest.approx({"warp": 5.5, "cpu": 11.0, "cpu_control": 12.0})
    assert t["ratio_cpu_over_warp"] == pytest.approx(2.0)
    assert t["backend_difference"] == pytest.approx(np.mean(np.arange(7.0)))
    assert t["seed_spread"] == pytest.approx(1.0)


def test_constant_and_missing_tags(bench):
    flat = curve(np.ones(5))
    assert bench.compare_tag(flat, flat, flat)["parity"] is True  # no spread, no difference
    t = bench.compare_tag(curve(np.full(5, 2.0)), flat, flat)
    assert t["parity"] is False and t["difference_ratio"] is None
    tag = bench.TAGS[0][0]
    scalars = {r: {tag: curve(learning(i))} for i, r in enumerate(bench.RUNS)}
    result = bench.compare(scalars)
    assert list(result["tags"]) == [tag] and result["parity"] is True
    assert result["missing_tags"] == [t for t, _ in bench.TAGS[1:]]
    scalars["warp"][tag] = curve(learning(0) + 1.0)
    assert bench.compare(scalars)["parity"] is False


FAKE_TRAIN = """
import json, signal, sys, time
from pathlib import Path
run = Path(sys.argv[1]); run.mkdir(parents=True)
print(f"[INFO] run folder: {run}", flush=True)
print("[INFO] setup 0.1 s; training timesteps 0..N x 4 envs on cpu", flush=True)
def stop(*_):
    with open(run / "diagnostics.jsonl", "a") as f:
        f.write('{"update": 99, "torn')  # a stop in the middle of a write: not a completed update
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
update = 0
while True:
    time.sleep(0.2)
    update += 1
    with open(run / "diagnostics.jsonl", "a") as f:
        f.write(json.dumps({"update": update}) + "\\n")
"""


def test_failed_run_is_one_line_exit_1(bench, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "train_command", lambda *a: [sys.executable, "-c", "raise SystemExit(3)"])
    monkeypatch.setattr(bench, "agent_rollouts", lambda a: 16)
    assert bench.main(["--updates", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: warp run failed (exit 3, 0 updates)") and err.count("\n") == 0


def test_timed_run_is_stopped_and_counts_completed_updates(bench, tmp_path, monkeypatch, capsys):
    script = tmp_path / "fake_train.py"
    script.write_text(textwrap.dedent(FAKE_TRAIN))
    run_dir = tmp_path / "run"
    monkeypatch.setattr(bench, "train_command", lambda *a: [sys.executable, str(script), str(run_dir)])
    args = bench.build_parser().parse_args(["--out", str(tmp_path), "--progress_every", "0.5"])
    run = bench.Run("warp", "mujoco-warp", 0, tmp_path / "warp.log")
    bench.train(args, run, updates=None, minutes=2 / 60, rollouts=16)
    assert run.stopped_by_time and run.returncode == 130 and run.run_dir == run_dir
    lines = (run_dir / "diagnostics.jsonl").read_text().splitlines()
    assert lines[-1].endswith("torn") and run.updates == len(lines) - 1
    # 2 s at one update per 0.2 s: about 10, + the 0.5 s poll before the stop; fewer on a loaded machine
    assert 4 <= run.updates <= 20
    out = capsys.readouterr().out
    assert "stopping (SIGINT)" in out and "updates/min" in out and "ETA" in out


@pytest.mark.parametrize(
    "argv, field",
    [
        (["--updates", "0"], "--updates"),
        (["--minutes", "-1"], "--minutes"),
        (["--control_seed", "0"], "--control_seed"),
        (["--device", "cuda:0"], "--device"),
        (["--dataset", "/nonexistent.npz"], "--dataset"),
        (["agent.x"], "overrides"),
    ],
)
def test_bad_input_one_line_exit_2(bench, argv, field, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main([*argv, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and field in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv, field",
    [
        (["env.amp.datset=x"], "env.amp.datset"),
        (["agent.agent.learnng_rate=1"], "agent.agent.learnng_rate"),
        (["--task", "Nope-v0"], "--task"),
    ],
)
def test_misspelt_key_or_task_refused_before_any_run(bench, argv, field, tmp_path, capsys):
    """Both configs are resolved before the first run: one line, exit 2, no run folder."""
    with pytest.raises(SystemExit) as exc:
        bench.main([*argv, "--updates", "1", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and field in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_tiny_benchmark_end_to_end(tmp_path):
    """Three 2-update runs of 16 envs (warp, cpu, cpu at seed 1) through train_amp.py, compared; ~3 min idle."""
    out = tmp_path / "result.json"
    cmd = [sys.executable, "benchmarks/bench_backend_learning.py", "--num_envs", "16", "--updates", "2"]
    cmd += ["--out", str(tmp_path / "runs"), "--json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["updates"] == 2 and r["num_envs"] == 16 and r["env_steps_per_run"] == 2 * r["rollouts"] * 16
    assert {(n, r["runs"][n]["backend"], r["runs"][n]["seed"]) for n in r["runs"]} == {
        ("warp", "mujoco-warp", 0),
        ("cpu", "mujoco-cpu", 0),
        ("cpu_control", "mujoco-cpu", 1),
    }
    for run in r["runs"].values():
        assert run["updates_completed"] == 2 and run["returncode"] == 0 and not run["stopped_by_time"]
        assert run["env_steps_per_s"] > 0 and run["train_seconds"] > 0
        args = (Path(run["run_dir"]) / "params" / "args.yaml").read_text()
        assert f"physics: {run['backend']}" in args  # each run's own train_amp.py run folder, its backend
    assert r["wall_time_ratio_warp_over_cpu"] > 0 and r["env_steps_ratio_cpu_over_warp"] > 0
    task_tag = "Reward / Task per step (scaled, what PPO sees)"
    assert r["tags"][task_tag]["points"] == 2
    assert set(r["tags"]) | set(r["missing_tags"]) == {t for t, _ in load_bench().TAGS}
    for t in r["tags"].values():
        assert set(t["last_quarter_mean"]) == {"warp", "cpu", "cpu_control"} and isinstance(t["parity"], bool)
    assert isinstance(r["parity"], bool) and Path(r["png"]).stat().st_size > 0
    assert "parity (every tag's" in proc.stdout
