"""The reference dataset ``.npz``: one row per frame, clips concatenated, features + the raw states behind them.

=========================  ==================  ===============================================================
key                        shape / dtype       meaning
=========================  ==================  ===============================================================
``features``               (N, F) float32      AMP features of each frame (``compute_amp_features``)
``states``                 (N, F) float32      seed 001: features of frame t  (= ``features``)
``next_states``            (N, F) float32      seed 001: features of frame t+1 of the same clip/segment; at a
                                               clip's last frame the frame itself (``transition_valid`` False)
``transition_valid``       (N,) bool           (states[t], next_states[t]) is a real transition
``amp_obs``                (N, H*F) float32    only when history H != 2: H stacked frames, oldest first, a clip's
                                               first frame repeated (Isaac Lab history after a reset)
``motion_id``              (N,) int64          source motion index -> ``motion_names``
``segment_id``             (N,) int64          segment within the motion (0 for whole clips)
``clip_start``             (N,) bool           first frame of each clip/segment
``frame_index``            (N,) int64          frame within its clip/segment
``segment_scores``         (C,) float64        optional, one per clip/segment in order (miner quality score)
``root_pos``               (N, 3) float32      world, m
``root_quat``              (N, 4) float32      world, **wxyz**
``root_lin_vel_w``         (N, 3) float32      world, m/s (central differences); alias ``root_lin_vel``
``root_ang_vel_w``         (N, 3) float32      world, rad/s (central differences); alias ``root_ang_vel``
``joint_pos``              (N, J) float32      absolute, rad, RobotSpec order
``joint_vel``              (N, J) float32      rad/s
``contact_pos_w``          (N, P, 3) float32   contact points (toe, heel per foot), world, from FK
``contact_vel_w``          (N, P, 3) float32   their velocities (central differences)
``robot``                  () str              RobotSpec name
``joint_names``            (J,) str            RobotSpec order
``contact_point_names``    (P,) str
``fps``                    () float64
``feature_version``        () str              ``FeatureSpec.version(robot)``
``feature_spec``           () str              JSON of ``FeatureSpec.to_dict()``
``column_names``           (F,) str            ``term/detail`` per feature column
``motion_names``           (M,) str
``clip_names``             (C,) str            one per clip/segment, in row order
``clip_sources``           (C,) str            source file of each clip
``clip_source_fps``        (C,) float64
``source_files``           (K,) str            unique source files
``schema``                 () str              ``SCHEMA``
``meta``                   () str              JSON: converter settings, dropped joints, created time
=========================  ==================  ===============================================================

The features are computed in float64 from the float32-rounded stored states, so recomputing them from the file
(``verify``) reproduces them exactly. The raw states also serve reference-state initialisation in the env.

API::

    ReferenceDataset                 # dataclass of the arrays above (float64 states in memory)
    save_dataset(path, ds, compressed=True)          # atomic
    load_dataset(path) -> ReferenceDataset           # InputError on a bad file
    export_seed000_pkl(path, ds)                     # {'features', 'feature_dim', 'joint_names', 'velocity_normalized', ...}
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.features import FeatureSpec
from wildrobot_amp_ext.motion.kinematics import ClipStates
from wildrobot_amp_ext.utils.atomic import atomic_open, save_npz_atomic

SCHEMA = "wildrobot_amp_dataset_v1"
STATE_KEYS = tuple(f.name for f in fields(ClipStates))
#: names the env's reference-state-init reader uses for the world-frame root velocities
STATE_ALIASES = {"root_lin_vel": "root_lin_vel_w", "root_ang_vel": "root_ang_vel_w"}
STORAGE_DTYPE = np.float32


@dataclass
class ReferenceDataset:
    robot: str
    joint_names: tuple[str, ...]
    contact_point_names: tuple[str, ...]
    fps: float
    feature_spec: FeatureSpec
    feature_version: str
    column_names: tuple[str, ...]
    features: np.ndarray  # (N, F)
    states: ClipStates  # raw per-frame states (N rows)
    motion_id: np.ndarray  # (N,)
    segment_id: np.ndarray  # (N,)
    clip_start: np.ndarray  # (N,) bool
    motion_names: tuple[str, ...]
    clip_names: tuple[str, ...]
    clip_sources: tuple[str, ...]
    clip_source_fps: np.ndarray  # (C,)
    segment_scores: np.ndarray | None = None  # (C,)
    meta: dict = field(default_factory=dict)

    # --- derived ---------------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])

    @property
    def num_clips(self) -> int:
        return int(self.clip_start.sum())

    @property
    def clip_bounds(self) -> np.ndarray:
        """(C, 2) [start, end) row range of each clip/segment."""
        starts = np.flatnonzero(self.clip_start)
        return np.stack((starts, np.r_[starts[1:], self.num_frames]), axis=1)

    @property
    def frame_index(self) -> np.ndarray:
        idx = np.arange(self.num_frames)
        return idx - np.maximum.accumulate(np.where(self.clip_start, idx, 0))

    @property
    def transition_valid(self) -> np.ndarray:
        return np.r_[~self.clip_start[1:], False] if self.num_frames else np.zeros(0, bool)

    def transitions(self) -> tuple[np.ndarray, np.ndarray]:
        """(states, next_states) as in seed 001; a clip's last row pairs the frame with itself."""
        nxt = np.arange(self.num_frames) + self.transition_valid.astype(np.int64)
        return self.features, self.features[nxt]

    def amp_observations(self, history: int) -> np.ndarray:
        """``history`` stacked frames per row (oldest first), repeating a clip's first frame before it."""
        idx = np.arange(self.num_frames)
        first = np.maximum.accumulate(np.where(self.clip_start, idx, 0))
        return np.concatenate([self.features[np.maximum(idx - k, first)] for k in range(history - 1, -1, -1)], axis=1)


# ------------------------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------------------------
def _strings(values) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=np.str_) if len(values) else np.zeros(0, dtype="<U1")


def dataset_arrays(ds: ReferenceDataset) -> dict[str, np.ndarray]:
    states, next_states = ds.transitions()
    arrays: dict[str, np.ndarray] = {
        "schema": np.array(SCHEMA),
        "robot": np.array(ds.robot),
        "joint_names": _strings(ds.joint_names),
        "contact_point_names": _strings(ds.contact_point_names),
        "fps": np.array(float(ds.fps)),
        "feature_version": np.array(ds.feature_version),
        "feature_spec": np.array(json.dumps(ds.feature_spec.to_dict(), sort_keys=True)),
        "column_names": _strings(ds.column_names),
        "features": ds.features.astype(STORAGE_DTYPE),
        "states": states.astype(STORAGE_DTYPE),
        "next_states": next_states.astype(STORAGE_DTYPE),
        "transition_valid": ds.transition_valid,
        "motion_id": ds.motion_id.astype(np.int64),
        "segment_id": ds.segment_id.astype(np.int64),
        "clip_start": ds.clip_start.astype(bool),
        "frame_index": ds.frame_index.astype(np.int64),
        "motion_names": _strings(ds.motion_names),
        "clip_names": _strings(ds.clip_names),
        "clip_sources": _strings(ds.clip_sources),
        "clip_source_fps": np.asarray(ds.clip_source_fps, np.float64),
        "source_files": _strings(sorted(set(ds.clip_sources))),
        "meta": np.array(json.dumps(ds.meta, sort_keys=True, default=str)),
    }
    if ds.feature_spec.history != 2:
        arrays["amp_obs"] = ds.amp_observations(ds.feature_spec.history).astype(STORAGE_DTYPE)
    for key in STATE_KEYS:
        arrays[key] = getattr(ds.states, key).astype(STORAGE_DTYPE)
    for alias, key in STATE_ALIASES.items():
        arrays[alias] = arrays[key]
    if ds.segment_scores is not None:
        arrays["segment_scores"] = np.asarray(ds.segment_scores, np.float64)
    return arrays


def save_dataset(path: str | Path, ds: ReferenceDataset, compressed: bool = True) -> Path:
    path = Path(path)
    save_npz_atomic(path, compressed=compressed, **dataset_arrays(ds))
    return path


def export_seed000_pkl(path: str | Path, ds: ReferenceDataset) -> Path:
    """Seed 000's merged-pickle layout (plain dict of numpy arrays / builtins; readable by the safe unpickler)."""
    payload = {
        "features": ds.features.astype(np.float32),
        "feature_dim": int(ds.features.shape[1]),
        "joint_names": list(ds.joint_names),
        "velocity_normalized": ds.feature_spec.root_lin_vel_mode == "direction",
        "fps": float(ds.fps),
        "feature_version": ds.feature_version,
        "column_names": list(ds.column_names),
        "motion_id": ds.motion_id.astype(np.int64),
        "robot": ds.robot,
    }
    path = Path(path)
    with atomic_open(path, "wb") as f:
        pickle.dump(payload, f, protocol=4)
    return path


# ------------------------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------------------------
REQUIRED_KEYS = ("robot", "joint_names", "fps", "feature_version", "feature_spec", "features", "motion_id", "clip_start", *STATE_KEYS)


def _names(data, key: str) -> tuple[str, ...]:
    return tuple(str(v) for v in np.asarray(data[key]).reshape(-1).tolist()) if key in data.files else ()


def load_dataset(path: str | Path) -> ReferenceDataset:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "dataset not found", "pass the .npz written by convert_dataset")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise InputError(path, None, f"not a readable .npz ({str(err).splitlines()[0] if str(err) else type(err).__name__})", "rebuild it with convert_dataset") from None
    with data:
        missing = [k for k in REQUIRED_KEYS if k not in data.files]
        if missing:
            raise InputError(path, missing[0], f"missing keys {missing}", "rebuild it with convert_dataset (this file predates or is not its schema)")
        try:
            spec = FeatureSpec.from_dict(json.loads(str(data["feature_spec"])))
        except (ValueError, TypeError) as err:
            raise InputError(path, "feature_spec", f"not a valid FeatureSpec JSON ({err})", "rebuild it with convert_dataset") from None
        n = int(np.asarray(data["features"]).shape[0])
        segment_id = np.asarray(data["segment_id"]) if "segment_id" in data.files else np.zeros(n, np.int64)
        num_clips = int(np.asarray(data["clip_start"]).sum())
        clip_names = _names(data, "clip_names") or tuple(f"clip{k}" for k in range(num_clips))
        states = ClipStates(**{k: np.asarray(data[k], np.float64) for k in STATE_KEYS})
        try:
            meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
        except ValueError:
            meta = {}
        return ReferenceDataset(
            robot=str(data["robot"]),
            joint_names=_names(data, "joint_names"),
            contact_point_names=_names(data, "contact_point_names"),
            fps=float(data["fps"]),
            feature_spec=spec,
            feature_version=str(data["feature_version"]),
            column_names=_names(data, "column_names"),
            features=np.asarray(data["features"]),
            states=states,
            motion_id=np.asarray(data["motion_id"]),
            segment_id=segment_id,
            clip_start=np.asarray(data["clip_start"]).astype(bool),
            motion_names=_names(data, "motion_names"),
            clip_names=clip_names,
            clip_sources=_names(data, "clip_sources") or ("",) * num_clips,
            clip_source_fps=np.asarray(data["clip_source_fps"], np.float64) if "clip_source_fps" in data.files else np.full(num_clips, np.nan),
            segment_scores=np.asarray(data["segment_scores"], np.float64) if "segment_scores" in data.files else None,
            meta=meta,
        )
