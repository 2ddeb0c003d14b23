"""AMP features: one specification (:class:`FeatureSpec`), one function (:func:`compute_amp_features`), one contact
rule (:class:`ContactRule`), one history stacker (:func:`stack_history`) and one version (:class:`FeatureVersion`)."""

from wildrobot_amp_ext.features.compute import (
    KinematicState,
    compute_amp_features,
    contact_labels,
    encode_lin_vel,
    heading_yaw,
    rotate_into_heading,
)
from wildrobot_amp_ext.features.contact import CONTACT_HEIGHT, CONTACT_SPEED, POINTS_PER_FOOT, ContactRule, per_foot
from wildrobot_amp_ext.features.history import history_index, stack_history
from wildrobot_amp_ext.features.spec import (
    ALL_TERMS,
    DEFAULT_TERMS,
    FEATURE_FORMAT,
    STAGE0_TERMS,
    FeatureSpec,
    FeatureVersion,
)

__all__ = [
    "ALL_TERMS",
    "CONTACT_HEIGHT",
    "CONTACT_SPEED",
    "DEFAULT_TERMS",
    "FEATURE_FORMAT",
    "POINTS_PER_FOOT",
    "STAGE0_TERMS",
    "ContactRule",
    "FeatureSpec",
    "FeatureVersion",
    "KinematicState",
    "compute_amp_features",
    "contact_labels",
    "encode_lin_vel",
    "heading_yaw",
    "history_index",
    "per_foot",
    "rotate_into_heading",
    "stack_history",
]
