"""Evaluation: policy rollouts in the env, the metrics and style measure over them, and their reports.

* :mod:`~wildrobot_amp_ext.evaluation.rollout`: the recorded-rollout schema (play writes it, metrics and viewer read it)
* :mod:`~wildrobot_amp_ext.evaluation.env_loop`: stepping an Isaac Lab env with a policy, recording the rollout
* :mod:`~wildrobot_amp_ext.evaluation.metrics`: pure, vectorised evaluation metrics over recorded rollouts
* :mod:`~wildrobot_amp_ext.evaluation.style_metric`: the style measure (rollout features vs the reference dataset)
* :mod:`~wildrobot_amp_ext.evaluation.evaluate`: fixed velocity commands over many envs -> metrics JSON + PNG summary
* :mod:`~wildrobot_amp_ext.evaluation.checks`: kinematic per-frame checks of a clip (limits, penetration, floating)
* :mod:`~wildrobot_amp_ext.evaluation.run_config`: the env a checkpoint's run trained with, rebuilt for play / eval
* :mod:`~wildrobot_amp_ext.evaluation.robustness`: ``wildrobot-sim2sim``, the MuJoCo robustness sweep report
* :mod:`~wildrobot_amp_ext.evaluation.sim2sim_report`: a MuJoCo rollout measured beside the Isaac Lab eval

Submodules import MuJoCo / torch / Isaac Lab lazily; import what you need from them.
"""
