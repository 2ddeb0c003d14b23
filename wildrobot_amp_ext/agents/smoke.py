"""Micro-train gate (phase 2 of the data-first plan): is the discriminator learning something without saturating,
and does the style reward vary enough for the policy to follow it?

Gate (configurable, ``agent.amp.smoke_gate``), on the means over the last part of the run: discriminator
AUC measured held out (on the rollout before the update trains on it) within [0.6, 1.0], at most half of its
logits saturated, style-reward variance above the objective's threshold (0.01 for least squares, whose reward
spans 0-1; 0.05 for bce, whose reward spans 0-9.2), and no NaN/Inf anywhere (AMP observations, reference batches,
style rewards, skipped updates). The in-sample AUC read 0.98-1.0 on every run and could not fail.
"""

from __future__ import annotations

import math

import numpy as np

from wildrobot_amp_ext.agents.config import MIN_STYLE_REWARD_VARIANCE, AmpExtrasCfg, SmokeGateCfg

NEXT_STEP = {
    True: "PASS -> phase 3: train without contacts, then reintroduce height and contacts gradually",
    False: "FAIL -> check harness artifacts and feature normalisation; a discriminator that saturates at once "
    "means a too narrow reference or artifacts",
}


def _mean(records: list[dict], key: str) -> float | None:
    values = [r[key] for r in records if r.get(key) is not None and np.isfinite(r[key])]
    return float(np.mean(values)) if values else None


def evaluate_gate(history: list[dict], cfg: SmokeGateCfg | None = None, objective: str | None = None) -> dict:
    """Gate report from the agent's per-update diagnostics records (``objective``: the discriminator's, which sets
    the scale of the style reward and so the default variance threshold; None: the config's default objective)."""
    cfg = cfg or SmokeGateCfg()
    min_variance = cfg.min_style_reward_variance
    if min_variance is None:
        min_variance = MIN_STYLE_REWARD_VARIANCE[objective or AmpExtrasCfg().discriminator_objective]
    with_auc = [r for r in history if r.get("auc") is not None]
    window = with_auc[-max(1, math.ceil(cfg.window_fraction * len(with_auc))) :] if with_auc else []
    auc = _mean(window, "auc")
    saturation = _mean(window, "logit_saturation")
    variance = _mean(window, "style_reward_var")
    last = history[-1] if history else {}
    nonfinite = {
        k[len("guard_") :]: last.get(k, 0)
        for k in (
            "guard_nonfinite_amp_obs_rows",
            "guard_nonfinite_reference_rows",
            "guard_nonfinite_style_rewards",
            "guard_skipped_minibatches",
        )
    }
    checks = {
        "auc_in_band": auc is not None and cfg.auc_min <= auc <= cfg.auc_max,
        "logits_not_saturated": saturation is not None and saturation <= cfg.max_logit_saturation,
        "style_reward_variance": variance is not None and variance > min_variance,
        "no_nonfinite": all(v == 0 for v in nonfinite.values()),
    }
    passed = bool(history) and all(checks.values())
    return {
        "verdict": "PASS" if passed else "FAIL",
        "checks": checks,
        "auc": auc,
        "logit_saturation": saturation,
        "style_reward_variance": variance,
        "style_reward_mean": _mean(window, "style_reward_mean"),
        "accuracy_policy": _mean(window, "acc_policy"),
        "accuracy_reference": _mean(window, "acc_reference"),
        "nonfinite": nonfinite,
        "window_updates": len(window),
        "updates": len(history),
        "timesteps": last.get("timestep"),
        "feature_stage": last.get("feature_stage_name"),
        "style_weight_fraction": last.get("style_weight_fraction"),
        "thresholds": {
            "auc": [cfg.auc_min, cfg.auc_max],
            "min_style_reward_variance": min_variance,
            "max_logit_saturation": cfg.max_logit_saturation,
            "window_fraction": cfg.window_fraction,
        },
        "next_step": NEXT_STEP[passed],
    }


SAT, VAR = "logits_not_saturated", "style_reward_variance"


def format_gate(report: dict) -> str:
    def f(v, spec=".3f"):
        return "n/a" if v is None else format(v, spec)

    def ok(check: str) -> str:
        return "ok" if report["checks"][check] else "FAIL"

    lo, hi = report["thresholds"]["auc"]
    min_var = report["thresholds"]["min_style_reward_variance"]
    max_sat = report["thresholds"]["max_logit_saturation"]
    lines = [
        "=" * 60,
        "AMP MICRO-TRAIN SMOKE TEST (held-out discriminator figures)",
        "=" * 60,
        f"timesteps: {report['timesteps']}   updates: {report['updates']}   window: last {report['window_updates']}",
        f"discriminator AUC (held out): {f(report['auc'])}   (gate {lo}-{hi})  {ok('auc_in_band')}",
        f"logit saturation:         {f(report['logit_saturation'])}   (gate <= {max_sat})  {ok(SAT)}",
        f"style reward variance:    {f(report['style_reward_variance'], '.4f')}   (gate > {min_var})  {ok(VAR)}",
        f"style reward mean:        {f(report['style_reward_mean'])}",
        f"accuracy policy / ref:    {f(report['accuracy_policy'])} / {f(report['accuracy_reference'])}",
        f"non-finite:               {report['nonfinite']}  {ok('no_nonfinite')}",
        f"VERDICT: {report['verdict']}",
        report["next_step"],
        "=" * 60,
    ]
    return "\n".join(lines)
