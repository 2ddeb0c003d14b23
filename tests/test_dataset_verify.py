"""verify catches broken datasets (built to fail) and passes good ones; analyze's statistics on known motions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wildrobot_amp_ext.dataset import build_dataset, load_dataset, save_dataset
from wildrobot_amp_ext.dataset.analyze import AnalyzeConfig, alternation_score, analyze
from wildrobot_amp_ext.dataset.analyze import main as analyze_main
from wildrobot_amp_ext.dataset.verify import main as verify_main
from wildrobot_amp_ext.dataset.verify import verify_dataset
from wildrobot_amp_ext.features import FeatureSpec
from wildrobot_amp_ext.motion import MotionClip
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.synthetic import synthetic_stand, synthetic_walk
from wildrobot_amp_ext.robots import load_robot


@pytest.fixture(scope="module")
def g1():
    return load_robot("unitree_g1_23dof")


@pytest.fixture(scope="module")
def good(tmp_path_factory, g1):
    path = tmp_path_factory.mktemp("verify") / "good.npz"
    save_dataset(path, build_dataset([synthetic_walk(g1, 2.0, 30.0), synthetic_stand(g1, 1.0, 30.0)], g1))
    return path


def _tampered(src: Path, dst: Path, **changes) -> Path:
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files}
    for key, fn in changes.items():
        arrays[key] = fn(arrays[key].copy())
    np.savez(dst, **arrays)
    return dst


def _failed(report) -> set[str]:
    return {c.name for c in report.checks if not c.ok}


def test_good_dataset_passes(good, g1):
    report = verify_dataset(good, g1)
    assert report.ok, report.lines()
    assert len(report.checks) >= 11


def _bump(a, rows=slice(10, 11), col=0, by=0.05):
    a[rows, col] += by
    return a


@pytest.mark.parametrize(
    "changes, failing",
    [
        ({"features": lambda a: _bump(a)}, {"features = feature function(raw states)", "states/next_states"}),
        (
            {"joint_pos": lambda a: _bump(a, col=3)},
            {"contact points = FK", "velocities = finite differences", "features = feature function(raw states)"},
        ),
        (
            {"joint_vel": lambda a: _bump(a, col=5, by=1.0)},
            {"velocities = finite differences", "features = feature function(raw states)"},
        ),
        ({"root_quat": lambda a: a * 1.01}, {"unit quaternions"}),
        ({"joint_names": lambda a: a[::-1]}, {"joint order"}),
        ({"contact_pos_w": lambda a: _bump(a, col=1, by=0.01)}, {"contact points = FK"}),
        ({"feature_version": lambda a: np.array("amp1-old")}, {"feature version"}),
        ({"clip_start": lambda a: np.where(np.arange(a.size) == a.size - 1, True, a)}, {"clips"}),
        ({"next_states": lambda a: a[::-1]}, {"states/next_states"}),
        (
            {"root_ang_vel_w": lambda a: _bump(a, col=2, by=0.5), "root_ang_vel": lambda a: _bump(a, col=2, by=0.5)},
            {"velocities = finite differences"},
        ),
        ({"root_lin_vel": lambda a: _bump(a)}, {"shapes"}),  # the env's RSI alias must equal root_lin_vel_w
    ],
    ids=[
        "features",
        "joint_pos",
        "joint_vel",
        "quat",
        "joint_order",
        "contacts",
        "version",
        "short_clip",
        "next_states",
        "ang_vel",
        "alias",
    ],
)
def test_broken_datasets_fail_the_right_checks(tmp_path, good, g1, changes, failing):
    report = verify_dataset(_tampered(good, tmp_path / "bad.npz", **changes), g1)
    assert not report.ok
    assert failing <= _failed(report), (failing, _failed(report))


def test_nan_is_refused_naming_the_field(tmp_path, good, g1):
    from wildrobot_amp_ext.errors import InputError

    with pytest.raises(InputError, match="joint_vel.*NaN"):
        verify_dataset(_tampered(good, tmp_path / "nan.npz", joint_vel=lambda a: _bump(a, by=np.nan)), g1)


def test_feature_spec_mismatch_against_training(good, g1):
    assert verify_dataset(good, g1, expect_spec=FeatureSpec()).ok
    report = verify_dataset(good, g1, expect_spec=FeatureSpec(root_lin_vel_mode="raw"))
    assert _failed(report) == {"expected FeatureSpec"}


def test_other_robot_is_refused(good):
    report = verify_dataset(good, load_robot("unitree_g1_29dof"))
    assert "robot" in _failed(report)


def test_verify_cli_exit_codes(tmp_path, good, capsys):
    assert verify_main([str(good)]) == 0
    assert "OK:" in capsys.readouterr().out
    bad = _tampered(good, tmp_path / "bad.npz", features=lambda a: _bump(a))
    assert verify_main([str(bad)]) == 1
    assert "[FAIL] features" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        verify_main([str(tmp_path / "missing.npz")])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_verify_module_entry_point(good):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "wildrobot_amp_ext.dataset.verify", str(good)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and "OK:" in run.stdout


# ------------------------------------------------------------------------------------------------------------------
# analyze
# ------------------------------------------------------------------------------------------------------------------
def test_alternation_score():
    left, right, both, none = [1, 0], [0, 1], [1, 1], [0, 0]
    walk = np.array(
        [left] * 10 + [both] * 3 + [right] * 10 + [both] * 3 + [left] * 10 + [both] * 3 + [right] * 10, bool
    )
    assert alternation_score(walk) == 1.0
    limp = np.array([left] * 10 + [both] * 3 + [left] * 10 + [both] * 3 + [right] * 10, bool)
    assert alternation_score(limp) == 0.5
    flicker = np.array(
        [left] * 10 + [right] * 1 + [left] * 10 + [both] * 2 + [right] * 10, bool
    )  # 1-frame blip ignored
    assert alternation_score(flicker, min_phase_frames=3) == 1.0
    assert alternation_score(np.array([both] * 20 + [none] * 5, bool)) is None


def test_analyze_speed_and_stationary_fraction(g1):
    """A 0.6 m/s straight glide (2 s) and a still pose (1 s): mean speed, moving fraction and percentiles are known."""
    fps, v = 50.0, 0.6
    t = np.arange(101) / fps
    default = np.tile(g1.default_joint_pos, (t.size, 1))
    glide = MotionClip(
        "glide",
        fps,
        np.column_stack((v * np.cos(1.0) * t, v * np.sin(1.0) * t, 0.75 + 0 * t)),
        Q.from_axis_angle(np.array([0, 0, 1.0]), np.full(t.size, 1.0)),
        g1.joint_names,
        default,
    )
    still = MotionClip(
        "still", fps, np.tile([0, 0, 0.75], (51, 1)), np.tile([1.0, 0, 0, 0], (51, 1)), g1.joint_names, default[:51]
    )
    ds = build_dataset([glide, still], g1, FeatureSpec(), fps)
    stats = analyze(ds, g1)
    assert stats["moving_fraction"] == pytest.approx(101 / 152)
    assert stats["root_speed_xy"]["mean"] == pytest.approx(v * 101 / 152, rel=1e-5)
    assert stats["root_speed_xy"]["p95"] == pytest.approx(v, rel=1e-5) and stats["root_speed_xy"][
        "p5"
    ] == pytest.approx(0.0, abs=1e-6)
    assert stats["forward_speed"]["max"] == pytest.approx(v, rel=1e-5)  # heading frame: the glide is straight ahead
    assert stats["clips"][0]["speed_mean"] == pytest.approx(v, rel=1e-5)
    assert any("below the commanded" in n for n in stats["notes"])  # mean 0.4 m/s < 0.5 m/s commanded
    assert not any(
        "below the commanded" in n for n in analyze(ds, g1, AnalyzeConfig(command_speed=(0.3, 1.0)))["notes"]
    )


def test_analyze_walk_contact_pattern(g1):
    ds = build_dataset([synthetic_walk(g1, 4.0, 50.0)], g1)
    c = analyze(ds, g1)["contacts"]
    assert c["alternation"] == 1.0
    assert c["flight"] == 0.0 and 0.5 < c["single_stance"] < 1.0
    assert abs(c["per_foot"][0] - c["per_foot"][1]) < 0.05  # symmetric gait


def test_analyze_cli_writes_json_and_png(tmp_path, good, capsys):
    out = tmp_path / "an"
    assert analyze_main([str(good), "--out", str(out), "--no-video"]) == 0
    result = json.loads((out / "analysis.json").read_text())
    assert result["dataset"]["clips"] == 2 and (out / "analysis.png").stat().st_size > 10_000
    assert "root speed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        analyze_main([str(good), "--out", str(out), "--clip", "7", "--no-video"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_analyze_renders_a_clip_video(tmp_path, good):
    import imageio.v2 as imageio

    out = tmp_path / "an"
    analyze_main([str(good), "--out", str(out), "--video-seconds", "1"])
    result = json.loads((out / "analysis.json").read_text())
    assert result["video"], result["notes"]
    frames = imageio.get_reader(out / "clip0.mp4").count_frames()
    assert frames >= 25
    assert load_dataset(good).num_clips == 2
