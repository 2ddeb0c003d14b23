"""wildrobot_amp_ext: Adversarial Motion Priors for humanoids on Isaac Lab + skrl, from GMR motions."""

__version__ = "0.1.0"
