"""Discriminator diagnostics: rank AUC, style reward, accuracy/saturation, per-term attribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wildrobot_amp_ext.agents.diagnostics import (
    ablation_by_term,
    discriminator_stats,
    grad_x_input_by_term,
    rank_auc,
    reward_stats,
    style_reward_from_logits,
)


def brute_force_auc(pos, neg):
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return ((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size)


@pytest.mark.parametrize("seed", range(4))
def test_rank_auc_matches_pairwise_count_with_ties(seed):
    rng = np.random.default_rng(seed)
    pos = rng.integers(0, 6, size=rng.integers(5, 60)).astype(float) + 0.5 * seed
    neg = rng.integers(0, 5, size=rng.integers(5, 60)).astype(float)
    got = rank_auc(torch.tensor(pos), torch.tensor(neg)).item()
    assert got == pytest.approx(brute_force_auc(pos, neg), abs=1e-12)


def test_rank_auc_extremes():
    a, b = torch.arange(10.0), torch.arange(10.0) + 100
    assert rank_auc(b, a).item() == 1.0
    assert rank_auc(a, b).item() == 0.0
    assert rank_auc(torch.zeros(7), torch.zeros(9)).item() == 0.5
    assert np.isnan(rank_auc(torch.zeros(0), torch.ones(3)).item())


def test_style_reward_equals_skrl_formula():
    # skrl's expression in float64 (in float32 its 1 - sigmoid cancels near the 1e-4 floor; ours does not)
    logits = torch.linspace(-30, 30, 601, dtype=torch.float64)
    skrl = -torch.log(torch.maximum(1 - 1 / (1 + torch.exp(-logits)), torch.tensor(0.0001, dtype=torch.float64)))
    assert torch.allclose(style_reward_from_logits(logits.float()).double(), skrl, atol=2e-6)
    assert style_reward_from_logits(torch.tensor([1000.0])).item() == pytest.approx(-np.log(1e-4))


def test_discriminator_stats_on_crafted_logits():
    pol = torch.tensor([-3.0, -1.0, 0.5, -6.0])  # 3 of 4 called policy, one saturated
    ref = torch.tensor([2.0, 7.0, -0.5, 1.0])  # 3 of 4 called reference, one saturated
    s = discriminator_stats(pol, ref, saturation_threshold=5.0)
    assert s["acc_policy"] == 0.75 and s["acc_reference"] == 0.75 and s["accuracy"] == 0.75
    assert s["logit_saturation"] == pytest.approx(2 / 8)
    assert s["logit_abs_max"] == 7.0
    assert s["auc"] == pytest.approx(brute_force_auc(ref.numpy(), pol.numpy()))
    assert s["logit_policy_mean"] == pytest.approx(-2.375) and s["nonfinite_logits"] == 0
    r = reward_stats(torch.tensor([1.0, 3.0]))
    assert r == {"style_reward_mean": 2.0, "style_reward_var": 1.0}


LAYOUT = {"a": torch.tensor([0, 1]), "b": torch.tensor([2]), "c": torch.tensor([3, 4])}


def test_grad_x_input_credits_only_the_term_the_discriminator_reads():
    w = torch.tensor([0.0, 0.0, 3.0, 0.0, 0.0])
    x = torch.randn(256, 5, generator=torch.Generator().manual_seed(0))
    shares = grad_x_input_by_term(lambda z: z @ w, x, LAYOUT)
    assert shares["b"] == pytest.approx(1.0) and shares["a"] == 0.0 and shares["c"] == 0.0
    w2 = torch.tensor([1.0, 1.0, 0.0, 2.0, 0.0])
    shares = grad_x_input_by_term(lambda z: z @ w2, x, LAYOUT)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["b"] == 0.0 and shares["a"] > 0.2 and shares["c"] > 0.2


def test_ablation_drop_is_large_only_for_the_informative_term():
    g = torch.Generator().manual_seed(1)
    pol, ref = torch.randn(400, 5, generator=g), torch.randn(400, 5, generator=g)
    ref[:, 3] += 3.0  # only term c separates reference from policy
    drops = ablation_by_term(lambda z: z[:, 3] + 0.01 * z[:, 0], pol, ref, LAYOUT)
    assert drops["c"] > 0.4
    assert abs(drops["a"]) < 0.02 and abs(drops["b"]) < 1e-9
