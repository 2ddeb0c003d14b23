"""Agent configurations of the AMP locomotion tasks (skrl 2.x AMP runner YAML)."""
