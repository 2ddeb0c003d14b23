"""GMR pickles (or motion npz) -> AMP reference dataset.

    python convert_dataset/convert_dataset.py --robot unitree_g1_23dof --source-robot unitree_g1_29dof \\
        --input motions/ --output g1_reference.npz --target-fps 50 [--lin-vel-mode direction] [--export-pkl ref.pkl]

Per clip: read (restricted unpickler, xyzw -> wxyz, checks) -> joints mapped **by name** into the RobotSpec order
(joints the robot lacks are dropped) -> resampled to ``--target-fps`` (linear joints / root position, slerp root
orientation) -> velocities by central differences at the target rate (joints; root linear and angular velocity in
the **world** frame: the feature function rotates them into the heading frame, as it does for the simulator's
``root_*_vel_w`` in the env) -> contact points by batched forward kinematics of ``mjcf.build_model`` (sites
``<foot>_toe_contact`` / ``<foot>_heel_contact``) and their velocities. All clips are concatenated, the raw states
rounded to the storage dtype, and the features computed from them by the shared
:func:`~wildrobot_amp_ext.features.compute_amp_features` (default offset ``joint_pos - default_joint_pos``, heading
frame, velocity encoding, contact labels with the FeatureSpec thresholds). Nothing is written unless every file
converts.

API (for the miner and scripts)::

    build_dataset(clips, robot, spec=FeatureSpec(), target_fps=50.0, *, motion_ids=None, segment_ids=None,
                  segment_scores=None, motion_names=None, meta=None, show_progress=False) -> ReferenceDataset
        clips: MotionClip in RobotSpec order (motion.load_motion output); each clip is one clip/segment row block
    features_from_states(states: ClipStates, robot, spec) -> (N, F) float64
    convert_files(inputs, output, robot, spec, config) -> ReferenceDataset       # reads, builds, saves atomically
    save_dataset(path, ds) / export_merged_pkl(path, ds)                        # re-exported from dataset.schema
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from wildrobot_amp_ext.constants import CONTROL_HZ
from wildrobot_amp_ext.dataset.schema import STORAGE_DTYPE, ReferenceDataset, export_merged_pkl, save_dataset
from wildrobot_amp_ext.errors import InputError, cli_entry
from wildrobot_amp_ext.features import ALL_TERMS, FeatureSpec
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.motion.io import ReadOptions, load_motion, motion_files
from wildrobot_amp_ext.motion.resample import resample_clip
from wildrobot_amp_ext.motion.state import ClipStates
from wildrobot_amp_ext.robots import RobotSpec, load_robot
from wildrobot_amp_ext.utils.atomic import atomic_path
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt
from wildrobot_amp_ext.utils.progress import progress
from wildrobot_amp_ext.validation import LIMITS, check_outputs
from wildrobot_amp_ext.validation import values as V

if TYPE_CHECKING:
    from wildrobot_amp_ext.motion.kinematics import ForwardKinematics

#: contact-derived terms removed by --drop-contacts (a discriminator without foot contacts)
FOOT_TERMS = ("foot_contacts", "foot_height", "foot_z_velocity")


@dataclass(frozen=True)
class ConvertConfig:
    #: output frame rate; None keeps each file's rate (then all files must share it)
    target_fps: float | None = CONTROL_HZ
    read: ReadOptions = field(default_factory=ReadOptions)
    #: clips shorter than this after resampling are refused (central differences need 3 frames)
    min_frames: int = 3
    compressed: bool = True
    export_pkl: Path | None = None
    show_progress: bool = True


def bars_disabled(show: bool, count: int) -> bool:
    """Progress bars on multi-item runs in a terminal only: a redirected stderr keeps just the one-line errors."""
    return not (show and count > 1 and sys.stderr.isatty())


# ------------------------------------------------------------------------------------------------------------------
# features
# ------------------------------------------------------------------------------------------------------------------
def features_from_states(states: ClipStates, robot: RobotSpec, spec: FeatureSpec) -> np.ndarray:
    """The env's feature function on stored raw states, float64 on the CPU."""
    import torch  # torch and the feature function load here, not with the module: wildrobot-convert --help stays fast

    # here: the feature function imports torch; wildrobot-convert --help answers without it
    from wildrobot_amp_ext.features.compute import compute_amp_features

    state = states.to_kinematic_state(device="cpu", dtype=torch.float64)
    default = torch.as_tensor(robot.default_joint_pos, dtype=torch.float64)
    with torch.no_grad():
        return compute_amp_features(state, spec, default).numpy()


def round_states(states: ClipStates, dtype=STORAGE_DTYPE) -> ClipStates:
    """States as they will be read back from the file (features are computed from these)."""
    return ClipStates(**{k: v.astype(dtype).astype(np.float64) for k, v in states.as_dict().items()})


# ------------------------------------------------------------------------------------------------------------------
# building
# ------------------------------------------------------------------------------------------------------------------
def _clip_ids(
    num: int,
    motion_ids: Sequence[int] | None,
    segment_ids: Sequence[int] | None,
    segment_scores: Sequence[float] | None,
) -> tuple[list[int], list[int]]:
    """Per-clip (motion id, segment id), defaults filled in; one pair per clip, one score per clip when given."""
    motion_ids = list(range(num)) if motion_ids is None else [int(m) for m in motion_ids]
    segment_ids = [0] * num if segment_ids is None else [int(s) for s in segment_ids]
    if len(motion_ids) != num or len(segment_ids) != num:
        raise ValueError("motion_ids and segment_ids need one entry per clip")
    pairs = list(zip(motion_ids, segment_ids))
    if len(set(pairs)) != num:
        raise ValueError("each clip needs its own (motion_id, segment_id) pair")
    if segment_scores is not None and len(segment_scores) != num:
        raise ValueError("segment_scores needs one score per clip")
    return motion_ids, segment_ids


def _dataset_fps(clips: Sequence[MotionClip], target_fps: float | None) -> float:
    """``target_fps``, or the clips' one common rate when it is None."""
    rates = {float(c.fps) for c in clips}
    if target_fps is None and len(rates) > 1:
        raise InputError(
            None,
            "--target-fps",
            f"clips have different frame rates {sorted(rates)}",
            "pass --target-fps to resample them to one rate",
        )
    return float(target_fps) if target_fps is not None else rates.pop()


def _clip_kinematics(
    clips: Sequence[MotionClip],
    robot: RobotSpec,
    fps: float,
    fk: ForwardKinematics | None,
    min_frames: int,
    show_progress: bool,
) -> list[ClipStates]:
    """Each clip resampled to ``fps``, then its raw states (finite differences, FK contact points), rounded."""
    from wildrobot_amp_ext.motion.kinematics import ForwardKinematics, clip_states  # MuJoCo: --help stays fast

    fk = fk or ForwardKinematics(robot)
    parts: list[ClipStates] = []
    bars_off = bars_disabled(show_progress, len(clips))
    for clip in progress(clips, desc="kinematics", unit="clip", leave=False, disable=bars_off):
        if tuple(clip.joint_names) != tuple(robot.joint_names):
            raise ValueError(f"clip '{clip.name}' is not in {robot.name}'s joint order (use motion.load_motion)")
        resampled = resample_clip(clip, fps)
        if resampled.num_frames < min_frames:
            raise InputError(
                clip.source or clip.name,
                "root_pos",
                f"{resampled.num_frames} frames at {fps:g} fps ({clip.duration:.3f} s)",
                f"clips need at least {min_frames} frames; drop or extend it",
            )
        # rounded clip by clip: small arrays stay in cache (rounding the concatenation costs ~3x more)
        parts.append(round_states(clip_states(resampled, robot, fk)))
    return parts


def _motion_names(clips: Sequence[MotionClip], motion_ids: list[int], motion_names: Sequence[str] | None) -> list[str]:
    """``motion_names`` as given, else the name of the first clip carrying each motion id."""
    if motion_names is not None:
        return list(motion_names)
    names = [""] * (max(motion_ids) + 1)
    for clip, mid in zip(clips, motion_ids):
        names[mid] = names[mid] or clip.name
    return names


def build_dataset(
    clips: Sequence[MotionClip],
    robot: RobotSpec,
    spec: FeatureSpec | None = None,
    target_fps: float | None = CONTROL_HZ,
    *,
    motion_ids: Sequence[int] | None = None,
    segment_ids: Sequence[int] | None = None,
    segment_scores: Sequence[float] | None = None,
    motion_names: Sequence[str] | None = None,
    meta: dict | None = None,
    min_frames: int = 3,
    show_progress: bool = False,
    fk: ForwardKinematics | None = None,
) -> ReferenceDataset:
    """Resample, differentiate, run FK and compute features for clips already in ``robot``'s joint order.

    ``motion_ids`` / ``segment_ids`` / ``segment_scores`` are per clip (defaults: 0..C-1 / 0 / none); two clips
    may share a motion id (segments of one motion) but not a (motion id, segment id) pair."""
    spec = spec or FeatureSpec()
    if not clips:
        raise InputError(None, "input", "no motion clips to convert", "pass at least one motion file")
    motion_ids, segment_ids = _clip_ids(len(clips), motion_ids, segment_ids, segment_scores)
    fps = _dataset_fps(clips, target_fps)
    parts = _clip_kinematics(clips, robot, fps, fk, min_frames, show_progress)
    states = ClipStates.concatenate(parts)
    features = features_from_states(states, robot, spec)
    lengths = np.array([p.num_frames for p in parts])
    starts = np.zeros(int(lengths.sum()), dtype=bool)
    starts[np.r_[0, np.cumsum(lengths)[:-1]]] = True
    names = _motion_names(clips, motion_ids, motion_names)
    dropped = sorted({j for c in clips for j in c.meta.get("dropped_joints", [])})
    return ReferenceDataset(
        robot=robot.name,
        joint_names=tuple(robot.joint_names),
        contact_point_names=tuple(robot.contact_point_names),
        fps=fps,
        feature_spec=spec,
        feature_version=spec.version(robot),
        column_names=tuple(spec.column_names(robot)),
        features=features.astype(STORAGE_DTYPE),
        states=states,
        motion_id=np.repeat(np.asarray(motion_ids, np.int64), lengths),
        segment_id=np.repeat(np.asarray(segment_ids, np.int64), lengths),
        clip_start=starts,
        motion_names=tuple(names),
        clip_names=tuple(c.name for c in clips),
        clip_sources=tuple(c.source for c in clips),
        clip_source_fps=np.array([float(c.fps) for c in clips]),
        segment_scores=None if segment_scores is None else np.asarray(segment_scores, np.float64),
        meta={
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "target_fps": fps,
            "dropped_source_joints": dropped,
            "velocities": "central finite differences at the target fps; root velocities in the world frame",
            **(meta or {}),
        },
    )


def convert_files(
    inputs: Sequence[str | Path],
    output: str | Path | None,
    robot: RobotSpec,
    spec: FeatureSpec,
    config: ConvertConfig = ConvertConfig(),
) -> ReferenceDataset:
    """Read every motion file under ``inputs``, build the dataset and (when ``output`` is given) save it."""
    files: list[Path] = []
    for item in inputs:
        files += motion_files(item)
    check_outputs({"--output": output, "--export-pkl": config.export_pkl}, inputs=[*inputs, *files])
    clips: list[MotionClip] = []
    for f in progress(
        files, desc="read motions", unit="file", leave=False, disable=bars_disabled(config.show_progress, len(files))
    ):
        clips += load_motion(f, robot, options=config.read)
    total = sum(V.resampled_frames(c.source, c.num_frames, c.fps, config.target_fps or c.fps) for c in clips)
    if total > LIMITS.max_total_frames:
        raise InputError(
            None,
            "--input",
            f"the clips make {total} frames at the target rate (limit {LIMITS.max_total_frames})",
            "convert fewer files per dataset or lower --target-fps",
        )
    ds = build_dataset(
        clips,
        robot,
        spec,
        config.target_fps,
        min_frames=config.min_frames,
        show_progress=config.show_progress,
        meta={
            "source_robot": config.read.source_robot or robot.name,
            "gmr_quat_order": config.read.gmr_quat_order,
            "inputs": [str(i) for i in inputs],
        },
    )
    # both outputs are written to temp files first and moved into place together: never half of a two-file output
    with contextlib.ExitStack() as stack:
        npz_tmp = stack.enter_context(atomic_path(output)) if output is not None else None
        pkl_tmp = stack.enter_context(atomic_path(config.export_pkl)) if config.export_pkl is not None else None
        if npz_tmp is not None:
            save_dataset(npz_tmp, ds, compressed=config.compressed)
        if pkl_tmp is not None:
            export_merged_pkl(pkl_tmp, ds)
    return ds


# ------------------------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------------------------
_FEATURES = FeatureSpec()


@dataclass
class FeatureArgs:
    """FeatureSpec options shared by convert / verify / the miner's command line (the dataset's FeatureSpec, which
    the env adopts)."""

    terms: list[str] | None = opt(None, choices=ALL_TERMS, help=f"feature terms (default: {' '.join(_FEATURES.terms)})")
    drop_contacts: bool = opt(False, help=f"remove {', '.join(FOOT_TERMS)} from the features")
    drop_height: bool = opt(False, help="remove root_height")
    lin_vel_mode: Literal["direction", "clip", "raw"] = opt(
        _FEATURES.root_lin_vel_mode, help="root linear velocity encoding (default %(default)s)"
    )
    lin_vel_threshold: float = opt(
        _FEATURES.lin_vel_zero_threshold,
        help="direction mode: speed below which the direction is zero, m/s (default %(default)s)",
    )
    lin_vel_clip: float = opt(_FEATURES.lin_vel_clip, help="clip mode: per-axis bound, m/s (default %(default)s)")
    contact_height: float = opt(
        _FEATURES.contact_height, help="contact when a point is below this height, m (default %(default)s)"
    )
    contact_speed: float = opt(
        _FEATURES.contact_speed, help="... and slower than this horizontally, m/s (default %(default)s)"
    )
    history: int = opt(_FEATURES.history, help="frames per AMP observation (default %(default)s = (s, s'))")


def add_feature_arguments(parser: argparse.ArgumentParser) -> None:
    """FeatureSpec options shared by convert / verify / the miner's CLI."""
    add_config(parser, FeatureArgs, title="AMP features (must match the env's FeatureSpec)")


def feature_spec_from_args(args: argparse.Namespace) -> FeatureSpec:
    terms = tuple(args.terms) if args.terms else FeatureSpec().terms
    if args.drop_contacts:
        terms = tuple(t for t in terms if t not in FOOT_TERMS)
    if args.drop_height:
        terms = tuple(t for t in terms if t != "root_height")
    if not terms:
        raise InputError(None, "--terms", "no feature term left", "keep at least one term")
    for name in ("lin_vel_threshold", "lin_vel_clip", "contact_height", "contact_speed"):
        if not np.isfinite(getattr(args, name)) or getattr(args, name) < 0:
            raise InputError(
                None, f"--{name.replace('_', '-')}", f"must be a non-negative number, got {getattr(args, name)}", None
            )
    if not 1 <= args.history <= LIMITS.max_history:
        raise InputError(None, "--history", f"must be 1..{LIMITS.max_history} frames, got {args.history}", None)
    return FeatureSpec(
        terms=terms,
        root_lin_vel_mode=args.lin_vel_mode,
        lin_vel_zero_threshold=args.lin_vel_threshold,
        lin_vel_clip=args.lin_vel_clip,
        contact_height=args.contact_height,
        contact_speed=args.contact_speed,
        history=args.history,
    )


@dataclass
class ConvertArgs:
    """``wildrobot-convert``'s flags (the FeatureSpec ones: :class:`FeatureArgs`)."""

    robot: str = opt(required=True, help="target robot (RobotSpec name or robot.yaml path)")
    input: list[str] = opt(required=True, help="motion files and/or folders (searched recursively)")
    output: str = opt(required=True, help="dataset .npz to write")
    target_fps: float = opt(CONTROL_HZ, help="output frame rate (0: keep the source rate)")
    source_robot: str | None = opt(
        None, help="robot whose joint order name-less GMR pickles use (default: inferred from the pickle's width)"
    )
    quat_order: Literal["xyzw", "wxyz"] = opt("xyzw", help="quaternion order of GMR pickles")
    no_quat_check: bool = opt(False, help="skip the xyzw/wxyz mix-up check")
    export_pkl: str | None = opt(
        None, help="also write the merged-pickle layout (features, feature_dim, joint_names, velocity_normalized)"
    )
    uncompressed: bool = opt(False, help="np.savez instead of savez_compressed")
    quiet: bool = opt(False, help="no progress bars / summary")


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(
        prog="convert_dataset.py",
        description="Convert GMR motion pickles (or motion .npz) into an AMP reference dataset (.npz).",
    )
    add_config(p, ConvertArgs)
    add_feature_arguments(p)
    return p


def run(argv: Sequence[str] | None = None) -> ReferenceDataset:
    args = build_parser().parse_args(argv)
    output = Path(args.output)
    if output.suffix != ".npz":
        raise InputError(output, None, "the dataset must be a .npz file", "name the output <something>.npz")
    if args.export_pkl is not None and Path(args.export_pkl).suffix not in (".pkl", ".pickle"):
        raise InputError(args.export_pkl, None, "--export-pkl must name a .pkl file", None)
    if args.target_fps != 0:
        V.fps(None, args.target_fps, "--target-fps")
    robot = load_robot(args.robot)
    if args.source_robot:
        load_robot(args.source_robot)  # fail early on a typo
    spec = feature_spec_from_args(args)
    config = ConvertConfig(
        target_fps=args.target_fps or None,
        read=ReadOptions(
            source_robot=args.source_robot, gmr_quat_order=args.quat_order, check_quat_order=not args.no_quat_check
        ),
        compressed=not args.uncompressed,
        export_pkl=Path(args.export_pkl) if args.export_pkl else None,
        show_progress=not args.quiet,
    )
    ds = convert_files(args.input, output, robot, spec, config)
    if not args.quiet:
        speed = np.linalg.norm(ds.states.root_lin_vel_w[:, :2], axis=1)
        print(
            f"[convert] {ds.num_clips} clip(s), {ds.num_frames} frames ({ds.num_frames / ds.fps / 60:.1f} min) "
            f"at {ds.fps:g} fps, "
            f"{ds.features.shape[1]} features ({', '.join(spec.terms)}), version {ds.feature_version}; "
            f"root speed mean {speed.mean():.2f} m/s -> {output}"
            + (f" (+ {config.export_pkl})" if config.export_pkl else ""),
            file=sys.stderr,
        )
    return ds


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    run(argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
