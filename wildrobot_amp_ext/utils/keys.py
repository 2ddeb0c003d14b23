"""One-line errors for a misspelled configuration key, naming the closest valid key."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from wildrobot_amp_ext.errors import InputError


def closest_key(key: str, known: Iterable[str]) -> str | None:
    """The known key most similar to ``key`` (difflib ratio >= 0.6), or None."""
    match = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return match[0] if match else None


def unknown_key_error(file: str | Path | None, path: str, key: str, known: Iterable[str]) -> InputError:
    """``path``: where ``key`` was looked up (``env.amp.feature_spec``); ``known``: the valid keys there."""
    known = sorted(known)
    guess = closest_key(key, known)
    fix = f"did you mean '{path}.{guess}'?" if guess else f"valid keys: {', '.join(known)}"
    return InputError(file, f"{path}.{key}", "unknown key", fix)
