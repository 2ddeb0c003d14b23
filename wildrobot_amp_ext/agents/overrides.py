"""Hydra-style ``key=value`` overrides for the agent cfg dict (and plain dataclass env cfgs).

``agent.agent.learning_rate=1e-4`` sets ``cfg["agent"]["learning_rate"]``; values are parsed as YAML (numbers,
booleans, null, lists ``[512,256]``); a key that does not exist is refused unless written ``+key=value`` (Hydra's
"add" syntax), so a typo never silently trains with the default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import yaml

from wildrobot_amp_ext.agents.config import coerce_number
from wildrobot_amp_ext.errors import InputError


def split_overrides(tokens: Sequence[str]) -> tuple[list[str], list[str]]:
    """Trailing command-line tokens -> (env overrides, agent overrides), prefixes kept. Other tokens are refused."""
    env, agent = [], []
    for tok in tokens:
        key = tok.lstrip("+~").split("=", 1)[0]
        if "=" not in tok:
            raise InputError(
                None,
                tok,
                "unrecognised argument",
                "flags start with --; overrides are env.<path>=<value> or agent.<path>=<value>",
            )
        if key.startswith("env.") or key in ("presets", "physics", "renderer"):
            env.append(tok)
        elif key.startswith("agent."):
            agent.append(tok)
        else:
            raise InputError(
                None,
                tok,
                "override must start with env. or agent.",
                "e.g. agent.agent.learning_rate=1e-4 or env.scene.num_envs=8",
            )
    return env, agent


def parse_value(text: str) -> Any:
    try:
        return coerce_number(yaml.safe_load(text))
    except yaml.YAMLError:
        return text


def apply_dict_overrides(cfg: dict, overrides: Sequence[str], prefix: str = "agent.") -> dict:
    """Apply ``prefix``-ed overrides to a nested dict in place; returns it."""
    for tok in overrides:
        add = tok.startswith("+")
        key, _, raw = tok.lstrip("+").partition("=")
        if not key.startswith(prefix):
            raise InputError(None, tok, f"expected a key starting with {prefix!r}", None)
        parts = key[len(prefix) :].split(".")
        node: Any = cfg
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node and isinstance(node[part], (dict, list)):
                node = node[part]
            elif isinstance(node, dict) and add and part not in node:
                node = node.setdefault(part, {})
            else:
                raise InputError(
                    None,
                    key,
                    f"no section '{'.'.join(parts[: i + 1])}' in the agent cfg",
                    "check the key, or add it with +key=value",
                )
        leaf = parts[-1]
        value = parse_value(raw)
        if isinstance(node, list) and leaf.isdigit() and int(leaf) < len(node):
            node[int(leaf)] = value
        elif isinstance(node, dict) and (leaf in node or add):
            node[leaf] = value
        else:
            known = ", ".join(sorted(node)) if isinstance(node, dict) else "list indices"
            raise InputError(None, key, "unknown key", f"existing keys here: {known}; add a new one with +{key}=...")
    return cfg


def apply_dataclass_overrides(obj: Any, overrides: Sequence[str], prefix: str = "env.") -> Any:
    """Apply overrides to a (nested) dataclass instance in place (used for the toy env's cfg)."""
    for tok in overrides:
        key, _, raw = tok.lstrip("+").partition("=")
        parts = key[len(prefix) :].split(".") if key.startswith(prefix) else key.split(".")
        node = obj
        for part in parts[:-1]:
            node = getattr(node, part)
        if not dataclasses.is_dataclass(node) or parts[-1] not in {f.name for f in dataclasses.fields(node)}:
            raise InputError(None, key, "unknown env cfg key", None)
        setattr(node, parts[-1], parse_value(raw))
    return obj
