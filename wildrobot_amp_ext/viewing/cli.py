"""``wildrobot-view``: the motion viewer's command line (a video file, a window, or lanes served to a browser)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from wildrobot_amp_ext.errors import InputError, OneLineParser, cli_entry
from wildrobot_amp_ext.evaluation.checks import CheckCfg
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.utils.atomic import save_json_atomic
from wildrobot_amp_ext.validation import NpzFile, check_outputs
from wildrobot_amp_ext.viewing.gl import configure_gl, has_display
from wildrobot_amp_ext.viewing.sources import load_motion_set
from wildrobot_amp_ext.viewing.viewer import VIDEO_SUFFIXES, MotionViewer, ViewerCfg
from wildrobot_amp_ext.viewing.web import ServeCfg, serve


def build_parser():
    d, c = ViewerCfg(), CheckCfg()
    p = OneLineParser(
        description="Play motion sets (GMR .pkl, dataset / Tier 0+ segments .npz, policy rollout .npz) on the robot in "
        "MuJoCo, side by side, highlighting joint-limit violations, foot penetration and floating frames.",
    )
    p.add_argument("motions", nargs="+", help="motion files; several files play side by side (lane per file)")
    p.add_argument(
        "--robot", default=None, help="robot name or robot.yaml (default: the rollout's robot, else wildrobot)"
    )
    p.add_argument("--out", default=None, help="video file (.mp4 or .gif); without it a window opens (needs a display)")
    p.add_argument(
        "--serve", action="store_true", help="serve the lanes in a browser (viser) instead: for headless machines"
    )
    p.add_argument("--port", type=int, default=8080, help="--serve: local port of the web viewer")
    p.add_argument(
        "--serve-seconds", type=float, default=None, help="--serve: stop after this many seconds (default: Ctrl-C)"
    )
    p.add_argument("--summary", default=None, help="JSON of per-clip check fractions (default: <out>.checks.json)")
    p.add_argument(
        "--layout",
        choices=("scene", "tiles"),
        default=d.layout,
        help="one scene with offset copies, or one tile per lane",
    )
    p.add_argument(
        "--lanes", choices=("auto", "sets", "clips"), default=d.lanes, help="lane per file (sets) or per clip (clips)"
    )
    p.add_argument("--max-lanes", type=int, default=d.max_lanes)
    p.add_argument(
        "--max-rounds",
        type=int,
        default=None,
        help=f"stop after this many rounds (default: all in a window, {DEFAULT_FILE_ROUNDS} to a file; 0 = all)",
    )
    p.add_argument("--max-clips", type=int, default=None, help="read at most this many clips per file")
    p.add_argument("--max-seconds", type=float, default=None, help="cap each round at this many seconds of motion")
    p.add_argument("--fps", type=float, default=d.fps, help="output frames per second")
    p.add_argument("--speed", type=float, default=d.speed, help="playback speed factor")
    p.add_argument("--width", type=int, default=d.width)
    p.add_argument("--height", type=int, default=d.height)
    p.add_argument("--spacing", type=float, default=None, help="m between copies (scene layout)")
    p.add_argument("--no-align", action="store_true", help="keep each clip's world xy (default: start at the origin)")
    p.add_argument("--azimuth", type=float, default=d.camera_azimuth)
    p.add_argument("--elevation", type=float, default=d.camera_elevation)
    p.add_argument("--distance", type=float, default=None)
    p.add_argument("--no-overlay", action="store_true", help="no text overlay")
    p.add_argument("--shadows", action="store_true", help="cast shadows (slower on software GL)")
    p.add_argument(
        "--joint-limit-tol", type=float, default=c.joint_limit_tol, help="rad outside the range before flagging"
    )
    p.add_argument("--penetration-tol", type=float, default=c.penetration_tol, help="m below the floor before flagging")
    p.add_argument("--float-height", type=float, default=c.float_height, help="m: all contact points above this ...")
    p.add_argument(
        "--low-root-ratio", type=float, default=c.low_root_ratio, help="... while root z < ratio x standing root z"
    )
    return p


def _infer_robot(paths: Sequence[str]) -> str:
    for path in paths:
        if str(path).endswith(".npz") and Path(path).is_file():
            with NpzFile(path) as data:  # checked reader: a bad file is refused in one line, not read blindly
                if "robot" in data.files and data.text("robot"):
                    return data.text("robot")
    return "wildrobot"


DEFAULT_FILE_ROUNDS = 3  # a Tier 0+ file holds hundreds of segments: a video of all of them takes many minutes


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
