"""The default AMP recipe makes a policy imitate the reference (toy env, CI-sized), against two controls that differ
from it in one thing each, measured with the project's style metric (evaluation.style_metric):

* control_bonus: the same run with the style reward replaced by a constant equal to the AMP run's mean per-step style
  reward (``agent.amp.constant_style_reward``): the same survival incentive, no style information;
* control_shuffled: AMP on a time-shuffled reference (every frame kept, their order random): a style reward is present,
  the motion is not.

The metric compares transitions (frame t, t+1) in physical units, policy -> reference command-matched (the toy's
command is a speed; the reference's is its speed proxy) and reference -> policy per clip, on deterministic rollouts
from fresh resets without the first second after a reset and the last second before a fall.

Measured with this metric the recipe does NOT yet imitate the toy at the CI budget (numbers in the xfail below):
the previous figure, "0.42x before training and 0.42x a column-shuffled control", came from a distance whose constant
columns were scaled by a fraction of the other columns' spread, against a control whose discriminator could win on
identities the toy always obeys. The test stays, strict: it turns into a failure the day the recipe passes.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from wildrobot_amp_ext.agents.runner import build_amp_runner
from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv, tiny_agent_cfg, toy_column_names
from wildrobot_amp_ext.evaluation.style_metric import (
    PolicyTransitions,
    StyleMetricCfg,
    StyleReference,
    frames_to_score,
    style_score,
)

os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")
NUM_ENVS = 64
TIMESTEPS = 1200
SEED = 0
METRIC = StyleMetricCfg()


def toy_reference(env: ToyAmpEnv) -> StyleReference:
    feats = torch.cat(env.reference_features).cpu().numpy()
    clip = np.concatenate([np.full(len(f), m) for m, f in enumerate(env.reference_features)])
    speed = feats[:, 2 * env.cfg.num_joints]  # the toy's root_lin_vel/x: its speed proxy, what the command asks for
    velocity = np.stack([speed, np.zeros_like(speed), np.zeros_like(speed)], axis=1)
    names = [f"clip{m}" for m in range(len(env.reference_features))]
    return StyleReference.from_arrays(
        feats, velocity, clip, names, toy_column_names(env.cfg.num_joints), 1.0 / env.cfg.dt, "raw", METRIC
    )


@torch.no_grad()
def policy_transitions(act, steps: int = 200, seed: int = 123) -> PolicyTransitions:
    """Deterministic rollout from fresh resets; the AMP observation of a step is the transition (t-1, t)."""
    env = ToyAmpEnv(num_envs=NUM_ENVS)
    obs, _ = env.reset(seed=seed)
    rows, commands, terminated, truncated = [], [], [], []
    for _ in range(steps):
        commands.append(env.cmd.clone())
        obs, _, term, trunc, info = env.step(act(obs["policy"]))
        rows.append(info["amp_obs"])
        terminated.append(term)
        truncated.append(trunc)
    amp, cmd = torch.stack(rows).numpy(), torch.stack(commands).numpy()
    keep, _ = frames_to_score(torch.stack(terminated).numpy(), torch.stack(truncated).numpy(), env.cfg.dt, METRIC)
    command = np.stack([cmd, np.zeros_like(cmd), np.zeros_like(cmd)], axis=-1)
    return PolicyTransitions(amp[keep], command[keep])


def agent_act(agent):
    def act(obs):
        return agent.policy.act({"observations": agent._observation_preprocessor(obs)}, role="policy")[1][
            "mean_actions"
        ]

    return act


def time_shuffled_reference(path, seed: int = 1):
    """The same file with its frames in a random order (clip structure kept): every frame, no motion."""
    data = dict(np.load(path))
    data["features"] = data["features"][np.random.default_rng(seed).permutation(len(data["features"]))]
    np.savez(path, **data)
    return path


def train(tmp_path, name: str, shuffle: bool = False, constant_style: float | None = None):
    env = ToyAmpEnv(num_envs=NUM_ENVS, reference_state_init=0.5)  # as the real tasks' reset
    path = env.write_reference_npz(tmp_path / f"{name}.npz")
    if shuffle:
        time_shuffled_reference(path)
    env.cfg.amp.dataset = str(path)  # the env samples its reference from the file, as env.amp.dataset does
    cfg = tiny_agent_cfg()
    cfg.seed = SEED
    cfg.amp.constant_style_reward = constant_style
    runner = build_amp_runner(env, cfg, experiment_directory=tmp_path, experiment_name=name, timesteps=TIMESTEPS)
    before = policy_transitions(agent_act(runner.agent))
    runner.train()
    style = float(np.mean([r["style_reward_per_step"] for r in runner.agent.diagnostics_history]))
    return before, policy_transitions(agent_act(runner.agent)), style


def test_the_style_metric_ranks_the_toy_reference_above_a_still_policy():
    env = ToyAmpEnv(num_envs=2)
    reference = toy_reference(env)
    odd = np.arange(len(reference.clip)) % 2 == 1
    held_out = style_score(PolicyTransitions(reference.obs[odd], reference.velocity[odd]), reference)
    still = policy_transitions(lambda obs: torch.zeros(obs.shape[0], env.cfg.num_joints))
    s = style_score(still, reference)
    assert held_out["policy_to_reference"] < 0.05 and s["policy_transitions_scored"] > 0
    # measured: held out 0.001; a still policy 0.89 / 0.90
    assert s["policy_to_reference"] > 10 * held_out["policy_to_reference"] and s["reference_to_policy"] > 0.5


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured (seed 0, 1200 timesteps): policy->reference / reference->policy before training 0.845 / 0.926, "
    "AMP 1.166 / 0.858 (joint angles 2.25 floors off), constant bonus 1.628 / 1.581, time-shuffled reference "
    "0.499 / 0.434: the default recipe does not imitate the toy at this budget. Strict: it fails once it does, "
    "so this marker must then go.",
)
def test_default_recipe_imitates_the_reference_better_than_both_controls(tmp_path):
    reference = toy_reference(ToyAmpEnv(num_envs=2))
    before, amp, style = train(tmp_path, "amp")
    _, bonus, _ = train(tmp_path, "control_bonus", constant_style=style)
    _, shuffled, _ = train(tmp_path, "control_shuffled", shuffle=True)
    scores = {k: style_score(v, reference, METRIC) for k, v in
              {"before": before, "amp": amp, "bonus": bonus, "shuffled": shuffled}.items()}  # fmt: skip
    table = {k: (round(v["policy_to_reference"], 3), round(v["reference_to_policy"], 3)) for k, v in scores.items()}
    print(table)
    for k in ("policy_to_reference", "reference_to_policy"):
        assert scores["amp"][k] <= 0.6 * scores["before"][k], table
        assert scores["amp"][k] <= 0.8 * scores["bonus"][k], table
        assert scores["amp"][k] <= 0.8 * scores["shuffled"][k], table
