"""Agent configurations of the AMP locomotion tasks (typed dataclass trees, see wildrobot_amp_ext.agents.config)."""
