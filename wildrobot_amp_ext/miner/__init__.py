"""Tier 0+ miner: physics-validated reference segments from kinematic motions.

Pipeline per (clip, variant): :func:`generation.build_track` (resample to the control rate, time warp, mirror,
heading, loop with blends through the neutral pose) -> :meth:`rollout.TrackingSim.rollout` from multi-start
reference states (PD position actuators, capped low-passed stabiliser harness on the root, qpos written only at the
initial state; per-frame foot normal forces, slip at the centre of pressure, harness |F|/mg and saturation, actuator
saturation) -> :mod:`windows` (vectorised window statistics, gates, seed score, merge/centre dedupe, one claim per
reference frame across overlapping rollouts) -> simulated raw states of the kept segments.

API::

    MinerConfig(tracking=TrackingConfig(...), mpc=MpcConfig(...), generation=GenerationConfig(...),
                gates=GateConfig(...), windows=WindowConfig(...)); MinerConfig.for_tracker("pd")
    mine_variant(clip, robot, Variant(time_warp, mirror, heading_deg), cfg) -> VariantResult
    plan_jobs(clips, robot, cfg) -> (jobs, skipped)
    run_jobs(jobs, robot, cfg, workers=, cache_dir=) -> (results, cached)
    build_tier0_dataset(clips, clip_of_result, results, robot, spec, cfg) -> (ReferenceDataset, segments)
    save_tier0_dataset(path, ds, segments, cfg); write_report(report_dir, clips, results_per_clip, skipped, cfg)

Command line: ``python -m wildrobot_amp_ext.mine --robot <robot> --input <gmr dir> --output tier0.npz``.
"""

from wildrobot_amp_ext.utils.lazy import lazy_exports

# the names load their module on first use (utils.lazy): the config (and so `wildrobot-mine --help`) imports alone
_EXPORTS = {
    "config": ("GateConfig", "GenerationConfig", "MinerConfig", "MpcConfig", "TrackingConfig", "WindowConfig"),
    "generation": ("ReferenceTrack", "Variant", "build_track", "mirror_clip"),
    "pipeline": ("SegmentInfo", "VariantResult", "mine_variant"),
    "rollout": ("Harness", "RolloutRecord", "TrackingSim"),
    "windows": ("GATES",),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
