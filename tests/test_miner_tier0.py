"""Tier 0+ end to end on WildRobot: a motion the robot can really track yields windows; motions built to fail are
rejected by the right gate; the command line writes the dataset and the report and resumes from its cache."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from wildrobot_amp_ext.dataset import load_dataset
from wildrobot_amp_ext.features import FeatureSpec
from wildrobot_amp_ext.miner.config import GenerationConfig, MinerConfig, TrackingConfig
from wildrobot_amp_ext.miner.generation import Variant
from wildrobot_amp_ext.miner.pipeline import mine_variant
from wildrobot_amp_ext.miner.probes import floating, gliding, leaning, standing_sway
from wildrobot_amp_ext.miner.windows import gate_names
from wildrobot_amp_ext.motion.synthetic import write_gmr_pickle
from wildrobot_amp_ext.robots import load_robot

#: the default (closed-loop) tracker on each 2 s probe played once
FAST = MinerConfig(generation=GenerationConfig(loop_seconds=0.0, time_warps=(1.0,), mirror=False))


@pytest.fixture(scope="module")
def robot():
    return load_robot("wildrobot")


@pytest.fixture(scope="module")
def sway(robot):
    return standing_sway(robot, duration=2.0)


def failures(result) -> Counter:
    return Counter(g for m in result.windows["gate_mask"] for g in gate_names(int(m)))


def test_standing_sway_yields_tier0_windows(robot, sway):
    res = mine_variant(sway, robot, Variant(), FAST)
    w = res.windows
    assert res.falls == 0
    assert np.mean(w["gate_mask"] == 0) == 1.0
    # nearly the whole reference after the warm-up is kept, each reference frame once
    assert res.accepted_frames >= 0.9 * (res.reference_frames - FAST.generation.warmup_frames)
    ref = np.zeros(res.reference_frames, int)
    for s in res.segments:
        ref[s.ref_start : s.ref_start + s.num_frames] += 1
    assert ref.max() == 1
    seg = res.segments[0]
    assert seg.metrics["load_mean"] > 0.95 and seg.metrics["harness_p95"] < 0.05 and seg.score == 3.0
    assert res.states.num_frames == res.accepted_frames and np.isfinite(res.states.joint_vel).all()


def test_feet_in_the_air_rejected_by_tracking_height_or_harness(robot, sway):
    clip = floating(sway, 0.10)
    res = mine_variant(clip, robot, Variant(), FAST)
    assert res.accepted_frames == 0
    f = failures(res)
    n = res.windows["gate_mask"].size
    assert f["tracking_height"] == n  # physics stands on the floor 10 cm below the reference
    assert f["pitch"] == f["roll"] == f["fall"] == 0  # nothing else is wrong with it
    # with a height spring the harness carries the robot towards the floating reference: harness gates fail
    held = dataclasses.replace(FAST, tracking=TrackingConfig(orient_assist=True, height_assist=True))
    res = mine_variant(clip, robot, Variant(), held)
    f = failures(res)
    assert f["harness_saturated"] == n and f["harness_p90"] == n
    # the saturated harness never exceeded its cap (traces log |F_stab|/mg every control step)
    t = held.tracking
    assert res.traces["harness"].max() <= np.hypot(t.assist_cap, t.orient_cap) + 1e-6
    assert res.traces["harness"].max() >= t.assist_cap - 1e-6


def test_45_degree_lean_rejected_by_attitude(robot, sway):
    res = mine_variant(leaning(sway, 45.0), robot, Variant(), FAST)
    assert res.accepted_frames == 0 and res.falls == res.rollouts
    f = failures(res)
    n = res.windows["gate_mask"].size
    assert f["pitch"] == n and f["fall"] == n


def test_sliding_feet_rejected(robot, sway):
    clip = gliding(sway, 0.3)
    res = mine_variant(clip, robot, Variant(), FAST)
    assert res.accepted_frames == 0
    f = failures(res)
    n = res.windows["gate_mask"].size
    # on a grippy floor physics does not slide: the robot stands while the reference glides away, or steps to keep up
    # where the reference's feet glide; either way its feet's contacts are not the reference's
    assert f["tracking_contacts"] == n and f["slip"] == 0
    assert f["tracking_velocity"] >= n // 2
    # dragged along by the xy assist on a slippery floor, the loaded feet slide: the slip gate catches it
    icy = dataclasses.replace(FAST, tracking=TrackingConfig(xy_assist=True, floor_friction=0.1))
    res = mine_variant(clip, robot, Variant(), icy)
    f = failures(res)
    assert f["slip"] == res.windows["gate_mask"].size
    assert res.windows["slip_rate"].min() > 2 * icy.gates.max_slip_rate and f["tracking_velocity"] == 0


def test_a_fall_right_after_the_windows_rejects_them(robot):
    """A 15 deg lean on WildRobot falls 1.2 s in. With 0.8 s rollouts and no look-ahead the robot is still up when
    its rollout ends, and its windows (within the pitch limit) are free of falls; with the default 1 s look-ahead
    the same rollout runs on, falls, and every window fails the fall gate."""
    one = dataclasses.replace(FAST.generation, rollout_frames=40, multi_start_interval=1000)
    blind = dataclasses.replace(FAST, generation=one, gates=dataclasses.replace(FAST.gates, fall_lookahead_s=0.0))
    clip = leaning(standing_sway(robot, duration=4.0), 15.0)
    res = mine_variant(clip, robot, Variant(), blind)
    assert res.rollouts == 1 and res.falls == 0 and res.simulated_frames == 40
    assert failures(res)["fall"] == 0
    res = mine_variant(clip, robot, Variant(), dataclasses.replace(FAST, generation=one))
    assert res.rollouts == 1 and res.falls == 1 and 40 < res.simulated_frames < 40 + 50
    assert failures(res)["fall"] == res.windows["gate_mask"].size > 0 and res.accepted_frames == 0
    # the windows stay within the frames the rollout vouches for; the look-ahead is not mined
    assert (res.windows["start"] + res.windows["length"]).max() <= 40


def test_identical_clips_are_mined_once(robot, sway):
    from wildrobot_amp_ext.mine.mining import unique_clips

    copy = dataclasses.replace(sway, name="sway_copy")
    other = dataclasses.replace(sway, name="sway_later", root_pos=sway.root_pos + [0.0, 0.0, 1e-9])
    kept, copies = unique_clips([sway, copy, other, dataclasses.replace(sway, name="third")])
    assert [c.name for c in kept] == [sway.name, "sway_later"]
    assert copies == {"sway_copy": sway.name, "third": sway.name}


@pytest.mark.slow
def test_cli_writes_dataset_report_and_resumes(tmp_path, robot, sway):
    motions = tmp_path / "motions"
    write_gmr_pickle(sway, motions / "sway.pkl")
    write_gmr_pickle(floating(sway, 0.1), motions / "floating.pkl")
    write_gmr_pickle(sway, motions / "sway_again.pkl")  # the same motion under another name: counted once
    out = tmp_path / "tier0.npz"
    cmd = [sys.executable, "-m", "wildrobot_amp_ext.mine", "--robot", "wildrobot",
           "--input", str(motions), "--output", str(out),
           "--loop-seconds", "0", "--time-warps", "1.0", "1.1", "--workers", "2",
           "--no-progress", "--drop-contacts"]  # fmt: skip
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "DECISION: STOP" in first.stdout  # a few seconds of standing is far from 30 s
    ds = load_dataset(out)
    assert ds.feature_spec == FeatureSpec().drop("foot_contacts")
    assert ds.motion_names == ("floating", "sway") and set(np.unique(ds.motion_id)) == {1}
    data = np.load(out)
    metrics = [json.loads(s) for s in data["per_segment_metrics"]]
    assert len(metrics) == ds.num_clips == len(data["segment_scores"]) and all(m["load_mean"] >= 0.85 for m in metrics)
    assert data["segment_strict_harness"].all() and all(m["strict_harness"] for m in metrics)
    assert data["features"].shape == (ds.num_frames, ds.feature_spec.frame_dim(robot))
    for key in (
        "root_pos",
        "root_quat",
        "root_lin_vel_w",
        "root_ang_vel_w",
        "root_lin_vel",
        "joint_pos",
        "joint_vel",
        "states",
        "next_states",
    ):
        assert data[key].shape[0] == ds.num_frames
    report = json.loads((tmp_path / "tier0_report" / "report.json").read_text())
    clips = {c["clip"]: c for c in report["clips"]}
    assert clips["sway"]["verdict"] == "PASS" and clips["floating"]["verdict"] == "FAIL"
    assert clips["floating"]["failure_reasons"][0].startswith("tracking_height")
    assert report["summary"]["tier0_seconds"] == pytest.approx(ds.num_frames / 50)
    # the headline is distinct source coverage: each source second once, however many warps covered it
    summary = report["summary"]
    assert report["duplicate_clips"] == {"sway_again": "sway"} and "sway_again = sway" in first.stdout
    assert summary["source_seconds"] == pytest.approx(4.0, abs=0.05)
    assert 0 < summary["strict_source_coverage_s"] <= summary["source_coverage_s"] <= summary["source_seconds"]
    assert summary["source_coverage_s"] < summary["tier0_seconds"]  # two warps of the sway: repeated seconds
    assert summary["rollouts"] == sum(c["rollouts"] for c in report["clips"]) and summary["falls"] == 0
    for name in ("report.txt", "windows.json", "summary.png", "clip_sway.png", "clip_floating.png"):
        assert (tmp_path / "tier0_report" / name).stat().st_size > 0
    assert "REFERENCE GENERATION DIAGNOSTIC" in (tmp_path / "tier0_report" / "report.txt").read_text()

    # a second run takes every job from the cache and writes the same dataset
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "jobs: 4 (4 from cache" in second.stdout  # 2 clips x 2 warps; both clips are symmetric: no mirror
    again = np.load(out)
    np.testing.assert_array_equal(again["features"], data["features"])


def test_cli_bad_input_exits_2_without_output(tmp_path, capsys):
    from wildrobot_amp_ext.mine import main

    out = tmp_path / "tier0.npz"
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    good = tmp_path / "good"
    write_gmr_pickle(standing_sway(load_robot("wildrobot"), 1.0), good / "sway.pkl")
    cases = (
        ["--input", str(bad)],
        ["--input", str(tmp_path / "missing")],
        ["--input", str(good), "--window", "10", "--min-segment", "20"],
        ["--input", str(good), "--time-warps", "0"],
        ["--input", str(good), "--output", str(tmp_path / "tier0.txt")],
    )
    for args in cases:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(["--robot", "wildrobot", "--output", str(out), *args, "--no-progress", "--workers", "1"])
        assert exit_info.value.code == 2, args
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("error:"), err
        assert not out.exists() and not (tmp_path / "tier0_report").exists()
