"""``wildrobot-view``: the motion viewer's command line (a video file, a window, or lanes served to a browser)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wildrobot_amp_ext.errors import InputError, cli_entry
from wildrobot_amp_ext.evaluation.checks import CheckCfg
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.utils.atomic import save_json_atomic
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt
from wildrobot_amp_ext.validation import NpzFile, check_outputs
from wildrobot_amp_ext.viewing.gl import configure_gl, has_display
from wildrobot_amp_ext.viewing.sources import load_motion_set
from wildrobot_amp_ext.viewing.viewer import VIDEO_SUFFIXES, MotionViewer, ViewerCfg
from wildrobot_amp_ext.viewing.web import ServeCfg, serve

DEFAULT_FILE_ROUNDS = 3  # a Tier 0+ file holds hundreds of segments: a video of all of them takes many minutes
_VIEW, _CHECK = ViewerCfg(), CheckCfg()


@dataclass
class ViewArgs:
    """``wildrobot-view``'s flags (defaults from :class:`ViewerCfg` and :class:`CheckCfg`)."""

    motions: list[str] = opt(
        positional=True, nargs="+", help="motion files; several files play side by side (lane per file)"
    )
    robot: str | None = opt(None, help="robot name or robot.yaml (default: the rollout's robot, else wildrobot)")
    out: str | None = opt(None, help="video file (.mp4 or .gif); without it a window opens (needs a display)")
    serve: bool = opt(False, help="serve the lanes in a browser (viser) instead: for headless machines")
    port: int = opt(8080, help="--serve: local port of the web viewer")
    serve_seconds: float | None = opt(None, help="--serve: stop after this many seconds (default: Ctrl-C)")
    summary: str | None = opt(None, help="JSON of per-clip check fractions (default: <out>.checks.json)")
    layout: Literal["scene", "tiles"] = opt(_VIEW.layout, help="one scene with offset copies, or one tile per lane")
    lanes: Literal["auto", "sets", "clips"] = opt(_VIEW.lanes, help="lane per file (sets) or per clip (clips)")
    max_lanes: int = _VIEW.max_lanes
    max_rounds: int | None = opt(
        None, help=f"stop after this many rounds (default: all in a window, {DEFAULT_FILE_ROUNDS} to a file; 0 = all)"
    )
    max_clips: int | None = opt(None, help="read at most this many clips per file")
    max_seconds: float | None = opt(None, help="cap each round at this many seconds of motion")
    fps: float = opt(_VIEW.fps, help="output frames per second")
    speed: float = opt(_VIEW.speed, help="playback speed factor")
    width: int = _VIEW.width
    height: int = _VIEW.height
    spacing: float | None = opt(None, help="m between copies (scene layout)")
    no_align: bool = opt(False, help="keep each clip's world xy (default: start at the origin)")
    azimuth: float = _VIEW.camera_azimuth
    elevation: float = _VIEW.camera_elevation
    distance: float | None = None
    no_overlay: bool = opt(False, help="no text overlay")
    shadows: bool = opt(False, help="cast shadows (slower on software GL)")
    joint_limit_tol: float = opt(_CHECK.joint_limit_tol, help="rad outside the range before flagging")
    penetration_tol: float = opt(_CHECK.penetration_tol, help="m below the floor before flagging")
    float_height: float = opt(_CHECK.float_height, help="m: all contact points above this ...")
    low_root_ratio: float = opt(_CHECK.low_root_ratio, help="... while root z < ratio x standing root z")


def build_parser():
    p = CliParser(
        description="Play motion sets (GMR .pkl, dataset / Tier 0+ segments .npz, policy rollout .npz) on the robot in "
        "MuJoCo, side by side, highlighting joint-limit violations, foot penetration and floating frames.",
    )
    add_config(p, ViewArgs)
    return p


def _infer_robot(paths: Sequence[str]) -> str:
    for path in paths:
        if str(path).endswith(".npz") and Path(path).is_file():
            with NpzFile(path) as data:  # checked reader: a bad file is refused in one line, not read blindly
                if "robot" in data.files and data.text("robot"):
                    return data.text("robot")
    return "wildrobot"


def _rounds(args: argparse.Namespace) -> int | None:
    if args.max_rounds is None:
        return DEFAULT_FILE_ROUNDS if args.out else None
    return args.max_rounds or None


def run_cli(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out is None and not args.serve and not has_display():
        raise InputError(
            None,
            "--out",
            "no display to open a window on",
            "pass --out video.mp4 (or .gif) to render offscreen, or --serve",
        )
    if args.out is not None and Path(args.out).suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(args.out, None, f"unsupported video type '{Path(args.out).suffix}'", "use .mp4 or .gif")
    if args.out is not None:  # output problems (a folder, under a file, an input) before any rendering
        checks_json = Path(args.summary) if args.summary else Path(args.out).with_suffix(".checks.json")
        check_outputs({"--out": args.out, "--summary": checks_json}, inputs=args.motions)
    for name in ("fps", "speed", "width", "height", "max_lanes", "port"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):  # NaN passes a plain "<= 0" test
            raise InputError(None, f"--{name.replace('_', '-')}", f"must be a positive number, got {value}", None)
    if args.serve_seconds is not None and not (math.isfinite(args.serve_seconds) and args.serve_seconds > 0):
        raise InputError(None, "--serve-seconds", f"must be a positive number, got {args.serve_seconds}", None)
    robot = load_robot(args.robot or _infer_robot(args.motions))
    sets = [load_motion_set(p, robot, max_clips=args.max_clips) for p in args.motions]
    names = [s.name for s in sets]
    for i, s in enumerate(sets):  # the same file twice: keep lanes distinguishable
        if names.count(s.name) > 1:
            s.name = f"{s.name}#{i}"
    cfg = ViewerCfg(
        width=args.width,
        height=args.height,
        fps=args.fps,
        speed=args.speed,
        layout="scene" if args.serve else args.layout,
        lanes=args.lanes,
        max_lanes=args.max_lanes,
        max_rounds=_rounds(args),
        max_seconds=args.max_seconds,
        spacing=args.spacing,
        align_start=not args.no_align,
        camera_azimuth=args.azimuth,
        camera_elevation=args.elevation,
        camera_distance=args.distance,
        overlay=not args.no_overlay,
        shadows=args.shadows,
        checks=CheckCfg(args.joint_limit_tol, args.penetration_tol, args.float_height, args.low_root_ratio),
    )
    backend = configure_gl() if args.out else None
    with MotionViewer(robot, sets, cfg) as viewer:
        summary = viewer.summary()
        for clip in summary["clips"]:
            print(
                f"[check] {clip['set']}: {clip['clip']}: {clip['frames']} frames, "
                f"joint-limit {100 * clip['joint_limit_frames']:.1f}%, "
                f"penetration {100 * clip['penetration_frames']:.1f}% (max {clip['penetration_max_mm']:.0f} mm), "
                f"floating {100 * clip['floating_frames']:.1f}%"
            )
        if args.serve:
            serve(viewer, ServeCfg(port=args.port, duration_s=args.serve_seconds))
            return 0
        if args.out is None:
            viewer.show()
            return 0
        stats = viewer.write(args.out)
    summary_path = Path(args.summary) if args.summary else Path(args.out).with_suffix(".checks.json")
    save_json_atomic(summary_path, {**summary, "gl_backend": backend, "video": str(args.out)})
    print(
        f"[viewer] {stats.frames} frames, {stats.rounds} round(s) in {stats.seconds:.1f} s "
        f"({stats.frames / max(stats.seconds, 1e-9):.1f} fps, GL {backend}) -> {args.out}; checks -> {summary_path}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli_entry(run_cli)(argv)


if __name__ == "__main__":
    raise SystemExit(main())
