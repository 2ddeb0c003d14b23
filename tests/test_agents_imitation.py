"""The default AMP recipe makes a policy imitate the reference (toy env, CI-sized), against a control trained on a
shuffled reference (same frames, time order destroyed, so its (s, s') pairs are no motion).

Imitation is measured as the mean RMS distance, in reference-normalised units, from the policy's AMP observations
(deterministic actions, from a standing start) to the nearest reference AMP observation. Criteria: after training
it is <= 0.6x its value before training and <= 0.7x the control's.

Not met yet (see the xfail reason): with the default recipe the policy moves away from the reference in this
budget. Measured (64 envs, one seed): before 0.62; 480 timesteps, recipe 0.9 / 0.1: 1.64, 0.5 / 0.5: 0.91;
1000 timesteps style only, 5 epochs x 4 minibatches, lr 1e-3: 0.49 (0.78x). The held-out discriminator AUC is
0.98-1.0 from the third update on in every variant.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from wildrobot_amp_ext.agents.diagnostics import nearest_reference_distance, reference_scale
from wildrobot_amp_ext.agents.runner import build_amp_runner
from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv, tiny_agent_cfg

os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")
NUM_ENVS = 64
TIMESTEPS = 480
SEED = 0


@torch.no_grad()
def policy_distance(agent, reference: torch.Tensor, scale, steps: int = 80, skip: int = 20) -> float:
    env = ToyAmpEnv(num_envs=NUM_ENVS)
    obs, _ = env.reset(seed=123)
    rows = []
    for t in range(steps):
        _, outputs = agent.policy.act({"observations": agent._observation_preprocessor(obs["policy"])}, role="policy")
        obs, _, _, _, info = env.step(outputs["mean_actions"])
        if t >= skip:
            rows.append(info["amp_obs"])
    return float(nearest_reference_distance(torch.cat(rows), reference, scale).mean())


def shuffled_reference(path, seed: int = 1):
    """The same file with its frames in random order inside each clip."""
    data = dict(np.load(path))
    order = np.random.default_rng(seed).permutation(len(data["features"]))
    order = order[np.argsort(data["motion_id"][order], kind="stable")]  # keep clips contiguous
    data["features"] = data["features"][order]
    np.savez(path, **data)
    return path


def train(tmp_path, name: str, shuffle: bool) -> tuple[float, float, dict]:
    env = ToyAmpEnv(num_envs=NUM_ENVS, reference_state_init=0.5)  # as the real tasks' reset
    reference = env.reference_obs.clone()
    scale = reference_scale(reference)
    path = env.write_reference_npz(tmp_path / f"{name}.npz")
    if shuffle:
        shuffled_reference(path)
    env.cfg.amp.dataset = str(path)  # the env samples its reference from the file, as env.amp.dataset does
    cfg = tiny_agent_cfg()
    cfg.seed = SEED
    runner = build_amp_runner(env, cfg, experiment_directory=tmp_path, experiment_name=name, timesteps=TIMESTEPS)
    before = policy_distance(runner.agent, reference, scale)
    runner.train()
    after = policy_distance(runner.agent, reference, scale)
    return before, after, runner.agent.diagnostics_history[-1]


def test_nearest_reference_distance_is_zero_on_the_reference_and_grows_off_it():
    reference = ToyAmpEnv(num_envs=2).reference_obs
    scale = reference_scale(reference)
    assert float(nearest_reference_distance(reference[::7], reference, scale).max()) < 2e-3  # cdist rounding
    shifted = reference[::7] + scale[1]  # one reference std off in every column
    assert float(nearest_reference_distance(shifted, reference, scale).mean()) > 0.3


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="default recipe does not imitate on the toy env yet: distance 1.7x before",
)
def test_default_recipe_imitates_the_reference_better_than_a_shuffled_reference_control(tmp_path):
    before, amp, last = train(tmp_path, "amp", shuffle=False)
    _, control, _ = train(tmp_path, "control", shuffle=True)
    fraction = last["style_weight_fraction"]
    summary = f"distance before {before:.3f}, AMP {amp:.3f}, control {control:.3f}; style weight x{fraction:.2f}"
    print(summary)
    assert amp <= 0.6 * before, summary
    assert amp <= 0.7 * control, summary
