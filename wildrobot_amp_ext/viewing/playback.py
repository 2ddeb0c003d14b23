"""Play's viewing half: a policy stepping the env in a window (keyboard commands) or headless, its rollout recorded,
and play's video (the rollout rendered by the MuJoCo motion viewer, or the Newton GL visualizer's frames).

``args`` is play's parsed command line (``wildrobot_amp_ext.play.build_parser``: ``--steps``, ``--video*``,
``--record``, ``--realtime``, ``--visualizer``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.constants import DEFAULT_HEADLESS_STEPS
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.env_loop import KeyboardCommand, RolloutRecorder, pin_velocity_commands, run_policy
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.utils.atomic import atomic_path
from wildrobot_amp_ext.viewing.gl import configure_gl
from wildrobot_amp_ext.viewing.sources import MotionSet
from wildrobot_amp_ext.viewing.viewer import MotionViewer, ViewerCfg

# play's flags (play/flags.py) do not import this module: its imports load with play's env session. MuJoCo, imported
# here before configure_gl runs (as the env imports it), is re-pointed at the chosen GL backend by configure_gl

MAX_RECORD_STEPS = 30_000  # recording an open-ended window session: 10 min at 50 Hz


def play_steps(args: argparse.Namespace, gui: bool) -> float:
    """Env steps to play: ``--steps``, else the video's length, else until the window closes (or a headless 500)."""
    if args.steps is not None:
        return args.steps
    if args.video:
        return args.video_length
    return math.inf if gui else DEFAULT_HEADLESS_STEPS


def keyboard_for(args: argparse.Namespace, env, command):
    """(visualizer, keyboard command or None): the Newton GL window reports pressed keys, which steer the pinned
    velocity command (zero unless ``--command``); without a window or a pinned command there is no keyboard."""
    unwrapped = env.unwrapped
    keyboard_window = args.visualizer in ("newton", "newton_gl")
    pinned = (
        pin_velocity_commands(env, command if command is not None else (0.0, 0.0, 0.0))
        if (command is not None or keyboard_window)
        else None
    )
    visualizer = unwrapped.sim.visualizers[0] if getattr(unwrapped.sim, "visualizers", None) else None
    keyboard = (
        KeyboardCommand(visualizer, pinned)
        if keyboard_window and visualizer is not None and pinned is not None
        else None
    )
    if keyboard:
        print("[play] keys: up/down = forward speed, left/right = turn rate, z/x = sideways speed, space = stop")
    return visualizer, keyboard


def play_policy(
    args: argparse.Namespace, env, act: Callable, disc: Callable | None, command, gui: bool, meta: dict, out_dir: Path
) -> int:
    """Step ``env`` with ``act`` until the step budget or the window closes (Ctrl-C ends it too); write the recorded
    rollout (``--record``) and the video (``--video``)."""
    unwrapped = env.unwrapped
    visualizer, keyboard = keyboard_for(args, env, command)
    steps = play_steps(args, gui)
    record = args.record is not None or (args.video and args.video_renderer == "mujoco")
    capacity = (
        int(steps) if math.isfinite(steps) else MAX_RECORD_STEPS
    )  # a window runs until closed: keep the first minutes
    # a video alone shows --video_lanes envs: keep only those (--record saves every env)
    lanes = None if args.record is not None else args.video_lanes
    recorder = RolloutRecorder(env, capacity, record_disc=disc is not None, num_envs=lanes) if record else None
    frames: list[np.ndarray] = []
    step_dt = float(unwrapped.step_dt)
    started = time.perf_counter()
    taken = 0

    def on_step(k: int) -> bool:
        nonlocal taken
        taken = k
        if keyboard is not None:
            keyboard.poll(k)
        if args.video and args.video_renderer == "newton" and visualizer is not None and k <= args.video_length:
            frames.append(np.asarray(visualizer.render_rgb_array())[..., :3].copy())
        if args.realtime:
            time.sleep(max(0.0, started + k * step_dt - time.perf_counter()))
        return not gui or bool(unwrapped.sim.is_running())

    try:
        taken = run_policy(env, act, steps, recorder, disc=disc, on_step=on_step)
    except KeyboardInterrupt:  # Ctrl-C ends a session; what was recorded is still written
        print("[play] interrupted", file=sys.stderr)
    print(f"[play] {taken} steps x {unwrapped.num_envs} envs in {time.perf_counter() - started:.1f} s")
    rollout = recorder.rollout(args.task, meta) if recorder is not None else None
    if rollout is not None and args.record is not None:
        path = Path(args.record) if args.record else out_dir / "rollout.npz"
        rollout.save(path)
        print(f"[play] rollout -> {path}")
    if args.video:
        if args.video_renderer == "newton":
            if not frames:
                raise InputError(
                    None, "--video_renderer", "the Newton visualizer returned no frames", "use --video_renderer mujoco"
                )
            write_frames(frames, args, out_dir, 1.0 / step_dt)
        else:
            render_rollout(rollout, args, out_dir)
    return 0


def video_path(args, out_dir: Path) -> Path:
    return Path(args.video_out) if args.video_out else out_dir / ("eval.mp4" if args.eval else "play.mp4")


def render_rollout(rollout, args, out_dir: Path) -> None:
    """MuJoCo viewer: the first ``video_lanes`` envs side by side (each env's episodes in turn)."""
    try:
        backend = configure_gl()
    except RuntimeError as err:
        print(f"[WARN] video skipped: {err}", file=sys.stderr)
        return
    robot = load_robot(rollout.robot)
    lanes = min(args.video_lanes, rollout.num_envs)
    clips = rollout.to_clips(robot)
    sets = [
        MotionSet(f"env{e}", Path(""), "rollout", [c for c in clips if c.name.startswith(f"env{e}/")])
        for e in range(lanes)
    ]
    sets = [s for s in sets if s.clips]
    cfg = ViewerCfg(
        lanes="sets",
        max_lanes=max(len(sets), 1),
        fps=min(30.0, rollout.fps),
        max_seconds=args.video_length * rollout.dt,
    )
    path = video_path(args, out_dir)
    with MotionViewer(robot, sets, cfg) as viewer:
        stats = viewer.write(path)
    print(f"[video] {stats.frames} frames (MuJoCo viewer, GL {backend}) -> {path}")


def write_frames(frames, args, out_dir: Path, fps: float) -> None:
    import imageio.v2 as imageio

    path = video_path(args, out_dir)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".gif":
            writer = imageio.get_writer(tmp, format="GIF", duration=1000.0 / fps, loop=0)
        else:
            writer = imageio.get_writer(
                tmp, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=2, pixelformat="yuv420p"
            )
        try:
            for frame in frames:
                writer.append_data(frame)
        finally:
            writer.close()
    print(f"[video] {len(frames)} frames (Newton GL visualizer) -> {path}")
