"""AMP features: one specification (:class:`FeatureSpec`), one function (:func:`compute_amp_features`), one contact
rule (:class:`ContactRule`), one history stacker (:func:`stack_history`) and one version (:class:`FeatureVersion`).

The names below load their module on first use (:mod:`wildrobot_amp_ext.utils.lazy`): the specification and its
command-line flags import without torch."""

from wildrobot_amp_ext.utils.lazy import lazy_exports

_EXPORTS = {
    "compute": (
        "KinematicState",
        "compute_amp_features",
        "contact_labels",
        "encode_lin_vel",
        "heading_yaw",
        "rotate_into_heading",
    ),
    "contact": (
        "CONTACT_HEIGHT",
        "CONTACT_SPEED",
        "POINTS_PER_FOOT",
        "SLIP_SPEED",
        "TOUCH_HEIGHT",
        "ContactRule",
        "per_foot",
        "stance_slip",
    ),
    "history": ("history_index", "stack_history"),
    "spec": ("ALL_TERMS", "DEFAULT_TERMS", "FEATURE_FORMAT", "STAGE0_TERMS", "FeatureSpec", "FeatureVersion"),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
