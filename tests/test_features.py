"""The shared AMP feature function and FeatureSpec: frames, encodings, contacts, layout, version, history."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wildrobot_amp_ext.dataset import build_dataset
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.features import (
    ALL_TERMS,
    ContactRule,
    FeatureSpec,
    FeatureVersion,
    KinematicState,
    compute_amp_features,
    contact_labels,
    history_index,
    stack_history,
)
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.synthetic import synthetic_walk
from wildrobot_amp_ext.robots import load_robot

Z = np.array([0.0, 0.0, 1.0])
ALL = FeatureSpec(terms=ALL_TERMS, root_lin_vel_mode="raw")


@pytest.fixture(scope="module")
def robot():
    return load_robot("wildrobot")


def _random_state(robot, n=64, seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    tilt = Q.from_rotvec(rng.normal(scale=0.2, size=(n, 3)))
    quat = Q.multiply(Q.from_axis_angle(Z, rng.uniform(-np.pi, np.pi, n)), tilt)
    return {
        "root_pos_w": rng.normal(size=(n, 3)),
        "root_quat_w": quat,
        "root_lin_vel_w": rng.normal(size=(n, 3)),
        "root_ang_vel_w": rng.normal(size=(n, 3)),
        "joint_pos": rng.normal(size=(n, robot.num_joints)),
        "joint_vel": rng.normal(size=(n, robot.num_joints)),
        "contact_pos_w": rng.normal(scale=0.03, size=(n, 4, 3)),
        "contact_vel_w": rng.normal(scale=0.3, size=(n, 4, 3)),
    }


def _features(state: dict, spec: FeatureSpec, robot) -> np.ndarray:
    return compute_amp_features(
        KinematicState.from_numpy(**state), spec, torch.as_tensor(robot.default_joint_pos)
    ).numpy()


def test_features_do_not_depend_on_heading_or_horizontal_position(robot):
    s = _random_state(robot)
    yaw = 1.234
    rot = Q.from_axis_angle(Z, np.full(len(s["root_pos_w"]), yaw))
    moved = dict(s)
    shift = np.array([3.0, -2.0, 0.0])
    moved["root_pos_w"] = Q.rotate(rot, s["root_pos_w"]) + shift
    moved["root_quat_w"] = Q.multiply(rot, s["root_quat_w"])
    for key in ("root_lin_vel_w", "root_ang_vel_w"):
        moved[key] = Q.rotate(rot, s[key])
    for key in ("contact_pos_w", "contact_vel_w"):
        moved[key] = Q.rotate(rot[:, None], s[key])
    moved["contact_pos_w"] = moved["contact_pos_w"] + shift
    np.testing.assert_allclose(_features(moved, ALL, robot), _features(s, ALL, robot), atol=1e-12)


def test_velocities_are_expressed_in_the_heading_frame(robot):
    s = _random_state(robot, n=1)
    s["root_quat_w"] = Q.from_axis_angle(Z, np.array([np.pi / 2]))  # facing +y
    s["root_lin_vel_w"] = np.array([[0.0, 0.7, 0.1]])  # moving along +y = straight ahead
    s["root_ang_vel_w"] = np.array([[1.0, 0.0, 0.3]])  # world x = the robot's right-hand side -> -y in heading frame
    f = _features(s, FeatureSpec(terms=("root_lin_vel", "root_ang_vel"), root_lin_vel_mode="raw"), robot)
    np.testing.assert_allclose(f[0], [0.7, 0, 0.1, 0, -1.0, 0.3], atol=1e-12)


def test_direction_mode_threshold_and_clip_mode(robot):
    s = _random_state(robot, n=4)
    s["root_quat_w"] = np.tile([1.0, 0, 0, 0], (4, 1))
    s["root_lin_vel_w"] = np.array([[0.05, 0, 0], [0.0, 0.1, 0], [3.0, 0, 4.0], [-2.0, 0.5, 0.0]])
    direction = _features(s, FeatureSpec(terms=("root_lin_vel",), lin_vel_zero_threshold=0.1), robot)
    np.testing.assert_allclose(
        direction, [[0, 0, 0], [0, 1, 0], [0.6, 0, 0.8], np.array([-2.0, 0.5, 0]) / np.hypot(2.0, 0.5)], atol=1e-12
    )
    clipped = _features(s, FeatureSpec(terms=("root_lin_vel",), root_lin_vel_mode="clip", lin_vel_clip=1.5), robot)
    np.testing.assert_allclose(clipped, [[0.05, 0, 0], [0, 0.1, 0], [1.5, 0, 1.5], [-1.5, 0.5, 0]], atol=1e-12)
    raw = _features(s, FeatureSpec(terms=("root_lin_vel",), root_lin_vel_mode="raw"), robot)
    np.testing.assert_allclose(raw, s["root_lin_vel_w"], atol=1e-12)


def test_contact_labels_use_height_and_horizontal_speed_only():
    spec = FeatureSpec(contact_height=0.025, contact_speed=0.3)
    pos = torch.tensor([[[0, 0, 0.01], [0, 0, 0.03], [0, 0, 0.01], [0, 0, 0.0]]], dtype=torch.float64)
    vel = torch.tensor([[[0.1, 0.1, 5.0], [0, 0, 0], [0.3, 0.0, 0], [0.2, 0.2, 0]]], dtype=torch.float64)
    # low+slow (vertical speed ignored) | too high | exactly at the speed bound (not below) | |v_xy| 0.28 < 0.3
    assert contact_labels(pos, vel, spec).tolist() == [[1.0, 0.0, 0.0, 1.0]]


def test_joint_terms_and_foot_terms(robot):
    s = _random_state(robot, n=8)
    f = _features(s, ALL, robot)
    layout = ALL.layout(robot)
    np.testing.assert_allclose(f[:, layout["joint_pos"]], s["joint_pos"] - robot.default_joint_pos)
    np.testing.assert_allclose(f[:, layout["joint_vel"]], s["joint_vel"])
    np.testing.assert_allclose(f[:, layout["root_height"]], s["root_pos_w"][:, 2:3])
    np.testing.assert_allclose(f[:, layout["foot_height"]], s["contact_pos_w"][..., 2])
    np.testing.assert_allclose(f[:, layout["foot_z_velocity"]], s["contact_vel_w"][..., 2])
    # rows are independent: one batch equals row-by-row calls
    rows = np.concatenate([_features({k: v[i : i + 1] for k, v in s.items()}, ALL, robot) for i in range(8)])
    np.testing.assert_array_equal(rows, f)


def test_layout_column_names_and_masks(robot):
    spec = FeatureSpec(terms=("root_height", "joint_vel", "joint_pos"), history=3)  # any order -> canonical order
    assert spec.terms == ("joint_pos", "joint_vel", "root_height")
    names = spec.column_names(robot)
    assert len(names) == spec.frame_dim(robot) == 2 * robot.num_joints + 1
    layout = spec.layout(robot)
    assert (
        names[layout["root_height"]] == ["root_height"]
        and names[layout["joint_vel"]][0] == f"joint_vel/{robot.joint_names[0]}"
    )
    mask = spec.term_mask(robot, ["joint_pos"])
    assert mask.shape == (spec.obs_dim(robot),) and mask.sum() == 3 * robot.num_joints
    assert FeatureSpec().frame_dim(robot) == 29  # WildRobot: 9 + 9 + 3 + 3 + 1 + 4
    with pytest.raises(ValueError):
        FeatureSpec(terms=("joint_pos", "foot_pressure"))


def test_version_names_every_parameter(robot):
    base = FeatureSpec()
    assert base.version(robot) == FeatureSpec().version(robot) == FeatureSpec.from_dict(base.to_dict()).version(robot)
    variants = [
        base.drop("foot_contacts"),
        FeatureSpec(root_lin_vel_mode="raw"),
        FeatureSpec(lin_vel_zero_threshold=0.2),
        FeatureSpec(contact_height=0.03),
        FeatureSpec(contact_speed=0.5),
        FeatureSpec(history=3),
    ]
    tags = {v.version(robot) for v in variants} | {base.version(robot), base.version(load_robot("unitree_g1_23dof"))}
    assert len(tags) == len(variants) + 2


def test_stack_history_repeats_a_clips_first_frame_like_the_dataset():
    frames = torch.arange(10, dtype=torch.float64)[:, None] * torch.tensor([[1.0, 10.0]])
    start = torch.zeros(10, dtype=torch.bool)
    start[[0, 4]] = True
    obs = stack_history(frames, 3, start)
    assert obs[0].tolist() == [0, 0, 0, 0, 0, 0]
    assert obs[5].tolist() == [4, 40, 4, 40, 5, 50]  # does not reach back into the previous clip
    assert obs[9].tolist() == [7, 70, 8, 80, 9, 90]


def test_dataset_history_matches_stack_history(robot):
    walk = synthetic_walk(robot, 1.0, 50.0)
    ds = build_dataset(
        [
            walk,
            walk.__class__("b", 50.0, walk.root_pos[:20], walk.root_quat[:20], walk.joint_names, walk.joint_pos[:20]),
        ],
        robot,
        FeatureSpec(history=4),
    )
    ref = stack_history(torch.as_tensor(ds.features), 4, torch.as_tensor(ds.clip_start)).numpy()
    np.testing.assert_array_equal(ds.amp_observations(4), ref)


def test_stack_history_numpy_and_torch_agree_and_full_mask():
    frames = np.arange(20, dtype=np.float64).reshape(10, 2)
    start = np.zeros(10, dtype=bool)
    start[[0, 4]] = True
    np.testing.assert_array_equal(
        stack_history(frames, 3, start), stack_history(torch.as_tensor(frames), 3, start).numpy()
    )
    _, full = history_index(start, 10, 3)
    assert full.tolist() == [False, False, True, True, False, False, True, True, True, True]


def test_feature_version_is_compared_by_field_and_round_trips_through_the_header(robot):
    base = FeatureVersion.of(FeatureSpec(), robot)
    assert base.tag == FeatureSpec().version(robot)
    assert base.conflicts(base.with_history(4)) == []  # the history is the env's choice
    assert base.conflicts(FeatureVersion.of(FeatureSpec(root_lin_vel_mode="clip"), robot)) == [
        "feature_spec.root_lin_vel_mode: 'direction' != 'clip'"
    ]
    header = base.header() | {"contact_point_names": np.array(robot.contact_point_names)}
    assert FeatureVersion.from_header(header) == base
    legacy = {k: v for k, v in header.items() if k != "feature_format"}  # datasets before feature_format: format 1
    assert FeatureVersion.from_header(legacy) == base
    with pytest.raises(InputError, match="does not match"):
        FeatureVersion.from_header(header | {"feature_version": np.array("amp1-old")}, file="x.npz")
    with pytest.raises(InputError, match="feature_spec"):
        FeatureVersion.from_header({k: v for k, v in header.items() if k != "feature_spec"}, file="x.npz")


def test_misspelled_feature_spec_key_names_the_closest_valid_key():
    with pytest.raises(InputError, match="did you mean 'env.amp.feature_spec.lin_vel_zero_threshold'"):
        FeatureSpec.from_dict({"lin_vel_zero_treshold": 0.2}, path="env.amp.feature_spec")
    with pytest.raises(InputError, match="feature_spec.history"):
        FeatureSpec.from_dict({"history": "3"})
    assert FeatureSpec.from_dict({"terms": ["joint_vel", "joint_pos"]}).terms == ("joint_pos", "joint_vel")


def test_contact_rule_near_ground_and_in_contact():
    rule = ContactRule(height=0.025, speed=0.3)
    pos = torch.tensor([[[0, 0, 0.01], [0, 0, 0.01], [0, 0, 0.05], [0, 0, 0.01]]], dtype=torch.float64)
    vel = torch.tensor([[[0.1, 0, 0], [0.5, 0, 0], [0, 0, 0], [0, 0.0, 2.0]]], dtype=torch.float64)
    assert rule.near_ground(pos).tolist() == [[True, True, False, True]]
    assert rule.point_contacts(pos, vel).tolist() == [[True, False, False, True]]
    assert rule.foot_contacts(pos, vel).tolist() == [[True, True]]
    assert FeatureSpec(contact_height=0.03).contact_rule == ContactRule(0.03, 0.3)
