"""The one foot-contact rule, used by the AMP features, the task rewards and the evaluation metrics.

Contact is labelled kinematically from the RobotSpec's contact points (toe, heel per foot), never from a contact
sensor, so reference data and the env label it the same way:

* a point is **near the ground** when its world height is below ``height``;
* a point is **in contact** when it is near the ground and its horizontal speed is below ``speed``;
* a foot is in contact when any of its points is.

Stance-foot slip (:func:`stance_slip`, the ``foot_slip`` metric) is not measured with that rule: a slipping point
moves, so the speed gate would hide the slips, and the ``height`` band (2.5 cm) holds a whole low swing (the shipped
WildRobot policy lifts its feet 5-12 mm: in MuJoCo, 70-75 % of its near-ground samples faster than ``SLIP_SPEED``
are on feet carrying no load). A foot is in stance when one of its points *touches* the floor (below
``TOUCH_HEIGHT``), and it slips when even its slowest touching point moves faster than ``SLIP_SPEED``: a foot rolling
over its toe pivots about a still point. This reproduces the miner's physical rule (normal force > 0.1 mg and
centre-of-pressure speed > ``SLIP_SPEED``) from kinematics alone. (The ``feet_slide`` reward still takes the speed
of the near-ground band.) The stance/slip thresholds live here, not in the FeatureSpec: they are no feature.
The thresholds' one home is :class:`~wildrobot_amp_ext.features.FeatureSpec` (``contact_height``,
``contact_speed``), stored with every dataset; the env adopts the dataset's and its rewards read them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: m: default height below which a contact point is near the ground
CONTACT_HEIGHT = 0.025
#: m/s: default horizontal speed below which a near-ground point is in contact
CONTACT_SPEED = 0.3
#: contact points per foot in RobotSpec order (toe, heel)
POINTS_PER_FOOT = 2
#: m: a contact point below this height touches the floor (stance, for slip). MuJoCo's soft contact holds a loaded
#: sole 0.3-3 mm below z = 0; measured on the shipped WildRobot policy in MuJoCo (0.3 / 0.5 m/s, 0.3 m/s turning):
#: no foot carrying > 0.1 mg has its lowest point above 2 mm, and the stance label agrees with "loaded" on 93 % of
#: foot-frames (the 2.5 cm band: 63 %)
TOUCH_HEIGHT = 0.002
#: m/s: a stance foot moving faster than this slips (the miner's slip gate and the evaluation's slip rate)
SLIP_SPEED = 0.10


@dataclass(frozen=True)
class ContactRule:
    height: float = CONTACT_HEIGHT
    speed: float = CONTACT_SPEED

    def near_ground(self, contact_pos_w: torch.Tensor) -> torch.Tensor:
        """(..., P) bool: contact point below ``height``."""
        return contact_pos_w[..., 2] < self.height

    def point_contacts(self, contact_pos_w: torch.Tensor, contact_vel_w: torch.Tensor) -> torch.Tensor:
        """(..., P) bool: near the ground and horizontally slower than ``speed``."""
        import torch  # here: the FeatureSpec that holds this rule imports without torch

        still = torch.linalg.vector_norm(contact_vel_w[..., :2], dim=-1) < self.speed
        return self.near_ground(contact_pos_w) & still

    def foot_contacts(self, contact_pos_w: torch.Tensor, contact_vel_w: torch.Tensor) -> torch.Tensor:
        """(..., F) bool: a foot is in contact when any of its points is."""
        return per_foot(self.point_contacts(contact_pos_w, contact_vel_w)).any(dim=-1)


def per_foot(points: torch.Tensor) -> torch.Tensor:
    """(..., P) -> (..., F, POINTS_PER_FOOT): group a per-point quantity by foot."""
    return points.reshape(*points.shape[:-1], -1, POINTS_PER_FOOT)


def stance_slip(
    contact_pos_w: torch.Tensor, contact_vel_w: torch.Tensor, touch_height: float = TOUCH_HEIGHT
) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., F) bool stance and (..., F) slip speed (m/s, 0 off stance) from the contact points (..., P, 3).

    A foot is in stance when any of its points is below ``touch_height``; its slip speed is the horizontal speed of
    its slowest touching point (the pivot of a rolling foot is still, its rising heel is not slipping)."""
    import torch  # here: the FeatureSpec that holds the contact rule imports without torch

    touching = per_foot(contact_pos_w[..., 2] < touch_height)
    speed = per_foot(torch.linalg.vector_norm(contact_vel_w[..., :2], dim=-1))
    slowest = torch.where(touching, speed, torch.full_like(speed, float("inf"))).amin(dim=-1)
    stance = touching.any(dim=-1)
    return stance, torch.where(stance, slowest, torch.zeros_like(slowest))
