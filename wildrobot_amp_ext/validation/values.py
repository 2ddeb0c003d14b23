"""Strict value checks shared by every reader: a bool or a string is not a frame rate, complex is not a position.

Each check raises :class:`~wildrobot_amp_ext.errors.InputError` naming the file, the field and the fix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.validation.limits import LIMITS, Limits

_REAL_KINDS = "iuf"


def real_scalar(file: Any, field: str, value: Any, fix: str | None = None) -> float:
    """One finite real number: Python/numpy int or float, or a size-1 numeric array; never bool, str or complex."""
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in _REAL_KINDS:
            raise InputError(file, field, f"must be one real number, got an array of {value.dtype} {value.shape}", fix)
        value = value.reshape(-1)[0]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(file, field, f"must be a real number, got {type(value).__name__} {_short(value)}", fix)
    try:
        out = float(value)
    except OverflowError:
        raise InputError(file, field, f"{_short(value)} is too large for a float", fix) from None
    if not math.isfinite(out):
        raise InputError(file, field, f"must be finite, got {out}", fix)
    return out


def fps(file: Any, value: Any, field: str = "fps", limits: Limits = LIMITS) -> float:
    fix = f"store the frame rate in Hz as a number between {limits.fps_min:g} and {limits.fps_max:g}, e.g. fps=30"
    rate = real_scalar(file, field, value, fix)
    if not limits.fps_min <= rate <= limits.fps_max:
        raise InputError(file, field, f"{rate:g} Hz is outside {limits.fps_min:g}..{limits.fps_max:g} Hz", fix)
    return rate


def frame_count(file: Any, field: str, frames: int, fps_value: float | None = None, limits: Limits = LIMITS) -> int:
    if frames > limits.max_frames:
        seconds = f" ({frames / fps_value / 3600:.1f} h at {fps_value:g} Hz)" if fps_value else ""
        raise InputError(
            file,
            field,
            f"{frames} frames{seconds} exceed the {limits.max_frames}-frame limit per clip",
            "split the motion into shorter clips or lower the frame rate",
        )
    return frames


def resampled_frames(file: Any, frames: int, fps_value: float, target_fps: float, limits: Limits = LIMITS) -> int:
    """Frames a resample to ``target_fps`` would produce; refused before any array is made if over the limit."""
    out = int(math.floor((frames - 1) / fps_value * target_fps + 1e-9)) + 1
    if out > limits.max_frames:
        raise InputError(
            file,
            "fps",
            f"resampling {frames} frames from {fps_value:g} to {target_fps:g} Hz would make "
            f"{out} frames (limit {limits.max_frames})",
            "check the file's fps and --target-fps",
        )
    return out


def real_array(
    file: Any,
    field: str,
    value: Any,
    ndim: int | None = None,
    width: int | None = None,
    bound: float | None = None,
    limits: Limits = LIMITS,
    fix: str | None = None,
) -> np.ndarray:
    """A float64 array of real, finite values (bools, strings, objects and complex refused), optionally bounded."""
    arr = value if isinstance(value, np.ndarray) else _to_array(file, field, value, limits)
    if arr.dtype.kind not in _REAL_KINDS:
        raise InputError(file, field, f"must hold real numbers, got dtype {arr.dtype}", "store a float array")
    if arr.nbytes > limits.max_array_bytes or arr.size * 8 > limits.max_array_bytes:
        raise InputError(
            file,
            field,
            f"{arr.size} values exceed the {limits.max_array_bytes >> 20} MiB array limit",
            "split the motion into shorter clips",
        )
    if ndim is not None and arr.ndim != ndim:
        raise InputError(file, field, f"has shape {arr.shape}, expected {ndim} dimensions", None)
    if width is not None and (arr.ndim < 2 or arr.shape[-1] != width):
        raise InputError(file, field, f"has shape {arr.shape}, expected (frames, {width})", None)
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(np.float64, copy=False)
    finite = np.isfinite(out)
    if not finite.all():
        row = int(np.flatnonzero(~finite.reshape(len(out), -1).all(axis=1))[0]) if out.ndim else 0
        raise InputError(
            file,
            field,
            f"{int((~finite).sum())} value(s) are NaN/Inf or too large (first at row {row})",
            fix or "fix or trim those frames",
        )
    if bound is not None and out.size:
        worst = float(np.abs(out).max())
        if worst > bound:
            raise InputError(
                file,
                field,
                f"holds {worst:.3g}, beyond the plausible bound {bound:g}",
                "check the units (metres, radians) and the export",
            )
    return out


def _to_array(file: Any, field: str, value: Any, limits: Limits) -> np.ndarray:
    if isinstance(value, (str, bytes, bool, dict)) or value is None:
        raise InputError(file, field, f"must be a numeric array, got {type(value).__name__}", "store a float array")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError) as err:
        raise InputError(
            file, field, f"is not a rectangular numeric array ({_first_line(err)})", "store a float array"
        ) from None
    if arr.dtype == object:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError, OverflowError) as err:
            raise InputError(
                file, field, f"is not a numeric array ({_first_line(err)})", "store a float array"
            ) from None
    return arr


def string(file: Any, field: str, value: Any, limits: Limits = LIMITS) -> str:
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "US":
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise InputError(file, field, f"must be a string, got {type(value).__name__}", None)
    if len(value) > limits.max_string_chars:
        raise InputError(file, field, f"string of {len(value)} characters is too long", None)
    return value


def names(file: Any, field: str, value: Any, count: int | None = None, limits: Limits = LIMITS) -> tuple[str, ...]:
    """A flat list of distinct-or-not strings (joint names, body names); numbers and nested lists refused."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "US" or value.ndim > 1:
            raise InputError(file, field, f"must be a list of names, got {value.dtype} {value.shape}", "store strings")
        items = value.reshape(-1).tolist()
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InputError(file, field, f"must be a list of names, got {type(value).__name__}", "store a list of strings")
    if len(items) > 100_000:
        raise InputError(file, field, f"{len(items)} names is implausible", None)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if not isinstance(item, str) or len(item) > 1024:
            raise InputError(
                file, f"{field}[{i}]", f"must be a name (string), got {type(item).__name__}", "store strings"
            )
        out.append(item)
    if count is not None and len(out) != count:
        raise InputError(file, field, f"{len(out)} names for {count} columns", "one name per column")
    return tuple(out)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:120] if text else type(err).__name__
