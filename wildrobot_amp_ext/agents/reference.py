"""Reference motion sampling for the discriminator: quality-weighted, clip-diverse, on the env device.

The reference ``.npz`` holds per-frame ``features`` (N, F), ``motion_id`` (N,) (ints or strings), optionally
``segment_id`` (N,) (index within the clip), ``segment_scores`` (per segment or per frame), and either ready AMP
observations (``amp_obs`` (N, D), or ``states`` / ``next_states`` (N, D/2) pairs) or enough to build them
from ``features`` by stacking ``history`` consecutive frames of one segment (oldest first, Isaac Lab's order).

Sampling: a segment is drawn with probability ``softmax(score / temperature)``, then a frame uniformly
inside it (without scores: every frame equally likely). Every batch holds at least ``min(min_motion_ids, clips)``
distinct motion ids: a batch that misses this gets its first slots replaced by one draw from each of that many
distinct clips, chosen by their probability mass. The replacement is selected with ``torch.where`` on the device,
so sampling never synchronises with the host.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wildrobot_amp_ext.dataset.schema import open_dataset
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots import load_robot

log = logging.getLogger(__name__)

#: npz keys that may name the per-frame feature columns ("term/detail" or "term")
COLUMN_NAME_KEYS = ("column_names", "feature_names")


@dataclass
class ReferenceTable:
    """Host-side reference data, one row per AMP observation."""

    obs: np.ndarray  # (N, D) float32
    motion_code: np.ndarray  # (N,) int64, 0..C-1
    motion_names: list[str]
    segment: np.ndarray  # (N,) int64, 0..S-1 (global segment index, first-appearance order)
    segment_scores: np.ndarray | None  # (S,) float64
    valid: np.ndarray  # (N,) bool: row may be sampled
    history: int
    layout: dict[str, np.ndarray] | None  # term -> columns of the AMP observation
    feature_version: str | None = None
    source: str | None = None
    fps: float | None = None  # frames per second of the per-frame rows (None: an old file that does not say)

    @property
    def num_motions(self) -> int:
        return len(self.motion_names)

    @property
    def obs_dim(self) -> int:
        return int(self.obs.shape[1])


# ------------------------------------------------------------------------------------------------------------------
# feature layouts
# ------------------------------------------------------------------------------------------------------------------
def layout_from_column_names(names: list[str], history: int = 1) -> dict[str, np.ndarray]:
    """Per-frame column names ``term/detail`` -> term -> AMP-observation columns (all history frames)."""
    frame_dim = len(names)
    terms: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        terms.setdefault(str(name).split("/")[0], []).append(i)
    offsets = np.arange(history) * frame_dim
    return {t: (offsets[:, None] + np.asarray(c)[None, :]).reshape(-1) for t, c in terms.items()}


def layout_from_slices(frame_layout: dict[str, slice], frame_dim: int, history: int = 1) -> dict[str, np.ndarray]:
    """``FeatureSpec.layout(robot)`` (per-frame slices) -> AMP-observation columns."""
    offsets = np.arange(history) * frame_dim
    return {t: (offsets[:, None] + np.arange(s.start, s.stop)[None, :]).reshape(-1) for t, s in frame_layout.items()}


def normalise_layout(layout: dict, obs_dim: int) -> dict[str, np.ndarray]:
    """Accept slices, index lists or boolean masks per term; check they fit ``obs_dim``."""
    out: dict[str, np.ndarray] = {}
    for term, cols in layout.items():
        if isinstance(cols, slice):
            idx = np.arange(obs_dim)[cols]
        else:
            arr = np.asarray(cols.detach().cpu() if isinstance(cols, torch.Tensor) else cols)
            idx = np.flatnonzero(arr) if arr.dtype == bool else arr.astype(np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= obs_dim):
            raise ValueError(f"feature layout term {term!r} indexes columns outside 0..{obs_dim - 1}")
        out[str(term)] = idx
    return out


def _layout_from_npz(data, obs_width: int, path: Path) -> dict[str, np.ndarray] | None:
    """Feature layout from stored column names (per frame or per observation) or a stored FeatureSpec."""
    for key in COLUMN_NAME_KEYS:
        if key in data.files:
            names = [str(n) for n in data[key].tolist()]
            if not names or obs_width % len(names):
                raise InputError(
                    path,
                    key,
                    f"{len(names)} names do not tile the {obs_width}-wide AMP observation",
                    "store one name per feature column",
                )
            return layout_from_column_names(names, obs_width // len(names))
    if "feature_spec" in data.files and "robot" in data.files:
        spec = data.feature_spec
        robot = load_robot(str(data["robot"]))
        frame_dim = spec.frame_dim(robot)
        if obs_width % frame_dim == 0:
            return layout_from_slices(spec.layout(robot), frame_dim, obs_width // frame_dim)
    return None


# ------------------------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------------------------
def _segment_starts(motion_code: np.ndarray, segment_id: np.ndarray | None) -> np.ndarray:
    start = np.ones(len(motion_code), dtype=bool)
    change = motion_code[1:] != motion_code[:-1]
    if segment_id is not None:
        change |= segment_id[1:] != segment_id[:-1]
    start[1:] = change
    return start


def _stack_history(frames: np.ndarray, starts: np.ndarray, history: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows [f_{t-H+1}, ..., f_t] inside each segment; returns (obs, full_history_mask)."""
    n = len(frames)
    idx = np.arange(n)
    first = np.maximum.accumulate(np.where(starts, idx, 0))
    cols = [np.maximum(idx - k, first) for k in range(history - 1, -1, -1)]
    obs = np.concatenate([frames[c] for c in cols], axis=1)
    return obs, (idx - first) >= history - 1


def load_reference_npz(
    path: str | Path,
    *,
    obs_dim: int | None = None,
    history: int | None = None,
    require_full_history: bool = True,
) -> ReferenceTable:
    """Read a reference dataset and build one AMP observation per row (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            path, None, "reference dataset not found", "pass --dataset <file.npz> (convert_dataset output)"
        )
    data = open_dataset(path)  # the dataset's one reader: every member checked before it is used
    files = set(data.files)
    if "features" not in files and "amp_obs" not in files and "states" not in files:
        raise InputError(
            path, "features", "missing (need features, amp_obs or states/next_states)", "rebuild with convert_dataset"
        )
    obs, hist, transition_valid = _ready_rows(data, files, path, obs_dim, history)
    n = next(len(data[k]) for k in ("amp_obs", "states", "features") if k in files)
    motion_code, motion_names, starts = _motions_and_starts(data, files, path, n)
    valid = np.ones(n, dtype=bool)
    if transition_valid is not None:
        if transition_valid.shape != (n,):
            raise InputError(
                path, "transition_valid", f"{transition_valid.shape[0]} flags for {n} frames", "one flag per frame"
            )
        valid &= transition_valid
    if obs is None:
        obs, hist, full = _stacked_features(data, path, starts, obs_dim, hist)
        if require_full_history:
            valid &= full
    _check_rows(obs, obs_dim, path)

    segment = np.cumsum(starts) - 1
    num_segments = int(segment[-1]) + 1 if n else 0
    scores = _segment_scores(data, files, path, segment, num_segments) if "segment_scores" in files else None
    if not valid.any():
        raise InputError(
            path,
            "features",
            f"no segment is at least {hist} frames long",
            "lower env.amp.feature_spec.history or mine longer segments",
        )
    return ReferenceTable(
        obs=obs,
        motion_code=motion_code.astype(np.int64),
        motion_names=motion_names,
        segment=segment.astype(np.int64),
        segment_scores=scores,
        valid=valid,
        history=hist,
        layout=_layout_from_npz(data, obs.shape[1], path),
        feature_version=data.feature_version,
        source=str(path),
        fps=float(data["fps"]) if "fps" in files else None,
    )


def _ready_rows(data, files: set, path: Path, obs_dim: int | None, history: int | None):
    """(obs, history, transition_valid) from ready AMP observations or (s, s') pairs when the env wants two frames;
    obs None when the per-frame ``features`` are to be stacked."""
    pair_width = 2 * data["states"].shape[1] if "states" in files and "next_states" in files else None
    if "amp_obs" in files:
        return np.asarray(data["amp_obs"], np.float32), history or 1, None
    if "states" in files and obs_dim is not None and data["states"].shape[1] == obs_dim:
        return np.asarray(data["states"], np.float32), history or 1, None  # 'states' already are AMP observations
    if pair_width is not None and history in (None, 2) and obs_dim in (None, pair_width):
        obs = np.concatenate([np.asarray(data["states"], np.float32), np.asarray(data["next_states"], np.float32)], 1)
        # the last frame of a clip has no true successor
        valid = np.asarray(data["transition_valid"], bool).reshape(-1) if "transition_valid" in files else None
        return obs, 2, valid
    if "features" not in files:
        raise InputError(
            path,
            "features",
            f"'states' cannot make the env's {obs_dim}-wide AMP observation and there are no per-frame features",
            "rebuild with convert_dataset",
        )
    return None, history, None


def _motions_and_starts(data, files: set, path: Path, n: int):
    """(motion code per row, motion names, segment-start flags)."""
    if "motion_id" in files:
        motion_raw = np.asarray(data["motion_id"]).reshape(-1)
        if motion_raw.shape != (n,):
            raise InputError(path, "motion_id", f"{motion_raw.shape[0]} ids for {n} frames", "one id per frame")
    else:
        motion_raw = np.zeros(n, dtype=np.int64)
    names_arr, motion_code = np.unique(motion_raw, return_inverse=True)
    segment_id = np.asarray(data["segment_id"]).reshape(-1) if "segment_id" in files else None
    if segment_id is not None and segment_id.shape != (n,):
        raise InputError(path, "segment_id", f"{segment_id.shape[0]} ids for {n} frames", "one segment index per frame")
    starts = _segment_starts(motion_code, segment_id)
    if "clip_start" in files:
        starts |= np.asarray(data["clip_start"], bool).reshape(-1)
    return motion_code, [str(m) for m in names_arr.tolist()], starts


def _stacked_features(data, path: Path, starts: np.ndarray, obs_dim: int | None, hist: int | None = None):
    """(obs, history, full-history mask) from the per-frame ``features`` stacked inside each segment."""
    frames = np.asarray(data["features"], np.float32)
    if frames.ndim != 2:
        raise InputError(path, "features", f"shape {frames.shape}, expected (frames, features)", None)
    frame_dim = frames.shape[1]
    if hist is None:
        if obs_dim is not None and obs_dim % frame_dim:
            raise InputError(
                path,
                "features",
                f"{frame_dim}-wide frames cannot tile the env's {obs_dim}-wide AMP observation",
                "rebuild the dataset with the task's FeatureSpec",
            )
        hist = obs_dim // frame_dim if obs_dim is not None else 2
    obs, full = _stack_history(frames, starts, hist)
    return obs, hist, full


def _check_rows(obs: np.ndarray, obs_dim: int | None, path: Path) -> None:
    if obs_dim is not None and obs.shape[1] != obs_dim:
        raise InputError(
            path,
            "features",
            f"AMP observation width {obs.shape[1]} differs from the env's {obs_dim}",
            "rebuild the dataset with the task's FeatureSpec / history",
        )
    bad = ~np.isfinite(obs).all(axis=1)
    if bad.any():
        raise InputError(
            path,
            "features",
            f"{int(bad.sum())} rows hold NaN/Inf (first row {int(np.flatnonzero(bad)[0])})",
            "fix or drop those frames",
        )


def _segment_scores(data, files: set, path: Path, segment: np.ndarray, num_segments: int) -> np.ndarray:
    """One score per segment, from per-segment or per-frame (averaged) ``segment_scores``."""
    raw = np.asarray(data["segment_scores"], np.float64).reshape(-1)
    if raw.shape[0] == len(segment):
        counts = np.maximum(np.bincount(segment, minlength=num_segments), 1)
        scores = np.bincount(segment, weights=raw, minlength=num_segments) / counts
    elif raw.shape[0] == num_segments:
        scores = raw
    else:
        raise InputError(
            path,
            "segment_scores",
            f"{raw.shape[0]} values for {num_segments} segments / {len(segment)} frames",
            "one score per segment (first-appearance order) or per frame",
        )
    if not np.isfinite(scores).all():
        raise InputError(path, "segment_scores", "holds NaN/Inf", None)
    return scores


def check_frame_rate(source: str | Path | None, fps: float | None, env_rate: float) -> None:
    """Refuse reference frames at another rate than the env's steps: the discriminator would compare the
    policy's (s, s') one step_dt apart with reference pairs at another dt, i.e. motion on another time scale."""
    if fps is None:
        log.warning("%s stores no fps: its frame rate cannot be checked against the env's %g Hz", source, env_rate)
        return
    if abs(fps - env_rate) > 1e-3 * env_rate:
        raise InputError(
            source,
            "fps",
            f"reference frames are {fps:g} fps but the env steps at {env_rate:g} Hz (1 / step_dt)",
            f"reconvert with --target-fps {env_rate:g}",
        )


def check_dataset_frame_rate(path: str | Path, env_rate: float) -> None:
    """:func:`check_frame_rate` on a dataset file, read through the dataset's one reader."""
    with open_dataset(path) as data:
        fps = data.fps if "fps" in data.files else None
    check_frame_rate(path, fps, env_rate)


# ------------------------------------------------------------------------------------------------------------------
# sampler
# ------------------------------------------------------------------------------------------------------------------
def row_probabilities(table: ReferenceTable, temperature: float) -> np.ndarray:
    """Sampling probability of every row: softmax over segments, uniform inside a segment, 0 for invalid rows."""
    n = len(table.obs)
    valid_per_segment = np.bincount(
        table.segment, weights=table.valid.astype(np.float64), minlength=int(table.segment.max()) + 1
    )
    if table.segment_scores is None:
        p = table.valid.astype(np.float64)
        return p / p.sum()
    logits = np.where(valid_per_segment > 0, table.segment_scores / temperature, -np.inf)
    seg_p = np.exp(logits - logits[np.isfinite(logits)].max())
    seg_p /= seg_p.sum()
    p = np.zeros(n)
    p[table.valid] = seg_p[table.segment[table.valid]] / valid_per_segment[table.segment[table.valid]]
    return p / p.sum()


class ReferenceMotionSampler:
    """Draws reference AMP observations on ``device``: ``sampler.sample(n) -> Tensor(n, D)``."""

    def __init__(
        self,
        table: ReferenceTable,
        *,
        temperature: float = 1.0,
        min_motion_ids: int = 3,
        device: str | torch.device = "cpu",
        generator: torch.Generator | None = None,
    ) -> None:
        self.table = table
        self.device = torch.device(device)
        self.temperature = temperature
        self.generator = generator
        probs = row_probabilities(table, temperature)
        # rows grouped by clip so one clip's rows form one contiguous run of the CDF
        order = np.argsort(table.motion_code, kind="stable")
        self._order = torch.as_tensor(order, device=self.device)
        self.obs = torch.as_tensor(table.obs[order], device=self.device, dtype=torch.float32)
        self.motion_code = torch.as_tensor(table.motion_code[order], device=self.device)
        p_sorted = probs[order]
        cdf = np.cumsum(p_sorted)
        cdf /= cdf[-1]
        self._cdf = torch.as_tensor(cdf, device=self.device, dtype=torch.float64)
        num_clips = table.num_motions
        clip_mass = np.bincount(table.motion_code[order], weights=p_sorted, minlength=num_clips)
        first_row = np.searchsorted(table.motion_code[order], np.arange(num_clips), side="left")
        end_row = np.searchsorted(table.motion_code[order], np.arange(num_clips), side="right")
        lo = np.where(first_row > 0, cdf[np.maximum(first_row - 1, 0)], 0.0)
        self._clip_mass = torch.as_tensor(clip_mass, device=self.device, dtype=torch.float64)
        self._clip_cdf_lo = torch.as_tensor(lo, device=self.device, dtype=torch.float64)
        self._clip_cdf_hi = torch.as_tensor(lo + clip_mass, device=self.device, dtype=torch.float64)
        self._clip_first = torch.as_tensor(first_row, device=self.device)
        self._clip_last = torch.as_tensor(np.maximum(end_row - 1, 0), device=self.device)
        self.num_sampled_clips = int((clip_mass > 0).sum())
        self.min_motion_ids = min(int(min_motion_ids), self.num_sampled_clips)
        self.probabilities = torch.as_tensor(probs, device=self.device)  # in the table's original row order

    # --- construction --------------------------------------------------------------------------------------------
    @classmethod
    def from_npz(
        cls,
        path: str | Path,
        *,
        obs_dim: int | None = None,
        temperature: float = 1.0,
        min_motion_ids: int = 3,
        history: int | None = None,
        require_full_history: bool = True,
        device: str | torch.device = "cpu",
        frame_rate: float | None = None,
    ) -> ReferenceMotionSampler:
        """``frame_rate``: the env's steps per second; a dataset at another rate is refused."""
        table = load_reference_npz(path, obs_dim=obs_dim, history=history, require_full_history=require_full_history)
        if frame_rate is not None:
            check_frame_rate(table.source, table.fps, frame_rate)
        return cls(table, temperature=temperature, min_motion_ids=min_motion_ids, device=device)

    # --- properties ----------------------------------------------------------------------------------------------
    @property
    def obs_dim(self) -> int:
        return self.table.obs_dim

    @property
    def num_motions(self) -> int:
        return self.table.num_motions

    @property
    def layout(self) -> dict[str, np.ndarray] | None:
        return self.table.layout

    # --- sampling -----------------------------------------------------------------------------------------------
    def _rand(self, n: int) -> torch.Tensor:
        return torch.rand(n, device=self.device, dtype=torch.float64, generator=self.generator)

    def _rows_from_uniform(self, u: torch.Tensor) -> torch.Tensor:
        return torch.searchsorted(self._cdf, u, right=True).clamp_(max=self._cdf.numel() - 1)

    def sample_rows(self, n: int) -> torch.Tensor:
        """Row indices (into the clip-sorted table) of one batch; every batch covers ``min_motion_ids`` clips."""
        rows = self._rows_from_uniform(self._rand(n))
        k = min(self.min_motion_ids, n)
        if k <= 1:
            return rows
        present = torch.zeros(self.num_motions, dtype=torch.bool, device=self.device)
        present[self.motion_code[rows]] = True
        covered = present.sum() >= k
        clips = torch.multinomial(self._clip_mass, k, replacement=False, generator=self.generator)
        lo, hi = self._clip_cdf_lo[clips], self._clip_cdf_hi[clips]
        forced = self._rows_from_uniform(lo + self._rand(k) * (hi - lo))
        forced = torch.maximum(torch.minimum(forced, self._clip_last[clips]), self._clip_first[clips])
        patched = torch.cat([forced, rows[k:]])
        return torch.where(covered, rows, patched)

    def sample_with_ids(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows = self.sample_rows(n)
        return self.obs[rows], self.motion_code[rows]

    def sample(self, n: int) -> torch.Tensor:
        return self.obs[self.sample_rows(n)]

    __call__ = sample

    def original_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Map clip-sorted row indices back to the dataset's row order."""
        return self._order[rows]
