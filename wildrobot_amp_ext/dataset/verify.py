"""Verify a reference dataset before training on it.

    python utils/verify_dataset.py ref.npz [--robot unitree_g1_23dof] [--expect-version <tag>] [FeatureSpec flags]
    python -m wildrobot_amp_ext.dataset.verify ref.npz

Checks (each PASS / FAIL, warnings do not fail):
  robot / joint order   stored joint names == the RobotSpec's order (and --robot, when given, == stored robot)
  shapes                every per-frame array has N rows and the widths the RobotSpec / FeatureSpec imply
  finite                no NaN/Inf anywhere; unit root quaternions
  feature version       stored tag == ``FeatureSpec.version(robot)`` recomputed now (format, joints, terms, params);
                        with FeatureSpec flags or --expect-version: == the spec training will use
  clips                 clip starts where motion/segment ids change, every clip >= 2 frames, scores per clip
  kinematics            contact points == FK of the stored root pose and joints; velocities == central differences
                        of the stored positions (joint, root linear, root angular, contact points)
  features              ``compute_amp_features`` on the stored raw states == stored features; states/next_states
                        == features of t / t+1 (the env calls the same function, so feature = env feature)
Exit code 0 when every check passes, 1 otherwise, 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.dataset.convert import add_feature_arguments, feature_spec_from_args, features_from_states
from wildrobot_amp_ext.dataset.schema import STATE_ALIASES, STATE_KEYS, ReferenceDataset, load_dataset, open_dataset
from wildrobot_amp_ext.errors import cli_entry
from wildrobot_amp_ext.features import FeatureSpec
from wildrobot_amp_ext.robots import RobotSpec, load_robot
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt


@dataclass(frozen=True)
class VerifyConfig:
    #: |stored - recomputed| bound for features (stored float32, recomputed float64 from the same states)
    feature_atol: float = 1e-4
    feature_rtol: float = 1e-5
    #: m, contact points vs FK of the float32-stored pose
    fk_atol: float = 1e-4
    #: velocities vs central differences of the stored positions (float32 rounding / (2 dt) + float32 storage)
    velocity_atol: float = 2e-3
    velocity_rtol: float = 1e-4
    unit_quat_atol: float = 1e-4
    #: warnings: lowest contact point below -this (sinking) or each clip's median lowest point above this (floating)
    sink_warn: float = 0.02
    float_warn: float = 0.05


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    path: str
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)

    def lines(self) -> list[str]:
        out = [f"[{'PASS' if c.ok else 'FAIL'}] {c.name}: {c.detail}" for c in self.checks]
        out += [f"[WARN] {w}" for w in self.warnings]
        out.append(
            f"{'OK' if self.ok else 'FAILED'}: {sum(c.ok for c in self.checks)}/{len(self.checks)} checks passed "
            f"({self.path})"
        )
        return out


def _worst(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> tuple[bool, float]:
    if a.shape != b.shape:
        return False, float("inf")
    err = np.abs(a - b)
    return bool(np.all(err <= atol + rtol * np.abs(b))), float(err.max()) if err.size else 0.0


def _per_clip(ds: ReferenceDataset, fn) -> np.ndarray:
    """Apply ``fn(slice)`` clip by clip and concatenate (finite differences never cross a clip start)."""
    return np.concatenate([fn(slice(s, e)) for s, e in ds.clip_bounds], axis=0)


def _check_robot(report: VerifyReport, ds: ReferenceDataset, robot: RobotSpec) -> bool:
    """Stored robot and joint order == ``robot``'s; nothing else can be checked against a different robot."""
    same_robot = report.add(
        "robot", ds.robot == robot.name, f"dataset for '{ds.robot}', checking against '{robot.name}'"
    )
    joints_ok = report.add(
        "joint order",
        tuple(ds.joint_names) == tuple(robot.joint_names),
        f"{len(ds.joint_names)} joints in RobotSpec order"
        if tuple(ds.joint_names) == tuple(robot.joint_names)
        else f"stored {list(ds.joint_names)[:4]}... vs RobotSpec {list(robot.joint_names)[:4]}...",
    )
    return same_robot and joints_ok


@dataclass(frozen=True)
class _StoredTransitions:
    """The arrays stored for the trainer (float64, None when absent), compared with the features further down."""

    states: np.ndarray | None
    next_states: np.ndarray | None
    amp_obs: np.ndarray | None


def _check_shapes(
    report: VerifyReport, path: Path, ds: ReferenceDataset, robot: RobotSpec, spec: FeatureSpec
) -> _StoredTransitions | None:
    """Every per-frame array has N rows and the widths RobotSpec / FeatureSpec imply; None when one has not."""
    n, j, p = ds.num_frames, robot.num_joints, 2 * len(robot.feet)
    widths = {
        "root_pos": (3,),
        "root_quat": (4,),
        "root_lin_vel_w": (3,),
        "root_ang_vel_w": (3,),
        "joint_pos": (j,),
        "joint_vel": (j,),
        "contact_pos_w": (p, 3),
        "contact_vel_w": (p, 3),
    }
    bad = [f"{k} {getattr(ds.states, k).shape}" for k, w in widths.items() if getattr(ds.states, k).shape != (n, *w)]
    f = spec.frame_dim(robot)
    if ds.features.shape != (n, f):
        bad.append(f"features {ds.features.shape} != ({n}, {f})")
    for key, arr in (("motion_id", ds.motion_id), ("segment_id", ds.segment_id), ("clip_start", ds.clip_start)):
        if arr.shape != (n,):
            bad.append(f"{key} {arr.shape}")
    if tuple(ds.column_names) != tuple(spec.column_names(robot)):
        bad.append("column_names differ from the FeatureSpec layout")
    if tuple(ds.contact_point_names) != tuple(robot.contact_point_names):
        bad.append(f"contact points {ds.contact_point_names} != {robot.contact_point_names}")
    with open_dataset(path) as raw:
        for key in ("states", "next_states"):
            if key not in raw.files or raw[key].shape != (n, f):
                bad.append(f"{key} missing or not ({n}, {f})")
        for alias, key in STATE_ALIASES.items():
            if alias in raw.files and not np.array_equal(raw[alias], raw[key]):
                bad.append(f"{alias} differs from {key}")
        stored = _StoredTransitions(
            *(np.asarray(raw[k], np.float64) if k in raw.files else None for k in ("states", "next_states", "amp_obs"))
        )
    if not report.add(
        "shapes", not bad, f"{n} frames, {f} features, {j} joints, {p} contact points" if not bad else "; ".join(bad)
    ):
        return None
    return stored


def _check_values(report: VerifyReport, ds: ReferenceDataset, config: VerifyConfig) -> None:
    """No NaN/Inf, fps > 0, unit root quaternions."""
    nonfinite = [k for k in STATE_KEYS if not np.isfinite(getattr(ds.states, k)).all()]
    nonfinite += ["features"] if not np.isfinite(ds.features).all() else []
    if ds.segment_scores is not None and not np.isfinite(ds.segment_scores).all():
        nonfinite.append("segment_scores")
    report.add(
        "finite",
        not nonfinite and ds.fps > 0,
        "no NaN/Inf, fps > 0" if not nonfinite and ds.fps > 0 else f"NaN/Inf in {nonfinite}, fps {ds.fps}",
    )
    qn = np.abs(np.linalg.norm(ds.states.root_quat, axis=1) - 1.0)
    report.add("unit quaternions", bool((qn <= config.unit_quat_atol).all()), f"max | |q| - 1 | = {qn.max():.2e}")


def _check_feature_version(
    report: VerifyReport,
    ds: ReferenceDataset,
    robot: RobotSpec,
    expect_spec: FeatureSpec | None,
    expect_version: str | None,
) -> None:
    """Stored tag == the tag the code computes now, and == the training spec's / the expected tag when given."""
    current = ds.feature_spec.version(robot)
    report.add(
        "feature version",
        ds.feature_version == current,
        f"stored {ds.feature_version}"
        + ("" if ds.feature_version == current else f" != current code {current} (rebuild the dataset)"),
    )
    if expect_spec is not None:
        want = expect_spec.version(robot)
        report.add(
            "expected FeatureSpec",
            want == ds.feature_version,
            f"training spec {want}"
            + (
                ""
                if want == ds.feature_version
                else f" != dataset {ds.feature_version}: convert with the same feature flags"
            ),
        )
    if expect_version is not None:
        report.add("expected version", expect_version == ds.feature_version, f"expected {expect_version}")


def _check_clips(report: VerifyReport, ds: ReferenceDataset) -> bool:
    """Clip starts where motion/segment ids change, every clip >= 2 frames, names and scores per clip."""
    n = ds.num_frames
    change = np.r_[True, (ds.motion_id[1:] != ds.motion_id[:-1]) | (ds.segment_id[1:] != ds.segment_id[:-1])]
    bounds = ds.clip_bounds
    lengths = bounds[:, 1] - bounds[:, 0]
    problems = []
    if n and not ds.clip_start[0]:
        problems.append("first row is not a clip start")
    if (change & ~ds.clip_start).any():
        problems.append(f"{int((change & ~ds.clip_start).sum())} id change(s) without a clip start")
    if (lengths < 2).any():
        problems.append(f"{int((lengths < 2).sum())} clip(s) shorter than 2 frames")
    if len(ds.clip_names) != len(bounds):
        problems.append(f"{len(ds.clip_names)} clip names for {len(bounds)} clips")
    if ds.segment_scores is not None and ds.segment_scores.shape not in ((len(bounds),), (n,)):
        problems.append(f"segment_scores {ds.segment_scores.shape} for {len(bounds)} clips")
    return report.add(
        "clips",
        not problems,
        f"{len(bounds)} clip(s), {len(np.unique(ds.motion_id))} motion(s), {lengths.min()}-{lengths.max()} frames"
        if not problems
        else "; ".join(problems),
    )


def _check_kinematics(report: VerifyReport, ds: ReferenceDataset, robot: RobotSpec, config: VerifyConfig) -> None:
    """Contact points == FK of the stored pose; velocities == finite differences of the stored positions."""
    # MuJoCo's forward kinematics load here, not with the module: wildrobot-verify --help stays fast
    from wildrobot_amp_ext.motion.kinematics import ForwardKinematics, angular_velocity_world, finite_difference

    s = ds.states
    fk = ForwardKinematics(robot)
    ok, err = _worst(fk.site_positions(s.root_pos, s.root_quat, s.joint_pos), s.contact_pos_w, config.fk_atol, 0.0)
    report.add("contact points = FK", ok, f"max error {err:.2e} m")
    dt = 1.0 / ds.fps
    fd = {
        "joint_vel": _per_clip(ds, lambda sl: finite_difference(s.joint_pos[sl], dt)),
        "root_lin_vel_w": _per_clip(ds, lambda sl: finite_difference(s.root_pos[sl], dt)),
        "root_ang_vel_w": _per_clip(ds, lambda sl: angular_velocity_world(s.root_quat[sl], dt)),
        "contact_vel_w": _per_clip(ds, lambda sl: finite_difference(s.contact_pos_w[sl], dt)),
    }
    errs = {k: _worst(v, getattr(s, k), config.velocity_atol, config.velocity_rtol) for k, v in fd.items()}
    detail = ", ".join(f"{k} {e:.1e}" for k, (_, e) in errs.items())
    if ds.meta.get("producer") == "wildrobot_amp_ext.mine":
        # simulated states carry the simulator's instantaneous velocities: contacts make them differ from
        # finite differences of 50 Hz positions by design, so report the gap instead of gating on it
        report.warnings.append(
            f"velocities are simulator velocities (Tier 0+ miner); gap to finite differences: {detail}"
        )
    else:
        report.add("velocities = finite differences", all(o for o, _ in errs.values()), detail)


def _check_features(
    report: VerifyReport, ds: ReferenceDataset, robot: RobotSpec, config: VerifyConfig, stored: _StoredTransitions
) -> None:
    """Feature function(raw states) == stored features; states/next_states and amp_obs derived from them."""
    spec = ds.feature_spec
    recomputed = features_from_states(ds.states, robot, spec)
    ok, err = _worst(ds.features.astype(np.float64), recomputed, config.feature_atol, config.feature_rtol)
    flips = ""
    if "foot_contacts" in spec.terms:
        sl = spec.layout(robot)["foot_contacts"]
        flips = f", contact labels differing: {int((ds.features[:, sl] != recomputed[:, sl]).sum())}"
    report.add("features = feature function(raw states)", ok, f"max error {err:.2e}{flips}")
    valid = ds.transition_valid
    nxt = np.arange(ds.num_frames) + valid
    t_ok = (
        stored.states is not None
        and np.array_equal(stored.states, ds.features.astype(np.float64))
        and np.array_equal(stored.next_states, ds.features.astype(np.float64)[nxt])
    )
    report.add(
        "states/next_states",
        t_ok,
        f"{int(valid.sum())} transitions within clips, {int((~valid).sum())} clip ends"
        if t_ok
        else "states/next_states are not features of t / t+1",
    )
    if stored.amp_obs is not None:
        want = ds.amp_observations(spec.history).astype(np.float64)
        report.add(
            "amp_obs",
            stored.amp_obs.shape == want.shape and np.array_equal(stored.amp_obs, want),
            f"history {spec.history}",
        )


def _warn_contact_heights(report: VerifyReport, ds: ReferenceDataset, robot: RobotSpec, config: VerifyConfig) -> None:
    """Warnings, not failures: sinking or floating feet, many frames without foot contact."""
    spec = ds.feature_spec
    lowest = ds.states.contact_pos_w[..., 2].min(axis=1)
    if lowest.min() < -config.sink_warn:
        report.warnings.append(
            f"feet sink up to {-lowest.min() * 100:.1f} cm below the floor (frame {int(lowest.argmin())}): "
            "check GMR's height scaling"
        )
    floating = [
        ds.clip_names[k] for k, (a, b) in enumerate(ds.clip_bounds) if np.median(lowest[a:b]) > config.float_warn
    ]
    if floating:
        report.warnings.append(
            f"{len(floating)} clip(s) float (median lowest contact point > {config.float_warn * 100:.0f} cm): "
            f"{floating[:3]}"
        )
    if "foot_contacts" in spec.terms:
        sl = spec.layout(robot)["foot_contacts"]
        if ds.features[:, sl].sum(axis=1).min() == 0 and (ds.features[:, sl].sum(axis=1) == 0).mean() > 0.2:
            report.warnings.append(
                f"{(ds.features[:, sl].sum(axis=1) == 0).mean():.0%} of frames have no foot contact: "
                "thresholds or floating feet?"
            )


def verify_dataset(
    path: str | Path,
    robot: RobotSpec | None = None,
    expect_spec: FeatureSpec | None = None,
    expect_version: str | None = None,
    config: VerifyConfig = VerifyConfig(),
) -> VerifyReport:
    """Run the checks of the module docstring in order; a failed robot, shapes or clips check ends the run."""
    path = Path(path)
    ds = load_dataset(path)
    report = VerifyReport(str(path))
    robot = load_robot(ds.robot) if robot is None else robot
    if not _check_robot(report, ds, robot):
        return report
    stored = _check_shapes(report, path, ds, robot, ds.feature_spec)
    if stored is None:
        return report
    _check_values(report, ds, config)
    _check_feature_version(report, ds, robot, expect_spec, expect_version)
    if not _check_clips(report, ds):
        return report
    _check_kinematics(report, ds, robot, config)
    _check_features(report, ds, robot, config, stored)
    _warn_contact_heights(report, ds, robot, config)
    return report


@dataclass
class VerifyArgs:
    """``wildrobot-verify``'s flags (the FeatureSpec ones: :class:`dataset.convert.FeatureArgs`)."""

    dataset: str = opt(positional=True, help="dataset .npz written by convert_dataset")
    robot: str | None = opt(None, help="robot to check against (default: the one stored)")
    expect_version: str | None = opt(None, help="feature version tag training will use")
    expect_spec: bool = opt(False, help="check the dataset against the FeatureSpec given by the feature flags below")


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="verify_dataset.py", description="Verify an AMP reference dataset (.npz).")
    add_config(p, VerifyArgs)
    add_feature_arguments(p)
    return p


def run(argv: Sequence[str] | None = None) -> VerifyReport:
    args = build_parser().parse_args(argv)
    robot = load_robot(args.robot) if args.robot else None
    expect = feature_spec_from_args(args) if args.expect_spec else None
    report = verify_dataset(args.dataset, robot, expect, args.expect_version)
    for line in report.lines():
        print(line)
    return report


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    return 0 if run(argv).ok else 1


if __name__ == "__main__":
    sys.exit(main())
