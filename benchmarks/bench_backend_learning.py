"""Learning parity of the physics backends (issue 21): PPO on mujoco-warp and on mujoco-cpu at the same timesteps.

    .venv/bin/python benchmarks/bench_backend_learning.py --out bench_backend --json backend_learning.json
    .venv/bin/python benchmarks/bench_backend_learning.py --updates 2 --num_envs 16 --out /tmp/bb --json /tmp/bb.json

Three train_amp.py runs, each a subprocess with its own run folder under ``--out`` (what a user's run is, with two
logging-only overrides below), same task, envs, device, dataset and agent config:

    warp          --physics mujoco-warp, --seed S, for ``--minutes`` of training wall time (setup not counted), or
                  ``--updates`` U. A timed run gets a ``--max_iterations`` it cannot reach and is stopped with SIGINT
                  (train_amp.py's Ctrl-C path: checkpoint written, TensorBoard flushed) once the time is up; the
                  updates it completed (lines of its diagnostics.jsonl, written at the end of each update, so an
                  update cut short is not counted) set U.
    cpu           --physics mujoco-cpu, --seed S, --max_iterations U.
    cpu_control   --physics mujoco-cpu, --seed ``--control_seed``, --max_iterations U: what "matching" means, the
                  spread between two runs that differ in the seed only.

Logging-only overrides for all three: ``agent.agent.experiment.write_interval=<rollouts>`` (TensorBoard once per
update: "auto" depends on the run's total timesteps, which the timed run does not know) and ``checkpoint_interval=0``
(no periodic checkpoints; the final one is still written). Neither changes what is learned: PPO's learning-rate
schedule is KL-adaptive and the style ramp counts absolute timesteps, nothing reads the total.

Compared per TensorBoard tag (:data:`TAGS`) on the updates all three runs logged: the mean over the last quarter of
the updates of each run, the ratio cpu / warp, the backend difference mean_t |cpu(t) - warp(t)| and the seed spread
mean_t |cpu_control(t) - cpu(t)|. Parity on a tag: backend difference <= ``--threshold`` x seed spread (default 1.5,
see :data:`PARITY_THRESHOLD`). Also each run's env-steps/s over its training (setup excluded, updates included) and
the wall-time ratio warp / cpu for the same U updates. Writes ``--json PATH`` and a PNG of the curves
(``--png``, default next to the JSON).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wildrobot_amp_ext.errors import InputError, cli_entry  # noqa: E402
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt  # noqa: E402

#: (TensorBoard tag, short name): the task reward PPO sees per step, skrl's per-step and per-episode reward, the two
#: velocity-tracking reward terms per episode, and the episode length (skrl's mean over the last 100 episodes)
TAGS: tuple[tuple[str, str], ...] = (
    ("Reward / Task per step (scaled, what PPO sees)", "task reward / step"),
    ("Reward / Instantaneous reward (mean)", "reward / step"),
    ("Reward / Total reward (mean)", "episode reward"),
    ("Episode_Reward/track_lin_vel_xy", "track_lin_vel_xy"),
    ("Episode_Reward/track_ang_vel_z", "track_ang_vel_z"),
    ("Episode / Total timesteps (mean)", "episode length"),
)
#: Backend difference / seed spread at or below this is parity. Why 1.5 and not 1: with equivalent backends the
#: same-seed pair differs at most like two seeds (less while it still tracks: 2 updates of 16 envs differed by 4e-8
#: against a seed spread of 1.7e-2 in task reward per step; later float32 vs float64 state and contact order let it
#: drift apart like two seeds), so the ratio is <= about 1; but each side is one pair of runs, and one pair's mean
#: |difference| varies by a few tens of percent between seed pairs. A backend that learns differently (another
#: reward level or rate) gives a difference several times the seed spread (the test's half-level curve: > 3).
PARITY_THRESHOLD = 1.5
RUNS = ("warp", "cpu", "cpu_control")
#: a timed run's --max_iterations: more than any machine completes in the time given (the run is stopped by time)
UNREACHABLE_ITERATIONS = 10_000_000


@dataclasses.dataclass
class BenchArgs:
    """bench_backend_learning.py's flags (train_amp.py's spellings where they mean the same)."""

    task: str = opt("WildRobot-AMP-Flat-v0", help="gymnasium task id")
    num_envs: int = opt(64, help="parallel envs of every run")
    device: str = opt("cpu", help="device of every run (mujoco-cpu needs cpu)")
    seed: int = opt(0, help="seed of the warp and cpu runs (default 0)")
    control_seed: int = opt(1, help="seed of the cpu control run (the seed spread)")
    minutes: float = opt(20.0, help="training wall time of the warp run (setup excluded); sets the updates U")
    updates: int | None = opt(None, help="PPO updates of every run instead of --minutes")
    dataset: str | None = opt(None, help="reference .npz (default: the task's, the built-in demo gait)")
    out: str = opt("bench_backend_learning", help="folder of the three runs' logs (run folders + stdout logs)")
    json: str | None = opt(None, help="write the comparison here")
    png: str | None = opt(None, help="curves PNG (default: the --json path with .png, else OUT/curves.png)")
    threshold: float = opt(PARITY_THRESHOLD, help="parity: backend difference <= threshold x seed spread")
    progress_every: float = opt(30.0, help="seconds between progress lines")
    overrides: list[str] = opt(
        factory=list, positional=True, nargs="*", help="extra env.<path>=<value> / agent.<path>=<value> for every run"
    )


def build_parser() -> CliParser:
    p = CliParser(description=__doc__.split("\n\n")[0])
    add_config(p, BenchArgs)
    return p


def check_args(a) -> None:
    """Refusals before minutes of training."""
    for name in ("num_envs", "minutes", "threshold", "progress_every"):
        if not getattr(a, name) > 0:
            raise InputError(None, f"--{name}", f"must be positive, got {getattr(a, name)}", None)
    if a.updates is not None and a.updates <= 0:
        raise InputError(None, "--updates", f"must be positive, got {a.updates}", None)
    if a.seed == a.control_seed:
        raise InputError(None, "--control_seed", f"equals --seed ({a.seed}): no seed spread", "pick another seed")
    if not str(a.device).startswith("cpu"):
        raise InputError(None, "--device", f"mujoco-cpu runs on the CPU only, got {a.device}", "use --device cpu")
    if a.dataset and not Path(a.dataset).is_file():
        raise InputError(a.dataset, "--dataset", "not found", "pass the .npz written by wildrobot-convert")
    bad = [o for o in a.overrides if not re.match(r"^(env|agent)\.[^=]+=", o)]
    if bad:
        raise InputError(None, "overrides", f"'{bad[0]}' is not env.<path>=<value> / agent.<path>=<value>", None)


# ----------------------------------------------------------------------------------------------------------------
# the comparison (pure; tested on synthetic curves)
# ----------------------------------------------------------------------------------------------------------------
def common_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The steps every run logged (sorted) and each run's values there."""
    steps = None
    for s, _ in curves.values():
        steps = np.asarray(s) if steps is None else np.intersect1d(steps, s)
    steps = np.sort(steps) if steps is not None else np.zeros(0, dtype=np.int64)
    values = {}
    for name, (s, v) in curves.items():
        index = {int(k): i for i, k in enumerate(np.asarray(s))}
        values[name] = np.asarray(v, dtype=np.float64)[[index[int(k)] for k in steps]]
    return steps, values


def compare_tag(
    warp: tuple[np.ndarray, np.ndarray],
    cpu: tuple[np.ndarray, np.ndarray],
    control: tuple[np.ndarray, np.ndarray],
    threshold: float = PARITY_THRESHOLD,
) -> dict:
    """One tag's comparison: last-quarter means, cpu / warp, backend difference vs seed spread, parity."""
    steps, v = common_curves({"warp": warp, "cpu": cpu, "cpu_control": control})
    n = int(steps.size)
    if n == 0:
        return {"points": 0, "parity": None}
    tail = slice(n - max(1, math.ceil(n / 4)), n)  # the last quarter of the common updates (at least one)
    last = {k: float(np.mean(x[tail])) for k, x in v.items()}
    backend = float(np.mean(np.abs(v["cpu"] - v["warp"])))
    spread = float(np.mean(np.abs(v["cpu_control"] - v["cpu"])))
    if spread > 0:
        diff_ratio = backend / spread
        parity = diff_ratio <= threshold
    else:  # identical seed curves (a constant tag): parity only if the backends are identical too
        diff_ratio, parity = (None, backend == 0)
    return {
        "points": n,
        "first_step": int(steps[0]),
        "last_step": int(steps[-1]),
        "last_quarter_mean": last,
        "ratio_cpu_over_warp": last["cpu"] / last["warp"] if last["warp"] != 0 else None,
        "backend_difference": backend,
        "seed_spread": spread,
        "difference_ratio": diff_ratio,
        "threshold": threshold,
        "parity": bool(parity),
    }


def compare(scalars: dict[str, dict], threshold: float = PARITY_THRESHOLD) -> dict:
    """Every :data:`TAGS` tag the three runs logged (``scalars[run][tag] = (steps, values)``); missing tags are
    reported as such. ``parity``: every compared tag at parity (None when no tag could be compared)."""
    tags, missing = {}, []
    for tag, _ in TAGS:
        if all(tag in scalars[r] and len(scalars[r][tag][0]) for r in RUNS):
            tags[tag] = compare_tag(*(scalars[r][tag] for r in RUNS), threshold=threshold)
        else:
            missing.append(tag)
    verdicts = [t["parity"] for t in tags.values() if t["parity"] is not None]
    return {"tags": tags, "missing_tags": missing, "parity": all(verdicts) if verdicts else None}


# ----------------------------------------------------------------------------------------------------------------
# the runs
# ----------------------------------------------------------------------------------------------------------------
class RunFailed(RuntimeError):
    """A train_amp.py run that exited with an error or without the updates asked for."""


@dataclasses.dataclass
class Run:
    name: str
    backend: str
    seed: int
    log: Path
    run_dir: Path | None = None
    setup_done_at: float | None = None  # wall time (time.time) of train_amp.py's "[INFO] setup" line
    started_at: float = 0.0
    returncode: int | None = None
    updates: int = 0
    stopped_by_time: bool = False


def train_command(a, run: Run, iterations: int, rollouts: int) -> list[str]:
    cmd = [sys.executable, str(ROOT / "train_amp.py"), "--task", a.task, "--num_envs", str(a.num_envs)]
    cmd += ["--device", a.device, "--headless", "--seed", str(run.seed), "--physics", run.backend]
    cmd += ["--max_iterations", str(iterations), "--log_root", str(Path(a.out).resolve() / "logs")]
    cmd += ["--experiment_name", f"{run.name}_s{run.seed}"]
    if a.dataset:
        cmd += ["--dataset", str(Path(a.dataset).resolve())]
    logging_only = [f"agent.agent.experiment.write_interval={rollouts}", "agent.agent.experiment.checkpoint_interval=0"]
    return cmd + logging_only + list(a.overrides)


def completed_updates(run_dir: Path | None) -> int:
    """Updates the run finished: diagnostics.jsonl gets one line at the end of each update (a torn last line, from
    a stop mid-write, is not counted)."""
    path = run_dir / "diagnostics.jsonl" if run_dir else None
    if path is None or not path.is_file():
        return 0
    n = 0
    for line in path.read_text().splitlines():
        try:
            json.loads(line)
            n += 1
        except json.JSONDecodeError:
            pass
    return n


def _relay(proc: subprocess.Popen, run: Run) -> None:
    """Copy the run's output to its log file; note its run folder and when its setup ended."""
    with open(run.log, "w") as log:
        for line in proc.stdout:
            log.write(line)
            log.flush()
            if run.run_dir is None and line.startswith("[INFO] run folder:"):
                run.run_dir = Path(line.split(":", 1)[1].strip())
            elif run.setup_done_at is None and line.startswith("[INFO] setup "):
                run.setup_done_at = time.time()
                print(f"[{run.name}] {line.strip()[7:]}", flush=True)
            elif line.startswith(("error:", "Traceback", "[ERROR]")):
                print(f"[{run.name}] {line.rstrip()}", flush=True)


def train(a, run: Run, *, updates: int | None, minutes: float | None, rollouts: int) -> Run:
    """One train_amp.py run: ``updates`` of them, or until ``minutes`` of training wall time (then SIGINT)."""
    iterations = updates if updates is not None else UNREACHABLE_ITERATIONS
    cmd = train_command(a, run, iterations, rollouts)
    env = {**os.environ, "WILDROBOT_NO_PROGRESS": "1", "PYTHONUNBUFFERED": "1"}
    run.log.parent.mkdir(parents=True, exist_ok=True)
    goal = f"{updates} updates" if updates is not None else f"{minutes:g} min"
    print(f"[{run.name}] {run.backend}, seed {run.seed}, {goal}; log {run.log}", flush=True)
    run.started_at = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    relay = threading.Thread(target=_relay, args=(proc, run), daemon=True)
    relay.start()
    last_line = time.time()
    while proc.poll() is None:
        time.sleep(0.5)
        now = time.time()
        if minutes is not None and run.setup_done_at and now - run.setup_done_at >= minutes * 60:
            if not run.stopped_by_time:
                run.stopped_by_time = True
                print(f"[{run.name}] {minutes:g} min of training: stopping (SIGINT)", flush=True)
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=300)
                except subprocess.TimeoutExpired:
                    proc.kill()
            continue
        if now - last_line >= a.progress_every:
            last_line = now
            print(progress_line(run, updates, minutes, now), flush=True)
    relay.join(timeout=10)
    run.returncode = proc.returncode
    run.updates = completed_updates(run.run_dir)
    took = time.time() - run.started_at
    print(f"[{run.name}] done: {run.updates} updates, exit {run.returncode}, {took:.0f} s", flush=True)
    ok = run.returncode == 0 or (run.stopped_by_time and run.returncode == 130)
    if not ok or run.run_dir is None or run.updates == 0:
        raise RunFailed(f"{run.name} run failed (exit {run.returncode}, {run.updates} updates): see {run.log}")
    if updates is not None and run.updates != updates:
        raise RunFailed(f"{run.name} run logged {run.updates} updates, {updates} asked: see {run.log}")
    return run


def progress_line(run: Run, updates: int | None, minutes: float | None, now: float) -> str:
    if run.setup_done_at is None:
        return f"[{run.name}] setting up ({now - run.started_at:.0f} s)"
    done, elapsed = completed_updates(run.run_dir), now - run.setup_done_at
    rate = done / elapsed * 60 if elapsed > 0 else 0.0
    if minutes is not None:
        eta = minutes * 60 - elapsed
    else:
        eta = (updates - done) / (rate / 60) if rate > 0 else None
    total = f"/{updates}" if updates is not None else ""
    left = f"{eta:.0f} s" if eta is not None else "? (no update yet)"
    return f"[{run.name}] update {done}{total}, {rate:.2f} updates/min, {elapsed:.0f} s in, ETA {left}"


def run_scalars(run: Run) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from wildrobot_amp_ext.evaluation.curves import read_scalars

    return read_scalars(run.run_dir)


def run_speed(run: Run, rollouts: int, num_envs: int, updates: int) -> dict:
    """Training time of the first ``updates`` updates (setup excluded: from the setup line to the TensorBoard
    write right after update ``updates``) and env-steps/s over it (env steps and PPO updates alike)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run.run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    events = [e for e in acc.Scalars(TAGS[0][0]) if e.step <= updates * rollouts]
    seconds = events[-1].wall_time - run.setup_done_at if events and run.setup_done_at else None
    steps = events[-1].step if events else 0
    return {
        "name": run.name,
        "backend": run.backend,
        "seed": run.seed,
        "run_dir": str(run.run_dir),
        "log": str(run.log),
        "updates_completed": run.updates,
        "stopped_by_time": run.stopped_by_time,
        "returncode": run.returncode,
        "setup_seconds": run.setup_done_at - run.started_at if run.setup_done_at else None,
        "train_seconds": seconds,
        "env_steps_per_s": steps * num_envs / seconds if seconds else None,
    }


def plot(scalars: dict[str, dict], result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wildrobot_amp_ext.utils.atomic import atomic_path

    fig, axes = plt.subplots(2, 3, figsize=(14, 7))
    # warp drawn wide underneath: where the same-seed curves coincide both stay visible
    styles = {"warp": ("C0", "-", 3.0), "cpu": ("C1", "-", 1.2), "cpu_control": ("C1", ":", 1.2)}
    for ax, (tag, short) in zip(axes.flat, TAGS, strict=True):
        for name in RUNS:
            if tag in scalars[name]:
                steps, values = scalars[name][tag]
                run = result["runs"][name]
                color, line, width = styles[name]
                label = f"{name} ({run['backend']}, seed {run['seed']})"
                marker = "o" if len(steps) < 30 else None  # a curve of one or a few points still shows
                x = np.asarray(steps) / result["rollouts"]
                ax.plot(x, values, color=color, linestyle=line, linewidth=width, marker=marker, label=label)
        t = result["tags"].get(tag)
        verdict = "" if not t or t["difference_ratio"] is None else f": diff/spread {t['difference_ratio']:.2f}"
        ax.set_title(short + verdict, fontsize=10)
        ax.set_xlabel("PPO update")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{result['task']}, {result['num_envs']} envs, {result['updates']} updates: parity {result['parity']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    return path


def agent_rollouts(a) -> int:
    """The agent's rollouts (timesteps per update) with the run's overrides applied. Both configs are resolved here
    first, so a misspelt task or override key is refused in one line before any run (or folder) starts."""
    import gymnasium as gym

    from wildrobot_amp_ext.isaaclab.launch import load_agent_cfg, load_env_cfg

    dataset = [f"env.amp.dataset={Path(a.dataset).resolve()}"] if a.dataset else []
    env_overrides = [o for o in a.overrides if o.startswith("env.")] + dataset
    try:
        rollouts = int(load_agent_cfg(a.task, [o for o in a.overrides if o.startswith("agent.")]).agent.rollouts)
    except gym.error.Error as err:  # an unknown task id
        raise InputError(None, "--task", str(err), "pass a registered task, e.g. WildRobot-AMP-Flat-v0") from None
    for backend in ("mujoco-warp", "mujoco-cpu"):
        load_env_cfg(a.task, a.num_envs, a.device, [*env_overrides, f"env.physics_backend={backend}"])
    return rollouts


def format_table(result: dict) -> str:
    lines = [f"{'tag':18s} {'warp':>9s} {'cpu':>9s} {'cpu_s' + str(result['control_seed']):>9s} {'cpu/warp':>8s} "
             f"{'|cpu-warp|':>10s} {'seed spread':>11s} {'ratio':>6s} parity"]  # fmt: skip
    for tag, short in TAGS:
        t = result["tags"].get(tag)
        if t is None:
            lines.append(f"{short:18s} (not logged by every run)")
            continue
        m = t["last_quarter_mean"]

        def f(x, spec="9.4g"):
            return format(x, spec) if x is not None else "n/a".rjust(int(spec.split(".")[0]))

        lines.append(
            f"{short:18s} {f(m['warp'])} {f(m['cpu'])} {f(m['cpu_control'])} {f(t['ratio_cpu_over_warp'], '8.3f')} "
            f"{f(t['backend_difference'], '10.4g')} {f(t['seed_spread'], '11.4g')} "
            f"{f(t['difference_ratio'], '6.2f')} {t['parity']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    @cli_entry
    def entry() -> int:
        args = build_parser().parse_args(argv)
        check_args(args)
        try:
            return run_benchmark(args)
        except RunFailed as err:  # a run that crashed: its log says why
            print(f"error: {err}", file=sys.stderr)
            return 1

    return entry()


def run_benchmark(a) -> int:
    from wildrobot_amp_ext.utils.atomic import save_json_atomic

    out = Path(a.out)
    rollouts = agent_rollouts(a)
    started = time.time()
    runs = {
        "warp": Run("warp", "mujoco-warp", a.seed, out / "warp.log"),
        "cpu": Run("cpu", "mujoco-cpu", a.seed, out / "cpu.log"),
        "cpu_control": Run("cpu_control", "mujoco-cpu", a.control_seed, out / "cpu_control.log"),
    }
    train(a, runs["warp"], updates=a.updates, minutes=None if a.updates else a.minutes, rollouts=rollouts)
    updates = runs["warp"].updates
    print(f"U = {updates} updates ({updates * rollouts * a.num_envs} env-steps per run)", flush=True)
    for name in ("cpu", "cpu_control"):
        train(a, runs[name], updates=updates, minutes=None, rollouts=rollouts)

    scalars = {name: run_scalars(run) for name, run in runs.items()}
    # the timed run may have logged past U (a rollout after update U); compare on updates 1..U
    for name in RUNS:
        scalars[name] = {
            tag: (s[s <= updates * rollouts], v[s <= updates * rollouts]) for tag, (s, v) in scalars[name].items()
        }
    comparison = compare(scalars, a.threshold)
    speeds = {name: run_speed(run, rollouts, a.num_envs, updates) for name, run in runs.items()}
    warp_s, cpu_s = speeds["warp"]["train_seconds"], speeds["cpu"]["train_seconds"]
    result = {
        "task": a.task,
        "num_envs": a.num_envs,
        "device": a.device,
        "seed": a.seed,
        "control_seed": a.control_seed,
        "minutes": None if a.updates else a.minutes,
        "updates": updates,
        "rollouts": rollouts,
        "env_steps_per_run": updates * rollouts * a.num_envs,
        "dataset": str(Path(a.dataset).resolve()) if a.dataset else None,
        "overrides": list(a.overrides),
        "threshold": a.threshold,
        "runs": speeds,
        "wall_time_ratio_warp_over_cpu": warp_s / cpu_s if warp_s and cpu_s else None,
        "env_steps_ratio_cpu_over_warp": (
            speeds["cpu"]["env_steps_per_s"] / speeds["warp"]["env_steps_per_s"]
            if speeds["cpu"]["env_steps_per_s"] and speeds["warp"]["env_steps_per_s"]
            else None
        ),
        **comparison,
        "benchmark_seconds": time.time() - started,
    }
    png = Path(a.png) if a.png else (Path(a.json).with_suffix(".png") if a.json else out / "curves.png")
    result["png"] = str(plot(scalars, result, png))
    print(f"\n{a.task}, {a.num_envs} envs, {updates} updates x {rollouts} steps; last-quarter means:")
    print(format_table(result))
    for name in RUNS:
        s = speeds[name]
        sps = f"{s['env_steps_per_s']:.0f}" if s["env_steps_per_s"] else "n/a"
        print(f"{name:12s} {s['backend']:12s} seed {s['seed']}: {sps} env-steps/s, training {s['train_seconds']:.0f} s")
    ratio = result["wall_time_ratio_warp_over_cpu"]
    print(f"wall time warp / cpu for {updates} updates: {ratio:.2f}" if ratio else "wall time ratio: n/a")
    print(f"parity (every tag's |cpu - warp| <= {a.threshold} x seed spread): {result['parity']}; curves {png}")
    if a.json:
        save_json_atomic(a.json, result)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
