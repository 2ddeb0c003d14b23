"""Does a trained walking policy meet its goals? One table from the evaluation reports, computed the same way for
every policy (the shipped one, a control, a new run).

Inputs: ``wildrobot-evaluate``'s ``metrics.json`` of one or more eval seeds (Isaac Lab), optionally the bundle's
``mujoco_grid.json`` on the same grid (``wildrobot-sim2sim --grid``) and the reference dataset. Figures:

* tracking: forward-velocity and yaw-rate error, the mean over the grid's commands (each command weighs the same),
  averaged over eval seeds (the spread over seeds is reported);
* falls: falls / episodes, all seeds pooled; stance-foot slip rate (``metrics.foot_slip``);
* gait on the walking commands (|v| >= 0.1 m/s): single-stance fraction, step alternation and swing time beside the
  reference's walking clips under the same contact rule (``metrics.contact_pattern``);
* style (``style_metric``): both directions, and reference -> policy per reference motion (its commanded segments,
  weighted by their commanded transitions); a motion is reproduced when within ``family_ratio`` of the best one;
* sim2sim: the MuJoCo velocity error over Isaac Lab's and the MuJoCo fall rate.

    python -m wildrobot_amp_ext.evaluation.goals --isaac eval_seed*/eval/metrics.json --mujoco mujoco_grid.json \\
        --reference reference.npz --out goals.json
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.dataset.schema import open_dataset
from wildrobot_amp_ext.errors import InputError, cli_entry
from wildrobot_amp_ext.utils.atomic import save_json_atomic
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt


@dataclass
class Goals:
    max_lin_vel_error: float = 0.10
    max_yaw_rate_error: float = 0.15
    max_fall_rate: float = 0.02
    max_slip_rate: float = 0.05
    #: a reference motion's reference -> policy distance at most this many times the best motion's
    family_ratio: float = 1.5
    #: MuJoCo velocity error at most this many times Isaac Lab's; MuJoCo falls at most this fraction
    max_sim2sim_error_ratio: float = 1.3
    max_sim2sim_fall_rate: float = 0.05
    #: commands at least this fast (m/s) count as walking for the gait figures
    walking_speed: float = 0.1
    #: stance slip on the walking commands at most this many times the reference walking clips' (same rule): the
    #: grid mean counts the standing commands, where a robot that never steps scores 0
    walking_slip_ratio: float = 1.5
    #: a walking command's slip counts when the robot steps there (single-stance fraction at least this)
    stepping_fraction: float = 0.1
    #: walking gait "close to the reference's": single-stance fraction, step alternation and swing time within this
    #: ratio band
    gait_ratio: tuple[float, float] = (0.5, 1.5)
    #: style distances (both directions) at most this many times each control's (a control differs in one thing)
    control_ratio: float = 0.7


def _read(path: str | Path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputError(path, None, f"not a readable JSON report ({err.__class__.__name__})", None) from None


def _grid_mean(report: dict, key: str, turning_only: bool = False) -> float:
    values = [
        e[key] for e in report["per_command"] if e.get(key) is not None and (not turning_only or e["command"][2] != 0)
    ]
    return float(np.mean(values)) if values else math.nan


def _pooled_fall_rate(reports: Sequence[dict]) -> float:
    falls = sum(r["overall"]["falls"] for r in reports)
    episodes = sum(r["overall"]["episodes"] for r in reports)
    return falls / episodes if episodes else math.nan


GAIT_KEYS = ("single_stance_fraction", "step_alternation", "swing_time")


def _walking_gait(reports: Sequence[dict], goals: Goals) -> dict:
    rows = [
        e
        for r in reports
        for e in r["per_command"]
        if math.hypot(e["command"][0], e["command"][1]) >= goals.walking_speed
    ]

    def pick(key: str, rows: list[dict]) -> float:
        values = [e[key] for e in rows if e.get(key) is not None]
        return float(np.mean(values)) if values else math.nan

    # slip only where the robot steps: a robot standing at a walking command has still feet and would score 0
    stepping = [e for e in rows if (e.get("single_stance_fraction") or 0.0) >= goals.stepping_fraction]
    out = {key: pick(key, rows) for key in GAIT_KEYS}
    return {**out, "slip_rate": pick("slip_rate", stepping), "stepping_commands": len(stepping)}


def reference_gait(reference: str | Path, motions: Sequence[str]) -> dict:
    """Single-stance fraction, step alternation, swing time and slip of the reference's ``motions`` (clip-name
    prefixes), with the evaluation's contact rule at the dataset's thresholds."""
    import torch

    # here: the metrics load torch; the goals table from JSON reports runs without it
    from wildrobot_amp_ext.evaluation.metrics import MetricsCfg, contact_pattern, foot_slip

    with open_dataset(reference) as f:
        spec = f.feature_spec
        clip_start = np.asarray(f["clip_start"], dtype=bool)
        clip = np.cumsum(clip_start) - 1
        names = np.asarray(f.strings("clip_names"))[clip]
        keep = np.array([any(str(n).startswith(m) for m in motions) for n in names])
        pos, vel = np.asarray(f["contact_pos_w"])[keep], np.asarray(f["contact_vel_w"])[keep]
        starts = clip_start[keep]
        dt = 1.0 / f.fps
    cfg = MetricsCfg(contact_height=spec.contact_height, contact_speed=spec.contact_speed)
    done = torch.as_tensor(starts)[:, None]  # the metrics' convention: a done row holds the next episode's first
    out = contact_pattern(
        torch.as_tensor(pos)[:, None], torch.zeros_like(done), done, cfg, torch.as_tensor(vel)[:, None], dt=dt
    )
    slip = foot_slip(torch.as_tensor(pos), torch.as_tensor(vel), cfg)["slip_rate"]
    return {**{key: out[key] for key in GAIT_KEYS}, "slip_rate": slip}


def motion_distances(style: dict) -> dict[str, float]:
    """Reference -> policy distance per reference motion: its segments' distances weighted by their commanded
    transitions (segments the commands never ask for do not count)."""
    sums: dict[str, list[float]] = {}
    for name, seg in style["reference_to_policy_per_clip"].items():
        weight = seg["transitions"] * seg["commanded_fraction"]
        if weight > 0 and seg["reference_to_policy"] is not None:
            acc = sums.setdefault(name.split("/")[0], [0.0, 0.0])
            acc[0] += weight * seg["reference_to_policy"]
            acc[1] += weight
    return {motion: total / weight for motion, (total, weight) in sorted(sums.items())}


def summarize(isaac: Sequence[dict], mujoco: dict | None = None, reference: str | Path | None = None,
              goals: Goals | None = None, controls: dict[str, dict] | None = None) -> dict:  # fmt: skip
    """The goal table (see the module docstring) from Isaac Lab reports of several eval seeds; ``controls`` maps a
    control's name to its own goal table (the same evaluation of a run that differs in one thing)."""
    goals = goals or Goals()
    lin = [_grid_mean(r, "lin_vel_error_mean") for r in isaac]
    yaw = [_grid_mean(r, "ang_vel_error_mean") for r in isaac]
    out: dict = {
        "goals": asdict(goals),
        "eval_seeds": len(isaac),
        "commands": [e["command"] for e in isaac[0]["per_command"]],
        "lin_vel_error": float(np.mean(lin)),
        "lin_vel_error_per_seed": lin,
        "yaw_rate_error": float(np.mean(yaw)),
        "yaw_rate_error_per_seed": yaw,
        # the grid mean is mostly commands without a turn: the turning commands' own mean shows a robot that never
        # turns (a standing robot scores its commanded yaw rate here)
        "yaw_rate_error_turning": float(np.mean([_grid_mean(r, "ang_vel_error_mean", True) for r in isaac])),
        "fall_rate": _pooled_fall_rate(isaac),
        "slip_rate": float(np.mean([r["overall"]["slip_rate"] for r in isaac])),
        "gait_walking": _walking_gait(isaac, goals),
    }
    styles = [r["style"] for r in isaac if "style" in r]
    if styles:
        per_motion = [motion_distances(s) for s in styles]
        motions = sorted(per_motion[0])
        by_motion = {m: float(np.mean([p[m] for p in per_motion if m in p])) for m in motions}
        best = min(by_motion.values())
        out["style"] = {
            "policy_to_reference": float(np.mean([s["policy_to_reference"] for s in styles])),
            "reference_to_policy": float(np.mean([s["reference_to_policy"] for s in styles])),
            "reference_to_policy_per_motion": by_motion,
            "motion_ratio_to_best": {m: d / best for m, d in by_motion.items()},
        }
        if reference is not None:
            walking = [m for m in motions if m.startswith(("walk", "jog"))]
            out["gait_reference_walking"] = reference_gait(reference, walking) if walking else None
    if controls and "style" in out:
        out["controls"] = {name: _control_ratios(out["style"], c, name) for name, c in controls.items()}
    if mujoco is not None:
        m_lin = _grid_mean(mujoco, "lin_vel_error_mean")
        out["mujoco"] = {
            "lin_vel_error": m_lin,
            "yaw_rate_error": _grid_mean(mujoco, "ang_vel_error_mean"),
            "fall_rate": _pooled_fall_rate([mujoco]),
            "lin_vel_error_ratio_to_isaac": m_lin / out["lin_vel_error"] if out["lin_vel_error"] > 0 else math.nan,
        }
    out["checks"] = checks(out, goals)
    return out


def _control_ratios(style: dict, control: dict, name: str) -> dict:
    """The policy's style distances over a control's, both directions (below 1: closer to the reference)."""
    if "style" not in control:
        raise InputError(name, "style", "the control's goal table has no style figures", "evaluate it with --reference")
    c = control["style"]
    return {
        "policy_to_reference": c["policy_to_reference"],
        "reference_to_policy": c["reference_to_policy"],
        "ratio_policy_to_reference": style["policy_to_reference"] / c["policy_to_reference"],
        "ratio_reference_to_policy": style["reference_to_policy"] / c["reference_to_policy"],
        "lin_vel_error": control["lin_vel_error"],
        "fall_rate": control["fall_rate"],
    }


def checks(s: dict, g: Goals) -> dict[str, bool]:
    out = {
        f"velocity error <= {g.max_lin_vel_error}": s["lin_vel_error"] <= g.max_lin_vel_error,
        f"yaw-rate error <= {g.max_yaw_rate_error}": s["yaw_rate_error"] <= g.max_yaw_rate_error,
        f"falls <= {g.max_fall_rate:.0%}": s["fall_rate"] <= g.max_fall_rate,
        f"slip rate <= {g.max_slip_rate:.0%}": s["slip_rate"] <= g.max_slip_rate,
    }
    if s.get("gait_reference_walking"):
        lo, hi = g.gait_ratio
        for key in GAIT_KEYS:
            ref, got = s["gait_reference_walking"].get(key), s["gait_walking"].get(key)
            ok = bool(ref) and got is not None and math.isfinite(got) and lo <= got / ref <= hi
            out[f"walking {key.replace('_', ' ')} within {lo}-{hi}x the reference's"] = ok
        ref_slip, slip = s["gait_reference_walking"].get("slip_rate"), s["gait_walking"].get("slip_rate")
        if ref_slip is not None:
            ok = slip is not None and math.isfinite(slip) and slip <= g.walking_slip_ratio * ref_slip
            out[f"walking slip <= {g.walking_slip_ratio}x the reference's walking slip"] = ok
    if "style" in s:
        worst = max(s["style"]["motion_ratio_to_best"].values())
        out[f"every reference motion within {g.family_ratio}x of the best"] = worst <= g.family_ratio
    for name, c in s.get("controls", {}).items():
        worst = max(c["ratio_policy_to_reference"], c["ratio_reference_to_policy"])
        out[f"style distances <= {g.control_ratio}x the {name} control's"] = worst <= g.control_ratio
    if "mujoco" in s:
        m = s["mujoco"]
        out[f"MuJoCo velocity error <= {g.max_sim2sim_error_ratio}x Isaac Lab's"] = (
            m["lin_vel_error_ratio_to_isaac"] <= g.max_sim2sim_error_ratio
        )
        out[f"MuJoCo falls <= {g.max_sim2sim_fall_rate:.0%}"] = m["fall_rate"] <= g.max_sim2sim_fall_rate
    return out


def format_table(s: dict) -> str:
    def f(x) -> str:
        return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.3f}"

    lines = [
        f"velocity error {f(s['lin_vel_error'])} m/s (per eval seed {', '.join(map(f, s['lin_vel_error_per_seed']))}), "
        f"yaw-rate error {f(s['yaw_rate_error'])} rad/s (turning commands {f(s['yaw_rate_error_turning'])}), "
        f"falls {s['fall_rate']:.1%}, slip {s['slip_rate']:.1%}",
        f"walking gait: single stance {f(s['gait_walking']['single_stance_fraction'])}, "
        f"alternation {f(s['gait_walking']['step_alternation'])}, swing {f(s['gait_walking'].get('swing_time'))} s, "
        f"slip {f(s['gait_walking'].get('slip_rate'))}",
    ]
    if s.get("gait_reference_walking"):
        r = s["gait_reference_walking"]
        lines.append(f"reference walking gait: single stance {f(r['single_stance_fraction'])}, "
                     f"alternation {f(r['step_alternation'])}, swing {f(r.get('swing_time'))} s, "
                     f"slip {f(r.get('slip_rate'))}")  # fmt: skip
    if "style" in s:
        st = s["style"]
        motions = ", ".join(f"{m} {f(d)}" for m, d in st["reference_to_policy_per_motion"].items())
        lines.append(f"style: policy->reference {f(st['policy_to_reference'])}, reference->policy "
                     f"{f(st['reference_to_policy'])}; per motion {motions}")  # fmt: skip
    for name, c in s.get("controls", {}).items():
        lines.append(f"control {name}: style policy->reference {f(c['policy_to_reference'])}, reference->policy "
                     f"{f(c['reference_to_policy'])} (policy/control {f(c['ratio_policy_to_reference'])}, "
                     f"{f(c['ratio_reference_to_policy'])}); velocity error {f(c['lin_vel_error'])}, "
                     f"falls {c['fall_rate']:.1%}")  # fmt: skip
    if "mujoco" in s:
        m = s["mujoco"]
        lines.append(f"MuJoCo (bundle only): velocity error {f(m['lin_vel_error'])} "
                     f"({f(m['lin_vel_error_ratio_to_isaac'])}x Isaac Lab), yaw {f(m['yaw_rate_error'])}, "
                     f"falls {m['fall_rate']:.1%}")  # fmt: skip
    lines += [f"  [{'PASS' if ok else 'FAIL'}] {name}" for name, ok in s["checks"].items()]
    return "\n".join(lines)


@dataclass
class GoalsArgs:
    """``python -m wildrobot_amp_ext.evaluation.goals``'s flags."""

    isaac: list[str] = opt(required=True, help="metrics.json of wildrobot-evaluate, one per eval seed")
    mujoco: str | None = opt(None, help="mujoco_grid.json of wildrobot-sim2sim --grid on the same grid")
    reference: str | None = opt(None, help="reference dataset .npz (the reference's walking gait)")
    out: str | None = opt(None, help="goals.json")
    control: list[str] = opt(
        factory=list,
        action="append",
        metavar="NAME=GOALS_JSON",
        help="a control run's goals.json (same grid, same eval seeds); repeatable",
    )


def build_parser() -> CliParser:
    p = CliParser(description="The walking goals table from evaluation reports.")
    add_config(p, GoalsArgs)
    return p


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    pairs = [item.partition("=") for item in args.control]
    for name, sep, path in pairs:
        if not sep or not name or not path:
            raise InputError("--control", None, f"{name!r} is not NAME=GOALS_JSON", "e.g. --control bonus=goals.json")
    controls = {name: _read(path) for name, _, path in pairs}
    isaac = [_read(path) for path in args.isaac]
    summary = summarize(isaac, _read(args.mujoco) if args.mujoco else None, args.reference, controls=controls)
    print(format_table(summary))
    if args.out:
        save_json_atomic(Path(args.out), summary)
        print(f"[goals] -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
