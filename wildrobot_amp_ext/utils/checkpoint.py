"""Loading agent checkpoints without executing arbitrary pickled code, and checking them before any work.

``torch.load(weights_only=True)`` plus the few numpy globals our checkpoints hold (random-generator states,
normaliser arrays): a checkpoint from somewhere else cannot run code on load. :func:`validate_checkpoint` is the one
check ``train_amp.py --checkpoint`` and ``play.py`` run before they build an env (seconds of set-up): readable,
within the size limit, a skrl agent state with a policy of finite tensors.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.validation import LIMITS

FIX = "pass an agent_<timestep>.pt from a run's checkpoints/ folder"


def _numpy_globals() -> list:
    reconstruct = getattr(np, "_core", np.core).multiarray._reconstruct
    dtypes = [type(np.dtype(t)) for t in ("uint32", "int64", "float32", "float64", "bool", "int32", "uint8")]
    return [reconstruct, np.ndarray, np.dtype, *dtypes, np.float64, np.float32, np.int64]


def _check_archive(path: str | Path) -> None:
    """Refuse a checkpoint archive that would inflate in memory: ``torch.save`` writes every member stored
    (uncompressed), but ``torch.load`` also inflates deflated members, so a 0.5 MB file could ask for gigabytes."""
    if not zipfile.is_zipfile(path):
        return  # torch's legacy (non-zip) format: bounded by the file size already checked
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    packed = [m.filename for m in members if m.compress_type != zipfile.ZIP_STORED]
    if packed:
        raise InputError(path, packed[0], "compressed member (torch.save never writes one)", FIX)
    total = sum(m.file_size for m in members)
    if total > LIMITS.max_file_bytes:
        raise InputError(
            path, None, f"members declare {total >> 20} MiB (limit {LIMITS.max_file_bytes >> 20} MiB)", FIX
        )


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> Any:
    import torch  # here: the run-folder readers above this module (play's flags, its --help) work without torch

    _check_archive(path)
    with torch.serialization.safe_globals(_numpy_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)


def validate_checkpoint(path: str | Path) -> dict:
    """The checkpoint's modules, or a one-line :class:`InputError` naming what is wrong (nothing else is done)."""
    import torch  # here: as in load_checkpoint

    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "checkpoint not found" if not path.exists() else "not a regular file", FIX)
    size = path.stat().st_size
    if size > LIMITS.max_file_bytes:
        raise InputError(path, None, f"{size >> 20} MiB exceeds the {LIMITS.max_file_bytes >> 20} MiB limit", FIX)
    if size == 0:
        raise InputError(path, None, "empty file", FIX)
    try:
        modules = load_checkpoint(path, map_location="cpu")
    except pickle.UnpicklingError as err:  # weights-only refusal (a global outside the allow-list) or garbage
        found = re.search(r"(?:Unsupported global|GLOBAL|global):? ?([\w.]+)", str(err))
        if found:
            raise InputError(
                path,
                None,
                f"refused to load: it asks for '{found.group(1)}' (nothing was executed)",
                "only load checkpoints you trust, written by train_amp.py",
            ) from None
        raise InputError(path, None, "not a readable torch checkpoint (truncated or not a checkpoint)", FIX) from None
    except (
        RuntimeError,
        OSError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
        zipfile.BadZipFile,
        MemoryError,
        OverflowError,
        UnicodeDecodeError,
    ) as err:
        raise InputError(path, None, f"not a readable torch checkpoint ({type(err).__name__})", FIX) from None
    if not isinstance(modules, dict) or not isinstance(modules.get("policy"), dict) or not modules["policy"]:
        raise InputError(
            path, "policy", "no policy state in this checkpoint", "pass a skrl agent checkpoint (agent_<timestep>.pt)"
        )
    for name, value in modules["policy"].items():
        if not isinstance(value, torch.Tensor):
            raise InputError(path, f"policy.{name}", f"expected a tensor, got {type(value).__name__}", FIX)
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise InputError(
                path,
                f"policy.{name}",
                "holds NaN/Inf (the run diverged before this checkpoint)",
                "resume from an earlier checkpoint",
            )
    return modules
