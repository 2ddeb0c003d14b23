"""Loading agent checkpoints without executing arbitrary pickled code.

``torch.load(weights_only=True)`` plus the few numpy globals our checkpoints hold (random-generator states,
normaliser arrays): a checkpoint from somewhere else cannot run code on load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


def _numpy_globals() -> list:
    reconstruct = getattr(getattr(np, "_core", np.core), "multiarray")._reconstruct
    dtypes = [type(np.dtype(t)) for t in ("uint32", "int64", "float32", "float64", "bool", "int32", "uint8")]
    return [reconstruct, np.ndarray, np.dtype, *dtypes, np.float64, np.float32, np.int64]


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> Any:
    with torch.serialization.safe_globals(_numpy_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)
