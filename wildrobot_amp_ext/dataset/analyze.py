"""Analyse a reference dataset: speeds (reference vs commanded, e.g. ~0.27 m/s vs 0.5-1.0), moving vs stationary
frames, contact pattern (double / single stance, flight, left-right alternation), a PNG and a short clip video.

    python utils/analyze_dataset.py ref.npz [--robot unitree_g1_23dof] --out analysis/ [--clip 0] [--no-video]
    python -m wildrobot_amp_ext.dataset.analyze ref.npz --out analysis/

Writes ``<out>/analysis.json``, ``<out>/analysis.png`` and ``<out>/clip<k>.mp4`` (MuJoCo, headless EGL/OSMesa, through
the project's motion viewer :mod:`wildrobot_amp_ext.viewing.viewer`).

API::

    analyze(ds, robot, config=AnalyzeConfig()) -> dict          # JSON-ready statistics, overall and per clip
    foot_contacts(ds, robot) -> (N, feet) bool                   # FeatureSpec contact rule on the stored states
    alternation_score(contact (T, 2) bool, min_phase_frames) -> float | None
    plot_dataset(ds, robot, path, clip=0)
    render_clip_video(ds, robot, path, clip=0, seconds=4.0) -> str   # GL backend used
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wildrobot_amp_ext.dataset.schema import ReferenceDataset, load_dataset
from wildrobot_amp_ext.errors import InputError, cli_entry
from wildrobot_amp_ext.features import contact_labels, heading_yaw, rotate_into_heading
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.robots import RobotSpec, load_robot
from wildrobot_amp_ext.utils.atomic import atomic_path, save_json_atomic
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt
from wildrobot_amp_ext.validation import check_output_dir

# the motion viewer is a layer above (an upward import listed in .importlinter): this command renders clips with it
from wildrobot_amp_ext.viewing.gl import configure_gl
from wildrobot_amp_ext.viewing.sources import MotionSet
from wildrobot_amp_ext.viewing.viewer import MotionViewer, ViewerCfg

PERCENTILES = (5, 25, 50, 75, 95)


@dataclass(frozen=True)
class AnalyzeConfig:
    #: commanded forward speed range of the task, m/s
    command_speed: tuple[float, float] = (0.5, 1.0)
    #: single-stance phases shorter than this are ignored by the alternation score (label flicker)
    min_phase_frames: int = 3


# ------------------------------------------------------------------------------------------------------------------
# statistics
# ------------------------------------------------------------------------------------------------------------------
def foot_contacts(ds: ReferenceDataset, robot: RobotSpec) -> np.ndarray:
    """(N, feet) bool: a foot is in contact when any of its points is, by the FeatureSpec's rule."""
    pos = torch.as_tensor(ds.states.contact_pos_w)
    vel = torch.as_tensor(ds.states.contact_vel_w)
    labels = contact_labels(pos, vel, ds.feature_spec).numpy().astype(bool)  # (N, P)
    return labels.reshape(labels.shape[0], len(robot.feet), -1).any(axis=2)


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, length and value of each run of equal values."""
    if values.size == 0:
        return np.zeros(0, int), np.zeros(0, int), values
    change = np.r_[True, values[1:] != values[:-1]]
    starts = np.flatnonzero(change)
    lengths = np.diff(np.r_[starts, values.size])
    return starts, lengths, values[starts]


def alternation_score(contact: np.ndarray, min_phase_frames: int = 3) -> float | None:
    """Fraction of consecutive single-stance phases that switch foot: 1.0 for a walk (L, R, L, ...), lower for
    limping / shuffling; None with fewer than two single-stance phases."""
    single = contact.sum(axis=1) == 1
    foot = np.where(single, np.argmax(contact, axis=1), -1)
    starts, lengths, values = _runs(foot)
    # a single-stance blip shorter than min_phase_frames is label noise: it belongs to the run before it
    blip = (values >= 0) & (lengths < min_phase_frames)
    blip[0] = False
    for k in np.flatnonzero(blip):
        foot[starts[k] : starts[k] + lengths[k]] = foot[starts[k] - 1]
    _, lengths, values = _runs(foot)
    phases = values[(values >= 0) & (lengths >= min_phase_frames)]
    if phases.size < 2:
        return None
    return float(np.mean(phases[1:] != phases[:-1]))


def _pct(x: np.ndarray) -> dict[str, float]:
    if x.size == 0:
        return {}
    return {
        "mean": float(x.mean()),
        **{f"p{p}": float(v) for p, v in zip(PERCENTILES, np.percentile(x, PERCENTILES))},
        "max": float(x.max()),
    }


def _contact_stats(contact: np.ndarray, min_phase_frames: int) -> dict:
    count = contact.sum(axis=1)
    return {
        "double_stance": float(np.mean(count >= 2)),
        "single_stance": float(np.mean(count == 1)),
        "flight": float(np.mean(count == 0)),
        "alternation": alternation_score(contact, min_phase_frames),
        "per_foot": [float(v) for v in contact.mean(axis=0)],
    }


def analyze(ds: ReferenceDataset, robot: RobotSpec, config: AnalyzeConfig = AnalyzeConfig()) -> dict:
    s = ds.states
    speed_xy = np.linalg.norm(s.root_lin_vel_w[:, :2], axis=1)
    speed = np.linalg.norm(s.root_lin_vel_w, axis=1)
    yaw = heading_yaw(torch.as_tensor(s.root_quat))
    v_heading = rotate_into_heading(torch.as_tensor(s.root_lin_vel_w), yaw).numpy()
    moving = speed >= ds.feature_spec.lin_vel_zero_threshold
    contact = foot_contacts(ds, robot)
    lowest = s.contact_pos_w[..., 2].min(axis=1)
    lo, hi = config.command_speed
    clips = []
    for k, (a, b) in enumerate(ds.clip_bounds):
        clips.append(
            {
                "name": ds.clip_names[k],
                "frames": int(b - a),
                "seconds": float((b - a) / ds.fps),
                "speed_mean": float(speed_xy[a:b].mean()),
                "forward_speed_mean": float(v_heading[a:b, 0].mean()),
                "moving_fraction": float(moving[a:b].mean()),
                "root_height_mean": float(s.root_pos[a:b, 2].mean()),
                "lowest_contact_min": float(lowest[a:b].min()),
                "lowest_contact_median": float(np.median(lowest[a:b])),
                **{
                    f"contact_{key}": v
                    for key, v in _contact_stats(contact[a:b], config.min_phase_frames).items()
                    if key != "per_foot"
                },
            }
        )
    alternations = [c["contact_alternation"] for c in clips if c["contact_alternation"] is not None]
    result = {
        "dataset": {
            "robot": ds.robot,
            "frames": ds.num_frames,
            "clips": ds.num_clips,
            "fps": ds.fps,
            "minutes": ds.num_frames / ds.fps / 60.0,
            "feature_version": ds.feature_version,
        },
        "root_speed_xy": _pct(speed_xy),
        "forward_speed": _pct(v_heading[:, 0]),
        "moving_fraction": float(moving.mean()),
        "moving_threshold": ds.feature_spec.lin_vel_zero_threshold,
        "command_speed": [lo, hi],
        "fraction_in_command_range": float(np.mean((speed_xy >= lo) & (speed_xy <= hi))),
        "root_height": _pct(s.root_pos[:, 2]),
        "contacts": {
            **_contact_stats(contact, config.min_phase_frames),
            "alternation_mean_over_clips": float(np.mean(alternations)) if alternations else None,
        },
        "foot_names": list(robot.foot_names),
        "clips": clips,
    }
    notes = []
    if speed_xy.mean() < lo:
        remedy = (
            "the features already encode only the direction (--lin-vel-mode direction), "
            "so the discriminator does not see speed"
            if ds.feature_spec.root_lin_vel_mode == "direction"
            else "convert with --lin-vel-mode direction (speed-free) or add faster motions"
        )
        notes.append(f"reference root speed {speed_xy.mean():.2f} m/s is below the commanded {lo}-{hi} m/s: {remedy}")
    if result["contacts"]["flight"] > 0.2:
        notes.append(
            f"{result['contacts']['flight']:.0%} of frames have no foot contact: floating feet or thresholds too tight"
        )
    result["notes"] = notes
    return result


# ------------------------------------------------------------------------------------------------------------------
# figures and video
# ------------------------------------------------------------------------------------------------------------------
def plot_dataset(ds: ReferenceDataset, robot: RobotSpec, path: str | Path, clip: int = 0, max_joints: int = 12) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = ds.clip_bounds[clip]
    t = np.arange(b - a) / ds.fps
    s = ds.states
    speed_xy = np.linalg.norm(s.root_lin_vel_w[:, :2], axis=1)
    contact = foot_contacts(ds, robot)
    fig, axes = plt.subplots(2, 2, figsize=(14, 8), constrained_layout=True)
    ax = axes[0, 0]
    for j in range(min(max_joints, robot.num_joints)):
        ax.plot(t, s.joint_pos[a:b, j] - robot.default_joint_pos[j], lw=1, label=robot.joint_names[j])
    ax.set(title=f"joint_pos - default, clip '{ds.clip_names[clip]}'", xlabel="s", ylabel="rad")
    ax.legend(fontsize=6, ncol=2)
    ax = axes[0, 1]
    ax.plot(t, speed_xy[a:b], label="root speed (xy)")
    ax.axhline(ds.feature_spec.lin_vel_zero_threshold, color="grey", ls=":", label="moving threshold")
    ax.set(title="root speed, this clip", xlabel="s", ylabel="m/s")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    points = ds.states.contact_pos_w[a:b, :, 2]
    for p, name in enumerate(robot.contact_point_names):
        ax.plot(t, points[:, p], lw=1, label=f"{name} z")
    for f, name in enumerate(robot.foot_names):
        on = contact[a:b, f]
        ax.fill_between(
            t, -0.02 - 0.02 * f, -0.02 - 0.02 * (f + 1), where=on, step="mid", alpha=0.6, label=f"{name} contact"
        )
    ax.axhline(ds.feature_spec.contact_height, color="grey", ls=":", label="contact height")
    ax.set(title="contact points: height and contact labels", xlabel="s", ylabel="m")
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1, 1]
    ax.hist(speed_xy, bins=60, color="tab:blue", alpha=0.8)
    ax.axvline(speed_xy.mean(), color="k", label=f"mean {speed_xy.mean():.2f} m/s")
    ax.set(
        title=f"root speed, all {ds.num_clips} clips ({ds.num_frames / ds.fps / 60:.1f} min)",
        xlabel="m/s",
        ylabel="frames",
    )
    ax.legend(fontsize=8)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def render_clip_video(
    ds: ReferenceDataset,
    robot: RobotSpec,
    path: str | Path,
    clip: int = 0,
    seconds: float = 4.0,
    width: int = 640,
    height: int = 360,
) -> str:
    """Render one clip with the project's motion viewer (headless). Returns the GL backend used."""
    backend = configure_gl()
    a, b = ds.clip_bounds[clip]
    s = ds.states
    motion = MotionClip(
        ds.clip_names[clip],
        ds.fps,
        s.root_pos[a:b],
        s.root_quat[a:b],
        tuple(ds.joint_names),
        s.joint_pos[a:b],
        source=str(path),
    )
    cfg = ViewerCfg(width=width, height=height, max_rounds=1, max_seconds=seconds)
    with MotionViewer(robot, [MotionSet(ds.clip_names[clip], Path(path), "npz", [motion])], cfg) as viewer:
        viewer.write(path, show_progress=False)
    return backend


# ------------------------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class AnalyzeArgs:
    """``wildrobot-analyze``'s flags."""

    dataset: str = opt(positional=True)
    robot: str | None = opt(None, help="default: the robot stored in the dataset")
    out: str | None = opt(
        None, help="folder for analysis.json / analysis.png / clip video (default: <dataset>_analysis)"
    )
    clip: int = opt(0, help="clip index for the plots and video")
    command_speed: tuple[float, float] = opt(
        AnalyzeConfig().command_speed, nargs=2, metavar=("LO", "HI"), help="commanded speed range, m/s"
    )
    min_phase_frames: int = AnalyzeConfig().min_phase_frames
    no_video: bool = False
    video_seconds: float = 4.0


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(
        prog="analyze_dataset.py",
        description="Speed, contact and gait statistics of an AMP reference dataset, a PNG and a clip video.",
    )
    add_config(p, AnalyzeArgs)
    return p


def run(argv: Sequence[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    lo, hi = args.command_speed
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo <= hi):
        raise InputError(None, "--command-speed", f"{lo} {hi} is not a speed range", "give LO HI in m/s, 0 <= LO <= HI")
    if args.min_phase_frames < 1:
        raise InputError(None, "--min-phase-frames", f"must be >= 1, got {args.min_phase_frames}", None)
    out = (
        Path(args.out)
        if args.out
        else Path(args.dataset).with_suffix("").with_name(Path(args.dataset).stem + "_analysis")
    )
    check_output_dir("--out", out, inputs=[args.dataset])  # before any work
    ds = load_dataset(args.dataset)
    robot = load_robot(args.robot or ds.robot)
    if tuple(robot.joint_names) != tuple(ds.joint_names):
        raise InputError(
            args.dataset,
            "joint_names",
            f"dataset joints differ from {robot.name}'s RobotSpec",
            "pass the robot it was converted for (verify_dataset tells more)",
        )
    if not 0 <= args.clip < ds.num_clips:
        raise InputError(
            None,
            "--clip",
            f"{args.clip} is out of range (dataset has {ds.num_clips} clips)",
            f"pick 0..{ds.num_clips - 1}",
        )
    result = analyze(ds, robot, AnalyzeConfig(tuple(args.command_speed), args.min_phase_frames))
    png = plot_dataset(ds, robot, out / "analysis.png", args.clip)
    result["figure"] = str(png)
    if not args.no_video:
        video = out / f"clip{args.clip}.mp4"
        try:
            result["video_gl"] = render_clip_video(ds, robot, video, args.clip, args.video_seconds)
            result["video"] = str(video)
        except RuntimeError as err:  # no headless GL: the statistics are still useful
            result["video"] = None
            result["notes"].append(f"no video: {err}")
    save_json_atomic(out / "analysis.json", result)
    sp, c = result["root_speed_xy"], result["contacts"]
    alt = c["alternation"]
    print(
        f"[analyze] {ds.num_clips} clip(s), {ds.num_frames} frames ({result['dataset']['minutes']:.1f} min) "
        f"at {ds.fps:g} fps"
    )
    print(
        f"[analyze] root speed m/s: mean {sp['mean']:.3f}, p5 {sp['p5']:.3f}, p50 {sp['p50']:.3f}, "
        f"p95 {sp['p95']:.3f}; moving (>= {result['moving_threshold']} m/s) {result['moving_fraction']:.1%}, "
        f"stationary {1 - result['moving_fraction']:.1%}; in command range "
        f"{args.command_speed[0]}-{args.command_speed[1]}: {result['fraction_in_command_range']:.1%}"
    )
    print(
        f"[analyze] contacts: double stance {c['double_stance']:.1%}, single {c['single_stance']:.1%}, "
        f"flight {c['flight']:.1%}, alternation {'n/a' if alt is None else f'{alt:.2f}'}"
    )
    for note in result["notes"]:
        print(f"[analyze] note: {note}")
    print(f"[analyze] -> {out / 'analysis.json'}, {png}" + (f", {result['video']}" if result.get("video") else ""))
    return result


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    run(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
