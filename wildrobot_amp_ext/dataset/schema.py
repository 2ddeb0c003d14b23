"""The reference dataset ``.npz``: one row per frame, clips concatenated, features + the raw states behind them.

=========================  ==================  ===============================================================
key                        shape / dtype       meaning
=========================  ==================  ===============================================================
``features``               (N, F) float32      AMP features of each frame (``compute_amp_features``)
``states``                 (N, F) float32      features of frame t  (= ``features``)
``next_states``            (N, F) float32      features of frame t+1 of the same clip/segment; at a
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
    open_dataset(path) -> DatasetFile                # validated member access (layouts other than the full schema)
    validate_dataset(path)                           # every member checked (before an env is built)
    read_feature_version(path) -> str | None         # the stored tag
    read_feature_header(path) -> FeatureVersion | None   # the structured version (features.FeatureVersion)
    export_merged_pkl(path, ds)                     # {'features', 'feature_dim', 'joint_names', ...}
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.features import FEATURE_FORMAT, FeatureSpec, FeatureVersion, stack_history
from wildrobot_amp_ext.motion.state import ClipStates
from wildrobot_amp_ext.utils.atomic import atomic_open, save_npz_atomic
from wildrobot_amp_ext.validation import LIMITS, NpzFile, safe_component
from wildrobot_amp_ext.validation import values as V

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
        """(states, next_states) pairs; a clip's last row pairs the frame with itself."""
        nxt = np.arange(self.num_frames) + self.transition_valid.astype(np.int64)
        return self.features, self.features[nxt]

    def amp_observations(self, history: int) -> np.ndarray:
        """``history`` stacked frames per row (oldest first), repeating a clip's first frame before it."""
        return stack_history(self.features, history, self.clip_start)


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
        "feature_format": np.array(FEATURE_FORMAT, dtype=np.int64),
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


def export_merged_pkl(path: str | Path, ds: ReferenceDataset) -> Path:
    """The merged-pickle layout (features, feature_dim, joint_names, velocity_normalized).

    A plain dict of numpy arrays / builtins, readable by the safe unpickler.
    """
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
# reading: the one reader of the reference .npz (training, RSI, verify, analyze, the viewer and the miner use it)
# ------------------------------------------------------------------------------------------------------------------
REQUIRED_KEYS = (
    "robot",
    "joint_names",
    "fps",
    "feature_version",
    "feature_spec",
    "features",
    "motion_id",
    "clip_start",
    *STATE_KEYS,
)
REBUILD = "rebuild it with convert_dataset (or the miner)"
_FLOAT = "fiu"
#: per-row arrays: key -> (dtype kinds, dimensions, plausible |value| bound or None)
ROW_RULES: dict[str, tuple[str, int, float | None]] = {
    "features": (_FLOAT, 2, 1e6),
    "states": (_FLOAT, 2, 1e6),
    "next_states": (_FLOAT, 2, 1e6),
    "amp_obs": (_FLOAT, 2, 1e6),
    "transition_valid": ("b", 1, None),
    "motion_id": ("iuUS", 1, None),
    "segment_id": ("iu", 1, None),
    "clip_start": ("b", 1, None),
    "frame_index": ("iu", 1, None),
    "root_pos": (_FLOAT, 2, LIMITS.max_position_m),
    "root_quat": (_FLOAT, 2, 2.0),
    "root_lin_vel_w": (_FLOAT, 2, LIMITS.max_velocity),
    "root_ang_vel_w": (_FLOAT, 2, LIMITS.max_velocity),
    "root_lin_vel": (_FLOAT, 2, LIMITS.max_velocity),
    "root_ang_vel": (_FLOAT, 2, LIMITS.max_velocity),
    "joint_pos": (_FLOAT, 2, LIMITS.max_joint_rad),
    "joint_vel": (_FLOAT, 2, LIMITS.max_velocity),
    "contact_pos_w": (_FLOAT, 3, LIMITS.max_position_m),
    "contact_vel_w": (_FLOAT, 3, LIMITS.max_velocity),
}
TEXT_KEYS = ("schema", "robot", "feature_version", "feature_spec", "meta")
JSON_KEYS = ("feature_spec", "meta")
INDEX_KEYS = ("motion_id", "segment_id", "frame_index")
NAME_KEYS = (
    "joint_names",
    "contact_point_names",
    "column_names",
    "feature_names",
    "motion_names",
    "clip_names",
    "clip_sources",
    "source_files",
)


class DatasetFile:
    """A validated view of a reference ``.npz``: each member is checked (dtype, declared shape, rows, finite values,
    plausible magnitudes) before it is returned; ``files`` / ``[key]`` as ``np.load`` for code that reads layouts
    other than :class:`ReferenceDataset` (the AMP sampler accepts ``features``-only and ``states``-only files)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._npz = NpzFile(self.path, fix=REBUILD)
        self.files = self._npz.files
        self._cache: dict[str, np.ndarray] = {}
        self.rows = self._row_count()
        if "fps" in self.files:
            _ = self.fps  # a bool, string, 0 or 1e9 fps is refused when the file is opened
        if "robot" in self.files:
            _ = self.text("robot")  # a robot name becomes a folder / file name (USD cache, --export-mjcf)

    def __enter__(self) -> DatasetFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._npz.close()

    def __contains__(self, key: str) -> bool:
        return key in self.files

    def _row_count(self) -> int:
        counts = {k: self._npz.header(k)[0][:1] for k in ROW_RULES if k in self.files}
        lengths = {k: c[0] if c else None for k, c in counts.items()}
        rows = next(iter(lengths.values()), None)  # ROW_RULES order: features first
        odd = next((k for k, v in lengths.items() if v != rows), None)
        if odd is not None:
            first = next(iter(lengths))
            raise InputError(
                self.path, odd, f"{lengths[odd]} rows where {first} has {rows}", f"one row per frame; {REBUILD}"
            )
        if rows is None and counts:
            raise InputError(self.path, next(iter(counts)), "must hold one row per frame, got a scalar", REBUILD)
        if rows == 0:
            raise InputError(self.path, next(iter(counts)), "holds no frames", "convert or mine at least one clip")
        if rows is not None and rows > LIMITS.max_total_frames:
            raise InputError(
                self.path,
                next(iter(counts)),
                f"{rows} frames exceed the {LIMITS.max_total_frames} limit",
                "split the dataset",
            )
        return rows or 0

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = self._read(key)
        return self._cache[key]

    def _read(self, key: str) -> np.ndarray:
        if key in ROW_RULES:
            kinds, ndim, bound = ROW_RULES[key]
            arr = self._npz.array(key, kinds=kinds, ndim=ndim)
            if arr.dtype.kind == "f":
                V.real_array(self.path, key, arr, bound=bound)
            elif bound is not None:
                V.real_array(self.path, key, arr, bound=bound)
            if key in INDEX_KEYS and arr.dtype.kind == "i" and arr.size and int(arr.min()) < 0:
                # a negative id indexes motion_names from the end: another motion's name, silently
                raise InputError(self.path, key, f"holds negative values ({int(arr.min())})", REBUILD)
            return arr
        if key == "clip_source_fps":
            arr = self._npz.array(key, kinds=_FLOAT, ndim=1)
            out = V.real_array(self.path, key, arr)
            if out.size and float(out.min()) <= 0:
                raise InputError(self.path, key, f"holds a frame rate of {float(out.min()):g} Hz", REBUILD)
            return out
        if key == "fps":
            return np.array(self.fps)
        if key in TEXT_KEYS:
            return np.array(self.text(key))
        if key in NAME_KEYS:
            return np.array(self.strings(key)) if self.strings(key) else np.zeros(0, "<U1")
        if key == "segment_scores":
            arr = self._npz.array(key, kinds=_FLOAT, ndim=1)
            return V.real_array(self.path, key, arr)
        return self._npz.array(key, kinds="biufUS")

    # --- typed accessors -------------------------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        return V.fps(self.path, self._npz.array("fps", kinds="biufc"))

    def text(self, key: str) -> str:
        value = V.string(self.path, key, self._npz.text(key))
        if key == "robot":
            safe_component(self.path, key, value)
        if key in JSON_KEYS:
            try:  # every later json.loads of this text (the FeatureVersion header, meta) then stays a ValueError
                json.loads(value)
            except RecursionError:
                raise InputError(self.path, key, "JSON nested too deeply", REBUILD) from None
            except ValueError:
                pass  # reported as invalid JSON where the member is used
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        return V.names(self.path, key, self._npz.strings(key))

    def json_object(self, key: str) -> dict:
        try:
            value = json.loads(self.text(key))
        except ValueError as err:
            raise InputError(self.path, key, f"is not valid JSON ({err.msg})", REBUILD) from None
        if not isinstance(value, dict):
            raise InputError(self.path, key, f"must be a JSON object, got a {type(value).__name__}", REBUILD)
        return value

    @property
    def feature_spec(self) -> FeatureSpec:
        raw = self.json_object("feature_spec")
        try:
            spec = FeatureSpec.from_dict(raw, file=self.path)
        except (ValueError, TypeError, KeyError) as err:
            raise InputError(self.path, "feature_spec", f"not a valid FeatureSpec ({_line(err)})", REBUILD) from None
        # readers stack `history` frames per row: a history of 10^6 would ask for terabytes
        width = self._npz.header("features")[0][-1] if "features" in self.files and self.rows else 1
        stacked = self.rows * spec.history * max(int(width), 1) * np.dtype(STORAGE_DTYPE).itemsize
        if spec.history > LIMITS.max_history or stacked > LIMITS.max_array_bytes:
            raise InputError(
                self.path,
                "feature_spec.history",
                f"{spec.history} frames per AMP observation (limit {LIMITS.max_history}, {stacked >> 20} MiB stacked)",
                REBUILD,
            )
        return spec

    @property
    def feature_version(self) -> str | None:
        if "feature_version" in self.files:
            return self.text("feature_version")
        if "meta" in self.files:
            try:
                version = json.loads(self.text("meta")).get("feature_version")
            except (ValueError, AttributeError):
                return None
            return version if isinstance(version, str) else None
        return None


def open_dataset(path: str | Path) -> DatasetFile:
    """The reference ``.npz`` as a :class:`DatasetFile` (use as a context manager)."""
    return DatasetFile(path)


def validate_dataset(path: str | Path) -> None:
    """Check every member the project reads (training runs this before it builds an env); one-line InputError."""
    with open_dataset(path) as data:
        if "features" not in data.files and "states" not in data.files:
            raise InputError(
                path,
                "features",
                "missing: this file holds no AMP features (a motion file?)",
                "convert the motion first: wildrobot-convert --input <it> --output <dataset>.npz",
            )
        for key in data.files:
            if key in ROW_RULES or key in ("segment_scores", "clip_source_fps"):
                _ = data[key]
        if "fps" in data.files:
            _ = data.fps
        if "feature_spec" in data.files:
            _ = data.feature_spec
        for key in NAME_KEYS:
            if key in data.files:
                data.strings(key)


def read_feature_header(path: str | Path) -> FeatureVersion | None:
    """The structured feature version the dataset declares (``FeatureVersion.from_header``); None without one."""
    with open_dataset(path) as data:
        return FeatureVersion.from_header(data, file=data.path) if "feature_spec" in data.files else None


def read_feature_version(path: str | Path) -> str | None:
    """The stored feature version (``feature_version``, else ``meta["feature_version"]``), None if absent."""
    with open_dataset(path) as data:
        return data.feature_version


def load_dataset(path: str | Path) -> ReferenceDataset:
    """The whole dataset, validated; a file of an older or foreign layout is refused naming the fix."""
    with open_dataset(path) as data:
        missing = [k for k in REQUIRED_KEYS if k not in data.files]
        if missing:
            raise InputError(
                path, missing[0], f"missing keys {missing}", f"{REBUILD} (this file predates or is not its schema)"
            )
        n = data.rows
        states = ClipStates(**{k: np.asarray(data[k], np.float64) for k in STATE_KEYS})
        clip_start = data["clip_start"].astype(bool)
        if not clip_start[0]:
            raise InputError(path, "clip_start", "the first frame does not start a clip", REBUILD)
        num_clips = int(clip_start.sum())
        clip_names = data.strings("clip_names") if "clip_names" in data.files else ()
        clip_sources = data.strings("clip_sources") if "clip_sources" in data.files else ()
        source_fps = (
            data["clip_source_fps"].astype(np.float64)
            if "clip_source_fps" in data.files
            else np.full(num_clips, np.nan)
        )
        scores = np.asarray(data["segment_scores"], np.float64) if "segment_scores" in data.files else None
        # per-clip metadata that does not match the clip count is dropped here and reported by verify's clip check
        clip_names = clip_names if len(clip_names) == num_clips else ()
        clip_sources = clip_sources if len(clip_sources) == num_clips else ()
        source_fps = source_fps if len(source_fps) == num_clips else np.full(num_clips, np.nan)
        try:
            meta = json.loads(data.text("meta")) if "meta" in data.files else {}
        except ValueError:
            meta = {}
        return ReferenceDataset(
            robot=data.text("robot"),
            joint_names=data.strings("joint_names"),
            contact_point_names=data.strings("contact_point_names") if "contact_point_names" in data.files else (),
            fps=data.fps,
            feature_spec=data.feature_spec,
            feature_version=data.text("feature_version"),
            column_names=data.strings("column_names") if "column_names" in data.files else (),
            features=np.asarray(data["features"]),
            states=states,
            motion_id=data["motion_id"],
            segment_id=data["segment_id"] if "segment_id" in data.files else np.zeros(n, np.int64),
            clip_start=clip_start,
            motion_names=data.strings("motion_names") if "motion_names" in data.files else (),
            clip_names=clip_names or tuple(f"clip{k}" for k in range(num_clips)),
            clip_sources=clip_sources or ("",) * num_clips,
            clip_source_fps=source_fps,
            segment_scores=scores,
            meta=meta if isinstance(meta, dict) else {},
        )


def _line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:160] if text else type(err).__name__
