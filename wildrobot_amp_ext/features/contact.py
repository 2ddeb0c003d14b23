"""The one foot-contact rule, used by the AMP features, the task rewards and the evaluation metrics.

Contact is labelled kinematically from the RobotSpec's contact points (toe, heel per foot), never from a contact
sensor, so reference data and the env label it the same way:

* a point is **near the ground** when its world height is below ``height``;
* a point is **in contact** when it is near the ground and its horizontal speed is below ``speed``;
* a foot is in contact when any of its points is.

Slip measures (the ``feet_slide`` reward, the ``foot_slip`` metric) take the speed of points *near the ground*:
a slipping point moves, so the speed-gated contact label would hide exactly the slips they measure.
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
