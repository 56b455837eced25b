"""Read ``.npz`` files that hold pickled dicts without ever executing code from them.

The field's Human3.6M files (VideoPose3D layout) store nested ``dict``s of arrays as
0-d object arrays, which ``np.load`` can only read through ``pickle``. A pickle can call
any importable function, so we unpickle with an allow-list: numpy's array
reconstruction and dtypes, plus the pickle opcodes for plain dicts, lists, tuples,
strings and numbers. Anything else is refused with an error naming file and field.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npformat

# Globals a pickled dict-of-arrays needs, by (module, name). numpy 1.x pickles name
# ``numpy.core.multiarray``; numpy 2 names ``numpy._core.multiarray``. Both map to the
# running numpy's functions. ``_codecs.encode`` appears in protocol-2 pickles of bytes.
_ALLOWED: dict[tuple[str, str], Any] = {}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "_reconstruct")] = np._core.multiarray._reconstruct
    _ALLOWED[(_mod, "scalar")] = np._core.multiarray.scalar
for _mod in ("numpy", "numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_mod, "ndarray")] = np.ndarray
    _ALLOWED[(_mod, "dtype")] = np.dtype
for _mod in ("numpy.core.numeric", "numpy._core.numeric"):
    # pickle protocol 5 rebuilds arrays from raw buffers
    _ALLOWED[(_mod, "_frombuffer")] = np._core.numeric._frombuffer
_ALLOWED[("numpy", "dtype")] = np.dtype
_ALLOWED[("_codecs", "encode")] = __import__("codecs").encode
_ALLOWED[("builtins", "dict")] = dict
_ALLOWED[("builtins", "list")] = list


class UnsafePickleError(ValueError):
    """A pickle in an ``.npz`` referenced something other than plain data."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, where: str) -> None:
        super().__init__(file, encoding="latin1")
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self.where}: refused to unpickle global '{module}.{name}'; only plain "
                "arrays, dicts, lists, strings and numbers are allowed"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self.where}: refused persistent id in pickle")


def _read_npy(raw: bytes, where: str) -> Any:
    f = io.BytesIO(raw)
    version = npformat.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = npformat.read_array_header_1_0(f)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = npformat.read_array_header_2_0(f)
    else:  # pragma: no cover - numpy only writes the versions above
        raise ValueError(f"{where}: unsupported .npy format version {version}")
    if dtype.hasobject:
        obj = _RestrictedUnpickler(f, where).load()
        if not isinstance(obj, np.ndarray):
            raise UnsafePickleError(
                f"{where}: pickle payload is a {type(obj).__name__}, expected an array"
            )
        _check_plain(obj.item() if obj.shape == () else obj.tolist(), where)
        return obj
    return np.load(io.BytesIO(raw), allow_pickle=False)


def _check_plain(obj: Any, where: str, depth: int = 0) -> None:
    """Second line of defence: the unpickled tree holds only plain data."""
    if depth > 32:
        raise UnsafePickleError(f"{where}: nesting deeper than 32 levels")
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int, bytes)):
                raise UnsafePickleError(f"{where}: dict key of type {type(k).__name__}")
            _check_plain(v, f"{where}[{k!r}]", depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]", depth + 1)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            _check_plain(obj.tolist(), where, depth + 1)
    elif not isinstance(obj, (str, bytes, int, float, bool, complex, np.generic, type(None))):
        raise UnsafePickleError(f"{where}: value of type {type(obj).__name__} is not plain data")


def load_npz(path: str | Path) -> dict[str, Any]:
    """Every field of an ``.npz``; 0-d object arrays are unwrapped to their dict/list.

    Never executes code from the file: pickled fields go through an allow-list.
    Raises ``ValueError`` (``UnsafePickleError`` for refused pickles) naming the file.
    """
    path = Path(path)
    out: dict[str, Any] = {}
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable .npz archive ({e})") from e
    with zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            field = info.filename[: -len(".npy")]
            arr = _read_npy(zf.read(info), f"{path}:{field}")
            if arr.dtype.hasobject and arr.shape == ():
                out[field] = arr.item()
            else:
                out[field] = arr
    return out
