"""Mining one (clip, variant): build the reference, run the multi-start rollouts, gate the windows, keep segments.

:func:`mine_variant` is the unit of parallel work and of the result cache. Its :class:`VariantResult` holds the
kept segments' simulated raw states (exact MuJoCo kinematics: root pose and world velocities, joints, contact-point
sites), their metrics and scores, every window's metrics and failed gates, and compact per-rollout traces for the
plots.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.features.contact import ContactRule
from wildrobot_amp_ext.miner.balance import trajectory_foot_contacts
from wildrobot_amp_ext.miner.config import MinerConfig
from wildrobot_amp_ext.miner.generation import ReferenceTrack, Variant, build_track
from wildrobot_amp_ext.miner.rollout import RolloutRecord, TrackingSim
from wildrobot_amp_ext.miner.windows import (
    GATE_BIT,
    METRICS,
    Candidate,
    FrameSignals,
    claim_reference_frames,
    evaluate_gates,
    frame_signals,
    gated_segments,
    score,
    window_starts,
    window_stats,
)
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.motion.kinematics import ClipStates, ForwardKinematics
from wildrobot_amp_ext.robots import RobotSpec, load_robot
from wildrobot_amp_ext.utils.atomic import save_npz_atomic

#: per-frame traces kept for the report plots (float32)
TRACE_KEYS = (
    "load",
    "harness",
    "pitch_deg",
    "roll_deg",
    "harness_saturated",
    "slip",
    "effort",
    "joint_error",
    "target_offset",
)
#: per-frame signals kept for the accepted frames (dataset-level distributions in the report)
KEPT_KEYS = (
    "load",
    "harness",
    "harness_saturated",
    "pitch_deg",
    "roll_deg",
    "loaded",
    "slipping",
    "actuator_saturation",
    "clip_time",
)


@dataclass
class SegmentInfo:
    variant: str
    rollout_start: int  # reference frame where its rollout started
    ref_start: int  # reference frame of its first frame
    num_frames: int
    clip_time_start: float  # time in the source clip of its first frame (-1 inside a blend)
    blend_fraction: float  # fraction of its frames on loop blends
    score: float
    metrics: dict
    strict_harness: bool = False  # harness p95 within the stricter tier (GateConfig.strict_harness_p95)


@dataclass
class VariantResult:
    clip: str
    variant: str
    reference_frames: int
    simulated_frames: int
    rollouts: int
    falls: int
    segments: list[SegmentInfo]
    states: ClipStates  # rows of all kept segments, concatenated in segment order
    windows: dict[str, np.ndarray]  # per window: rollout, start, length, every metric, gate mask, score
    traces: dict[str, np.ndarray]  # per rollout frame (all rollouts concatenated) + rollout/step/ref frame index
    kept: dict[str, np.ndarray]  # KEPT_KEYS signals of the rows of ``states``
    frame_totals: dict[str, float]  # sums over every simulated frame after warm-up (clip-level diagnostics)

    @property
    def accepted_frames(self) -> int:
        return sum(s.num_frames for s in self.segments)

    # --- cache ---------------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        arrays = {f"states/{k}": v for k, v in self.states.as_dict().items()}
        arrays |= {f"windows/{k}": v for k, v in self.windows.items()}
        arrays |= {f"traces/{k}": v for k, v in self.traces.items()}
        arrays |= {f"kept/{k}": v for k, v in self.kept.items()}
        header = {
            "clip": self.clip,
            "variant": self.variant,
            "reference_frames": self.reference_frames,
            "simulated_frames": self.simulated_frames,
            "rollouts": self.rollouts,
            "falls": self.falls,
            "segments": [asdict(s) for s in self.segments],
            "frame_totals": self.frame_totals,
        }
        save_npz_atomic(path, compressed=True, header=np.array(json.dumps(header)), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> VariantResult:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            group = lambda prefix: {k[len(prefix) :]: np.asarray(data[k]) for k in data.files if k.startswith(prefix)}  # noqa: E731
            states = ClipStates(**group("states/"))
            windows, traces, kept = group("windows/"), group("traces/"), group("kept/")
        return cls(
            clip=header["clip"],
            variant=header["variant"],
            reference_frames=header["reference_frames"],
            simulated_frames=header["simulated_frames"],
            rollouts=header["rollouts"],
            falls=header["falls"],
            segments=[SegmentInfo(**s) for s in header["segments"]],
            states=states,
            windows=windows,
            traces=traces,
            kept=kept,
            frame_totals=header["frame_totals"],
        )


# ------------------------------------------------------------------------------------------------------------------
# per-process simulator cache
# ------------------------------------------------------------------------------------------------------------------
_SIMS: dict[str, TrackingSim] = {}


def get_sim(robot: RobotSpec | str, cfg: MinerConfig) -> TrackingSim:
    robot = load_robot(robot) if isinstance(robot, str) else robot
    models = [asdict(cfg.tracking), asdict(cfg.mpc), asdict(cfg.balance)]  # what a TrackingSim is built from
    key = f"{robot.yaml_path}|{json.dumps(models, sort_keys=True)}"
    if key not in _SIMS:
        _SIMS.clear()  # one model per worker is enough
        _SIMS[key] = TrackingSim(robot, cfg.tracking, cfg.mpc, cfg.balance)
    return _SIMS[key]


def _segment_states(sim: TrackingSim, qpos: np.ndarray, qvel: np.ndarray) -> ClipStates:
    """Raw states of simulated frames: root pose, world velocities (MuJoCo's free-joint angular rate is in the
    body frame), joints in RobotSpec order, contact-point sites."""
    quat = qpos[:, 3:7]
    site_pos, site_vel = sim.site_kinematics(qpos, qvel)
    return ClipStates(
        root_pos=qpos[:, :3].copy(),
        root_quat=quat.copy(),
        root_lin_vel_w=qvel[:, :3].copy(),
        root_ang_vel_w=Q.rotate(quat, qvel[:, 3:6]),
        joint_pos=qpos[:, sim.qadr],
        joint_vel=qvel[:, sim.dadr],
        contact_pos_w=site_pos,
        contact_vel_w=site_vel,
    )


def _empty_states(sim: TrackingSim) -> ClipStates:
    j, p = sim.robot.num_joints, sim.sites.size
    z = lambda *shape: np.zeros((0, *shape))  # noqa: E731
    return ClipStates(z(3), z(4), z(3), z(3), z(j), z(j), z(p, 3), z(p, 3))


def reference_contacts(sim: TrackingSim, track: ReferenceTrack) -> np.ndarray:
    """(T, F) the reference's foot contacts: the one contact rule on its contact points (forward kinematics)."""
    sites = ForwardKinematics(sim.robot, model=sim.model).site_positions(
        track.root_pos, track.root_quat, track.joint_pos
    )
    return trajectory_foot_contacts(sites, track.dt, ContactRule())


#: sums over every simulated frame after warm-up (VariantResult.frame_totals)
FRAME_TOTAL_KEYS = (
    "frames",
    "load",
    "harness",
    "harness_saturated",
    "unloaded",
    "actuator_saturation",
    "loaded_foot_frames",
    "slipping_foot_frames",
    "single_stance",
)
#: trace columns that index frames (int64; the TRACE_KEYS signals are float32)
_INDEX_KEYS = ("rollout", "step", "ref_frame")


def mine_track(sim: TrackingSim, track: ReferenceTrack, cfg: MinerConfig, clip_name: str) -> VariantResult:
    gen, gates = cfg.generation, cfg.gates
    ref_z = track.body_z_axis
    ref_contacts = reference_contacts(sim, track)
    records, signals = [], []
    window_parts: dict[str, list[np.ndarray]] = {}
    candidates: list[Candidate] = []
    totals = dict.fromkeys(FRAME_TOTAL_KEYS, 0.0)
    trace_parts: dict[str, list[np.ndarray]] = {k: [] for k in (*TRACE_KEYS, *_INDEX_KEYS)}
    lookahead = int(round(gates.fall_lookahead_s / cfg.tracking.control_dt))
    for r, start in enumerate(_rollout_starts(track, cfg)):
        # free physics past the last window this rollout vouches for: a fall right after a window rejects it
        rec = sim.rollout(track, start, gen.rollout_frames + lookahead, ref_z_axis=ref_z, seed=gen.seed)
        sig = frame_signals(rec, track, sim.qadr, sim.standing_height, gates, cfg.tracking.control_dt, ref_contacts)
        records.append(rec)
        signals.append(sig)
        _add_frame_totals(totals, sig, rec.num_frames, cfg)
        for key, values in _rollout_traces(rec, sig, r, start).items():
            trace_parts[key].append(values)
        judged = _judge_windows(sim, sig, rec.num_frames, r, start, cfg)
        if judged is None:
            continue
        per_window, found = judged
        for key, values in per_window.items():
            window_parts.setdefault(key, []).append(values)
        candidates.extend(found)

    segments, states, kept = _keep_segments(sim, track, cfg, records, signals, candidates)
    windows = (
        {k: np.concatenate(v) for k, v in window_parts.items()} if window_parts else {"rollout": np.zeros(0, np.int64)}
    )
    traces = {k: np.concatenate(v) if v else np.zeros(0) for k, v in trace_parts.items()}
    return VariantResult(
        clip=clip_name,
        variant=track.variant.tag,
        reference_frames=track.num_frames,
        simulated_frames=int(sum(r.num_frames for r in records)),
        rollouts=len(records),
        falls=int(sum(r.fell for r in records)),
        segments=segments,
        states=states,
        windows=windows,
        traces=traces,
        kept=kept,
        frame_totals=totals,
    )


def _rollout_starts(track: ReferenceTrack, cfg: MinerConfig) -> list[int]:
    """Reference frames the multi-start rollouts begin at: every ``multi_start_interval`` frames while a rollout
    from there can still cover warm-up plus one minimum segment."""
    gen = cfg.generation
    last = track.num_frames - cfg.windows.min_segment - gen.warmup_frames + 1
    return list(range(0, max(1, last), max(1, gen.multi_start_interval)))


def _add_frame_totals(totals: dict[str, float], sig: FrameSignals, n: int, cfg: MinerConfig) -> None:
    """Add one rollout's frames after warm-up (those windows may cover) to the clip-level sums."""
    gen, gates = cfg.generation, cfg.gates
    post = slice(min(gen.warmup_frames, n), min(n, gen.rollout_frames))
    totals["frames"] += post.stop - post.start
    totals["load"] += float(sig.load[post].sum())
    totals["harness"] += float(sig.harness[post].sum())
    totals["harness_saturated"] += float(sig.harness_saturated[post].sum())
    totals["unloaded"] += float((sig.load[post] < gates.unloaded_threshold).sum())
    totals["actuator_saturation"] += float(sig.actuator_saturation[post].sum())
    totals["loaded_foot_frames"] += float(sig.loaded[post].sum())
    totals["slipping_foot_frames"] += float(sig.slipping[post].sum())
    totals["single_stance"] += float((sig.loaded[post].sum(axis=1) == 1).sum())


def _rollout_traces(rec: RolloutRecord, sig: FrameSignals, r: int, start: int) -> dict[str, np.ndarray]:
    """One rollout's per-frame report traces (TRACE_KEYS, float32) and their frame indices (int64)."""
    n = rec.num_frames
    slip = np.where(sig.loaded, rec.foot_slip_speed, 0.0).max(axis=1)
    per_frame = {"load": sig.load, "harness": sig.harness, "pitch_deg": sig.pitch_deg, "roll_deg": sig.roll_deg,
                 "harness_saturated": sig.harness_saturated, "slip": slip, "effort": rec.effort,
                 "joint_error": sig.joint_error, "target_offset": rec.target_offset, "rollout": np.full(n, r),
                 "step": np.arange(n), "ref_frame": start + np.arange(n)}  # fmt: skip
    return {k: np.asarray(v, np.int64 if k in _INDEX_KEYS else np.float32) for k, v in per_frame.items()}


def _judge_windows(
    sim: TrackingSim, sig: FrameSignals, n: int, r: int, start: int, cfg: MinerConfig
) -> tuple[dict[str, np.ndarray], list[Candidate]] | None:
    """Every window of one rollout (its metrics, failed gates, score) and the gated segments it offers; None when
    the rollout has no frame."""
    gen, wcfg, gates = cfg.generation, cfg.windows, cfg.gates
    harness_lifts = cfg.tracking.height_assist
    w_start, w_len = window_starts(min(n, gen.rollout_frames), wcfg, first=gen.warmup_frames)
    short = not len(w_start)
    if short:
        if n == 0:
            return None
        # judge what there is, so the report names why this rollout yielded nothing
        w_start, w_len = np.array([0]), np.array([n])
    stats = window_stats(sig, w_start, w_len, gates, sim.standing_height)
    mask = evaluate_gates(stats, gates, harness_lifts) | (GATE_BIT["short"] if short else 0)
    scores = score(stats, gates)
    per_window = {"rollout": np.full(len(w_start), r), "start": w_start, "length": w_len,
                  "ref_start": start + w_start, "gate_mask": mask, "score": scores,
                  **{k: stats[k] for k in METRICS}}  # fmt: skip
    candidates = []
    for a, b in gated_segments(sig, w_start, w_len, mask == 0, wcfg, gates, sim.standing_height, harness_lifts):
        if b - a >= wcfg.min_segment:
            seg_stats = window_stats(sig, np.array([a]), np.array([b - a]), gates, sim.standing_height)
            candidates.append(Candidate(r, a, b, start + a, float(score(seg_stats, gates)[0])))
    return per_window, candidates


def _keep_segments(
    sim: TrackingSim,
    track: ReferenceTrack,
    cfg: MinerConfig,
    records: list[RolloutRecord],
    signals: list[FrameSignals],
    candidates: list[Candidate],
) -> tuple[list[SegmentInfo], ClipStates, dict[str, np.ndarray]]:
    """Claim each reference frame for the best candidate, gate what is left of each segment again, and return the
    kept segments, their simulated states and their KEPT_KEYS signals."""
    gates, harness_lifts = cfg.gates, cfg.tracking.height_assist
    kept = claim_reference_frames(candidates, track.num_frames, cfg.windows.min_segment)
    segments: list[SegmentInfo] = []
    parts: list[ClipStates] = []
    kept_parts: dict[str, list[np.ndarray]] = {k: [] for k in KEPT_KEYS}
    for c in kept:
        rec, sig = records[c.rollout], signals[c.rollout]
        seg_stats = window_stats(sig, np.array([c.start]), np.array([c.end - c.start]), gates, sim.standing_height)
        if evaluate_gates(seg_stats, gates, harness_lifts)[0]:
            continue  # what the dedupe left of a segment is gated again as a whole
        metrics = {k: float(v[0]) for k, v in seg_stats.items()}
        ref = slice(c.ref_start, c.ref_start + c.end - c.start)
        segments.append(
            SegmentInfo(
                variant=track.variant.tag,
                rollout_start=int(rec.start),
                ref_start=int(c.ref_start),
                num_frames=int(c.end - c.start),
                clip_time_start=float(track.clip_time[c.ref_start]),
                blend_fraction=float(np.mean(track.cycle[ref] < 0)),
                score=float(score(seg_stats, gates)[0]),
                metrics=metrics,
                strict_harness=bool(metrics["harness_p95"] <= gates.strict_harness_p95),
            )
        )
        parts.append(_segment_states(sim, rec.qpos[c.start : c.end], rec.qvel[c.start : c.end]))
        for key in KEPT_KEYS:
            kept_parts[key].append(track.clip_time[ref] if key == "clip_time" else getattr(sig, key)[c.start : c.end])
    states = ClipStates.concatenate(parts) if parts else _empty_states(sim)
    kept_signals = {
        k: np.concatenate(v) if v else np.zeros((0, sim.num_feet) if k in ("loaded", "slipping") else 0)
        for k, v in kept_parts.items()
    }
    return segments, states, kept_signals


def mine_variant(clip: MotionClip, robot: RobotSpec | str, variant: Variant, cfg: MinerConfig) -> VariantResult:
    sim = get_sim(robot, cfg)
    track = build_track(clip, sim.robot, variant, cfg.generation, cfg.tracking.control_hz, sim.standing_height)
    return mine_track(sim, track, cfg, clip.name)
