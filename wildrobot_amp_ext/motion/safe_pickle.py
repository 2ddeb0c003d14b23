"""A restricted unpickler for motion files: builtin containers, numbers, strings and numpy arrays only.

``pickle.load`` runs whatever callable a file names. GMR's output is a pickle, and users download motion
libraries from strangers, so :func:`safe_load` resolves every global the stream names through an explicit
allow-list (the few numpy functions that rebuild arrays, dtypes and scalars) and refuses anything else before it
is called: a pickle whose ``__reduce__`` names ``os.system`` raises :class:`UnsafePickleError` and nothing runs.

API::

    safe_load(path_or_file) -> object        # raises UnsafePickleError (an InputError) on a forbidden global
    safe_loads(data: bytes, source="<bytes>") -> object
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy._core import multiarray as _multiarray
from numpy._core import numeric as _numeric

from wildrobot_amp_ext.errors import InputError

_LATIN1 = {"latin1", "latin-1", "iso-8859-1", "iso8859-1"}


def _codecs_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """Protocol-2 pickles store ``bytes`` as ``_codecs.encode(str, 'latin1')``: allow exactly that."""
    if not isinstance(obj, str) or str(encoding).lower() not in _LATIN1 or errors != "strict":
        raise pickle.UnpicklingError("_codecs.encode is only allowed as encode(str, 'latin1')")
    return obj.encode("latin1")


def _frombuffer(buf: Any, dtype: np.dtype, shape: tuple, order: str) -> np.ndarray:
    if np.dtype(dtype).hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed")
    return _numeric._frombuffer(buf, dtype, shape, order)


def _dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError("object dtypes are not allowed")
    return dtype


#: (module, name) -> object. numpy 1.x pickles say numpy.core.*, numpy 2.x pickles say numpy._core.*
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    **{(m, "_reconstruct"): _multiarray._reconstruct for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "scalar"): _multiarray.scalar for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "_frombuffer"): _frombuffer for m in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _codecs_encode,
}
# builtin containers / numbers / strings that a reduce may name explicitly (opcodes cover the common cases)
for _name, _obj in (
    ("dict", dict),
    ("list", list),
    ("tuple", tuple),
    ("set", set),
    ("frozenset", frozenset),
    ("int", int),
    ("float", float),
    ("complex", complex),
    ("bool", bool),
    ("str", str),
    ("bytes", bytes),
    ("bytearray", bytearray),
):
    ALLOWED_GLOBALS[("builtins", _name)] = _obj
    ALLOWED_GLOBALS[("__builtin__", _name)] = _obj  # protocol-2 pickles written by Python 2


class UnsafePickleError(InputError):
    """The pickle names a global outside the allow-list; nothing from it was executed."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, source: str):
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        obj = ALLOWED_GLOBALS.get((module, name))
        if obj is None:
            raise UnsafePickleError(
                self._source,
                None,
                f"refused to load: the pickle asks for '{module}.{name}', which a motion file never needs (nothing was executed)",
                "only load motion pickles from a source you trust, or re-export them as .npz",
            )
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(self._source, None, "refused to load: the pickle uses persistent ids", "re-export the motion as a plain pickle or .npz")


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    return _load(io.BytesIO(data), source)


def safe_load(file: str | Path | BinaryIO) -> Any:
    if isinstance(file, (str, Path)):
        with open(file, "rb") as f:
            return _load(f, str(file))
    return _load(file, getattr(file, "name", "<stream>"))


def _load(f: BinaryIO, source: str) -> Any:
    try:
        return _RestrictedUnpickler(f, source).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(source, None, f"not a readable motion pickle ({detail})", "check the file is a GMR .pkl and not truncated") from None
