"""The mujoco-cpu contact output (isaaclab/mujoco_contacts.py): MuJoCo C contacts of every world laid out as Newton's
``Contacts`` (shapes per world, points in body frames, normal from shape 0 to shape 1, force on shape 0 in the world
frame). A box resting on a plane in two worlds, the second turned by 30 degrees, checked against geometry and
statics (the four contact forces on the plane add up to the box's weight, downwards)."""

from __future__ import annotations

from types import SimpleNamespace

import mujoco
import numpy as np
import pytest

from wildrobot_amp_ext.isaaclab.mujoco_contacts import fill_newton_contacts

HALF = 0.1  # box half-size, m
MASS = 2.0  # kg
XML = f"""
<mujoco>
  <option timestep="0.002"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1"/>
    <body name="box" pos="0 0 {HALF}">
      <freejoint/>
      <geom type="box" size="{HALF} {HALF} {HALF}" mass="{MASS}"/>
    </body>
  </worldbody>
</mujoco>
"""


class _Buffer:
    """What the fill reads and writes of a Newton contact array: ``numpy()`` (a view) and ``assign``."""

    def __init__(self, shape, dtype):
        self.array = np.zeros(shape, dtype)

    def numpy(self) -> np.ndarray:
        return self.array

    def assign(self, values) -> None:
        self.array[...] = values


def _contacts(capacity: int) -> SimpleNamespace:
    return SimpleNamespace(
        rigid_contact_max=capacity,
        rigid_contact_count=_Buffer(1, np.int32),
        rigid_contact_shape0=_Buffer(capacity, np.int32),
        rigid_contact_shape1=_Buffer(capacity, np.int32),
        rigid_contact_point0=_Buffer((capacity, 3), np.float32),
        rigid_contact_point1=_Buffer((capacity, 3), np.float32),
        rigid_contact_normal=_Buffer((capacity, 3), np.float32),
        force=_Buffer((capacity, 6), np.float32),
    )


@pytest.fixture(scope="module")
def resting_boxes():
    model = mujoco.MjModel.from_xml_string(XML)
    worlds = []
    for x, yaw in ((0.0, 0.0), (0.5, np.radians(30.0))):
        d = mujoco.MjData(model)
        d.qpos[:3] = (x, 0.0, HALF)
        d.qpos[3:7] = (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
        for _ in range(300):  # settle onto the plane
            mujoco.mj_step(model, d)
        mujoco.mj_forward(model, d)  # contacts of the settled state
        assert d.ncon == 4
        worlds.append(d)
    return model, worlds


def test_contacts_of_every_world_in_newton_layout(resting_boxes):
    model, worlds = resting_boxes
    geom_to_shape = np.array([[10, 11], [20, 21]])  # (world, geom) -> Newton shape
    contacts = _contacts(16)
    fill_newton_contacts(contacts, worlds, model, geom_to_shape, model.geom_bodyid)
    assert int(contacts.rigid_contact_count.array[0]) == 8
    assert contacts.n_contacts is contacts.rigid_contact_count
    shape0, shape1 = contacts.rigid_contact_shape0.array, contacts.rigid_contact_shape1.array
    np.testing.assert_array_equal(shape0[:8], [10] * 4 + [20] * 4)  # the floor, world by world
    np.testing.assert_array_equal(shape1[:8], [11] * 4 + [21] * 4)  # the box
    np.testing.assert_array_equal(shape0[8:], 0)  # nothing written past the count
    np.testing.assert_allclose(contacts.rigid_contact_normal.array[:8], np.tile([0.0, 0.0, 1.0], (8, 1)), atol=1e-5)
    # on the box: its bottom corners in its own frame, whichever way the box is turned
    box_points = contacts.rigid_contact_point1.array[:8]
    np.testing.assert_allclose(np.abs(box_points), HALF, atol=2e-3)
    assert np.all(box_points[:, 2] < 0)
    # on the floor (the world body): world coordinates, around each box's centre
    floor_points = contacts.rigid_contact_point0.array[:8]
    np.testing.assert_allclose(floor_points[:, 2], 0.0, atol=2e-3)
    for w, x in enumerate((0.0, 0.5)):
        np.testing.assert_allclose(floor_points[4 * w : 4 * w + 4, :2].mean(axis=0), (x, 0.0), atol=2e-3)
    yawed = floor_points[4:8, :2] - (0.5, 0.0)
    angles = np.sort(np.degrees(np.arctan2(yawed[:, 1], yawed[:, 0])) % 90.0)
    np.testing.assert_allclose(angles, 75.0, atol=0.5)  # corners at 45 deg + 30 deg of turn
    # the force on the floor: the box's weight, downwards
    force = contacts.force.array[:8]
    for w in range(2):
        total = force[4 * w : 4 * w + 4, :3].sum(axis=0)
        np.testing.assert_allclose(total, (0.0, 0.0, -MASS * 9.81), atol=0.02 * MASS * 9.81)


def test_more_contacts_than_newton_holds_is_refused(resting_boxes):
    model, worlds = resting_boxes
    with pytest.raises(ValueError, match="rigid_contact_max=6"):
        fill_newton_contacts(_contacts(6), worlds, model, np.zeros((2, 2), np.int64), model.geom_bodyid)
