"""play's env session: the visualizer, the task and its env config (the one the checkpoint's run trained with, the
user's overrides, ``--physics``, the dataset), the env, and the policy (the checkpoint's, through the one loader in
``deploy/``, or zero actions) handed to the fixed-command evaluation (``evaluation/``) or to the playback loop and
its video (``viewing/``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

import wildrobot_amp_ext.tasks  # noqa: F401  (registers the package's tasks)
from wildrobot_amp_ext.deploy.checkpoint import CheckpointInfo
from wildrobot_amp_ext.deploy.policy import check_compatible, load_for_env
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.env_loop import pin_commands_in_cfg
from wildrobot_amp_ext.evaluation.evaluate import (
    EvalCfg,
    evaluate,
    format_report,
    parse_commands,
    prepare_eval_cfg,
    write_outputs,
)
from wildrobot_amp_ext.evaluation.run_config import merge_overrides, read_run_env
from wildrobot_amp_ext.isaaclab.launch import (
    apply_visualizer,
    env_session,
    launcher_args_for,
    load_env_cfg,
    visualizer_url,
)
from wildrobot_amp_ext.isaaclab.physics_select import physics_overrides
from wildrobot_amp_ext.play.flags import parse_vec3
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import resolve_feature_spec
from wildrobot_amp_ext.viewing.gl import has_display
from wildrobot_amp_ext.viewing.playback import play_policy, render_rollout


def play_in_env(args: argparse.Namespace, info: CheckpointInfo | None, overrides: list[str], command, out_dir: Path):
    """Build the env play runs in and play (or evaluate) the policy in it; returns the exit status."""
    if args.visualizer is None and has_display() and not args.headless:
        args.visualizer = "newton"  # a desktop: the Newton GL window, as before
    # an interactive visualizer plays until it is closed (Ctrl-C for the browser ones) and takes keyboard commands
    gui = args.visualizer not in (None, "none")
    check_task(args.task)
    env_cfg = _env_cfg(args, info, overrides)
    eval_cfg, commands = _pin_commands(args, env_cfg, command)
    launcher_args = launcher_args_for(args.visualizer)
    view = {
        "eye": parse_vec3(args.camera_eye, "--camera_eye"),
        "lookat": parse_vec3(args.camera_lookat, "--camera_lookat"),
    }
    if args.video and args.video_renderer == "newton" and args.visualizer in (None, "none"):
        apply_visualizer(env_cfg, launcher_args, "newton", **view)  # GL frames (EGL when there is no display)
    viz_cfg = apply_visualizer(env_cfg, launcher_args, args.visualizer, port=args.viz_port, **view) if gui else None
    with env_session(env_cfg, task=args.task, launcher_args=launcher_args) as env:
        url = visualizer_url(viz_cfg, env)
        if url:
            print(f"[play] {args.visualizer} viewer serving the playback at {url} (Ctrl-C stops)", flush=True)
        return _play(args, env, env_cfg, info, command, gui, eval_cfg, commands, out_dir)


def check_task(task: str) -> None:
    if task not in gym.registry:
        ours = sorted(t for t in gym.registry if "-AMP-" in t)
        raise InputError(None, "--task", f"unknown task '{task}'", f"use one of {ours}")


def check_dataset(dataset: str, env_cfg: Any) -> None:
    """Refuse a dataset whose features conflict with the env's robot or explicit FeatureSpec fields (before any env)."""
    resolve_feature_spec(env_cfg.amp, env_cfg.robot_spec(), dataset)


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
    if args.device is None:  # OpenMP's wait policy was settled before torch loaded (play/__init__.py)
        args.device = "cuda:0" if torch.cuda.is_available() else "cpu"
    env_cfg = load_env_cfg(args.task, num_envs=args.num_envs, device=args.device, overrides=overrides)
    if info is not None:
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
    if args.eval:
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
    action_dim = int(env.unwrapped.action_manager.total_action_dim)
    disc = None
    if info is not None:
        robot = env_cfg.robot_name
        agent = load_for_env(info, env, task=args.task, robot=robot, allow_other_task=args.allow_other_task)
        act, disc = agent.act, agent.disc_logit if agent.discriminator is not None else None
    else:

        def act(obs: torch.Tensor) -> torch.Tensor:
            return torch.zeros(obs.shape[0], action_dim, device=obs.device)

    meta = {"checkpoint": str(info.path) if info else "zero_policy"}
    if not args.eval:
        return play_policy(args, env, act, disc, command, gui, meta, out_dir)
    rollout, report = evaluate(env, act, eval_cfg, commands, disc=disc, task=args.task, meta=meta)
    paths = write_outputs(report, rollout, out_dir / "eval")
    print(format_report(report))
    print(f"[eval] {', '.join(f'{k}: {v}' for k, v in paths.items())}")
    if args.video:
        render_rollout(rollout, args, out_dir)
    return 0
