"""Source-robot inference (robots/infer.py): the target's own width, then the robot on the same MJCF, then the only
robot with that width; anything else refused listing the candidates."""

from __future__ import annotations

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
