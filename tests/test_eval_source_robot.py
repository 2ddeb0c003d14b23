"""Source-robot inference (robots/infer.py): the target's own width, then the robot on the same MJCF, then the only
robot with that width; anything else refused listing the candidates."""

from __future__ import annotations

import numpy as np
import pytest

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.robots.infer import infer_source_robot


def test_a_29_column_g1_pickle_for_the_23dof_g1_is_the_29dof_g1():
    g1_23, g1_29 = load_robot("unitree_g1_23dof"), load_robot("unitree_g1_29dof")
    source, why = infer_source_robot(29, g1_23)
    assert source.name == g1_29.name and "MJCF" in why
    assert infer_source_robot(23, g1_23)[0].name == g1_23.name


def test_the_only_robot_with_that_width():
    wild = load_robot("wildrobot")
    source, why = infer_source_robot(wild.num_joints, load_robot("unitree_g1_23dof"))
    assert source.name == "wildrobot" and "only robot" in why


def test_no_robot_with_that_width_is_refused_in_one_line():
    with pytest.raises(InputError, match=r"57 joint columns match no known robot.*--source-robot") as err:
        infer_source_robot(57, load_robot("wildrobot"), "walk.pkl")
    assert "\n" not in str(err.value) and "walk.pkl" in str(err.value)


def test_the_viewer_shows_a_robot_and_its_reduced_variant_side_by_side(tmp_path, capsys):
    """A 29-column G1 pickle on the 23-DoF G1 and a 23-column one on the 29-DoF G1: both inferred and played; the
    joints the 23-DoF motion lacks are held at the 29-DoF G1's default pose."""
    from wildrobot_amp_ext.motion.synthetic import synthetic_walk, write_gmr_pickle
    from wildrobot_amp_ext.viewing.sources import load_motion_set

    g1_23, g1_29 = load_robot("unitree_g1_23dof"), load_robot("unitree_g1_29dof")
    walk29 = synthetic_walk(g1_29, duration=0.6, fps=30.0, name="walk29")
    walk23 = synthetic_walk(g1_23, duration=0.6, fps=30.0, name="walk23")
    on_23 = load_motion_set(write_gmr_pickle(walk29, tmp_path / "walk29.pkl"), g1_23).clips[0]
    cols = [g1_29.joint_names.index(n) for n in g1_23.joint_names]
    np.testing.assert_allclose(on_23.joint_pos, walk29.joint_pos[:, cols])
    on_29 = load_motion_set(write_gmr_pickle(walk23, tmp_path / "walk23.pkl"), g1_29).clips[0]
    held = [j for j, n in enumerate(g1_29.joint_names) if n not in g1_23.joint_names]
    assert len(held) == 6 and on_29.joint_pos.shape[1] == 29
    np.testing.assert_allclose(on_29.joint_pos[:, held], np.tile(g1_29.default_joint_pos[held], (walk23.num_frames, 1)))
    out = capsys.readouterr().out
    assert "source robot unitree_g1_29dof" in out and "source robot unitree_g1_23dof" in out
