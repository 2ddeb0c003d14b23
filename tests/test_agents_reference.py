"""Reference motion sampler: quality weights, clip coverage, AMP observations built from frames, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wildrobot_amp_ext.agents.reference import (
    ReferenceMotionSampler,
    ReferenceTable,
    layout_from_column_names,
    load_reference_npz,
    row_probabilities,
)
from wildrobot_amp_ext.errors import InputError


def make_dataset(path, segment_lengths, motion_of_segment, scores, feature_dim=3, **extra):
    """Frames whose first feature is the global frame index, so rows can be traced back."""
    seg_id, motion, frames = [], [], []
    start = 0
    for s, (length, m) in enumerate(zip(segment_lengths, motion_of_segment)):
        idx = np.arange(start, start + length)
        frames.append(np.stack([idx, np.full(length, s), np.full(length, m)], axis=1)[:, :feature_dim])
        seg_id.append(np.full(length, s))
        motion.append(np.full(length, f"clip{m}"))
        start += length
    arrays = dict(
        features=np.concatenate(frames).astype(np.float32),
        motion_id=np.concatenate(motion),
        segment_id=np.concatenate(seg_id),
    )
    if scores is not None:
        arrays["segment_scores"] = np.asarray(scores, dtype=np.float64)
    arrays.update(extra)
    np.savez(path, **arrays)
    return path


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def test_segment_frequencies_match_softmax_of_scores(tmp_path):
    lengths = [20, 40, 30, 25, 35, 50]
    motions = [0, 0, 1, 2, 3, 3]
    scores = [0.0, 1.0, 2.0, -1.0, 0.5, 1.5]
    temperature = 0.7
    path = make_dataset(tmp_path / "ref.npz", lengths, motions, scores)
    sampler = ReferenceMotionSampler.from_npz(path, obs_dim=6, temperature=temperature, min_motion_ids=3)
    torch.manual_seed(0)
    draws = torch.cat([sampler.sample(4096) for _ in range(60)])  # 245760 rows
    # column 1 of the newest frame holds the segment index
    segment = draws[:, 3 + 1].long().numpy()
    counts = np.bincount(segment, minlength=len(lengths))
    expected = softmax(np.asarray(scores) / temperature)
    n = counts.sum()
    # every segment's frequency within 5 binomial standard deviations of softmax(score / T)
    sigma = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(counts / n - expected) < 5 * sigma), (counts / n, expected)
    # and the weights are not uniform-by-frame (that would be proportional to length)
    by_length = np.asarray(lengths) / sum(lengths)
    assert np.abs(counts / n - by_length).max() > 20 * sigma.max()


def test_frames_within_a_segment_are_uniform_and_need_full_history(tmp_path):
    path = make_dataset(tmp_path / "ref.npz", [30, 30], [0, 1], [0.0, 0.0])
    sampler = ReferenceMotionSampler.from_npz(path, obs_dim=9, min_motion_ids=0)  # history 3 from 9 / 3
    torch.manual_seed(1)
    rows = torch.cat([sampler.sample(4096) for _ in range(20)])
    newest = rows[:, 6].long().numpy()
    oldest = rows[:, 0].long().numpy()
    # history stacking: oldest = newest - 2 inside a segment, and the first two frames of a segment never appear
    assert np.array_equal(oldest, newest - 2)
    assert not np.isin(newest, [0, 1, 30, 31]).any()
    counts = np.bincount(newest, minlength=60)[np.r_[2:30, 32:60]]
    expected = len(newest) / 56
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected)


def test_every_batch_covers_three_motion_ids_even_when_one_clip_dominates(tmp_path):
    # clip0 carries ~all the probability mass: natural small batches would hold only clip0
    path = make_dataset(tmp_path / "ref.npz", [40, 40, 40, 40, 40], [0, 1, 2, 3, 4], [12.0, 0.0, 0.0, 0.0, 0.0])
    sampler = ReferenceMotionSampler.from_npz(path, obs_dim=6, min_motion_ids=3)
    torch.manual_seed(2)
    for n in (3, 8, 64):
        for _ in range(200):
            _, ids = sampler.sample_with_ids(n)
            assert ids.unique().numel() >= 3
    # without the coverage rule the same batches are (almost) single-clip: the test above can fail
    plain = ReferenceMotionSampler.from_npz(path, obs_dim=6, min_motion_ids=0)
    single = sum(plain.sample_with_ids(8)[1].unique().numel() == 1 for _ in range(200))
    assert single > 190


def test_coverage_is_capped_by_clips_and_batch_size(tmp_path):
    path = make_dataset(tmp_path / "ref.npz", [30, 30], [0, 1], [5.0, 0.0])
    sampler = ReferenceMotionSampler.from_npz(path, obs_dim=6, min_motion_ids=3)
    assert sampler.min_motion_ids == 2
    torch.manual_seed(3)
    assert all(sampler.sample_with_ids(2)[1].unique().numel() == 2 for _ in range(100))
    assert sampler.sample(1).shape == (1, 6)


def test_coverage_patch_is_skipped_when_batch_already_covers(tmp_path):
    """Large batches cover the clips anyway; their rows are the plain weighted draw (same RNG stream)."""
    path = make_dataset(tmp_path / "ref.npz", [50, 50, 50, 50], [0, 1, 2, 3], [0.0, 0.3, 0.6, 0.9])
    sampler = ReferenceMotionSampler.from_npz(path, obs_dim=6, min_motion_ids=3)
    gen_a, gen_b = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    sampler.generator = gen_a
    rows = sampler.sample_rows(2048)
    sampler.generator = gen_b
    plain = sampler._rows_from_uniform(sampler._rand(2048))
    assert torch.equal(rows, plain)


def test_uniform_without_scores_and_per_frame_scores(tmp_path):
    path = make_dataset(tmp_path / "ref.npz", [10, 30], [0, 1], None)
    table = load_reference_npz(path, obs_dim=6)
    p = row_probabilities(table, 1.0)
    assert np.allclose(p[table.valid], 1.0 / table.valid.sum())
    # per-frame scores (constant within a segment) give the same weights as per-segment scores
    frame_scores = np.concatenate([np.full(10, 1.0), np.full(30, 0.0)])
    a = make_dataset(tmp_path / "a.npz", [10, 30], [0, 1], frame_scores)
    b = make_dataset(tmp_path / "b.npz", [10, 30], [0, 1], [1.0, 0.0])
    pa = row_probabilities(load_reference_npz(a, obs_dim=6), 0.5)
    pb = row_probabilities(load_reference_npz(b, obs_dim=6), 0.5)
    assert np.allclose(pa, pb)
    seg0 = pa[:10].sum()
    assert seg0 == pytest.approx(softmax(np.array([1.0, 0.0]) / 0.5)[0])


def test_states_next_states_and_amp_obs_layouts(tmp_path):
    states = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.savez(tmp_path / "s.npz", states=states, next_states=states + 100, motion_id=np.array([0, 0, 0, 1, 1, 1]))
    table = load_reference_npz(tmp_path / "s.npz", obs_dim=4)
    assert np.array_equal(table.obs, np.concatenate([states, states + 100], axis=1))
    assert table.valid.all() and table.num_motions == 2
    # 'states' already wide enough: used as AMP observations directly
    np.savez(tmp_path / "w.npz", states=np.ones((5, 8), np.float32), next_states=np.ones((5, 8), np.float32))
    assert load_reference_npz(tmp_path / "w.npz", obs_dim=8).obs.shape == (5, 8)
    np.savez(tmp_path / "o.npz", amp_obs=np.ones((7, 5), np.float32))
    assert load_reference_npz(tmp_path / "o.npz", obs_dim=5).obs.shape == (7, 5)


def test_pairs_honour_transition_valid_and_other_histories_stack_features(tmp_path):
    """convert_dataset layout: per-frame features, (s, s') pairs whose clip-last rows are not transitions."""
    frames = np.arange(10, dtype=np.float32)[:, None].repeat(2, axis=1)
    clip_start = np.zeros(10, bool)
    clip_start[[0, 6]] = True
    nxt = np.r_[frames[1:], frames[-1:]]
    nxt[5] = frames[5]  # clip 0's last frame: no successor
    valid = np.r_[~clip_start[1:], False]
    motion_id = np.r_[np.zeros(6), np.ones(4)].astype(int)
    np.savez(tmp_path / "c.npz", features=frames, states=frames, next_states=nxt, transition_valid=valid,
             clip_start=clip_start, motion_id=motion_id, segment_id=np.zeros(10, int))  # fmt: skip
    pairs = load_reference_npz(tmp_path / "c.npz", obs_dim=4)
    assert pairs.history == 2 and pairs.valid.tolist() == valid.tolist()
    assert np.all(pairs.obs[pairs.valid][:, 2] == pairs.obs[pairs.valid][:, 0] + 1)  # every sampled row is a real step
    sampler = ReferenceMotionSampler(pairs, min_motion_ids=0)
    assert not np.isin(sampler.sample(2000)[:, 0].numpy(), [5, 9]).any()
    # a 3-frame env history cannot use the pairs: rows are stacked from features inside each clip
    three = load_reference_npz(tmp_path / "c.npz", obs_dim=6)
    assert three.history == 3 and three.valid.tolist() == [
        False,
        False,
        True,
        True,
        True,
        True,
        False,
        False,
        True,
        True,
    ]
    assert three.obs[9].tolist() == [7, 7, 8, 8, 9, 9]


def test_layout_from_column_names_tiles_history(tmp_path):
    names = ["joint_pos/a", "joint_pos/b", "root_height", "foot_contacts/l", "foot_contacts/r"]
    layout = layout_from_column_names(names, history=2)
    assert layout["joint_pos"].tolist() == [0, 1, 5, 6]
    assert layout["root_height"].tolist() == [2, 7]
    assert layout["foot_contacts"].tolist() == [3, 4, 8, 9]
    frames = np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)
    np.savez(tmp_path / "n.npz", features=frames, column_names=np.asarray(names))
    assert {k: v.tolist() for k, v in load_reference_npz(tmp_path / "n.npz", obs_dim=10).layout.items()} == {
        k: v.tolist() for k, v in layout.items()
    }


@pytest.mark.parametrize(
    "arrays, obs_dim, field",
    [
        ({"features": np.ones((10, 3), np.float32)}, 7, "features"),  # 3-wide frames cannot make 7
        ({"features": np.full((10, 3), np.nan, np.float32)}, 6, "features"),
        ({"features": np.ones((10, 3), np.float32), "segment_scores": np.ones(3)}, 6, "segment_scores"),
        ({"features": np.ones((10, 3), np.float32), "motion_id": np.zeros(4)}, 6, "motion_id"),
        ({"features": np.ones((2, 3), np.float32)}, 9, "features"),  # 2 frames, history 3: no full row
        ({"other": np.ones(3)}, 6, "features"),
    ],
)
def test_bad_datasets_raise_input_error(tmp_path, arrays, obs_dim, field):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError) as err:
        load_reference_npz(tmp_path / "bad.npz", obs_dim=obs_dim)
    assert err.value.field == field
    assert "\n" not in str(err.value)


def test_history_follows_the_env_observation_width(tmp_path):
    np.savez(tmp_path / "h.npz", features=np.ones((10, 3), np.float32))
    table = load_reference_npz(tmp_path / "h.npz", obs_dim=18)  # 6 frames of 3
    assert table.history == 6 and table.obs.shape == (10, 18) and table.valid.sum() == 5


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        ReferenceMotionSampler.from_npz(tmp_path / "nope.npz")


def test_sampler_device_and_dtype(tmp_path):
    path = make_dataset(tmp_path / "ref.npz", [20, 20, 20], [0, 1, 2], [0, 0, 0])
    sampler = ReferenceMotionSampler(load_reference_npz(path, obs_dim=6), device="cpu")
    out = sampler(100)
    assert out.dtype == torch.float32 and out.device.type == "cpu" and out.shape == (100, 6)
    assert isinstance(sampler.table, ReferenceTable) and sampler.num_motions == 3


def test_dataset_at_another_frame_rate_than_the_env_is_refused_naming_the_fix(tmp_path):
    from wildrobot_amp_ext.agents.reference import ReferenceMotionSampler, check_dataset_frame_rate

    frames = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    path = tmp_path / "ref.npz"
    np.savez(path, features=frames, motion_id=np.zeros(40, np.int64), fps=np.asarray(30.0))
    with pytest.raises(InputError) as err:
        ReferenceMotionSampler.from_npz(path, obs_dim=6, frame_rate=50.0)
    line = str(err.value)
    assert "\n" not in line and "30 fps" in line and "50 Hz" in line and "--target-fps 50" in line
    with pytest.raises(InputError, match="--target-fps 50"):
        check_dataset_frame_rate(path, 50.0)
    check_dataset_frame_rate(path, 30.0)  # the same rate passes
    assert ReferenceMotionSampler.from_npz(path, obs_dim=6, frame_rate=30.0).table.fps == 30.0
