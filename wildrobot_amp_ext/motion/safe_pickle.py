"""A restricted, memory-bounded unpickler for motion files: builtin containers, numbers, strings, numpy arrays only.

``pickle.load`` runs whatever callable a file names, and a few bytes of pickle can ask for gigabytes. GMR's output
is a pickle, and users download motion libraries from strangers, so :func:`safe_load`

1. refuses a file over ``Limits.max_file_bytes`` before reading it, and reads it whole (no declared length is
   ever allocated ahead of the bytes that back it);
2. scans the opcodes first (:mod:`pickletools`): memo indices must be small (``LONG_BINPUT 2**31`` would make
   the C unpickler grow its memo table to gigabytes), the stream must end with STOP;
3. resolves every global through an allow-list of wrapped callables that check their arguments (``bytearray(8e9)``,
   ``numpy.ndarray((1e5, 1e5))``, an array whose declared shape exceeds the array limit, object dtypes are
   refused before anything is allocated);
4. walks the result once, counting elements with shared references counted every time they are reached, so a
   small pickle that expands to billions of elements (lists of lists sharing one list) or a reference cycle is
   refused before any caller turns it into an array.

API::

    safe_load(path_or_file) -> object        # raises UnsafePickleError / InputError (one line), nothing executed
    safe_loads(data: bytes, source="<bytes>") -> object
"""

from __future__ import annotations

import io
import pickle
import pickletools
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy._core import multiarray as _multiarray
from numpy._core import numeric as _numeric

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.validation.limits import LIMITS, Limits

_LATIN1 = {"latin1", "latin-1", "iso-8859-1", "iso8859-1"}
_FIX = "only load motion pickles from a source you trust, or re-export them as .npz"


class UnsafePickleError(InputError):
    """The pickle names a global outside the allow-list or asks for more than the limits; nothing was executed."""


def _refuse(message: str) -> None:
    raise pickle.UnpicklingError(message)


def _bounded_bytes(obj: Any, what: str) -> None:
    if isinstance(obj, (str, bytes, bytearray)):
        if len(obj) > LIMITS.max_array_bytes:
            _refuse(f"{what} of {len(obj)} bytes exceeds the limit")
        return
    _refuse(f"{what} may only be built from bytes or a string, not {type(obj).__name__}")


def _codecs_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """Protocol-2 pickles store ``bytes`` as ``_codecs.encode(str, 'latin1')``: allow exactly that."""
    if not isinstance(obj, str) or str(encoding).lower() not in _LATIN1 or errors != "strict":
        _refuse("_codecs.encode is only allowed as encode(str, 'latin1')")
    return obj.encode("latin1")


def _bytes_like(kind: type) -> Any:
    def build(*args: Any) -> Any:
        if args:
            _bounded_bytes(args[0], kind.__name__)  # bytearray(8e9) / bytes([0] * n) are refused
        return kind(*args)

    build.__name__ = kind.__name__
    return build


def _scalar_from(kind: type) -> Any:
    def build(*args: Any) -> Any:
        if any(
            not isinstance(a, (int, float, str, bytes)) or isinstance(a, (str, bytes)) and len(a) > 4096 for a in args
        ):
            _refuse(f"{kind.__name__}() may only take short numbers or strings")
        return kind(*args)

    return build


def _container(kind: type) -> Any:
    def build(*args: Any) -> Any:
        if len(args) > 1 or args and not isinstance(args[0], (list, tuple, set, frozenset, dict)):
            _refuse(f"{kind.__name__}() may only copy a list, tuple, set or dict")
        return kind(*args)

    return build


def _check_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.hasobject:
        _refuse("object dtypes are not allowed")
    if dtype.itemsize > LIMITS.max_array_bytes:
        _refuse(f"a dtype of {dtype.itemsize} bytes per element exceeds the limit")
    return dtype


def _dtype(*args: Any) -> np.dtype:
    if args and not isinstance(args[0], str):
        _refuse("numpy.dtype may only be built from a type code string")
    return _check_dtype(np.dtype(*args))


def _shape_size(shape: Any) -> int:
    shape = (shape,) if isinstance(shape, int) else shape
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
        _refuse("an array shape must be a tuple of non-negative ints")
    return int(np.prod(shape, dtype=object)) if shape else 1


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's pickle protocol: an empty array that ``__setstate__`` then fills from bytes in the file."""
    if subtype is not _NDARRAY:
        _refuse("only plain numpy arrays may be rebuilt")
    itemsize = np.dtype(dtype).itemsize if isinstance(dtype, (str, bytes, np.dtype)) else 1
    if _shape_size(shape) * max(itemsize, 1) > LIMITS.max_array_bytes:
        _refuse(f"an array of shape {shape} exceeds the array limit")
    return _multiarray._reconstruct(np.ndarray, shape, dtype)


def _frombuffer(buf: Any, dtype: np.dtype, shape: tuple, order: str) -> np.ndarray:
    _check_dtype(np.dtype(dtype))
    return _numeric._frombuffer(buf, dtype, shape, order)


def _scalar(dtype: Any, *data: Any) -> Any:
    _check_dtype(np.dtype(dtype))
    return _multiarray.scalar(dtype, *data)


class _NdarrayMarker:
    """Stands for ``numpy.ndarray`` in a pickle: only ``_reconstruct`` may use it; calling it is refused."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _refuse("numpy.ndarray(...) may not be called from a pickle")


_NDARRAY = _NdarrayMarker()

#: (module, name) -> object. numpy 1.x pickles say numpy.core.*, numpy 2.x pickles say numpy._core.*
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    **{(m, "_reconstruct"): _reconstruct for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "scalar"): _scalar for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "_frombuffer"): _frombuffer for m in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _codecs_encode,
}
# builtins a reduce may name explicitly (opcodes cover the common cases), each with its arguments checked
for _module in ("builtins", "__builtin__"):  # __builtin__: protocol-2 pickles written by Python 2
    for _kind in (dict, list, tuple, set, frozenset):
        ALLOWED_GLOBALS[(_module, _kind.__name__)] = _container(_kind)
    for _kind in (int, float, complex, bool, str):
        ALLOWED_GLOBALS[(_module, _kind.__name__)] = _scalar_from(_kind)
    for _kind in (bytes, bytearray):
        ALLOWED_GLOBALS[(_module, _kind.__name__)] = _bytes_like(_kind)


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
                f"refused to load: the pickle asks for '{module}.{name}', which a motion file never needs "
                "(nothing was executed)",
                _FIX,
            )
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            self._source,
            None,
            "refused to load: the pickle uses persistent ids",
            "re-export the motion as a plain pickle or .npz",
        )


def safe_loads(data: bytes, source: str = "<bytes>", limits: Limits = LIMITS) -> Any:
    if len(data) > limits.max_file_bytes:
        raise InputError(
            source,
            None,
            f"{len(data) >> 20} MiB exceeds the {limits.max_file_bytes >> 20} MiB limit",
            "split the motion into smaller files",
        )
    _scan(data, source, limits)
    obj = _load(data, source)
    _check_tree(obj, source, limits)
    return obj


def safe_load(file: str | Path | BinaryIO, limits: Limits = LIMITS) -> Any:
    if isinstance(file, (str, Path)):
        path = Path(file)
        try:
            size = path.stat().st_size
            if size > limits.max_file_bytes:
                raise InputError(
                    path,
                    None,
                    f"{size >> 20} MiB exceeds the {limits.max_file_bytes >> 20} MiB limit",
                    "split the motion into smaller files",
                )
            data = path.read_bytes()
        except OSError as err:
            raise InputError(
                path, None, f"cannot be read ({err.strerror or type(err).__name__})", "check the path and permissions"
            ) from None
        return safe_loads(data, str(path), limits)
    data = file.read(limits.max_file_bytes + 1)
    return safe_loads(data, getattr(file, "name", "<stream>"), limits)


def _scan(data: bytes, source: str, limits: Limits = LIMITS) -> None:
    """Opcode pass before unpickling: bounded memo indices and opcode count, a STOP at the end.

    Each opcode makes at most one object, and two bytes (``]a``: an empty list, appended) make a 56-byte one, so
    the file-size limit alone would let a 2 GiB pickle ask for 60 GB; a numpy-array GMR pickle has a few hundred
    opcodes, a list-of-floats one about one per value."""
    ops = 0
    try:
        for opcode, arg, _pos in pickletools.genops(io.BytesIO(data)):
            ops += 1
            if ops > limits.max_pickle_ops:
                raise UnsafePickleError(
                    source,
                    None,
                    f"refused to load: more than {limits.max_pickle_ops} pickle opcodes (each makes a Python object)",
                    "store the motion as numpy arrays (GMR's own output) or split it",
                )
            if opcode.name in ("BINPUT", "LONG_BINPUT", "PUT", "BINGET", "LONG_BINGET", "GET"):
                if not isinstance(arg, int) or arg < 0 or arg > ops + 16:
                    raise UnsafePickleError(
                        source,
                        None,
                        f"refused to load: memo index {arg} is out of range "
                        "(a crafted pickle that makes the unpickler allocate gigabytes)",
                        _FIX,
                    )
    except UnsafePickleError:
        raise
    except (ValueError, EOFError, UnicodeDecodeError, OverflowError, IndexError) as err:
        raise InputError(
            source,
            None,
            f"not a readable motion pickle ({_line(err)})",
            "check the file is a GMR .pkl and not truncated",
        ) from None


def _load(data: bytes, source: str) -> Any:
    try:
        return _RestrictedUnpickler(io.BytesIO(data), source).load()
    except UnsafePickleError:
        raise
    except pickle.UnpicklingError as err:
        raise UnsafePickleError(source, None, f"refused to load: {_line(err)} (nothing was executed)", _FIX) from None
    # only allow-listed callables ran; numpy's __setstate__ raises SystemError on a crafted dtype state
    except Exception as err:
        raise InputError(
            source,
            None,
            f"not a readable motion pickle ({_line(err)})",
            "check the file is a GMR .pkl and not truncated",
        ) from None


def _check_tree(root: Any, source: str, limits: Limits) -> None:
    """Elements reachable from ``root``, a shared container counted every time it is reached (its expanded size is
    memoised, so the walk is linear in the file); a cycle or too deep a nesting is refused. Iterative."""
    if _children(root) is None:  # a bare number, string or array: nothing to expand
        _leaf_size(root, source)
        return
    sizes: dict[int, int] = {}  # id -> expanded size of a finished container
    active: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(root, 0, False)]
    while stack:
        obj, depth, done = stack.pop()
        key = id(obj)
        children = _children(obj)
        if done:
            active.discard(key)
            size = len(children) + sum(
                sizes.get(id(c), 0) if _children(c) is not None else _leaf_size(c, source) for c in children
            )
            if size > limits.max_pickle_items:
                raise UnsafePickleError(
                    source,
                    None,
                    "refused to load: the pickle expands to more than "
                    f"{limits.max_pickle_items} elements (shared references)",
                    _FIX,
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in active:
            raise UnsafePickleError(source, None, "refused to load: the pickle holds a reference cycle", _FIX)
        if depth > limits.max_pickle_depth:
            raise UnsafePickleError(
                source, None, f"refused to load: containers nested deeper than {limits.max_pickle_depth}", _FIX
            )
        active.add(key)
        stack.append((obj, depth, True))
        stack.extend((c, depth + 1, False) for c in children if _children(c) is not None and id(c) not in sizes)


def _children(obj: Any) -> list | None:
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    return None


def _leaf_size(obj: Any, source: str) -> int:
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject or obj.dtype.kind == "V":  # a dtype state can be crafted to hold objects
            raise UnsafePickleError(
                source,
                None,
                f"refused to load: an array of dtype {obj.dtype} (objects or raw records, never motion data)",
                _FIX,
            )
        return int(obj.size)
    if isinstance(obj, (str, bytes, bytearray)):
        return 1 + len(obj) // 64
    return 1


def _line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:160] if text else type(err).__name__
