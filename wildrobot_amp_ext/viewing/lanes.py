"""The look of the motion viewer's lanes, shared by its video frames (:mod:`.viewer`) and its browser page
(:mod:`.web`): lane colours and the name prefix under which each robot copy is attached to the scene."""

from __future__ import annotations

Rgba = tuple[float, float, float, float]

#: lane colours (label, floor disc): colour-blind friendly (Okabe-Ito)
LANE_COLOURS: tuple[Rgba, ...] = (
    (0.00, 0.45, 0.70, 1.0),
    (0.90, 0.62, 0.00, 1.0),
    (0.00, 0.62, 0.45, 1.0),
    (0.80, 0.47, 0.65, 1.0),
    (0.34, 0.71, 0.91, 1.0),
    (0.84, 0.37, 0.00, 1.0),
    (0.94, 0.89, 0.26, 1.0),
    (0.50, 0.50, 0.50, 1.0),
)


def lane_colour(k: int) -> Rgba:
    return LANE_COLOURS[k % len(LANE_COLOURS)]


def lane_prefix(k: int) -> str:
    """Name prefix of lane ``k``'s robot copy (bodies, joints, geoms) in the scene model."""
    return f"lane{k}/"
