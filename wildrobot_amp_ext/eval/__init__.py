"""Playback, evaluation and visual tools.

* :mod:`~wildrobot_amp_ext.eval.viewer`: motion viewer (MuJoCo, side by side, limit / penetration / floating highlights)
* :mod:`~wildrobot_amp_ext.eval.sources`: motion sets the viewer reads (GMR pickles, dataset / segments / rollout npz)
* :mod:`~wildrobot_amp_ext.eval.checks`: kinematic per-frame checks of a clip
* :mod:`~wildrobot_amp_ext.eval.rollout`: the recorded-rollout schema (play.py writes it, metrics and viewer read it)
* :mod:`~wildrobot_amp_ext.eval.metrics`: pure, vectorised evaluation metrics over recorded rollouts
* :mod:`~wildrobot_amp_ext.eval.export`: skrl Gaussian policy + observation normaliser -> ONNX / TorchScript,
  parity check
* :mod:`~wildrobot_amp_ext.eval.evaluate`: fixed velocity commands over many envs -> metrics JSON + PNG summary

Submodules import MuJoCo / torch / Isaac Lab lazily; import what you need from them.
"""
