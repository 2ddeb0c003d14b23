"""What the ranks of a multi-GPU run must agree on, as small functions a test can drive with a fake all-reduce.

* **Same sizes on every rank.** A collective (NCCL all-reduce) whose tensor differs in size between ranks hangs or
  mixes numbers. An update's metrics are therefore reduced as raw sums in one fixed layout (:data:`UPDATE_SUMS`:
  episode lengths, counts, falls, and the held-out AUC / saturation with their counts) and the means are derived
  after the reduction: a rank on which no episode ended sends zeros, never fewer numbers.
* **Different random streams per rank.** Rank r seeds from ``seed + r`` (skrl's ``set_seed`` adds the rank); a
  checkpoint holds rank 0's RNG state (only rank 0 writes), so a resumed rank r > 0 derives its state from it and
  its rank (:func:`offset_rng_for_rank`) instead of replaying rank 0's draws.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import torch
from skrl import config

#: one update's raw sums, in the order every rank sends them
UPDATE_SUMS = (
    "episode_length_sum",
    "episodes_finished",
    "episodes_fell",
    "auc_sum",
    "auc_count",
    "logit_saturation_sum",
    "logit_saturation_count",
)

#: in-place sum over ranks of a tensor (``torch.distributed.all_reduce`` in a multi-GPU run)
AllReduce = Callable[[torch.Tensor], None]


def all_reduce_sum(t: torch.Tensor) -> None:
    """Sum ``t`` over ranks in place (nothing to do in a single-process run)."""
    if config.torch.is_distributed:
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)


def update_sums(episode_stats: torch.Tensor, diagnostics: dict) -> torch.Tensor:
    """This rank's contribution to an update's metrics, ``(len(UPDATE_SUMS),)`` float64 on the stats' device.

    ``episode_stats``: (finished-episode length sum, finished count, fell count); ``diagnostics``: the last held-out
    ``auc`` / ``logit_saturation`` (None, or missing, when not measured yet: counted 0)."""
    tail = []
    for key in ("auc", "logit_saturation"):
        value = diagnostics.get(key)
        ok = value is not None and math.isfinite(float(value))
        tail += [float(value) if ok else 0.0, 1.0 if ok else 0.0]
    extra = torch.tensor(tail, dtype=torch.float64, device=episode_stats.device)
    return torch.cat([episode_stats.reshape(3).to(torch.float64), extra])


def derive_update_metrics(sums: torch.Tensor) -> dict[str, float | int | None]:
    """Means from (reduced) raw sums; None where nothing was counted on any rank."""
    length, finished, fell, auc, auc_n, sat, sat_n = sums.tolist()
    return {
        "episode_length_mean": length / finished if finished else None,
        "fall_rate": fell / finished if finished else None,
        "episodes_finished": int(finished),
        "auc": auc / auc_n if auc_n else None,
        "logit_saturation": sat / sat_n if sat_n else None,
    }


def reduce_update_metrics(
    episode_stats: torch.Tensor, diagnostics: dict, all_reduce: AllReduce = all_reduce_sum
) -> dict[str, float | int | None]:
    """The update's metrics over all ranks: one all-reduce of ``len(UPDATE_SUMS)`` numbers on every rank."""
    sums = update_sums(episode_stats, diagnostics)
    all_reduce(sums)
    return derive_update_metrics(sums)


def seed_rngs(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and every CUDA device's) global generators.

    Warp keeps no global random state (``wp.rand_init`` is a pure function; kernels take their seeds as
    arguments), so there is nothing of warp's to restore or offset."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def offset_rng_for_rank(rank: int) -> int | None:
    """After rank 0's RNG state was restored on every rank: rank r > 0 reseeds from a draw of that state plus r
    (rank 0 keeps the restored state exactly, so a single-process resume stays bit-exact). Returns the seed used
    (None on rank 0)."""
    if rank <= 0:
        return None
    base = int(torch.randint(0, 2**31 - 1 - 4096, (1,)).item())  # the restored CPU generator's next draw
    seed = base + rank
    seed_rngs(seed)
    return seed
