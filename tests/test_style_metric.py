"""The style metric's self-test (evaluation.style_metric), before any training: on the WildRobot demo reference it
must rank trivial and broken motions as it should, or no figure it gives about a trained policy means anything.

* held-out reference transitions (odd frames against even frames) score near 0 both ways;
* a standing pose and a frozen mid-stride pose, commanded to walk, score worse than every walking clip held out;
* one clip replayed (at its own velocity) scores well policy -> reference and badly reference -> policy;
* a time-shuffled walk (each frame intact, the order gone) scores worse than the walk;
* a command no reference motion has is counted as unmatched, not scored;
* frames after a reset and before a fall are not scored.
"""

from __future__ import annotations

import numpy as np
import pytest

from wildrobot_amp_ext.dataset.convert import build_dataset
from wildrobot_amp_ext.dataset.demo import ensure_demo_dataset
from wildrobot_amp_ext.evaluation.style_metric import (
    PolicyTransitions,
    StyleMetricCfg,
    StyleReference,
    column_floors,
    frames_to_score,
    heading_velocity,
    style_score,
)
from wildrobot_amp_ext.features import FeatureSpec
from wildrobot_amp_ext.motion import MotionClip
from wildrobot_amp_ext.motion.synthetic import place_root_on_floor, synthetic_stand
from wildrobot_amp_ext.robots import load_robot

WALKS = ("walk_slow", "walk_medium", "walk_fast", "walk_medium_turned")


@pytest.fixture(scope="module")
def robot():
    return load_robot("wildrobot")


@pytest.fixture(scope="module")
def reference():
    return StyleReference.from_dataset(ensure_demo_dataset("wildrobot"))


def subset(ref: StyleReference, mask: np.ndarray) -> StyleReference:
    return StyleReference(ref.obs[mask], ref.velocity[mask], ref.clip[mask], ref.clip_names, ref.terms, ref.scale)


def halves(ref: StyleReference) -> tuple[np.ndarray, np.ndarray]:
    odd = np.arange(len(ref.clip)) % 2 == 1
    return odd, ~odd


def walking_commands(ref: StyleReference, n: int) -> np.ndarray:
    """Commands spread over the walking clips' velocities: what an evaluation grid would ask for."""
    walking = np.isin(ref.clip, [ref.clip_names.index(w) for w in WALKS])
    rows = np.flatnonzero(walking)
    return ref.velocity[rows[np.linspace(0, len(rows) - 1, n).astype(int)]]


def static_transitions(robot, joint_pos: np.ndarray, frames: int = 60) -> np.ndarray:
    """A pose held still, through the one feature function (converter path)."""
    q = np.tile(joint_pos, (frames, 1))
    root_pos, root_quat = place_root_on_floor(robot, q)
    clip = MotionClip("held", 50.0, root_pos, root_quat, robot.joint_names, q, source="test")
    features = build_dataset([clip], robot, FeatureSpec(), target_fps=50.0).features
    return np.concatenate([features[10:-11], features[11:-10]], axis=1)


def held_out_walk_scores(reference) -> dict[str, dict]:
    odd, even = halves(reference)
    out = {}
    for w in WALKS:
        m = odd & (reference.clip == reference.clip_names.index(w))
        out[w] = style_score(PolicyTransitions(reference.obs[m], reference.velocity[m]), subset(reference, even))
    return out


def test_floors_are_physical_and_fixed():
    floors = column_floors(["joint_pos", "joint_vel", "root_ang_vel", "root_height", "root_lin_vel"], "raw")
    assert floors.tolist() == [0.05, 0.1, 0.1, 0.01, 0.05]
    with pytest.raises(ValueError, match="no physical floor"):
        column_floors(["not_a_term"])


def test_a_constant_reference_column_is_measured_in_its_physical_unit(reference):
    # the demo reference never turns: its yaw-rate column is constant; a 0.3 rad/s yaw rate is 3 floors, not 300
    yaw = [i for i, name in enumerate(reference.terms[: len(reference.terms) // 2]) if name == "root_ang_vel"][2]
    assert reference.scale[yaw] == pytest.approx(0.1)


def test_held_out_reference_scores_near_zero(reference):
    for name, s in held_out_walk_scores(reference).items():
        assert s["policy_transitions_unmatched"] == 0, name
        assert s["policy_to_reference"] < 0.3, (name, s["policy_to_reference"])  # one frame (20 ms) apart at most


def test_standing_and_frozen_poses_score_worse_than_every_walking_clip(robot, reference):
    walks = held_out_walk_scores(reference)
    worst_walk = max(s["policy_to_reference"] for s in walks.values())
    odd, even = halves(reference)
    everything = style_score(PolicyTransitions(reference.obs[odd], reference.velocity[odd]), subset(reference, even))
    mid_stride = ensure_walk_frame(robot)
    for name, obs in (
        ("standing", static_transitions(robot, robot.default_joint_pos)),
        ("frozen", static_transitions(robot, mid_stride)),
    ):
        s = style_score(PolicyTransitions(obs, walking_commands(reference, len(obs))), reference)
        assert s["policy_transitions_unmatched"] == 0
        # measured: held-out walks <= 0.23 (one 20 ms frame apart), standing 0.69, frozen 0.55
        assert s["policy_to_reference"] > 2 * worst_walk, (name, s["policy_to_reference"], worst_walk)
        # measured: every clip held out 0.12, standing 0.91, frozen 1.09
        assert s["reference_to_policy"] > 3 * everything["reference_to_policy"], (name, s["reference_to_policy"])


def ensure_walk_frame(robot) -> np.ndarray:
    from wildrobot_amp_ext.motion.synthetic import GaitParams, gait_joint_positions

    return gait_joint_positions(robot, np.array([0.2]), GaitParams())[0]


def test_one_clip_replayed_is_close_one_way_and_far_the_other(reference):
    odd, even = halves(reference)
    k = reference.clip_names.index("walk_fast")
    m = odd & (reference.clip == k)
    one = style_score(PolicyTransitions(reference.obs[m], reference.velocity[m]), subset(reference, even))
    everything = style_score(PolicyTransitions(reference.obs[odd], reference.velocity[odd]), subset(reference, even))
    assert one["policy_to_reference"] < 0.05  # measured 0.001 one way, 0.42 the other (every clip: 0.12)
    assert one["reference_to_policy"] > 3 * everything["reference_to_policy"], (one, everything)
    per_clip = one["reference_to_policy_per_clip"]
    assert per_clip["walk_fast"]["reference_to_policy"] < 0.05
    assert per_clip["stand_sway"]["reference_to_policy"] > 1.0
    assert per_clip["stand_sway"]["commanded_fraction"] == 0.0  # nobody asked it to stand


def test_a_time_shuffled_walk_scores_worse_than_the_walk(reference):
    rng = np.random.default_rng(0)
    k = reference.clip_names.index("walk_medium")
    rows = np.flatnonzero(reference.clip == k)
    frame_dim = reference.obs.shape[1] // 2
    frames = reference.obs[rows, :frame_dim]
    order = rng.permutation(len(frames))
    shuffled = np.concatenate([frames[order[:-1]], frames[order[1:]]], axis=1)
    odd, even = halves(reference)
    base = style_score(
        PolicyTransitions(reference.obs[rows][1::2], reference.velocity[rows][1::2]), subset(reference, even)
    )
    s = style_score(PolicyTransitions(shuffled, reference.velocity[rows][:-1]), subset(reference, even))
    assert s["policy_to_reference"] > 3 * base["policy_to_reference"], (s["policy_to_reference"], base)


def test_a_command_no_reference_has_is_unmatched_not_scored(reference):
    obs = reference.obs[:10]
    command = np.tile([0.0, 0.0, 0.8], (10, 1))  # the demo reference never turns
    s = style_score(PolicyTransitions(obs, command), reference)
    assert s["policy_transitions_scored"] == 0 and s["policy_transitions_unmatched"] == 10
    assert s["policy_to_reference"] is None and s["unmatched_commands"] == [[0.0, 0.0, 0.8]]


def test_frames_after_a_reset_and_before_a_fall_are_not_scored():
    cfg = StyleMetricCfg(settle_s=1.0, pre_fall_s=1.0)
    steps, dt = 300, 0.02
    terminated = np.zeros((steps, 2), bool)
    truncated = np.zeros((steps, 2), bool)
    terminated[200, 0] = True  # env 0 falls at step 200, then a new episode starts on row 200
    keep, same = frames_to_score(terminated, truncated, dt, cfg)
    rows = np.flatnonzero(keep[:, 0])
    # first episode: rows 50.. (1 s in) up to 200 - 50 - 1 (more than 1 s before the fall); second: 250..
    assert rows[0] == 50 and 149 in rows and 150 not in rows and 249 not in rows and 250 in rows
    assert keep[:, 1].sum() == steps - 50  # env 1 never falls
    assert not same[199, 0] and same[198, 0]


def test_standing_still_in_the_stand_clip_is_good_when_commanded_to_stand(robot, reference):
    stand = synthetic_stand(robot, 2.0, 50.0, squat=0.0)
    features = build_dataset([stand], robot, FeatureSpec(), target_fps=50.0).features
    obs = np.concatenate([features[10:-11], features[11:-10]], axis=1)
    s = style_score(PolicyTransitions(obs, np.zeros((len(obs), 3))), reference)
    assert s["policy_transitions_unmatched"] == 0
    assert s["policy_to_reference"] < 0.5  # standing is in the reference: asked to stand, it is not punished


def test_heading_velocity_is_in_the_heading_frame():
    yaw = np.pi / 2
    quat = np.array([[np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]])
    v = heading_velocity(quat, np.array([[0.0, 0.4, 0.0]]), np.array([[0.0, 0.0, 0.3]]))
    np.testing.assert_allclose(v, [[0.4, 0.0, 0.3]], atol=1e-9)
