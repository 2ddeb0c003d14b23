"""The miner's report: the per-clip diagnostic log, the dataset analysis with the go/no-go decision tree,
JSON + text, and plots (sum Fn/mg, harness and attitude over time with the gate lines, accepted segments shaded)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.miner.config import MinerConfig
from wildrobot_amp_ext.miner.pipeline import VariantResult
from wildrobot_amp_ext.miner.windows import GATE_BIT, GATES, gate_names
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.utils.atomic import atomic_path, save_json_atomic

#: go/no-go decision tree, applied to the distinct source seconds the accepted windows cover (a loop, a time warp or
#: a mirror of the same source second counts once: repeating one walk cycle is not a bigger dataset)
GO_SECONDS = 60.0
CAUTION_SECONDS = 30.0
DECISIONS = ("GO", "CAUTION", "STOP")
#: "minimum viable dataset" / dashboard targets: (minimum, target)
CLIP_DIVERSITY = (3, 5)
SEGMENT_COUNT = (5, 10)
ALTERNATION_RATE = (0.10, 0.20)
#: warn when one clip provides more than this fraction of the Tier 0+ seconds
DOMINANT_CLIP_FRACTION = 0.5
#: a clip's actuators must not saturate more than this fraction of frames
MAX_ACTUATOR_SATURATION = 0.10


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if x.size else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else float("nan")


# ------------------------------------------------------------------------------------------------------------------
# summaries
# ------------------------------------------------------------------------------------------------------------------
def clip_summary(clip: MotionClip, results: Sequence[VariantResult], cfg: MinerConfig, skipped: Sequence[str]) -> dict:
    dt = cfg.tracking.control_dt
    warm = cfg.generation.warmup_frames
    tr = {
        k: np.concatenate([r.traces[k] for r in results]) if results else np.zeros(0)
        for k in ("load", "harness", "harness_saturated", "pitch_deg", "roll_deg", "step")
    }
    post = tr["step"] >= warm
    totals = Counter()
    for r in results:
        totals.update(r.frame_totals)
    masks = (
        np.concatenate([r.windows.get("gate_mask", np.zeros(0, np.int64)) for r in results])
        if results
        else np.zeros(0, np.int64)
    )
    n_windows = int(masks.size)
    gate_fail = {g: float(np.mean((masks & GATE_BIT[g]) > 0)) if n_windows else 0.0 for g in GATES}
    accepted_frames = sum(r.accepted_frames for r in results)
    seconds = accepted_frames * dt
    actuator_sat = totals["actuator_saturation"] / totals["frames"] if totals["frames"] else float("nan")
    reasons = [
        f"{g} ({100 * f:.0f}% of windows)" for g, f in sorted(gate_fail.items(), key=lambda kv: -kv[1]) if f > 0
    ][:4]
    covered = _source_coverage(results, clip)
    strict_covered = _source_coverage(results, clip, strict_only=True)
    trace = lambda k: (
        np.concatenate([r.traces[k] for r in results])[post] if results and k in results[0].traces else np.zeros(0)
    )  # noqa: E731
    return {
        "clip": clip.name,
        "source": clip.source,
        "duration_s": clip.duration,
        "variants": [r.variant for r in results],
        "skipped_variants": list(skipped),
        "reference_s": sum(r.reference_frames for r in results) * dt,
        "simulated_s": sum(r.simulated_frames for r in results) * dt,
        "rollouts": sum(r.rollouts for r in results),
        "falls": sum(r.falls for r in results),
        "actuator_saturation": actuator_sat,
        "actuator_saturation_ok": bool(actuator_sat < MAX_ACTUATOR_SATURATION) if np.isfinite(actuator_sat) else False,
        "load_mean": _mean(tr["load"][post]),
        "load_p10": _pct(tr["load"][post], 10),
        "load_p95": _pct(tr["load"][post], 95),
        "harness_mean": _mean(tr["harness"][post]),
        "harness_p90": _pct(tr["harness"][post], 90),
        "harness_p95": _pct(tr["harness"][post], 95),
        "harness_saturated": _mean(tr["harness_saturated"][post]),
        "pitch_p95_deg": _pct(tr["pitch_deg"][post], 95),
        "roll_p95_deg": _pct(tr["roll_deg"][post], 95),
        "stance_slip_rate": totals["slipping_foot_frames"] / totals["loaded_foot_frames"]
        if totals["loaded_foot_frames"]
        else float("nan"),
        "windows": n_windows,
        "windows_accepted": int(np.sum(masks == 0)),
        "gate_failure_fraction": gate_fail,
        "segments": sum(len(r.segments) for r in results),
        "tier0_seconds": seconds,
        "strict_harness_seconds": sum(sg.num_frames for r in results for sg in r.segments if sg.strict_harness) * dt,
        "tier0_seconds_per_variant": {r.variant: r.accepted_frames * dt for r in results},
        "source_seconds": clip.duration,
        "source_coverage_s": covered,
        "strict_source_coverage_s": strict_covered,
        "effort_mean": _mean(trace("effort")),
        "joint_error_mean": _mean(trace("joint_error")),
        "target_offset_mean": _mean(trace("target_offset")),
        "verdict": "PASS" if accepted_frames else "FAIL",
        "failure_reasons": reasons,
    }


def interval_union_length(starts: np.ndarray, ends: np.ndarray) -> float:
    """Length of the union of the intervals [starts, ends) (exact; empty and reversed intervals count 0)."""
    starts, ends = np.asarray(starts, np.float64), np.asarray(ends, np.float64)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if not starts.size:
        return 0.0
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)  # the furthest end of the intervals that start at or before each one
    covered_before = np.concatenate(([starts[0]], reach[:-1]))
    return float(np.maximum(ends - np.maximum(starts, covered_before), 0.0).sum())


def _source_coverage(results: Sequence[VariantResult], clip: MotionClip, strict_only: bool = False) -> float:
    """Seconds of the source clip's own timeline shown by some accepted frame (loops, warps and variants count once);
    ``strict_only``: by the segments in the strict harness tier only.

    A frame at clip time t shows [t, t + step): step is the clip time a frame of its segment advances (the control
    step times the segment's time warp), so a segment of N frames covers N steps; the union of those intervals over
    every segment, within [0, clip.duration], is the coverage."""
    lo, hi = [], []
    for r in results:
        times = r.kept["clip_time"]  # the segments' frames, in segment order
        assert times.size == sum(sg.num_frames for sg in r.segments), "kept rows and segments disagree"
        for sg, t in zip(r.segments, np.split(times, np.cumsum([sg.num_frames for sg in r.segments])[:-1])):
            if strict_only and not sg.strict_harness:
                continue
            forward = np.diff(t)[(t[1:] >= 0) & (t[:-1] >= 0)]
            forward = forward[forward > 0]
            if not forward.size:
                continue  # a segment of one frame or inside blends shows no source time
            t = t[t >= 0]
            lo.append(t)
            hi.append(t + float(np.median(forward)))
    if not lo:
        return 0.0
    return interval_union_length(
        np.clip(np.concatenate(lo), 0.0, clip.duration), np.clip(np.concatenate(hi), 0.0, clip.duration)
    )


def _by_seconds(seconds: float) -> str:
    return "GO" if seconds >= GO_SECONDS else "CAUTION" if seconds >= CAUTION_SECONDS else "STOP"


def _by_clips(count: int) -> str:
    # the minimum viable dataset also needs clip diversity (3 minimum, 5 target)
    return "GO" if count >= CLIP_DIVERSITY[1] else "CAUTION" if count >= CLIP_DIVERSITY[0] else "STOP"


def dataset_summary(clip_summaries: Sequence[dict], results: Sequence[VariantResult], cfg: MinerConfig) -> dict:
    g = cfg.gates
    dt = cfg.tracking.control_dt
    kept = {
        k: np.concatenate([r.kept[k] for r in results if r.kept[k].size])
        if any(r.kept[k].size for r in results)
        else np.zeros(0)
        for k in ("load", "harness", "harness_saturated", "loaded", "slipping")
    }
    segs = [s for r in results for s in r.segments]
    seconds = sum(s.num_frames for s in segs) * dt
    strict = [s for s in segs if s.metrics["harness_p95"] <= g.strict_harness_p95]
    slip_rates = np.array([s.metrics["slip_rate"] for s in segs])
    loaded = kept["loaded"].reshape(-1, 2) if kept["loaded"].size else np.zeros((0, 2), bool)
    contributing = [c["clip"] for c in clip_summaries if c["tier0_seconds"] > 0]
    coverage = sum(c["source_coverage_s"] for c in clip_summaries)
    strict_coverage = sum(c["strict_source_coverage_s"] for c in clip_summaries)
    verdict = _go_no_go(results, coverage, strict_coverage, len(contributing))
    alternation = _mean((loaded.sum(axis=1) == 1).astype(float)) if loaded.size else float("nan")
    warnings = _dataset_warnings(clip_summaries, len(contributing), len(segs), seconds, alternation)
    source_seconds = sum(c["source_seconds"] for c in clip_summaries)
    rollouts = sum(c["rollouts"] for c in clip_summaries)
    falls = sum(c["falls"] for c in clip_summaries)
    return {
        "source_seconds": source_seconds,
        "source_coverage_s": coverage,
        "source_coverage_fraction": coverage / source_seconds if source_seconds else 0.0,
        "strict_source_coverage_s": strict_coverage,
        "strict_source_coverage_fraction": strict_coverage / source_seconds if source_seconds else 0.0,
        "rollouts": rollouts,
        "falls": falls,
        "fall_fraction": falls / rollouts if rollouts else 0.0,
        "tier0_seconds": seconds,
        "tier0_segments": len(segs),
        "strict_harness_seconds": sum(s.num_frames for s in strict) * dt,
        "strict_harness_segments": len(strict),
        "clips_total": len(clip_summaries),
        "clips_contributing": len(contributing),
        "contributing_clips": contributing,
        "load_mean": _mean(kept["load"]),
        "load_p10": _pct(kept["load"], 10),
        "load_p95": _pct(kept["load"], 95),
        "harness_mean": _mean(kept["harness"]),
        "harness_p90": _pct(kept["harness"], 90),
        "harness_p95": _pct(kept["harness"], 95),
        "unloaded_fraction": _mean((kept["load"] < g.unloaded_threshold).astype(float)),
        "slip_rate_mean": _mean(slip_rates),
        "slip_rate_p95": _pct(slip_rates, 95),
        "alternation_rate": alternation,
        **verdict,
        "warnings": warnings,
    }


def _go_no_go(results: Sequence[VariantResult], coverage: float, strict_coverage: float, contributing: int) -> dict:
    """The decision tree: the weaker of the coverage rule and the clip-diversity rule, for all kept segments and for
    those within the strict harness tier, and what to do next."""
    by_coverage = _by_seconds(coverage)
    by_clips = _by_clips(contributing)
    decision = max(by_coverage, by_clips, key=DECISIONS.index)
    action = {
        "GO": "proceed to Phase 2: micro-train smoke test with the Stage 0 features (no contacts, no height)",
        "CAUTION": "borderline: attempt AMP with caution, or relax thresholds slightly (e.g. --max-harness-p95 0.12) "
        "and re-mine",
        "STOP": "switch to Path B: baseline PPO walking (task rewards only), add AMP later at low weight",
    }[decision]
    strict_clips = {r.clip for r in results for sg in r.segments if sg.strict_harness}
    strict_decision = max(_by_seconds(strict_coverage), _by_clips(len(strict_clips)), key=DECISIONS.index)
    if decision != by_coverage:
        action = (
            f"{action} [coverage alone says {by_coverage} ({coverage:.1f} s), but only {contributing} source "
            f"clip(s) contribute (minimum {CLIP_DIVERSITY[0]}, target {CLIP_DIVERSITY[1]})]"
        )
    return {
        "decision": decision,
        "decision_by_coverage": by_coverage,
        "decision_by_clips": by_clips,
        "strict_harness_decision": strict_decision,
        "strict_harness_clips": len(strict_clips),
        "action": action,
    }


def _dataset_warnings(
    clip_summaries: Sequence[dict], contributing: int, segments: int, seconds: float, alternation: float
) -> list[str]:
    """What falls short of the minimum viable dataset: clip diversity, segment count, one dominant clip, alternation,
    actuator saturation."""
    warnings = []
    if contributing < CLIP_DIVERSITY[0]:
        warnings.append(
            f"only {contributing} source clip(s) contribute (minimum {CLIP_DIVERSITY[0]}, target "
            f"{CLIP_DIVERSITY[1]}): risk of overfitting one motion"
        )
    if segments < SEGMENT_COUNT[0]:
        warnings.append(f"only {segments} segment(s) (minimum {SEGMENT_COUNT[0]}, target {SEGMENT_COUNT[1]})")
    if seconds > 0:
        top = max(clip_summaries, key=lambda c: c["tier0_seconds"])
        if top["tier0_seconds"] > DOMINANT_CLIP_FRACTION * seconds:
            warnings.append(
                f"{100 * top['tier0_seconds'] / seconds:.0f}% of the Tier 0+ seconds come from one clip "
                f"({top['clip']}): the discriminator may learn that clip only"
            )
    if seconds > 0 and not alternation >= ALTERNATION_RATE[0]:
        warnings.append(
            f"alternation rate {_p(alternation)} < {ALTERNATION_RATE[0]:.0%} (double-stance "
            "dominated; start without contact features)"
        )
    hot = [c["clip"] for c in clip_summaries if not c["actuator_saturation_ok"]]
    if hot:
        warnings.append(
            f"actuator saturation >= {100 * MAX_ACTUATOR_SATURATION:.0f}% in {hot}: time-warp slower or raise "
            "forcerange"
        )
    return warnings


# ------------------------------------------------------------------------------------------------------------------
# text
# ------------------------------------------------------------------------------------------------------------------
def _p(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def _d(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.1f}°"


def diagnostic_log(c: dict) -> str:
    """The diagnostic log for one clip (all its variants and rollouts, after the warm-up)."""
    return "\n".join(
        [
            "=" * 40,
            "REFERENCE GENERATION DIAGNOSTIC",
            "=" * 40,
            f"Clip: {c['clip']}",
            f"Duration: {c['duration_s']:.2f} seconds (simulated {c['simulated_s']:.1f} s over {c['rollouts']} "
            f"rollouts, {c['falls']} falls; variants {', '.join(c['variants'])})",
            f"Actuator saturation rate: {_p(c['actuator_saturation'])}  (MUST BE "
            f"<10%){'' if c['actuator_saturation_ok'] else '  <-- TOO HIGH'}",
            "",
            "Load Support:",
            f"  mean(ΣFn)/mg: {_p(c['load_mean'])}",
            f"  p10(ΣFn)/mg: {_p(c['load_p10'])}",
            f"  p95(ΣFn)/mg: {_p(c['load_p95'])}",
            "",
            "Harness Reliance:",
            f"  mean(|F_stab|)/mg: {_p(c['harness_mean'])}",
            f"  p90(|F_stab|)/mg: {_p(c['harness_p90'])}",
            f"  p95(|F_stab|)/mg: {_p(c['harness_p95'])}",
            f"  saturated_steps: {_p(c['harness_saturated'])}",
            "",
            "Attitude:",
            f"  p95(|pitch|): {_d(c['pitch_p95_deg'])}",
            f"  p95(|roll|): {_d(c['roll_p95_deg'])}",
            "",
            "Slip (when loaded):",
            f"  stance_slip_rate: {_p(c['stance_slip_rate'])}",
            "",
            f"Windows: {c['windows_accepted']}/{c['windows']} accepted -> {c['segments']} segments, "
            f"{c['tier0_seconds']:.1f} s Tier 0+ ({c['source_coverage_s']:.1f} s of the source clip; "
            f"{c['strict_source_coverage_s']:.1f} s of it in the strict harness tier)",
            f"VERDICT: {c['verdict']} Tier 0+",
            f"Failure reasons (if any): {'; '.join(c['failure_reasons']) if c['failure_reasons'] else '-'}",
            "=" * 40,
        ]
    )


def analysis_text(s: dict, cfg: MinerConfig) -> str:
    g = cfg.gates
    lines = [
        "=" * 60,
        "TIER 0+ DATASET ANALYSIS",
        "=" * 60,
        f"Distinct source coverage: {s['source_coverage_s']:.1f} s of {s['source_seconds']:.1f} s "
        f"({_p(s['source_coverage_fraction'])}); strict harness tier (p95 <= {g.strict_harness_p95:.2f} mg) "
        f"{s['strict_source_coverage_s']:.1f} s ({_p(s['strict_source_coverage_fraction'])})",
        f"Rollouts: {s['rollouts']}, falls: {s['falls']} ({_p(s['fall_fraction'])})",
        f"Repeated Tier 0+ seconds (loops, warps and mirrors counted again): {s['tier0_seconds']:.1f} s in "
        f"{s['tier0_segments']} segments; strict tier {s['strict_harness_seconds']:.1f} s in "
        f"{s['strict_harness_segments']} segments",
        f"Distribution of ΣFn/mg: mean={s['load_mean']:.3f}, p10={s['load_p10']:.3f}, p95={s['load_p95']:.3f}",
        f"Harness p90={_p(s['harness_p90'])}, p95={_p(s['harness_p95'])} (mean {_p(s['harness_mean'])})",
        f"Unloaded frame fraction: {_p(s['unloaded_fraction'])}",
        f"Slip rate distribution: mean={_p(s['slip_rate_mean'])}, p95={_p(s['slip_rate_p95'])}",
        f"Alternation rate (exactly one foot loaded): {_p(s['alternation_rate'])}",
        f"Number of source clips contributing: {s['clips_contributing']} / {s['clips_total']}",
        "",
        "Metrics dashboard            minimum   target    measured",
        f"  distinct source coverage   {CAUTION_SECONDS:>5.0f} s   >={GO_SECONDS:.0f} s    "
        f"{s['source_coverage_s']:.1f} s",
        f"  Tier 0+ segments           {SEGMENT_COUNT[0]:>7d}   >={SEGMENT_COUNT[1]:<6d}  {s['tier0_segments']}",
        f"  mean(ΣFn)/mg               {g.min_load_mean:>7.2f}   >=0.90    {s['load_mean']:.3f}",
        f"  p95(harness)/mg            {'<=' + format(g.strict_harness_p95, '.2f'):>7}   <=0.08    "
        f"{s['harness_p95']:.3f}",
        f"  unloaded frame rate        {'<=' + format(g.max_unloaded_fraction, '.0%'):>7}   <=5%      "
        f"{_p(s['unloaded_fraction'])}",
        f"  alternation rate           {'>=' + format(ALTERNATION_RATE[0], '.0%'):>7}   "
        f">={ALTERNATION_RATE[1]:.0%}     {_p(s['alternation_rate'])}",
        "",
        "Decision tree (on distinct source coverage): >= 60 s GO -> Phase 2 micro-train; 30-60 s CAUTION;",
        "  < 30 s STOP -> baseline PPO;",
        f"  and the minimum viable dataset: >= {CLIP_DIVERSITY[1]} contributing clips GO, "
        f"{CLIP_DIVERSITY[0]}-{CLIP_DIVERSITY[1] - 1} CAUTION, fewer STOP (the weaker rule wins)",
        f"DECISION: {s['decision']} - {s['action']}",
    ]
    lines.append(
        f"Same rule on the strict harness tier only (p95 <= {g.strict_harness_p95:.2f} mg, the low-harness-reliance "
        "exit criterion): "
        f"{s['strict_source_coverage_s']:.1f} s distinct from {s['strict_harness_clips']} clip(s) "
        f"-> {s['strict_harness_decision']}"
    )
    lines += [f"WARNING: {w}" for w in s["warnings"]]
    lines.append("=" * 60)
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------------------------------
def plot_clip(result: VariantResult, cfg: MinerConfig, path: Path, title: str) -> None:
    import matplotlib  # lazy: loaded only when a plot is drawn (a --no-plots run never pays for it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g, dt = cfg.gates, cfg.tracking.control_dt
    tr = result.traces
    fig, axes = plt.subplots(4, 1, figsize=(12, 10), sharex=True)
    rollouts = np.unique(tr["rollout"]) if tr["rollout"].size else []
    for r in rollouts:
        sel = tr["rollout"] == r
        t = tr["ref_frame"][sel] * dt
        axes[0].plot(t, tr["load"][sel], lw=0.6, color="tab:blue", alpha=0.5)
        axes[1].plot(t, tr["harness"][sel], lw=0.6, color="tab:purple", alpha=0.5)
        axes[2].plot(t, tr["pitch_deg"][sel], lw=0.6, color="tab:red", alpha=0.5)
        axes[2].plot(t, tr["roll_deg"][sel], lw=0.6, color="tab:green", alpha=0.5)
        if "effort" in tr:  # results cached before the tracker's traces existed have none
            axes[3].plot(t, tr["joint_error"][sel], lw=0.6, color="tab:orange", alpha=0.6)
            axes[3].plot(t, tr["effort"][sel], lw=0.6, color="tab:brown", alpha=0.5)
            axes[3].plot(t, tr["target_offset"][sel], lw=0.6, color="tab:cyan", alpha=0.5)
    for ax in axes:
        for s in result.segments:
            ax.axvspan(s.ref_start * dt, (s.ref_start + s.num_frames) * dt, color="tab:olive", alpha=0.18, lw=0)
    axes[0].axhline(g.min_load_mean, color="k", ls="--", lw=0.8, label=f"mean gate {g.min_load_mean}")
    axes[0].axhline(g.min_load_p10, color="k", ls=":", lw=0.8, label=f"p10 / unloaded {g.min_load_p10}")
    axes[0].set_ylabel("ΣFn / mg")
    axes[1].axhline(g.max_harness_p90, color="k", ls="--", lw=0.8, label=f"p90 gate {g.max_harness_p90}")
    axes[1].axhline(g.max_harness_p95, color="k", ls=":", lw=0.8, label=f"p95 gate {g.max_harness_p95}")
    axes[1].axhline(g.strict_harness_p95, color="gray", ls="-.", lw=0.8, label=f"strict p95 {g.strict_harness_p95}")
    axes[1].set_ylabel("|F_stab| / mg")
    axes[2].axhline(g.max_pitch_p95_deg, color="k", ls="--", lw=0.8, label=f"p95 gate {g.max_pitch_p95_deg:g}°")
    axes[2].plot([], [], color="tab:red", label="|pitch|")
    axes[2].plot([], [], color="tab:green", label="|roll|")
    axes[2].set_ylabel("attitude (deg)")
    axes[3].axhline(
        g.max_joint_rms_error, color="k", ls="--", lw=0.8, label=f"joint RMS gate {g.max_joint_rms_error} rad"
    )
    axes[3].plot([], [], color="tab:orange", label="joint RMS tracking error (rad)")
    axes[3].plot([], [], color="tab:brown", label="effort: mean |actuator force| / limit")
    axes[3].plot([], [], color="tab:cyan", label="tracker's target offset RMS (rad)")
    axes[3].set_ylabel("tracking / effort")
    axes[3].set_xlabel("reference time (s); shaded: accepted Tier 0+ segments; one line per multi-start rollout")
    for ax in axes:
        ax.legend(loc="upper right", fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"{title}: {result.accepted_frames * dt:.1f} s Tier 0+ of {result.reference_frames * dt:.1f} s "
        f"reference ({result.variant})"
    )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def plot_summary(clip_summaries: Sequence[dict], summary: dict, path: Path) -> None:
    import matplotlib  # lazy: loaded only when a plot is drawn (a --no-plots run never pays for it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(13, max(3.5, 0.35 * len(clip_summaries) + 1.5)))
    names = [c["clip"] for c in clip_summaries]
    y = np.arange(len(names))
    left = np.zeros(len(names))
    variants = sorted({v for c in clip_summaries for v in c["tier0_seconds_per_variant"]})
    for v in variants:
        vals = np.array([c["tier0_seconds_per_variant"].get(v, 0.0) for c in clip_summaries])
        ax0.barh(y, vals, left=left, label=v)
        left += vals
    ax0.set_yticks(y, names, fontsize=7)
    ax0.set_xlabel("Tier 0+ seconds (repeated: loops, warps, mirrors count again)")
    ax0.set_title(
        f"distinct coverage {summary['source_coverage_s']:.1f} of {summary['source_seconds']:.1f} s -> "
        f"{summary['decision']} (go >= {GO_SECONDS:.0f} s, caution >= {CAUTION_SECONDS:.0f} s)"
    )
    ax0.legend(fontsize=7)
    fails = (
        np.array([[c["gate_failure_fraction"][g] for g in GATES] for c in clip_summaries])
        if clip_summaries
        else np.zeros((0, len(GATES)))
    )
    im = ax1.imshow(fails, aspect="auto", cmap="Reds", vmin=0, vmax=1)
    ax1.set_xticks(np.arange(len(GATES)), GATES, rotation=60, ha="right", fontsize=7)
    ax1.set_yticks(y, names, fontsize=7)
    ax1.set_title("fraction of windows failing each gate")
    fig.colorbar(im, ax=ax1, fraction=0.03)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


# ------------------------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------------------------
def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80]


def window_table(results_per_clip: Sequence[Sequence[VariantResult]], decimals: int = 4) -> dict:
    """Every window of every rollout, columnar: clip, variant, rollout, ref_start, length, accepted, the failed
    gates (comma-separated names) and every metric."""
    cols: dict[str, list] = {}
    for rs in results_per_clip:
        for r in rs:
            w = r.windows
            n = int(w["rollout"].size)
            if not n:
                continue
            masks = w["gate_mask"].astype(np.int64)
            cols.setdefault("clip", []).extend([r.clip] * n)
            cols.setdefault("variant", []).extend([r.variant] * n)
            for key in ("rollout", "ref_start", "length"):
                cols.setdefault(key, []).extend(int(v) for v in w[key])
            cols.setdefault("accepted", []).extend(bool(m == 0) for m in masks)
            cols.setdefault("failed", []).extend(",".join(gate_names(int(m))) for m in masks)
            for key in (
                "score",
                *(k for k in w if k not in ("rollout", "start", "length", "ref_start", "gate_mask", "score")),
            ):
                cols.setdefault(key, []).extend(np.round(w[key].astype(np.float64), decimals).tolist())
    return {"gates": list(GATES), "num_windows": len(cols.get("clip", [])), "columns": cols}


def write_report(
    report_dir: str | Path,
    clips: Sequence[MotionClip],
    results_per_clip: Sequence[Sequence[VariantResult]],
    skipped: dict[str, list[str]],
    cfg: MinerConfig,
    extra: dict | None = None,
    plots: bool = True,
) -> dict:
    """Write ``report.json``, ``report.txt``, ``summary.png`` and one ``clip_<name>.png`` per clip; return the JSON."""
    out = Path(report_dir)
    out.mkdir(parents=True, exist_ok=True)
    clip_summaries = [clip_summary(c, rs, cfg, skipped.get(c.name, [])) for c, rs in zip(clips, results_per_clip)]
    all_results = [r for rs in results_per_clip for r in rs]
    summary = dataset_summary(clip_summaries, all_results, cfg)
    save_json_atomic(out / "windows.json", window_table(results_per_clip))
    segments = [{"clip": r.clip, **s.__dict__} for rs in results_per_clip for r in rs for s in r.segments]
    report = {
        "summary": summary,
        "clips": clip_summaries,
        "segments": segments,
        "config": cfg.to_dict(),
        **(extra or {}),
    }
    save_json_atomic(out / "report.json", report)
    text = "\n\n".join([diagnostic_log(c) for c in clip_summaries] + [analysis_text(summary, cfg)]) + "\n"
    with atomic_path(out / "report.txt") as tmp:
        tmp.write_text(text)
    if plots:
        plot_summary(clip_summaries, summary, out / "summary.png")
        for clip, rs in zip(clips, results_per_clip):
            if rs:
                base = next((r for r in rs if r.variant == "w1.00"), rs[0])
                plot_clip(base, cfg, out / f"clip_{_safe(clip.name)}.png", clip.name)
    return report


def load_report(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
