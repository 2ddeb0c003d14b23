"""Play a trained AMP policy (skrl 2.1.1 checkpoint) in an Isaac Lab 3.0 task of this package (kit-less, Newton).

Usage::

    # window (needs a display): the Newton GL visualizer; arrow keys = forward speed / turn rate, z / x = sideways,
    # space = stop (polled from the visualizer window once per step)
    python play.py --task WildRobot-AMP-Flat-Play-v0 --checkpoint logs/skrl/<task>/<run>/checkpoints/agent_32000.pt
    # headless: a video of 4 envs walking at a scripted command
    python play.py --task ... --checkpoint ... --headless --video --command 0.3,0,0 --video_length 300
    # export (ONNX + TorchScript, normaliser folded in, parity-checked) and evaluate (JSON + PNG + rollout.npz)
    python play.py --task ... --checkpoint ... --headless --export --eval
    python play.py --task ... --checkpoint ... --headless --eval \
        --eval_commands "0,0,0;0.25,0,0;0.5,0,0" --eval_envs_per_command 8
    # a zero-action baseline (no checkpoint)
    python play.py --task ... --zero_policy --headless --eval

Video (``--video``): Isaac Lab 3.0's own recorder (``env_cfg.video_recorders``) needs ``moviepy`` (not installed) and a
visualizer. Kit-less on CPU the Newton GL visualizer itself does render headless (through EGL), but from a fixed
camera, so **by default the rollout's root / joint states are recorded and rendered with this package's MuJoCo motion
viewer** (``wildrobot_amp_ext.viewing.viewer``: a tracking camera, one robot copy per env, text overlay with env,
episode, time, joint-limit and foot-penetration flags). ``--video_renderer newton`` instead grabs the Newton GL
visualizer's frames every step (camera ``--camera_eye`` / ``--camera_lookat``) and writes them with imageio.

Outputs go to ``<run>/play/`` for a checkpoint inside a ``train_amp.py`` run folder (else ``./play_outputs/``):
``play.mp4``, ``rollout.npz`` (``--record``; plays in ``utils/motion_viewer.py``), ``exported/``, ``eval/``.

Bad input is refused with one line (exit code 2): a checkpoint trained for another robot, another task (its ``-Play``
variant counts as the same; ``--allow_other_task`` overrides) or with other observation / action / AMP widths, a
``--dataset`` whose feature version differs from the env's, a malformed ``--command``.
Trailing ``env.<path>=<value>`` arguments override the env config (Isaac Lab Hydra syntax).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from wildrobot_amp_ext.deploy.checkpoint import read_checkpoint, run_dir_of
from wildrobot_amp_ext.errors import InputError, cli_entry
from wildrobot_amp_ext.evaluation.run_config import merge_overrides, read_run_env
from wildrobot_amp_ext.isaaclab.launch import (
    add_visualizer_args,
    apply_visualizer,
    check_visualizer_installed,
    env_session,
    launcher_args_for,
    load_env_cfg,
    visualizer_url,
)
from wildrobot_amp_ext.isaaclab.physics_select import (
    add_physics_args,
    physics_overrides,
    prefer_passive_omp,
    requested_backend,
)
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt
from wildrobot_amp_ext.viewing.playback import DEFAULT_HEADLESS_STEPS, play_policy, render_rollout

# play dispatches to the rooms that do the work: deploy (the checkpoint's policy, export), evaluation (fixed-command
# evaluation, sim2sim metrics), viewing (the playback loop, its video). The modules that load torch, MuJoCo or
# Isaac Lab (deploy.export / policy, evaluation.env_loop / evaluate / sim2sim_report, viewing.gl, tasks) are imported
# inside the functions that use them: --help and flag errors answer without them


@dataclass
class PlayArgs:
    """play.py's / ``wildrobot-evaluate``'s flags (Isaac Lab's spellings; visualizer and physics flags from
    ``isaaclab/``)."""

    task: str = opt(required=True, help="gymnasium task id, e.g. WildRobot-AMP-Flat-Play-v0")
    checkpoint: str | None = opt(
        None, exclusive="policy", required=True, help="agent checkpoint (.pt) of a train_amp.py run"
    )
    zero_policy: bool = opt(False, exclusive="policy", help="no policy: zero actions (the default pose), a baseline")
    num_envs: int | None = opt(None, help="envs to play (default: the task's; --eval sets its own)")
    device: str | None = opt(None, help="default: cuda:0 if available, else cpu")
    seed: int | None = None
    headless: bool = opt(False, help="no window (implied without a display)")
    steps: int | None = opt(
        None,
        help=f"env steps to play (default: until the window closes; else {DEFAULT_HEADLESS_STEPS} or --video_length)",
    )
    command: str | None = opt(
        None,
        help="velocity command vx,vy,wz for every env (default: the task's random commands; zero + keys in a window)",
    )
    realtime: bool = opt(False, help="pace a window to real time")
    allow_other_task: bool = opt(
        False, help="play a checkpoint on a task other than the one it was trained on (same robot and widths)"
    )
    dataset: str | None = opt(
        None,
        help="reference dataset (.npz) for the env (reference state init); refused if its feature version differs",
    )
    video: bool = opt(False, help="write a video (see the module docstring)")
    video_length: int = opt(200, help="env steps in the video")
    video_renderer: Literal["mujoco", "newton"] = "mujoco"
    video_lanes: int = opt(4, help="envs shown side by side (mujoco renderer)")
    video_out: str | None = opt(None, help="video path (.mp4 / .gif)")
    camera_eye: str = opt("1.5,-1.5,0.8", help="newton renderer camera position x,y,z")
    camera_lookat: str = opt("0,0,0.25", help="newton renderer camera target x,y,z")
    record: str | None = opt(None, nargs="?", const="", help="save the rollout .npz (optionally to this path)")
    export: bool = opt(False, help="export the policy to ONNX + TorchScript with a parity check")
    export_only: bool = opt(False, help="export and exit (no env)")
    eval: bool = opt(False, help="evaluate over fixed velocity commands (JSON + PNG + rollout)")
    eval_commands: str | None = opt(
        None, help='"vx,vy,wz;vx,vy,wz;..." (default: fractions of the task\'s command ranges)'
    )
    eval_envs_per_command: int = 4
    eval_duration: float = opt(10.0, help="seconds per evaluation rollout")
    sim2sim: Literal["mujoco"] | None = opt(
        None,
        help="run the exported ONNX policy in MuJoCo (the robot's MJCF and PD actuators) at --command for "
        "--eval_duration s and print its evaluation metrics (evaluation/sim2sim_report.py)",
    )
    task_defaults: bool = opt(
        False, help="build the env from the task's defaults, not from the checkpoint's run config (params/args.yaml)"
    )
    out: str | None = opt(None, help="output folder (default: <run>/play or ./play_outputs)")


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(
        description="Play / record / export / evaluate a trained AMP policy.",
        epilog="Trailing env.<path>=<value> arguments override the env config.",
    )
    add_config(p, PlayArgs)
    add_physics_args(p)
    add_visualizer_args(p)
    return p


def _vec3(text: str, flag: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise InputError(None, flag, f"'{text}' is not three numbers x,y,z", "e.g. 0.3,0,0")
    return values  # type: ignore[return-value]


def output_dir(args: argparse.Namespace) -> Path:
    if args.out:
        return Path(args.out)
    if args.checkpoint:
        run = run_dir_of(Path(args.checkpoint))
        if (run / "params").is_dir():
            return run / "play"
    return Path.cwd() / "play_outputs"


def check_task(task: str) -> None:
    import gymnasium as gym

    # here: the task configs load Isaac Lab; play --help stays fast
    import wildrobot_amp_ext.tasks  # noqa: F401  (registers the package's tasks)

    if task not in gym.registry:
        ours = sorted(t for t in gym.registry if "-AMP-" in t)
        raise InputError(None, "--task", f"unknown task '{task}'", f"use one of {ours}")


def check_dataset(dataset: str, env_cfg: Any) -> None:
    """Refuse a dataset whose features conflict with the env's robot or explicit FeatureSpec fields (before any env)."""
    # here: mdp.amp loads Isaac Lab; play --help stays fast
    from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import resolve_feature_spec

    resolve_feature_spec(env_cfg.amp, env_cfg.robot_spec(), dataset)


def main(argv: list[str] | None = None) -> int:
    return cli_entry(_run)(argv)


def _check_flags(args: argparse.Namespace, rest: list[str]) -> list[str]:
    """Refuse bad flags before any work (one line each); returns the trailing ``env.*`` overrides."""
    overrides = [r for r in rest if r.startswith("env.")]
    unknown = [r for r in rest if not r.startswith("env.")]
    if unknown and unknown[0].startswith("-"):  # a misspelt flag, named with the closest one
        raise build_parser().unknown_flag_error(unknown)
    if unknown:
        raise InputError(
            None,
            unknown[0],
            "unknown argument",
            "see python play.py --help; env overrides look like env.<path>=<value>",
        )
    for name in ("num_envs", "steps", "video_length", "video_lanes", "eval_envs_per_command"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise InputError(None, f"--{name}", f"must be positive, got {value}", None)
    if args.export_only:
        args.export = True
    if args.visualizer is not None:  # a missing runtime (Isaac Sim for kit) is refused before any work
        check_visualizer_installed(args.visualizer)
    if args.video_out and Path(args.video_out).suffix.lower() not in (".mp4", ".gif"):
        raise InputError(
            args.video_out, None, f"unsupported video type '{Path(args.video_out).suffix}'", "use .mp4 or .gif"
        )
    if args.sim2sim and not args.checkpoint:
        raise InputError(None, "--sim2sim", "needs a policy", "pass --checkpoint")
    if args.sim2sim:
        args.export = True  # the exported ONNX file is what runs in MuJoCo
    if args.export and args.zero_policy:
        raise InputError(None, "--export", "nothing to export with --zero_policy", "pass --checkpoint")
    return overrides


def _run(argv: list[str] | None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    overrides = _check_flags(args, rest)
    command = _vec3(args.command, "--command") if args.command else None
    out_dir = output_dir(args)

    info = None
    if args.checkpoint:
        info = read_checkpoint(args.checkpoint)
    if args.export:
        # here: export loads torch and ONNX; only --export needs it
        from wildrobot_amp_ext.deploy.export import export_checkpoint, format_result

        result = export_checkpoint(info, out_dir / "exported")
        print(format_result(result))
        if not result.ok:
            print("[export] parity check FAILED: the exported files do not reproduce the policy", file=sys.stderr)
            return 1
        if args.export_only:
            return 0
        if args.sim2sim:
            # here: sim2sim_report loads torch and MuJoCo; only --sim2sim needs it
            from wildrobot_amp_ext.evaluation.sim2sim_report import compare_in_mujoco

            return compare_in_mujoco(result, command, args.eval_duration, out_dir)

    # here: viewing.gl loads MuJoCo; play --help stays fast
    from wildrobot_amp_ext.viewing.gl import has_display

    if args.visualizer is None and has_display() and not args.headless:
        args.visualizer = "newton"  # a desktop: the Newton GL window, as before
    # an interactive visualizer plays until it is closed (Ctrl-C for the browser ones) and takes keyboard commands
    gui = args.visualizer not in (None, "none")
    check_task(args.task)
    env_cfg = _env_cfg(args, info, overrides)
    eval_cfg, commands = _pin_commands(args, env_cfg, command)
    launcher_args = launcher_args_for(args.visualizer)
    view = {"eye": _vec3(args.camera_eye, "--camera_eye"), "lookat": _vec3(args.camera_lookat, "--camera_lookat")}
    if args.video and args.video_renderer == "newton" and args.visualizer in (None, "none"):
        apply_visualizer(env_cfg, launcher_args, "newton", **view)  # GL frames (EGL when there is no display)
    viz_cfg = apply_visualizer(env_cfg, launcher_args, args.visualizer, port=args.viz_port, **view) if gui else None
    with env_session(env_cfg, task=args.task, launcher_args=launcher_args) as env:
        url = visualizer_url(viz_cfg, env)
        if url:
            print(f"[play] {args.visualizer} viewer serving the playback at {url} (Ctrl-C stops)", flush=True)
        return _play(args, env, env_cfg, info, command, gui, eval_cfg, commands, out_dir)


def _env_cfg(args: argparse.Namespace, info, overrides: list[str]):
    """The env config to play in: the task's, with the checkpoint's run overrides (unless ``--task_defaults``), then
    the user's, the seed and ``--physics``; the checkpoint refused if it was trained for another robot or task."""
    if info is not None and not args.task_defaults:  # the env as the run trained it; the user's overrides win
        run_env = read_run_env(info.path)
        for note in run_env.notes:
            print(f"[WARN] {note}", file=sys.stderr)
        if run_env.source is not None:
            overrides = merge_overrides(run_env.overrides, overrides)
            print(f"[play] env rebuilt from {run_env.source} ({len(run_env.overrides)} env overrides of the run)")
    if args.seed is not None:
        overrides.append(f"env.seed={args.seed}")
    overrides += physics_overrides(args)  # after the run's overrides: --physics wins
    prefer_passive_omp(requested_backend(args, overrides), args.device)  # before torch loads (README, CPU physics)
    if args.device is None:
        import torch

        args.device = "cuda:0" if torch.cuda.is_available() else "cpu"
    env_cfg = load_env_cfg(args.task, num_envs=args.num_envs, device=args.device, overrides=overrides)
    if info is not None:
        # here: deploy.policy loads torch and skrl; play --help stays fast
        from wildrobot_amp_ext.deploy.policy import check_compatible

        robot_name = env_cfg.robot_name
        for warning in check_compatible(info, task=args.task, robot=robot_name, allow_other_task=args.allow_other_task):
            print(f"[WARN] {warning}", file=sys.stderr)
    if args.dataset:
        check_dataset(args.dataset, env_cfg)
        env_cfg.amp.dataset = str(Path(args.dataset).resolve())
    return env_cfg


def _pin_commands(args: argparse.Namespace, env_cfg, command):
    """(EvalCfg, its commands) for ``--eval``, else (None, None) with the velocity commands pinned in the config when
    play sets them (``--command``, or the keys of the Newton GL window, which reports pressed keys)."""
    # here: env_loop loads torch; play --help stays fast
    from wildrobot_amp_ext.evaluation.env_loop import pin_commands_in_cfg

    if args.eval:
        # here: evaluate loads torch; only --eval needs it
        from wildrobot_amp_ext.evaluation.evaluate import EvalCfg, parse_commands, prepare_eval_cfg

        eval_cfg = EvalCfg(
            commands=parse_commands(args.eval_commands) if args.eval_commands else None,
            envs_per_command=args.eval_envs_per_command,
            duration_s=args.eval_duration,
        )
        return eval_cfg, prepare_eval_cfg(env_cfg, eval_cfg)
    if command is not None or args.visualizer in ("newton", "newton_gl"):
        pin_commands_in_cfg(env_cfg)
    return None, None


def _play(args, env, env_cfg, info, command, gui, eval_cfg, commands, out_dir: Path) -> int:
    """The policy (the checkpoint's, through the one loader, or zero actions) handed to evaluation or playback."""
    import torch

    action_dim = int(env.unwrapped.action_manager.total_action_dim)
    disc = None
    if info is not None:
        # here: deploy.policy loads torch and skrl; play --help stays fast
        from wildrobot_amp_ext.deploy.policy import load_for_env

        robot = env_cfg.robot_name
        agent = load_for_env(info, env, task=args.task, robot=robot, allow_other_task=args.allow_other_task)
        act, disc = agent.act, agent.disc_logit if agent.discriminator is not None else None
    else:

        def act(obs: torch.Tensor) -> torch.Tensor:
            return torch.zeros(obs.shape[0], action_dim, device=obs.device)

    meta = {"checkpoint": str(info.path) if info else "zero_policy"}
    if not args.eval:
        return play_policy(args, env, act, disc, command, gui, meta, out_dir)
    # here: evaluate loads torch; only --eval needs it
    from wildrobot_amp_ext.evaluation.evaluate import evaluate, format_report, write_outputs

    rollout, report = evaluate(env, act, eval_cfg, commands, disc=disc, task=args.task, meta=meta)
    paths = write_outputs(report, rollout, out_dir / "eval")
    print(format_report(report))
    print(f"[eval] {', '.join(f'{k}: {v}' for k, v in paths.items())}")
    if args.video:
        render_rollout(rollout, args, out_dir)
    return 0


def evaluate_main(argv: list[str] | None = None) -> int:
    """The evaluation command (``wildrobot-evaluate``): ``play.py --eval --headless`` with the same flags."""
    return main(["--eval", "--headless", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
