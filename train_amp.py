"""Train an AMP policy with skrl 2.1.1 on an Isaac Lab 3.0 task (kit-less, Newton) of this package.

Usage (Isaac Lab's usual flags; trailing ``key=value`` arguments override the env / agent cfg, Hydra style)::

    # CPU, small
    python train_amp.py --task WildRobot-AMP-Flat-v0 --num_envs 16 --device cpu --headless \\
        --dataset data/wildrobot_ref.npz --max_iterations 200
    # GPU: the full training run (default task G1-23dof-AMP-Flat-v0; without --dataset: the built-in demo gait)
    python train_amp.py --num_envs 4096 --headless --device cuda:0 --dataset data/g1.npz
    # overrides: agent.<path>=..., env.<path>=... (Isaac Lab Hydra syntax; a misspelled key names the closest one)
    python train_amp.py --task ... agent.agent.learning_rate=1e-4 agent.models.discriminator.layers=[512,256] \
        agent.amp.style_ramp.enabled=false env.amp.feature_spec.lin_vel_zero_threshold=0.2
    # resume: continues at the checkpoint's timestep (schedules, normalisers, optimiser and counters restored)
    python train_amp.py --task ... --checkpoint logs/skrl/<task>/<run>/checkpoints/agent_32000.pt --max_iterations 4000
    # micro-train smoke test: train N timesteps, report AUC / saturation / style-reward variance
    python train_amp.py --task ... --dataset data/tier0.npz --steps 5000
    # the torch toy task (no physics; tests, CI, benchmarks), registered like the real tasks
    python train_amp.py --task Toy-AMP-v0 --num_envs 32 --steps 2000
    # watch training in a browser (Isaac Lab 3.0's viser visualizer; prints the URL)
    python train_amp.py --task WildRobot-AMP-Flat-v0 --num_envs 16 --device cpu --visualizer viser

Multi-GPU uses skrl's own mechanism: start one process per GPU with ``torchrun``; skrl reads ``LOCAL_RANK`` /
``RANK`` / ``WORLD_SIZE`` when it is imported, initialises NCCL and puts rank r on ``cuda:<LOCAL_RANK>``; models
are broadcast from rank 0 at start and gradients all-reduced every minibatch. Under torchrun each rank's env runs
on its own GPU (``cuda:<LOCAL_RANK>``, with or without ``--distributed``) and seeds from seed + rank (env, torch,
numpy, warp; a resumed RNG state is offset by the rank too); only rank 0 writes logs and checkpoints. The NaN
guard's skip decision and the schedule inputs (AUC, fall rate: reduced as raw sums of one fixed size, so a rank on
which no episode ended cannot stall the all-reduce) are agreed across ranks, so all ranks stay in step::

    torchrun --nproc_per_node=4 train_amp.py --task G1-23dof-AMP-Flat-v0 --num_envs 4096 --headless --distributed

Outputs: ``logs/skrl/<task>/<YYYY-mm-dd_HH-MM-SS>_<experiment_name>/`` with TensorBoard events, ``params/``
(resolved ``agent.yaml``, ``env.yaml``, ``args.yaml``), ``diagnostics.jsonl``, ``micro_train_gate.json`` and
``checkpoints/agent_<timestep>.pt`` (+ ``best_agent.pt``), written atomically.
"""

import argparse
import dataclasses
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt  # light: argparse only

ROOT = Path(__file__).resolve().parent

DEFAULT_TASK = "G1-23dof-AMP-Flat-v0"


@dataclasses.dataclass
class TrainArgs:
    """train_amp.py's flags (Isaac Lab's spellings; the visualizer and physics flags come from ``isaaclab/``)."""

    task: str = opt(
        DEFAULT_TASK,
        help=f"gymnasium task id (default {DEFAULT_TASK}; also WildRobot-AMP-Flat-v0, G1-29dof-AMP-Flat-v0, "
        "Toy-AMP-v0)",
    )
    num_envs: int | None = opt(None, help="number of parallel envs (default: the task's)")
    headless: bool = opt(False, help="no viewer (kit-less runs are always headless)")
    device: str | None = opt(
        None,
        help="simulation and training device (default: cuda:0 if torch sees a GPU, else cpu, refused from 1024 envs; "
        "cuda:<LOCAL_RANK> under torchrun)",
    )
    seed: int | None = opt(None, help="seed (default: the agent cfg's); -1 draws one")
    max_iterations: int | None = opt(None, help="training iterations (each = agent.rollouts timesteps)")
    steps: int | None = opt(None, help="train exactly this many timesteps (micro-train smoke test)")
    checkpoint: str | None = opt(None, help="resume from this agent checkpoint (.pt)")
    dataset: str | None = opt(None, help="reference dataset .npz (sets env.amp.dataset)")
    agent_cfg: str | None = opt(
        None,
        help="agent config YAML, e.g. a run's params/agent.yaml (default: the task's registered AmpAgentCfg)",
    )
    experiment_name: str = opt("amp", help="run folder suffix: logs/skrl/<task>/<timestamp>_<name>")
    log_root: str = opt("logs/skrl", help="log root folder")
    video: bool = opt(False, help="record training videos (needs an env that renders rgb_array)")
    video_length: int = opt(200, help="frames per recorded video")
    video_interval: int = opt(2000, help="timesteps between recordings")
    distributed: bool = opt(False, help="multi-GPU: run under torchrun (see the module docstring)")
    wandb: bool = opt(
        False,
        help="also log to Weights & Biases (skrl's writer, the TensorBoard scalars synced; pip install -e '.[wandb]';"
        " WANDB_MODE=offline for no network)",
    )


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(
        description="Train an AMP agent (skrl 2.1.1) on an Isaac Lab task.",
        epilog="Trailing env.<path>=<value> / agent.<path>=<value> arguments override the configs.",
    )
    add_config(p, TrainArgs)
    from wildrobot_amp_ext.isaaclab.launch import add_visualizer_args
    from wildrobot_amp_ext.isaaclab.physics_select import add_physics_args

    add_visualizer_args(p)
    add_physics_args(p)
    return p


def enable_wandb(agent_cfg: Any, task: str) -> None:
    """skrl's Weights & Biases writer (it syncs the TensorBoard scalars), or one line naming the install."""
    import importlib.util

    from wildrobot_amp_ext.errors import InputError

    if importlib.util.find_spec("wandb") is None:
        raise InputError(None, "--wandb", "the wandb package is not installed", "pip install -e '.[wandb]'")
    experiment = agent_cfg.agent.experiment
    experiment.wandb = True
    experiment.wandb_kwargs.setdefault("project", task)
    # skrl 2.1.1's SummaryWriter (skrl/utils/tensorboard.py) imported tensorboard's EventFileWriter by name, so the
    # patch wandb.init(sync_tensorboard=True) puts on tensorboard's module never reaches it and W&B is never told the
    # log folder: resolve the class when skrl creates its writer (after wandb.init), i.e. the patched one.
    import skrl.utils.tensorboard as skrl_tensorboard
    import tensorboard.summary.writer.event_file_writer as tb_event_file_writer

    skrl_tensorboard.EventFileWriter = lambda *a, **k: tb_event_file_writer.EventFileWriter(*a, **k)


def default_device(args: argparse.Namespace) -> str:
    """Isaac Lab's habit, the first GPU when there is one, else the CPU; but a large run (``--num_envs`` >= 1024)
    is not moved to the CPU silently: refused in one line saying why torch sees no GPU and what to run instead."""
    from wildrobot_amp_ext.errors import InputError
    from wildrobot_amp_ext.utils.gpu import LARGE_RUN_ENVS, cuda_unavailable_reason

    reason = cuda_unavailable_reason()
    if reason is None:
        return "cuda:0"
    # --physics mujoco-cpu is a CPU run by choice, at any size
    if args.num_envs is not None and args.num_envs >= LARGE_RUN_ENVS and getattr(args, "physics", None) != "mujoco-cpu":
        cpu_physics = " (or --physics mujoco-cpu)" if "physics" in vars(args) else ""
        raise InputError(
            None,
            "--device",
            f"no CUDA device visible ({reason}): {args.num_envs} envs would run on the CPU, seconds per env step",
            f"run on a GPU machine whose driver fits this torch build, or train on the CPU with --device cpu "
            f"--num_envs 64{cpu_physics}",
        )
    return "cpu"


def resolve_device(args: argparse.Namespace) -> tuple[str, int]:
    """(device, rank). Under torchrun (WORLD_SIZE > 1) skrl has already bound this process to
    ``cuda:<LOCAL_RANK>`` and set up NCCL: the env and the agent use that GPU, with or without ``--distributed``."""
    from skrl import config

    if config.torch.is_distributed:
        device, rank = f"cuda:{config.torch.local_rank}", config.torch.rank
        if args.device and args.device != device:
            print(f"[WARN] --device {args.device} ignored under torchrun: rank {rank} uses {device}", file=sys.stderr)
        return device, rank
    if args.distributed:
        print("[WARN] --distributed without torchrun (WORLD_SIZE=1): single-process run", file=sys.stderr)
    return args.device or default_device(args), 0


def load_agent_cfg(args: argparse.Namespace, overrides: list[str]) -> tuple[Any, str]:
    """The task's registered agent config (or ``--agent_cfg``) with the ``agent.*`` overrides applied."""
    from wildrobot_amp_ext.isaaclab.launch import AMP_AGENT_ENTRY_POINT
    from wildrobot_amp_ext.isaaclab.launch import load_agent_cfg as task_agent_cfg

    if not args.agent_cfg:
        return task_agent_cfg(args.task, overrides), f"{args.task}:{AMP_AGENT_ENTRY_POINT}"
    from wildrobot_amp_ext.agents.config import load_agent_yaml, renamed_key_hint
    from wildrobot_amp_ext.utils.typed_cfg import apply_overrides

    cfg = load_agent_yaml(args.agent_cfg)
    apply_overrides(cfg, overrides, "agent.", hint=renamed_key_hint)
    return cfg.validate(args.agent_cfg), str(args.agent_cfg)


def resolve_env_cfg(args: argparse.Namespace, device: str, overrides: list[str]) -> tuple[Any, dict, Any]:
    """(env config, launcher arguments, visualizer config or None): the task's env config with the ``env.*``
    overrides and the ``--visualizer`` choice applied."""
    from wildrobot_amp_ext.errors import InputError
    from wildrobot_amp_ext.isaaclab.launch import apply_visualizer, is_isaaclab_cfg, launcher_args_for, load_env_cfg

    cfg = load_env_cfg(args.task, num_envs=args.num_envs, device=device, overrides=overrides)
    launcher_args = launcher_args_for(args.visualizer)
    if args.visualizer in (None, "none"):
        return cfg, launcher_args, None
    if not is_isaaclab_cfg(cfg):
        raise InputError(None, "--visualizer", f"{args.task} has no simulation to show", "use an Isaac Lab task")
    return cfg, launcher_args, apply_visualizer(cfg, launcher_args, args.visualizer, port=args.viz_port)


def wrap_video(env: Any, args: argparse.Namespace, run_dir: Path) -> Any:
    if not args.video:
        return env
    if getattr(env, "render_mode", None) != "rgb_array":
        print("[WARN] --video: this env does not render rgb_array frames; no video recorded", file=sys.stderr)
        return env
    import gymnasium as gym

    folder = run_dir / "videos" / "train"
    print(f"[INFO] recording videos to {folder}")
    return gym.wrappers.RecordVideo(
        env,
        video_folder=str(folder),
        step_trigger=lambda step: step % args.video_interval == 0,
        video_length=args.video_length,
        disable_logger=True,
    )


def dump_params(run_dir: Path, agent_cfg: Any, env: Any, args: argparse.Namespace, overrides: list[str]) -> None:
    """``params/{agent,env,args}.yaml``: the resolved configs (play.py and export rebuild the run from them)."""
    import yaml

    from wildrobot_amp_ext.isaaclab.launch import is_isaaclab_cfg
    from wildrobot_amp_ext.utils.atomic import atomic_open, atomic_path

    params = run_dir / "params"
    with atomic_open(params / "agent.yaml", "w") as f:
        yaml.safe_dump(agent_cfg.to_dict(), f, sort_keys=False)
    with atomic_open(params / "args.yaml", "w") as f:
        yaml.safe_dump({**vars(args), "overrides": overrides, "argv": sys.argv}, f, sort_keys=False)
    env_cfg = getattr(getattr(env, "unwrapped", env), "cfg", None)
    if env_cfg is None:
        return
    if not is_isaaclab_cfg(env_cfg):
        with atomic_open(params / "env.yaml", "w") as f:
            yaml.safe_dump(dataclasses.asdict(env_cfg), f, sort_keys=False)
        return
    from isaaclab.utils.io import dump_yaml

    with atomic_path(params / "env.yaml") as tmp:
        dump_yaml(str(tmp), env_cfg)


def main(argv: list[str] | None = None) -> int:
    from wildrobot_amp_ext.errors import cli_entry

    @cli_entry
    def run() -> int:
        parser = build_parser()
        args, rest = parser.parse_known_args(argv)
        if any(tok.startswith("-") for tok in rest):  # a misspelt flag, named with the closest one
            raise parser.unknown_flag_error(rest)
        return train(args, rest)

    return run()


def check_args(args: argparse.Namespace) -> None:
    """Refusals that need no env: before seconds of env set-up and before a run folder exists."""
    from wildrobot_amp_ext.errors import InputError

    if args.checkpoint:  # the check play.py runs
        from wildrobot_amp_ext.utils.checkpoint import validate_checkpoint

        validate_checkpoint(args.checkpoint)
    for name in ("num_envs", "max_iterations", "steps"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise InputError(None, f"--{name}", f"must be positive, got {value}", None)
    from wildrobot_amp_ext.validation import check_link_loop, check_output_dir

    check_output_dir("--log_root", args.log_root)  # the run folder goes there, after minutes of env set-up
    if args.dataset:
        check_link_loop(args.dataset, "--dataset")
        if not Path(args.dataset).is_file():
            problem = "not a regular file (a device, FIFO or socket)" if Path(args.dataset).exists() else "not found"
            raise InputError(args.dataset, "--dataset", problem, "pass the .npz written by wildrobot-convert")
        from wildrobot_amp_ext.dataset.schema import validate_dataset

        validate_dataset(args.dataset)  # every member checked


def training_timesteps(args: argparse.Namespace, agent_cfg: Any) -> int:
    if args.steps:
        return args.steps
    if args.max_iterations:
        return args.max_iterations * agent_cfg.agent.rollouts
    return agent_cfg.trainer.timesteps


def train(args: argparse.Namespace, rest: list[str]) -> int:
    from wildrobot_amp_ext.utils.typed_cfg import split_overrides

    env_overrides, agent_overrides = split_overrides(rest)
    from wildrobot_amp_ext.isaaclab.physics_select import prefer_passive_omp, requested_backend

    # before torch loads (the checks below may import it): OpenMP reads its wait policy once
    prefer_passive_omp(requested_backend(args, env_overrides), args.device)
    check_args(args)
    device, rank = resolve_device(args)
    agent_cfg, cfg_source = load_agent_cfg(args, agent_overrides)
    if args.wandb:
        enable_wandb(agent_cfg, args.task)
    if args.seed is not None:
        agent_cfg.seed = int.from_bytes(os.urandom(2), "little") if args.seed == -1 else args.seed
    timesteps = training_timesteps(args, agent_cfg)
    # the env samples the reference motions (and reference state init) from env.amp.dataset
    extra_env = [f"env.amp.dataset={Path(args.dataset).resolve()}"] if args.dataset else []
    if agent_cfg.seed is not None:
        extra_env.append(f"env.seed={agent_cfg.seed + rank}")
    from wildrobot_amp_ext.isaaclab.physics_select import physics_overrides

    extra_env += physics_overrides(args)  # --physics = env.physics_backend (kept in the run's overrides)
    env_cfg, launcher_args, viz_cfg = resolve_env_cfg(args, device, env_overrides + extra_env)

    log_root = (Path(args.log_root) if Path(args.log_root).is_absolute() else Path.cwd() / args.log_root) / args.task
    run_name = f"{datetime.now().strftime('%Y-%m-%d_%H-%M-%S')}_{args.experiment_name}"
    run_dir = log_root / run_name
    if rank == 0:
        print(f"[INFO] run folder: {run_dir}")

    from wildrobot_amp_ext.agents.runner import build_amp_runner
    from wildrobot_amp_ext.isaaclab.launch import env_session, visualizer_url

    started = time.time()
    render_mode = "rgb_array" if args.video else None
    try:
        with env_session(env_cfg, args.task, render_mode, launcher_args) as env:
            url = visualizer_url(viz_cfg, env) if viz_cfg is not None else None
            if url:
                print(f"[INFO] {args.visualizer} visualizer: {url}")
            env = wrap_video(env, args, run_dir)
            runner = build_amp_runner(
                env,
                agent_cfg,
                cfg_file=cfg_source if Path(cfg_source).is_file() else None,
                experiment_directory=log_root,
                experiment_name=run_name,
                timesteps=timesteps,
            )
            if rank == 0:
                dump_params(run_dir, runner.cfg, env, args, env_overrides + extra_env + agent_overrides)
            if args.checkpoint:
                resume(runner, args.checkpoint, timesteps)
            print(
                f"[INFO] setup {time.time() - started:.1f} s; training timesteps {runner.trainer.start_timestep}.."
                f"{timesteps} x {runner.env.num_envs} envs on {device}"
            )
            try:
                return run_training(runner, run_dir, rank, timesteps)
            finally:
                close_loggers(runner.agent)
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def resume(runner: Any, checkpoint: str, timesteps: int) -> None:
    from wildrobot_amp_ext.errors import InputError

    runner.load(checkpoint)
    agent = runner.agent
    print(
        f"[INFO] resumed {checkpoint} at timestep {agent.timestep} (feature stage {agent.feature_stages.name}, "
        f"style weight x{agent.style_ramp.fraction:.3f})"
    )
    if agent.timestep >= timesteps:
        raise InputError(
            checkpoint,
            "timestep",
            f"checkpoint is at timestep {agent.timestep} >= the {timesteps} requested",
            "raise --max_iterations / --steps",
        )


def run_training(runner: Any, run_dir: Path, rank: int, timesteps: int) -> int:
    """Train; on Ctrl-C still write a checkpoint. Rank 0 writes the final checkpoint and the gate report."""
    interrupted = False
    try:
        runner.train()
    except KeyboardInterrupt:
        interrupted = True
        print("[INFO] interrupted: writing a checkpoint", file=sys.stderr)
    if rank == 0:
        runner.agent.write_checkpoint(timestep=runner.agent.timestep, timesteps=timesteps)
        report_gate(runner, run_dir)
        if runner.trainer.env_steps_per_second:
            print(
                f"[INFO] {runner.trainer.env_steps_per_second:.0f} env-steps/s; checkpoint "
                f"{run_dir / 'checkpoints' / f'agent_{runner.agent.timestep}.pt'}"
            )
    return 130 if interrupted else 0


def close_loggers(agent: Any) -> None:
    """Flush TensorBoard and end the W&B run, so the last update's scalars reach both (also after Ctrl-C)."""
    writer = getattr(agent, "writer", None)
    if writer is not None and hasattr(writer, "flush"):
        writer.flush()
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()


def report_gate(runner: Any, run_dir: Path) -> dict:
    from wildrobot_amp_ext.agents.smoke import evaluate_gate, format_gate
    from wildrobot_amp_ext.utils.atomic import save_json_atomic

    agent = runner.agent
    report = evaluate_gate(agent.diagnostics_history, runner.extras.smoke_gate, agent.discriminator_objective)
    report["env_steps_per_second"] = runner.trainer.env_steps_per_second
    report["num_envs"] = runner.env.num_envs
    print(format_gate(report))
    save_json_atomic(run_dir / "micro_train_gate.json", report)
    return report


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
