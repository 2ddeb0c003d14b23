"""A checked ``.npz`` reader: every member's dtype and declared shape are read from its header and checked against
the member's size and the limits *before* its data is read, so an npz that declares a huge shape, an object array, a
truncated or corrupt member, or a file that is not a zip at all is refused with one line.

API::

    with NpzFile(path) as f:
        f.files                                   # member names (without .npy)
        f.header(key) -> (shape, dtype)           # no data read
        f.array(key, kinds="fiu", ndim=2)         # checked, then read
        f.text(key) -> str                        # a 0-d string member
        f.strings(key) -> tuple[str, ...]
        f[key]                                    # f.array(key) with any non-object dtype
"""

from __future__ import annotations

import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npformat

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.validation.limits import LIMITS, Limits
from wildrobot_amp_ext.validation.paths import check_link_loop

#: what numpy / zipfile raise on a malformed member (a header nested 3000 deep is a tokenize.TokenError)
_READ_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    TypeError,
    SyntaxError,
    NotImplementedError,
    UnicodeDecodeError,
    OverflowError,
    RecursionError,
    MemoryError,
    tokenize.TokenError,
)
#: members of one npz (a reference dataset has ~40)
MAX_MEMBERS = 10_000
#: numpy's own limit on dimensions
MAX_NDIM = 32
#: a member this large that deflates more than this ratio is a compression bomb, not motion data (float arrays
#: of real motions compress a few times; a 1 MB bomb of zeros inflates to 1 GB)
BOMB_MIN_BYTES = 64 << 20
BOMB_MAX_RATIO = 200


class NpzFile:
    def __init__(
        self,
        path: str | Path,
        fix: str = "rebuild the file (convert_dataset writes a valid .npz)",
        limits: Limits = LIMITS,
    ):
        self.path = Path(path)
        self.fix = fix
        self.limits = limits
        check_link_loop(self.path)
        if not self.path.is_file():
            raise InputError(
                self.path, None, "file not found" if not self.path.exists() else "not a regular file", "check the path"
            )
        size = self.path.stat().st_size
        if size > limits.max_file_bytes:
            raise InputError(
                self.path,
                None,
                f"{size >> 20} MiB exceeds the {limits.max_file_bytes >> 20} MiB limit",
                "split the data into smaller files",
            )
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except _READ_ERRORS as err:
            raise InputError(self.path, None, f"not a readable .npz ({_line(err)})", fix) from None
        if len(infos) > MAX_MEMBERS:
            self.close()
            raise InputError(self.path, None, f"{len(infos)} members (a dataset has a few dozen)", fix)
        self._info = {}
        total = 0
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if info.file_size > limits.max_array_bytes + 4096:
                self.close()
                raise InputError(
                    self.path,
                    key,
                    f"member declares {info.file_size >> 20} MiB (limit {limits.max_array_bytes >> 20} MiB)",
                    fix,
                )
            if info.file_size > BOMB_MIN_BYTES and info.file_size > BOMB_MAX_RATIO * max(info.compress_size, 1):
                self.close()
                raise InputError(
                    self.path,
                    key,
                    f"member inflates {info.compress_size} bytes to {info.file_size >> 20} MiB (a compression bomb)",
                    fix,
                )
            total += info.file_size
            self._info[key] = info
        if total > 2 * limits.max_file_bytes:
            self.close()
            raise InputError(self.path, None, f"members declare {total >> 20} MiB in all", fix)
        self._headers: dict[str, tuple[tuple[int, ...], np.dtype, int]] = {}

    # --- context ---------------------------------------------------------------------------------------------------
    def __enter__(self) -> NpzFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "_zip", None) is not None:
            self._zip.close()

    @property
    def files(self) -> list[str]:
        return list(self._info)

    def __contains__(self, key: str) -> bool:
        return key in self._info

    # --- members ---------------------------------------------------------------------------------------------------
    def header(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        shape, dtype, _ = self._header(key)
        return shape, dtype

    def _header(self, key: str) -> tuple[tuple[int, ...], np.dtype, int]:
        if key in self._headers:
            return self._headers[key]
        info = self._info.get(key)
        if info is None:
            raise InputError(self.path, key, "missing", self.fix)
        try:
            with self._zip.open(info) as fp:
                version = npformat.read_magic(fp)
                reader = {(1, 0): npformat.read_array_header_1_0, (2, 0): npformat.read_array_header_2_0}.get(version)
                if reader is None:
                    raise ValueError(f"npy format version {version}")
                shape, _fortran, dtype = reader(fp, max_header_size=10000)
                offset = fp.tell()
        except _READ_ERRORS as err:
            raise InputError(self.path, key, f"member is not a readable array ({_line(err)})", self.fix) from None
        if len(shape) > MAX_NDIM or not all(type(d) is int and d >= 0 for d in shape):
            raise InputError(self.path, key, f"declares an impossible shape {_short(shape)}", self.fix)
        if dtype.hasobject:
            raise InputError(self.path, key, "holds Python objects (a pickled array)", "store numbers or strings only")
        count = int(np.prod(shape, dtype=object)) if shape else 1
        need = count * dtype.itemsize
        if need > self.limits.max_array_bytes:
            raise InputError(
                self.path,
                key,
                f"declared shape {shape} of {dtype} needs {need / 2**20:.0f} MiB "
                f"(limit {self.limits.max_array_bytes >> 20} MiB)",
                self.fix,
            )
        if offset + need != info.file_size:
            raise InputError(
                self.path,
                key,
                f"declared shape {shape} of {dtype} needs {need} bytes but the member holds {info.file_size - offset}",
                f"the file is truncated or corrupt: {self.fix}",
            )
        self._headers[key] = (tuple(int(s) for s in shape), dtype, count)
        return self._headers[key]

    def array(self, key: str, kinds: str = "biufUS", ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
        shape, dtype, _ = self._header(key)
        if dtype.kind not in kinds:
            raise InputError(self.path, key, f"has dtype {dtype}, expected {_kinds(kinds)}", self.fix)
        if ndim is not None and len(shape) not in ((ndim,) if isinstance(ndim, int) else ndim):
            raise InputError(self.path, key, f"has shape {shape}, expected {ndim} dimension(s)", self.fix)
        try:
            with self._zip.open(self._info[key]) as fp:
                return npformat.read_array(fp, allow_pickle=False)
        except _READ_ERRORS as err:
            raise InputError(self.path, key, f"member is truncated or corrupt ({_line(err)})", self.fix) from None

    def __getitem__(self, key: str) -> np.ndarray:
        return self.array(key)

    def text(self, key: str) -> str:
        arr = self.array(key, kinds="US")
        if arr.size != 1:
            raise InputError(self.path, key, f"expected one string, got shape {arr.shape}", self.fix)
        value = arr.reshape(-1)[0].item()
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    def strings(self, key: str) -> tuple[str, ...]:
        arr = self.array(key, kinds="US", ndim=(0, 1))
        return tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.reshape(-1).tolist())


def _kinds(kinds: str) -> str:
    names = {"b": "bool", "i": "int", "u": "uint", "f": "float", "c": "complex", "U": "str", "S": "bytes"}
    return "/".join(names.get(k, k) for k in kinds)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:120] if text else type(err).__name__
