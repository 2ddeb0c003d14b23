"""The micro-train gate reads each objective's style reward on its own scale."""

from __future__ import annotations

from wildrobot_amp_ext.agents.config import SmokeGateCfg
from wildrobot_amp_ext.agents.smoke import evaluate_gate


def history(variance: float, auc: float = 1.0, updates: int = 8) -> list[dict]:
    return [
        {"timestep": 8 * (k + 1), "auc": auc, "logit_saturation": 0.0, "style_reward_var": variance}
        for k in range(updates)
    ]


def test_the_variance_threshold_follows_the_objective():
    # measured on the toy env with the default (least-squares) recipe, a policy that imitated: variance 0.0245
    imitating = history(0.0245)
    assert evaluate_gate(imitating, objective="least_squares")["verdict"] == "PASS"
    report = evaluate_gate(imitating, objective="bce")  # bce's reward spans 0-9.2: 0.0245 is flat for it
    assert report["verdict"] == "FAIL" and not report["checks"]["style_reward_variance"]
    assert report["thresholds"]["min_style_reward_variance"] == 0.05
    flat = evaluate_gate(history(0.002), objective="least_squares")
    assert flat["verdict"] == "FAIL" and not flat["checks"]["style_reward_variance"]
    explicit = evaluate_gate(imitating, SmokeGateCfg(min_style_reward_variance=0.03), objective="least_squares")
    assert explicit["verdict"] == "FAIL"


def test_an_uninformative_discriminator_fails():
    report = evaluate_gate(history(0.05, auc=0.52), objective="least_squares")
    assert report["verdict"] == "FAIL" and report["checks"] == {
        "auc_in_band": False,
        "logits_not_saturated": True,
        "style_reward_variance": True,
        "no_nonfinite": True,
    }
