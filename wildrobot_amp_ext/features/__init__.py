"""AMP features: one specification (:class:`FeatureSpec`) and one function (:func:`compute_amp_features`)."""

from wildrobot_amp_ext.features.compute import (
    KinematicState,
    compute_amp_features,
    contact_labels,
    encode_lin_vel,
    heading_yaw,
    rotate_into_heading,
    stack_history,
)
from wildrobot_amp_ext.features.spec import ALL_TERMS, DEFAULT_TERMS, FEATURE_FORMAT, STAGE0_TERMS, FeatureSpec

__all__ = [
    "ALL_TERMS",
    "DEFAULT_TERMS",
    "FEATURE_FORMAT",
    "STAGE0_TERMS",
    "FeatureSpec",
    "KinematicState",
    "compute_amp_features",
    "contact_labels",
    "encode_lin_vel",
    "heading_yaw",
    "rotate_into_heading",
    "stack_history",
]
