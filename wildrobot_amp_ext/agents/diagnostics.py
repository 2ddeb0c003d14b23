"""Discriminator health figures skrl does not log.

Labels follow skrl's AMP: reference = 1, policy = 0, so a discriminator that tells them apart has AUC > 0.5 and
positive reference logits. Health bands: accuracy ~0.5 = collapsed, >= 0.97 = too strong, 0.6-0.8 healthy;
micro-train smoke gate: AUC in 0.6-0.9 and style-reward variance > 0.05.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

#: skrl's style reward floor: -log(max(1 - D, 1e-4)) caps the reward at ~9.2
STYLE_REWARD_FLOOR = 1e-4


def style_reward_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """skrl 2.1's style reward, -log(max(1 - sigmoid(logit), 1e-4)), computed stably in log space."""
    # 1 - sigmoid(l) = sigmoid(-l); log(sigmoid(-l)) = -softplus(l)
    return torch.minimum(
        torch.nn.functional.softplus(logits),
        torch.tensor(-np.log(STYLE_REWARD_FLOOR), device=logits.device, dtype=logits.dtype),
    )


def least_squares_style_reward(d: torch.Tensor) -> torch.Tensor:
    """Least-squares AMP style reward (Escontrela et al. 2022, legged_gym AMP): max(0, 1 - 0.25 (d - 1)^2) for a
    discriminator trained towards d = +1 on reference and d = -1 on policy samples; 1 at d = 1, 0 at d <= -1."""
    return torch.clamp(1.0 - 0.25 * torch.square(d - 1.0), min=0.0)


#: discriminator objectives: name -> style reward from the discriminator output
STYLE_REWARDS = {"bce": style_reward_from_logits, "least_squares": least_squares_style_reward}


def rank_auc(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Area under the ROC curve, P(score_pos > score_neg) + 0.5 P(tie), from average ranks (Mann-Whitney U).

    O((P + N) log(P + N)), fully vectorised; ties get their average rank."""
    positive, negative = positive.reshape(-1).double(), negative.reshape(-1).double()
    n_pos, n_neg = positive.numel(), negative.numel()
    if n_pos == 0 or n_neg == 0:
        return torch.tensor(float("nan"), device=positive.device)
    scores = torch.cat([positive, negative])
    is_pos = torch.cat(
        [
            torch.ones(n_pos, dtype=torch.bool, device=scores.device),
            torch.zeros(n_neg, dtype=torch.bool, device=scores.device),
        ]
    )
    sorted_scores, order = torch.sort(scores)
    _, inverse, counts = torch.unique_consecutive(sorted_scores, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    avg_rank = ends - (counts.double() - 1.0) / 2.0  # 1-based mean rank of each tie group
    rank_sum_pos = avg_rank[inverse][is_pos[order]].sum()
    return (rank_sum_pos - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def discriminator_stats(
    policy_logits: torch.Tensor, reference_logits: torch.Tensor, saturation_threshold: float
) -> dict[str, float]:
    """Accuracies, AUC, mean logits and saturation of one batch of policy and reference logits."""
    pol, ref = policy_logits.reshape(-1).float(), reference_logits.reshape(-1).float()
    both = torch.cat([pol, ref])
    figures = torch.stack(
        [
            (pol < 0).float().mean(),
            (ref > 0).float().mean(),
            0.5 * ((pol < 0).float().mean() + (ref > 0).float().mean()),
            rank_auc(ref, pol).float(),
            pol.mean(),
            ref.mean(),
            (both.abs() > saturation_threshold).float().mean(),
            both.abs().max(),
            (~torch.isfinite(both)).float().sum(),
        ]
    ).tolist()  # one host sync for the lot
    keys = [
        "acc_policy",
        "acc_reference",
        "accuracy",
        "auc",
        "logit_policy_mean",
        "logit_reference_mean",
        "logit_saturation",
        "logit_abs_max",
        "nonfinite_logits",
    ]
    return dict(zip(keys, figures))


def reward_stats(style_reward: torch.Tensor) -> dict[str, float]:
    r = style_reward.reshape(-1).float()
    mean, var = torch.stack([r.mean(), r.var(unbiased=False)]).tolist()
    return {"style_reward_mean": mean, "style_reward_var": var}


# ------------------------------------------------------------------------------------------------------------------
# per-term contribution
# ------------------------------------------------------------------------------------------------------------------
def grad_x_input_by_term(
    discriminate: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, layout: dict[str, torch.Tensor]
) -> dict[str, float]:
    """Share of |sum over a term's columns of x * dlogit/dx|, averaged over rows; shares sum to 1.

    ``x`` is the discriminator input as fed (normalised, masked): a masked term contributes 0."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = discriminate(x)
        (grad,) = torch.autograd.grad(logits.sum(), x)
    attribution = (grad * x).detach()
    per_term = torch.stack([attribution[:, cols].sum(dim=1).abs().mean() for cols in layout.values()])
    total = per_term.sum().clamp_min(1e-12)
    return dict(zip(layout.keys(), (per_term / total).tolist()))


def ablation_by_term(
    discriminate: Callable[[torch.Tensor], torch.Tensor],
    x_policy: torch.Tensor,
    x_reference: torch.Tensor,
    layout: dict[str, torch.Tensor],
) -> dict[str, float]:
    """AUC lost when a term's columns are set to 0 (the running mean in normalised space), one batched pass."""
    n_terms = len(layout)
    both = torch.cat([x_policy, x_reference])
    variants = both.unsqueeze(0).repeat(n_terms + 1, 1, 1)
    for i, cols in enumerate(layout.values(), start=1):
        variants[i][:, cols] = 0.0
    with torch.no_grad():
        logits = discriminate(variants.reshape(-1, both.shape[1])).reshape(n_terms + 1, -1)
    n_pol = x_policy.shape[0]
    aucs = torch.stack([rank_auc(row[n_pol:], row[:n_pol]) for row in logits])
    drops = (aucs[0] - aucs[1:]).tolist()
    return dict(zip(layout.keys(), drops))
