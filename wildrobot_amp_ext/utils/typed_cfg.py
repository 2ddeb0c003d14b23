"""Typed configuration trees (nested dataclasses): strict construction from a mapping and Hydra-style overrides.

One reader for every dataclass config of the package (the AMP agent config, the toy task's env config): a key that
is not a field fails with one line naming the closest valid key, a value of the wrong type fails naming its path,
and numbers written ``1e-4`` (a string to YAML 1.1) are read as numbers.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.utils.keys import unknown_key_error

#: an optional hook that explains an unknown key better than "closest key" (e.g. a renamed skrl key): returns
#: an InputError or None
UnknownKeyHint = Callable[[str | Path | None, str, str], InputError | None]


def coerce_number(value: Any) -> Any:
    """PyYAML (YAML 1.1) reads ``1e-4`` as a string: turn number-looking strings into numbers."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


def parse_value(text: str) -> Any:
    """A command-line override value: YAML (numbers, booleans, null, lists ``[512,256]``), else the raw text."""
    try:
        return coerce_number(yaml.safe_load(text))
    except yaml.YAMLError:
        return text


def field_names(cls_or_obj: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(cls_or_obj)]


def from_dict(
    cls: type, data: Any, *, file: str | Path | None = None, path: str = "", hint: UnknownKeyHint | None = None
) -> Any:
    """``cls()`` (defaults, including a subclass's ``__post_init__`` changes) updated from ``data``."""
    return update_from_dict(cls(), data, file=file, path=path, hint=hint)


def update_from_dict(
    obj: Any, data: Any, *, file: str | Path | None = None, path: str = "", hint: UnknownKeyHint | None = None
) -> Any:
    """Set the fields of the dataclass ``obj`` that ``data`` names, recursing into nested dataclasses (fields not
    given keep their values). Unknown keys and wrong types raise :class:`InputError` naming ``path.key``."""
    if data is None:
        return obj
    if not isinstance(data, Mapping):
        raise InputError(file, path or None, f"must be a mapping, got {type(data).__name__}", None)
    hints = typing.get_type_hints(type(obj))
    names = field_names(obj)
    for key, value in data.items():
        if key not in names:
            raise (hint and hint(file, path, str(key))) or unknown_key_error(file, path, str(key), names)
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
            update_from_dict(current, value, file=file, path=_join(path, key), hint=hint)
        else:
            setattr(obj, key, convert(hints[key], value, file=file, path=_join(path, key), hint=hint))
    return obj


def to_dict(obj: Any) -> dict:
    """Plain nested dict (YAML-safe) of a dataclass tree."""
    return dataclasses.asdict(obj)


def convert(type_hint: Any, value: Any, *, file=None, path: str = "", hint: UnknownKeyHint | None = None) -> Any:
    """``value`` as ``type_hint`` (dataclasses, lists, optional, bool/int/float/str, dict), or InputError."""
    origin, args = typing.get_origin(type_hint), typing.get_args(type_hint)
    if value is None:
        if type_hint is type(None) or (origin in (typing.Union, types.UnionType) and type(None) in args):
            return None
        raise InputError(file, path, "must not be null", None)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return convert(non_none[0], value, file=file, path=path, hint=hint)
        return coerce_number(value)  # int | str ("auto") and the like: the consumer checks
    if typing.get_origin(type_hint) is typing.Literal:
        if value not in args:
            raise InputError(file, path, f"must be one of {list(args)}, got {value!r}", None)
        return value
    if dataclasses.is_dataclass(type_hint):
        return from_dict(type_hint, value, file=file, path=path, hint=hint)
    if origin in (list, tuple) or type_hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise InputError(file, path, f"must be a list, got {value!r}", None)
        item = args[0] if args else Any
        out = [convert(item, v, file=file, path=f"{path}[{i}]", hint=hint) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple or type_hint is tuple else out
    if origin is dict or type_hint is dict:
        if not isinstance(value, Mapping):
            raise InputError(file, path, f"must be a mapping, got {value!r}", None)
        return dict(value)
    if type_hint is bool:
        if not isinstance(value, bool):
            raise InputError(file, path, f"must be true/false, got {value!r}", None)
        return value
    if type_hint in (int, float):
        value = coerce_number(value)
        bad = isinstance(value, bool) or not isinstance(value, (int, float))
        if bad or (type_hint is int and float(value) != int(value)):
            raise InputError(file, path, f"must be a number ({type_hint.__name__}), got {value!r}", None)
        return type_hint(value)
    if type_hint is str and not isinstance(value, str):
        raise InputError(file, path, f"must be a string, got {value!r}", None)
    return value


def apply_overrides(
    cfg: Any, overrides: Sequence[str], prefix: str, *, hint: UnknownKeyHint | None = None
) -> list[str]:
    """Apply Hydra-style ``prefix.a.b=value`` tokens to the dataclass tree ``cfg`` in place, each value converted
    to its field's type (``agent.models.discriminator.layers=[512,256]``, ``agent.amp.feature_stages.stages.1.
    min_step=0``). Keys must exist, except inside dict fields (``+`` is accepted there, as Hydra's add).
    Returns the tokens that do not start with ``prefix`` (for another tree)."""
    rest = []
    root = prefix.rstrip(".")
    for tok in overrides:
        key, sep, raw = tok.lstrip("+").partition("=")
        if not key.startswith(prefix):
            rest.append(tok)
            continue
        if not sep:
            raise InputError(None, tok, "an override needs a value", f"write {key}=<value>")
        parts = key[len(prefix) :].split(".")
        node, type_hint, where = cfg, type(cfg), root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if dataclasses.is_dataclass(node):
                names = field_names(node)
                if part not in names:
                    raise (hint and hint(None, where, part)) or unknown_key_error(None, where, part, names)
                type_hint = typing.get_type_hints(type(node))[part]
                if last:
                    setattr(node, part, convert(type_hint, parse_value(raw), path=key, hint=hint))
                else:
                    node = getattr(node, part)
            elif isinstance(node, list):
                if not (part.isdigit() and int(part) < len(node)):
                    raise InputError(None, key, f"{where} has {len(node)} entries", f"use an index 0..{len(node) - 1}")
                item_hint = (typing.get_args(type_hint) or (Any,))[0]
                if last:
                    node[int(part)] = convert(item_hint, parse_value(raw), path=key, hint=hint)
                else:
                    node, type_hint = node[int(part)], item_hint
            elif isinstance(node, dict):  # free-form mapping (e.g. wandb_kwargs): new keys allowed
                if last:
                    node[part] = parse_value(raw)
                else:
                    node = node.setdefault(part, {})
            else:
                raise InputError(None, key, f"{where} is a value, not a section", f"write {where}=<value>")
            where = f"{where}.{part}"
    return rest


def split_overrides(tokens: Sequence[str], env_keys: Sequence[str] = ("presets", "physics", "renderer")) -> tuple:
    """Trailing command-line tokens -> (``env.*`` overrides, ``agent.*`` overrides); anything else is refused.
    ``env_keys``: Isaac Lab's top-level Hydra selectors, which belong to the env side."""
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
        if key.startswith("env.") or key in env_keys:
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


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)
