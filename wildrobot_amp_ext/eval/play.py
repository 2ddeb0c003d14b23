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
viewer** (``wildrobot_amp_ext.eval.viewer``: a tracking camera, one robot copy per env, text overlay with env,
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
import time
from pathlib import Path
from typing import Any

from wildrobot_amp_ext.deploy.bundle import DEPLOY_FILE, load_bundle
from wildrobot_amp_ext.errors import InputError, OneLineParser, cli_entry
from wildrobot_amp_ext.eval.run_config import merge_overrides, read_run_env
from wildrobot_amp_ext.eval.sources import MotionSet
from wildrobot_amp_ext.isaaclab.launch import (
    add_visualizer_args,
    apply_visualizer,
    check_visualizer_installed,
    env_session,
    launcher_args_for,
    load_env_cfg,
    visualizer_url,
)
from wildrobot_amp_ext.isaaclab.physics_select import add_physics_args, physics_overrides
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.utils.atomic import atomic_path, save_json_atomic

# the modules that load torch, MuJoCo or Isaac Lab (export, env_loop, evaluate, agent, sim2sim, gl, viewer, tasks)
# are imported inside the functions that use them: --help and flag errors answer without them

DEFAULT_HEADLESS_STEPS = 500
MAX_RECORD_STEPS = 30_000  # recording an open-ended window session: 10 min at 50 Hz


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        description="Play / record / export / evaluate a trained AMP policy.",
        epilog="Trailing env.<path>=<value> arguments override the env config.",
    )
    p.add_argument("--task", required=True, help="gymnasium task id, e.g. WildRobot-AMP-Flat-Play-v0")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="agent checkpoint (.pt) of a train_amp.py run")
    src.add_argument(
        "--zero_policy", action="store_true", help="no policy: zero actions (the default pose), a baseline"
    )
    p.add_argument("--num_envs", type=int, default=None, help="envs to play (default: the task's; --eval sets its own)")
    p.add_argument("--device", default=None, help="default: cuda:0 if available, else cpu")
    add_physics_args(p)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--headless", action="store_true", help="no window (implied without a display)")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help=f"env steps to play (default: until the window closes; else {DEFAULT_HEADLESS_STEPS} or --video_length)",
    )
    p.add_argument(
        "--command",
        default=None,
        help="velocity command vx,vy,wz for every env (default: the task's random commands; zero + keys in a window)",
    )
    p.add_argument("--realtime", action="store_true", help="pace a window to real time")
    p.add_argument(
        "--allow_other_task",
        action="store_true",
        help="play a checkpoint on a task other than the one it was trained on (same robot and widths)",
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="reference dataset (.npz) for the env (reference state init); refused if its feature version differs",
    )
    p.add_argument("--video", action="store_true", help="write a video (see the module docstring)")
    p.add_argument("--video_length", type=int, default=200, help="env steps in the video")
    p.add_argument("--video_renderer", choices=("mujoco", "newton"), default="mujoco")
    p.add_argument("--video_lanes", type=int, default=4, help="envs shown side by side (mujoco renderer)")
    p.add_argument("--video_out", default=None, help="video path (.mp4 / .gif)")
    p.add_argument("--camera_eye", default="1.5,-1.5,0.8", help="newton renderer camera position x,y,z")
    p.add_argument("--camera_lookat", default="0,0,0.25", help="newton renderer camera target x,y,z")
    p.add_argument(
        "--record", default=None, nargs="?", const="", help="save the rollout .npz (optionally to this path)"
    )
    p.add_argument("--export", action="store_true", help="export the policy to ONNX + TorchScript with a parity check")
    p.add_argument("--export_only", action="store_true", help="export and exit (no env)")
    p.add_argument("--eval", action="store_true", help="evaluate over fixed velocity commands (JSON + PNG + rollout)")
    p.add_argument(
        "--eval_commands",
        default=None,
        help='"vx,vy,wz;vx,vy,wz;..." (default: fractions of the task\'s command ranges)',
    )
    p.add_argument("--eval_envs_per_command", type=int, default=4)
    p.add_argument("--eval_duration", type=float, default=10.0, help="seconds per evaluation rollout")
    p.add_argument(
        "--sim2sim",
        choices=("mujoco",),
        default=None,
        help="run the exported ONNX policy in MuJoCo (the robot's MJCF and PD actuators) at --command for "
        "--eval_duration s and print its evaluation metrics (eval/sim2sim.py)",
    )
    p.add_argument(
        "--task_defaults",
        action="store_true",
        help="build the env from the task's defaults, not from the checkpoint's run config (params/args.yaml)",
    )
    p.add_argument("--out", default=None, help="output folder (default: <run>/play or ./play_outputs)")
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
        from wildrobot_amp_ext.eval.export import run_dir_of

        run = run_dir_of(Path(args.checkpoint))
        if (run / "params").is_dir():
            return run / "play"
    return Path.cwd() / "play_outputs"


def check_task(task: str) -> None:
    import gymnasium as gym

    import wildrobot_amp_ext.tasks  # noqa: F401  (registers the package's tasks)

    if task not in gym.registry:
        ours = sorted(t for t in gym.registry if "-AMP-" in t)
        raise InputError(None, "--task", f"unknown task '{task}'", f"use one of {ours}")


def check_dataset(dataset: str, env_cfg: Any) -> None:
    """Refuse a dataset whose features conflict with the env's robot or explicit FeatureSpec fields (before any env)."""
    from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import resolve_feature_spec

    resolve_feature_spec(env_cfg.amp, env_cfg.robot_spec(), dataset)


def main(argv: list[str] | None = None) -> int:
    return cli_entry(_run)(argv)


def _run(argv: list[str] | None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    overrides = [r for r in rest if r.startswith("env.")]
    unknown = [r for r in rest if not r.startswith("env.")]
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
    command = _vec3(args.command, "--command") if args.command else None
    out_dir = output_dir(args)

    info = None
    if args.checkpoint:
        from wildrobot_amp_ext.eval.export import read_checkpoint

        info = read_checkpoint(args.checkpoint)
    if args.export:
        from wildrobot_amp_ext.eval.export import (
            checkpoint_metadata,
            export_policy,
            format_result,
            policy_from_checkpoint,
        )

        policy, scaler = policy_from_checkpoint(info)
        result = export_policy(policy, scaler, out_dir / "exported", metadata=checkpoint_metadata(info))
        print(format_result(result))
        if not result.ok:
            print("[export] parity check FAILED: the exported files do not reproduce the policy", file=sys.stderr)
            return 1
        if args.export_only:
            return 0
        if args.sim2sim:
            return _sim2sim(args, result, command, out_dir)

    from wildrobot_amp_ext.eval.gl import has_display

    if args.visualizer is None and has_display() and not args.headless:
        args.visualizer = "newton"  # a desktop: the Newton GL window, as before
    # an interactive visualizer plays until it is closed (Ctrl-C for the browser ones) and takes keyboard commands
    gui = args.visualizer not in (None, "none")
    keyboard_window = args.visualizer in ("newton", "newton_gl")  # the Newton GL window reports pressed keys
    check_task(args.task)
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
    if args.device is None:
        import torch

        args.device = "cuda:0" if torch.cuda.is_available() else "cpu"
    env_cfg = load_env_cfg(args.task, num_envs=args.num_envs, device=args.device, overrides=overrides)
    robot_name = env_cfg.robot_name
    if info is not None:
        from wildrobot_amp_ext.eval.agent import check_compatible

        for warning in check_compatible(info, task=args.task, robot=robot_name, allow_other_task=args.allow_other_task):
            print(f"[WARN] {warning}", file=sys.stderr)
    if args.dataset:
        check_dataset(args.dataset, env_cfg)
        env_cfg.amp.dataset = str(Path(args.dataset).resolve())

    from wildrobot_amp_ext.eval.env_loop import pin_commands_in_cfg

    eval_cfg = commands = None
    if args.eval:
        from wildrobot_amp_ext.eval.evaluate import EvalCfg, parse_commands, prepare_eval_cfg

        eval_cfg = EvalCfg(
            commands=parse_commands(args.eval_commands) if args.eval_commands else None,
            envs_per_command=args.eval_envs_per_command,
            duration_s=args.eval_duration,
        )
        commands = prepare_eval_cfg(env_cfg, eval_cfg)
    elif command is not None or keyboard_window:
        pin_commands_in_cfg(env_cfg)

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


def isaac_eval_at_command(path: Path, command) -> tuple[dict, str]:
    """The Isaac Lab eval's metrics at ``command`` (its per-command entry), or ({}, why there is none): comparing a
    one-command MuJoCo rollout with the eval's all-commands aggregate would compare different things."""
    import json

    if not path.is_file():
        return {}, f"no Isaac Lab eval in {path.parent}: {_eval_hint(command)}"
    for entry in json.loads(path.read_text()).get("per_command", []):
        if len(entry.get("command", ())) == 3 and all(abs(a - b) < 1e-6 for a, b in zip(entry["command"], command)):
            return entry, ""
    return {}, f"{path} has no rollout at command {_fmt_command(command)}: {_eval_hint(command)}"


def _eval_hint(command) -> str:
    return f'run wildrobot-evaluate (same --task, --checkpoint) with --eval_commands "{_fmt_command(command)}" first'


def _fmt_command(command) -> str:
    return ",".join(f"{float(c):g}" for c in command)


def _sim2sim(args, result, command, out_dir: Path) -> int:
    import json

    from wildrobot_amp_ext.eval.sim2sim import Sim2SimCfg, mujoco_world, rollout_metrics, run_bundle_in_mujoco

    meta = json.loads(Path(result.metadata).read_text())
    folder = Path(result.onnx).parent
    if not meta.get("deploy") or not (folder / DEPLOY_FILE).is_file():
        raise InputError(result.metadata, "deploy", "the export has no sim2sim contract (no deploy.yaml)",
                         "export the checkpoint of a robot task's run")  # fmt: skip
    robot = load_robot(meta.get("robot") or "wildrobot")
    bundle = load_bundle(folder, robot)  # the runner itself reads only the bundle; this also checks it fits robot
    cfg = Sim2SimCfg(command=command or (0.3, 0.0, 0.0), duration_s=args.eval_duration)
    rollout = run_bundle_in_mujoco(bundle, *mujoco_world(robot, bundle["sim_dt"]), cfg)
    metrics = rollout_metrics(rollout, bundle["step_dt"])
    path = out_dir / "sim2sim" / "metrics.json"
    save_json_atomic(path, {"engine": "mujoco", "command": list(cfg.command), "deploy": bundle.deploy, **metrics})
    isaac = out_dir / "eval" / "metrics.json"
    other, where = isaac_eval_at_command(isaac, cfg.command)
    print(
        f"[sim2sim] command {cfg.command}, {metrics['seconds']:.1f} s"
        + (f"; Isaac Lab eval at the same command: {isaac}" if other else "")
    )
    if where:
        print(f"[sim2sim] no Isaac Lab column: {where}")
    print(f"  {'metric':36s} {'MuJoCo':>12}" + (f" {'Isaac Lab':>12}" if other else ""))

    def cell(value) -> str:
        return f"{value:12.4f}" if isinstance(value, float) else f"{value!s:>12}"

    for key in (
        "falls",
        "episode_length_s_mean_lower_bound",
        "lin_vel_error_mean",
        "ang_vel_error_mean",
        "lin_vel_x_mean",
    ):
        print(f"  {key:36s} {cell(metrics.get(key))}" + (f" {cell(other.get(key))}" if other else ""))
    print(f"[sim2sim] -> {path}")
    return 0


def _play(args, env, env_cfg, info, command, gui, eval_cfg, commands, out_dir: Path) -> int:
    import numpy as np
    import torch

    from wildrobot_amp_ext.eval.env_loop import KeyboardCommand, RolloutRecorder, pin_velocity_commands, run_policy

    unwrapped = env.unwrapped
    obs_dim = int(unwrapped.observation_manager.group_obs_dim["policy"][0])
    action_dim = int(unwrapped.action_manager.total_action_dim)
    disc = None
    if info is not None:
        from wildrobot_amp_ext.agents.runner import env_feature_layout
        from wildrobot_amp_ext.eval.agent import check_compatible, load_agent

        check_compatible(
            info,
            task=args.task,
            robot=env_cfg.robot_name,
            obs_dim=obs_dim,
            action_dim=action_dim,
            amp_obs_dim=getattr(unwrapped, "amp_obs_dim", None),
            allow_other_task=args.allow_other_task,
        )
        agent = load_agent(info, device=str(unwrapped.device), amp_layout=env_feature_layout(unwrapped))
        act, disc = agent.act, agent.disc_logit if agent.discriminator is not None else None
    else:

        def act(obs: torch.Tensor) -> torch.Tensor:
            return torch.zeros(obs.shape[0], action_dim, device=obs.device)

    meta = {"checkpoint": str(info.path) if info else "zero_policy"}

    if args.eval:
        from wildrobot_amp_ext.eval.evaluate import evaluate, format_report, write_outputs

        rollout, report = evaluate(env, act, eval_cfg, commands, disc=disc, task=args.task, meta=meta)
        paths = write_outputs(report, rollout, out_dir / "eval")
        print(format_report(report))
        print(f"[eval] {', '.join(f'{k}: {v}' for k, v in paths.items())}")
        if args.video:
            _render_rollout(rollout, args, out_dir)
        return 0

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

    if args.steps is not None:
        steps: float = args.steps
    elif args.video:
        steps = args.video_length
    else:
        steps = math.inf if gui else DEFAULT_HEADLESS_STEPS
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
            _write_frames(frames, args, out_dir, 1.0 / step_dt)
        else:
            _render_rollout(rollout, args, out_dir)
    return 0


def _video_path(args, out_dir: Path) -> Path:
    return Path(args.video_out) if args.video_out else out_dir / ("eval.mp4" if args.eval else "play.mp4")


def _render_rollout(rollout, args, out_dir: Path) -> None:
    """MuJoCo viewer: the first ``video_lanes`` envs side by side (each env's episodes in turn)."""
    from wildrobot_amp_ext.eval.gl import configure_gl
    from wildrobot_amp_ext.eval.viewer import MotionViewer, ViewerCfg

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
    path = _video_path(args, out_dir)
    with MotionViewer(robot, sets, cfg) as viewer:
        stats = viewer.write(path)
    print(f"[video] {stats.frames} frames (MuJoCo viewer, GL {backend}) -> {path}")


def _write_frames(frames, args, out_dir: Path, fps: float) -> None:
    import imageio.v2 as imageio

    path = _video_path(args, out_dir)
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


def evaluate_main(argv: list[str] | None = None) -> int:
    """The evaluation command (``wildrobot-evaluate``): ``play.py --eval --headless`` with the same flags."""
    return main(["--eval", "--headless", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
