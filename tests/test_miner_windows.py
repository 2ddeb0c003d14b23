"""Window statistics (vectorised) against a per-window loop, gates, scores, segment merging and deduplication."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from wildrobot_amp_ext.miner.config import GateConfig, WindowConfig
from wildrobot_amp_ext.miner.windows import (
    GATES,
    Candidate,
    FrameSignals,
    accepted_frames,
    claim_reference_frames,
    evaluate_gates,
    gate_names,
    gated_segments,
    runs,
    score,
    window_starts,
    window_stats,
)

G = GateConfig()
H = 0.3  # standing height used to scale the velocity error


def random_signals(n: int, seed: int = 0) -> FrameSignals:
    rng = np.random.default_rng(seed)
    loaded = rng.random((n, 2)) < 0.7
    return FrameSignals(
        load=rng.uniform(0.3, 1.4, n),
        loaded=loaded,
        slipping=loaded & (rng.random((n, 2)) < 0.2),
        harness=rng.uniform(0, 0.3, n),
        harness_saturated=rng.random(n) < 0.1,
        pitch_deg=rng.uniform(0, 40, n),
        roll_deg=rng.uniform(0, 40, n),
        body_contact=rng.random(n) < 0.05,
        actuator_saturation=rng.uniform(0, 0.2, n),
        height_error=rng.uniform(0, 0.2, n),
        vel_sim_h=rng.normal(size=(n, 2)),
        vel_ref_h=rng.normal(size=(n, 2)),
        joint_error=rng.uniform(0, 0.4, n),
        contact_mismatch=rng.random((n, 2)) < 0.3,
        fall=np.r_[np.zeros(n - 1, bool), True],
    )


def naive(sig: FrameSignals, a: int, b: int) -> dict[str, float]:
    s = slice(a, b)
    load = sig.load[s]
    loaded = sig.loaded[s]
    return {
        "load_mean": load.mean(),
        "load_p10": np.percentile(load, 10),
        "load_p95": np.percentile(load, 95),
        "unloaded_fraction": np.mean(load < G.unloaded_threshold),
        "harness_mean": sig.harness[s].mean(),
        "harness_p90": np.percentile(sig.harness[s], 90),
        "harness_p95": np.percentile(sig.harness[s], 95),
        "harness_saturated": sig.harness_saturated[s].mean(),
        "pitch_p95_deg": np.percentile(sig.pitch_deg[s], 95),
        "roll_p95_deg": np.percentile(sig.roll_deg[s], 95),
        "slip_rate": sig.slipping[s].sum() / loaded.sum(),
        "loaded_foot_frames": loaded.sum(),
        "body_contact_fraction": sig.body_contact[s].mean(),
        "actuator_saturation": sig.actuator_saturation[s].mean(),
        "root_height_error": sig.height_error[s].mean(),
        "velocity_error": np.linalg.norm(sig.vel_sim_h[s].mean(0) - sig.vel_ref_h[s].mean(0)) / math.sqrt(9.81 * H),
        "joint_rms_error": sig.joint_error[s].mean(),
        "contact_mismatch": sig.contact_mismatch[s].mean(),
        "single_stance_fraction": np.mean(loaded.sum(1) == 1),
        "fall": float(sig.fall[s].any()),
    }


def test_window_layout():
    cfg = WindowConfig(window=50, stride=10, min_segment=20)
    starts, lengths = window_starts(200, cfg, first=10)
    assert starts.tolist() == list(range(10, 181, 10))
    assert lengths.tolist() == [50] * 15 + [40, 30, 20]
    starts, lengths = window_starts(25, cfg, first=10)  # 15 frames after the warm-up: no window
    assert starts.size == 0


def test_vectorised_stats_equal_a_loop():
    sig = random_signals(173)
    starts, lengths = window_starts(173, WindowConfig(), first=7)
    stats = window_stats(sig, starts, lengths, G, H)
    for i, (a, n) in enumerate(zip(starts, lengths)):
        want = naive(sig, a, a + n)
        for k, v in want.items():
            assert stats[k][i] == pytest.approx(v, rel=1e-12, abs=1e-12), (k, i)
    assert stats["fall"][-1] == 1.0 and stats["fall"][0] == 0.0


def test_gates_name_the_failing_metric():
    base = {
        "load_mean": 1.0, "load_p10": 0.9, "harness_p90": 0.05, "harness_p95": 0.06, "harness_saturated": 0.0,
        "unloaded_fraction": 0.0, "pitch_p95_deg": 3.0, "roll_p95_deg": 2.0, "slip_rate": 0.0,
        "body_contact_fraction": 0.0, "root_height_error": 0.0, "velocity_error": 0.0, "joint_rms_error": 0.05,
        "contact_mismatch": 0.1, "fall": 0.0,
    }  # fmt: skip
    bad = {
        "load_mean": ("load_mean", 0.84), "load_p10": ("load_p10", 0.59), "harness_p90": ("harness_p90", 0.16),
        "harness_p95": ("harness_p95", 0.26), "harness_saturated": ("harness_saturated", 0.06),
        "unloaded": ("unloaded_fraction", 0.11),
        "pitch": ("pitch_p95_deg", 25.5), "roll": ("roll_p95_deg", 26.0), "slip": ("slip_rate", 0.16),
        "body_contact": ("body_contact_fraction", 0.02), "tracking_height": ("root_height_error", 0.11),
        "tracking_velocity": ("velocity_error", 0.11), "tracking_joints": ("joint_rms_error", 0.26),
        "tracking_contacts": ("contact_mismatch", 0.41), "fall": ("fall", 1.0),
    }  # fmt: skip
    rows = [dict(base)] + [dict(base, **{metric: value}) for metric, value in bad.values()]
    stats = {k: np.array([r[k] for r in rows]) for k in base}
    masks = evaluate_gates(stats, G)
    assert masks[0] == 0
    for mask, gate in zip(masks[1:], bad):
        assert gate_names(mask) == [gate]
    assert set(bad) | {"short"} == set(GATES)


def test_score_follows_the_seed_rule():
    stats = {
        "load_mean": np.array([0.96, 0.90, 0.96, 0.96]),
        "slip_rate": np.array([0.0, 0.10, 0.0, 0.0]),
        "pitch_p95_deg": np.array([5.0, 20.0, 5.0, 5.0]),
        "roll_p95_deg": np.array([5.0, 5.0, 16.0, 5.0]),
        "harness_p95": np.array([0.05, 0.05, 0.05, 0.12]),
    }
    np.testing.assert_array_equal(score(stats, G), [3.0, 0.0, 2.0, 2.0])


def test_merge_and_centre_dedupe():
    starts = np.array([0, 10, 20, 30, 40, 80])
    lengths = np.full(6, 50)
    accepted = np.array([True, True, False, False, False, True])
    merged = accepted_frames(140, starts, lengths, accepted, WindowConfig(dedupe="merge"))
    assert runs(merged) == [(0, 60), (80, 130)]
    centre = accepted_frames(140, starts, lengths, accepted, WindowConfig(dedupe="centre", centre_frames=30))
    assert runs(centre) == [(10, 50), (90, 120)]


def test_overlapping_rollouts_keep_each_reference_frame_once():
    # rollout 0 covers reference frames 10..110 (score 2); rollout 1 covers 60..160 (score 3, wins the overlap)
    # rollout 2 (150..180) keeps its 20 unclaimed frames; rollout 3 (145..170) only 10 left: dropped
    cands = [
        Candidate(0, 10, 110, 10, 2.0),
        Candidate(1, 10, 110, 60, 3.0),
        Candidate(2, 0, 30, 150, 3.0),
        Candidate(3, 5, 30, 145, 1.0),
    ]
    kept = claim_reference_frames(cands, 200, min_len=20)
    spans = [(c.rollout, c.start, c.ref_start, c.ref_start + c.end - c.start) for c in kept]
    assert spans == [(0, 10, 10, 60), (1, 10, 60, 160), (2, 10, 160, 180)]


def test_support_gates_follow_what_the_harness_can_lift():
    """Load-p10 and unloaded frames catch a harness carrying weight: they apply when it can lift the root (a height
    assist), not to a torque-only or absent harness, whose load dips are the motion's own (push-off, flight)."""
    stats = {
        "load_mean": np.array([0.95]), "load_p10": np.array([0.3]), "harness_p90": np.array([0.0]),
        "harness_p95": np.array([0.0]), "harness_saturated": np.array([0.0]), "unloaded_fraction": np.array([0.3]),
        "pitch_p95_deg": np.array([3.0]), "roll_p95_deg": np.array([2.0]), "slip_rate": np.array([0.0]),
        "body_contact_fraction": np.array([0.0]), "root_height_error": np.array([0.0]),
        "velocity_error": np.array([0.0]), "joint_rms_error": np.array([0.05]), "contact_mismatch": np.array([0.0]),
        "fall": np.array([0.0]),
    }  # fmt: skip
    assert gate_names(evaluate_gates(stats, G, harness_lifts=True)[0]) == ["load_p10", "unloaded"]
    assert evaluate_gates(stats, G, harness_lifts=False)[0] == 0
    forced = dataclasses.replace(G, support_gates="on")
    assert gate_names(evaluate_gates(stats, forced, harness_lifts=False)[0]) == ["load_p10", "unloaded"]
    sinking = dict(stats, load_mean=np.array([0.5]))  # the load mean still catches a robot sinking or falling
    assert gate_names(evaluate_gates(sinking, G, harness_lifts=False)[0]) == ["load_mean"]


def clean_signals(n: int) -> FrameSignals:
    """A window of perfect tracking: every gate passes."""
    z, f = np.zeros(n), np.zeros(n, bool)
    return FrameSignals(
        load=np.ones(n),
        loaded=np.ones((n, 2), bool),
        slipping=np.zeros((n, 2), bool),
        harness=z,
        harness_saturated=f,
        pitch_deg=z,
        roll_deg=z,
        body_contact=f,
        actuator_saturation=z,
        height_error=z,
        vel_sim_h=np.zeros((n, 2)),
        vel_ref_h=np.zeros((n, 2)),
        joint_error=z,
        contact_mismatch=np.zeros((n, 2), bool),
        fall=f,
    )


def test_merged_windows_are_gated_as_a_whole():
    """Two overlapping windows that each pass the load gate, whose union would not (their 40 shared good frames
    count once): they stay two segments, and every segment passes every gate as a whole (no height assist: the
    load-mean gate, not the support gates)."""
    sig = clean_signals(60)
    sig.load[:10] = sig.load[50:] = 0.3  # each window: (40 + 10 * 0.3) / 50 = 0.86 >= 0.85; both: 46 / 60 = 0.77
    starts, lengths = np.array([0, 10]), np.array([50, 50])
    cfg = WindowConfig()
    per_window = evaluate_gates(window_stats(sig, starts, lengths, G, H), G, False)
    assert (per_window == 0).all()
    union = runs(accepted_frames(60, starts, lengths, per_window == 0, cfg))
    assert union == [(0, 60)] and gate_names(
        evaluate_gates(window_stats(sig, np.array([0]), np.array([60]), G, H), G, False)[0]
    ) == ["load_mean"]
    segments = gated_segments(sig, starts, lengths, per_window == 0, cfg, G, H, False)
    assert segments == [(0, 50), (10, 60)]
    for a, b in segments:
        assert evaluate_gates(window_stats(sig, np.array([a]), np.array([b - a]), G, H), G, False)[0] == 0
    # clean frames: the same two windows merge into one segment
    assert gated_segments(clean_signals(60), starts, lengths, per_window == 0, cfg, G, H, False) == [(0, 60)]
    # centre pieces are gated too: a piece whose frames fail on their own is dropped
    centre = dataclasses.replace(cfg, dedupe="centre", centre_frames=10)
    sig.load[20:30] = 0.0
    assert gated_segments(sig, np.array([0]), np.array([50]), np.array([True]), centre, G, H, False) == []


def test_distinct_coverage_is_the_exact_union_of_frame_intervals():
    """A frame at clip time t shows [t, t + step): 20 frames at 50 Hz from t = 0.05 s cover 0.40 s (0.1 s bins
    counted 0.5 s); overlaps, warps and strict-tier filtering are exact."""
    from types import SimpleNamespace

    from wildrobot_amp_ext.miner.report import _source_coverage, interval_union_length

    rng = np.random.default_rng(0)
    lo = rng.integers(0, 900, 40)
    hi = lo + rng.integers(-5, 80, 40)
    grid = np.zeros(1000, bool)
    for a, b in zip(lo, hi):
        grid[a:b] = True
    assert interval_union_length(lo / 100, hi / 100) == pytest.approx(grid.sum() / 100)
    assert interval_union_length(np.zeros(0), np.zeros(0)) == 0.0

    def result(*segments):  # (first clip time, frames, step, strict)
        times = [t0 + step * np.arange(n) for t0, n, step, _ in segments]
        segs = [SimpleNamespace(num_frames=n, strict_harness=strict) for _, n, _, strict in segments]
        return SimpleNamespace(kept={"clip_time": np.concatenate(times)}, segments=segs)

    clip = SimpleNamespace(duration=2.0)
    assert _source_coverage([result((0.05, 20, 0.02, True))], clip) == pytest.approx(0.40)
    # two variants overlapping by 0.2 s, one of them 1.1x faster (a frame shows 0.022 s of the clip)
    both = [result((0.05, 20, 0.02, True)), result((0.25, 20, 0.022, False))]
    assert _source_coverage(both, clip) == pytest.approx(0.25 + 0.44 - 0.05)
    assert _source_coverage(both, clip, strict_only=True) == pytest.approx(0.40)
    # a segment reaching the clip's end covers up to the end, no further; blend frames (-1) show nothing
    assert _source_coverage([result((1.9, 20, 0.02, True))], clip) == pytest.approx(0.10)
    blend = result((0.0, 10, 0.02, True))
    blend.kept["clip_time"][5:] = -1.0
    assert _source_coverage([blend], clip) == pytest.approx(0.10)
