"""One-line errors for a misspelled configuration key, naming the closest valid key."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from wildrobot_amp_ext.errors import InputError


def closest_key(key: str, known: Iterable[str]) -> str | None:
    """The known key most similar to ``key`` (difflib ratio >= 0.6), or None."""
    match = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return match[0] if match else None


def unknown_key_error(file: str | Path | None, path: str, key: str, known: Iterable[str]) -> InputError:
    """``path``: where ``key`` was looked up (``env.amp.feature_spec``); ``known``: the valid keys there."""
    known = sorted(known)
    guess = closest_key(key, known)
    where = f"{path}." if path else ""
    fix = f"did you mean '{where}{guess}'?" if guess else f"valid keys: {', '.join(known)}"
    return InputError(file, f"{where}{key}", "unknown key", fix)


def _children(node: Any) -> list[str] | None:
    """The keys one can write under ``node``, or None when ``node`` is a leaf (or None: nothing to check)."""
    if isinstance(node, Mapping):
        return [str(k) for k in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return [f.name for f in dataclasses.fields(node)]
    return None


def check_override_keys(
    cfg: Any, overrides: Sequence[str], prefix: str, schemas: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Refuse a Hydra-style ``prefix.a.b=v`` whose path does not exist in ``cfg`` (configclass/dataclass/dict tree),
    naming the closest valid key. ``schemas`` gives the valid keys of dicts that start empty (path without prefix ->
    keys); ``+key=v`` (Hydra's explicit add) and paths through a None or a list are not checked."""
    root = prefix.rstrip(".")
    for tok in overrides:
        if tok.startswith(("+", "~")) or not tok.startswith(prefix) or "=" not in tok:
            continue
        parts = tok.split("=", 1)[0][len(prefix) :].split(".")
        node = cfg
        for i, part in enumerate(parts):
            here = ".".join(parts[:i])
            known = list(schemas[here]) if schemas and here in schemas else _children(node)
            if known is None or isinstance(node, (list, tuple)):
                break
            if part not in known:
                raise unknown_key_error(None, ".".join([root, *parts[:i]]), part, known)
            node = node.get(part) if isinstance(node, Mapping) else getattr(node, part)
