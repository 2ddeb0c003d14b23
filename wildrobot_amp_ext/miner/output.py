"""The Tier 0+ dataset: the converter's ``.npz`` schema (so training loads it like a converted dataset) plus the
miner's keys (segment scores, gate signals, provenance).

Rows are the simulated frames of the accepted segments; each segment is one clip/segment block of the schema:
``motion_id`` = source clip, ``segment_id`` = segment index within that clip (all variants), ``segment_scores`` one
per segment. Extra keys: ``per_segment_metrics`` (S,) JSON strings (every window metric over the segment, its score
and ``strict_harness``), ``segment_variant`` (S,) str, ``segment_strict_harness`` (S,) bool (harness p95 within the
stricter 0.10 mg tier), ``segment_ref_start`` / ``segment_rollout_start`` (S,) int, ``segment_clip_time`` (S,) float,
``segment_blend_fraction`` (S,) float, ``miner_config`` JSON. Velocities are the simulator's instantaneous ones
(``meta["velocities"]``), not finite differences.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.dataset.convert import features_from_states, round_states
from wildrobot_amp_ext.dataset.schema import ReferenceDataset, dataset_arrays
from wildrobot_amp_ext.features import FeatureSpec
from wildrobot_amp_ext.miner.config import MinerConfig
from wildrobot_amp_ext.miner.pipeline import SegmentInfo, VariantResult
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.motion.state import ClipStates
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.utils.atomic import save_npz_atomic

MINER_SCHEMA = "wildrobot_tier0plus_v1"


def build_tier0_dataset(
    clips: Sequence[MotionClip],
    clip_of_result: Sequence[int],
    results: Sequence[VariantResult],
    robot: RobotSpec,
    spec: FeatureSpec,
    cfg: MinerConfig,
    meta: dict | None = None,
) -> tuple[ReferenceDataset, list[SegmentInfo]]:
    """Concatenate the accepted segments of every result (clip order, then variant order)."""
    state_parts: list[ClipStates] = []
    motion_ids, segment_ids, clip_names, sources, source_fps, scores = [], [], [], [], [], []
    segments: list[SegmentInfo] = []
    per_clip_count: dict[int, int] = {}
    order = sorted(range(len(results)), key=lambda k: (clip_of_result[k], k))
    for k in order:
        res, ci = results[k], clip_of_result[k]
        row = 0
        for seg in res.segments:
            sid = per_clip_count.get(ci, 0)
            per_clip_count[ci] = sid + 1
            sl = slice(row, row + seg.num_frames)
            row += seg.num_frames
            state_parts.append(ClipStates(**{n: v[sl] for n, v in res.states.as_dict().items()}))
            motion_ids.append(ci)
            segment_ids.append(sid)
            clip_names.append(f"{clips[ci].name}/{seg.variant}/seg{sid}")
            sources.append(clips[ci].source or clips[ci].name)
            source_fps.append(float(clips[ci].fps))
            scores.append(seg.score)
            segments.append(seg)

    if state_parts:
        states = round_states(ClipStates.concatenate(state_parts))
        lengths = np.array([p.num_frames for p in state_parts])
    else:
        j, p = robot.num_joints, len(robot.contact_point_names)
        z = lambda *shape: np.zeros((0, *shape))  # noqa: E731
        states = ClipStates(z(3), z(4), z(3), z(3), z(j), z(j), z(p, 3), z(p, 3))
        lengths = np.zeros(0, np.int64)
    features = features_from_states(states, robot, spec) if states.num_frames else np.zeros((0, spec.frame_dim(robot)))
    clip_start = np.zeros(states.num_frames, dtype=bool)
    if len(lengths):
        clip_start[np.r_[0, np.cumsum(lengths)[:-1]]] = True
    ds = ReferenceDataset(
        robot=robot.name,
        joint_names=tuple(robot.joint_names),
        contact_point_names=tuple(robot.contact_point_names),
        fps=float(cfg.tracking.control_hz),
        feature_spec=spec,
        feature_version=spec.version(robot),
        column_names=tuple(spec.column_names(robot)),
        features=features,
        states=states,
        motion_id=np.repeat(np.asarray(motion_ids, np.int64), lengths),
        segment_id=np.repeat(np.asarray(segment_ids, np.int64), lengths),
        clip_start=clip_start,
        motion_names=tuple(c.name for c in clips),
        clip_names=tuple(clip_names),
        clip_sources=tuple(sources),
        clip_source_fps=np.asarray(source_fps, np.float64),
        segment_scores=np.asarray(scores, np.float64),
        meta={
            "producer": "wildrobot_amp_ext.mine",
            "miner_schema": MINER_SCHEMA,
            "velocities": "instantaneous simulator velocities (MuJoCo qvel, root angular rate rotated to world; "
            "contact-point site velocities), not finite differences",
            **(meta or {}),
        },
    )
    return ds, segments


def save_tier0_dataset(
    path: str | Path, ds: ReferenceDataset, segments: Sequence[SegmentInfo], cfg: MinerConfig
) -> Path:
    arrays = dataset_arrays(ds)
    strings = lambda values: np.array(values, dtype=np.str_) if len(values) else np.zeros(0, dtype="<U1")  # noqa: E731
    arrays |= {
        "miner_schema": np.array(MINER_SCHEMA),
        "per_segment_metrics": strings(
            [
                json.dumps({**s.metrics, "score": s.score, "strict_harness": s.strict_harness}, sort_keys=True)
                for s in segments
            ]
        ),
        "segment_strict_harness": np.array([s.strict_harness for s in segments], bool),
        "segment_variant": strings([s.variant for s in segments]),
        "segment_ref_start": np.array([s.ref_start for s in segments], np.int64),
        "segment_rollout_start": np.array([s.rollout_start for s in segments], np.int64),
        "segment_clip_time": np.array([s.clip_time_start for s in segments], np.float64),
        "segment_blend_fraction": np.array([s.blend_fraction for s in segments], np.float64),
        "miner_config": np.array(json.dumps(cfg.to_dict(), sort_keys=True)),
    }
    path = Path(path)
    save_npz_atomic(path, compressed=True, **arrays)
    return path
