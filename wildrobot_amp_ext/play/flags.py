"""play's flags (``python play.py`` / ``wildrobot-evaluate``): :class:`PlayArgs` through the one command-line layer
(:mod:`wildrobot_amp_ext.utils.cli`) with the visualizer and physics flags of ``isaaclab/``, their checks before any
work, and the output folder. Light: ``--help`` and flag errors answer without torch, MuJoCo or Isaac Lab."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wildrobot_amp_ext.constants import DEFAULT_HEADLESS_STEPS
from wildrobot_amp_ext.deploy.checkpoint import run_dir_of
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.isaaclab.launch import add_visualizer_args, check_visualizer_installed
from wildrobot_amp_ext.isaaclab.physics_select import add_physics_args
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt


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


def parse_vec3(text: str, flag: str) -> tuple[float, float, float]:
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


def check_flags(args: argparse.Namespace, rest: list[str]) -> list[str]:
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
