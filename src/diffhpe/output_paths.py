"""Output files: their paths checked before any work, and atomic writes.

- :func:`check_output_path`, :func:`check_output_dir`, :func:`check_distinct_outputs`:
  checked before any work (extension, a folder that exists or can be created and is
  writable, not an input file, no two flags naming one file); a bad one raises
  :class:`OutputPathError` naming the flag.
- :func:`atomic_path` writes beside the target and renames, so a failure never leaves
  half a file; :func:`write_text_atomic` writes text through it.

Part of the guards of :mod:`diffhpe.safety`, which re-exports these names.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class OutputPathError(ValueError):
    """An output path that cannot (or must not) be written; raised before any work."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _check_folder(folder: Path, flag: str, path: Path) -> None:
    """``folder`` exists (or can be created) as a writable folder, else OutputPathError."""
    existing = next((d for d in (folder, *folder.parents) if d.exists()), None)
    if existing is None:  # pragma: no cover - the root always exists
        raise OutputPathError(f"{flag} {path}: no existing folder above it")
    blocker = next((d for d in (folder, *folder.parents) if d.exists() and not d.is_dir()), None)
    if blocker is not None:
        raise OutputPathError(f"{flag} {path}: {blocker} is a file, not a folder")
    try:  # a real write: also right for ACLs, read-only mounts and root
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".diffhpe-write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputPathError(
            f"{flag} {path}: cannot write in {existing} ({e.strerror or e})"
        ) from None


def check_output_path(
    path: str | Path,
    flag: str,
    suffixes: Sequence[str] | None = None,
    inputs: Iterable[str | Path | None] = (),
) -> Path:
    """Check an output file before any work: a suffix among ``suffixes`` (any when None),
    not a folder, in a folder that exists or can be created and is writable, and not one
    of ``inputs``. Returns ``Path(path)``; raises :class:`OutputPathError` naming ``flag``."""
    p = Path(path).expanduser()
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise OutputPathError(
            f"{flag} {p}: unsupported extension {p.suffix or '(none)'!r}; expected "
            f"{' or '.join(suffixes)}"
        )
    if p.is_dir():
        raise OutputPathError(f"{flag} {p}: is a folder; give a file name")
    _check_folder(p.parent, flag, p)
    for inp in inputs:
        if inp is not None and _same_file(p, Path(inp).expanduser()):
            raise OutputPathError(
                f"{flag} {p}: is the input file; writing there would overwrite it"
            )
    return p


def check_output_dir(path: str | Path, flag: str, inputs: Iterable[str | Path | None] = ()) -> Path:
    """Check an output folder before any work: not a file, existing or creatable,
    writable, and not one of ``inputs``. Raises :class:`OutputPathError` naming ``flag``."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise OutputPathError(f"{flag} {p}: is a file, not a folder")
    _check_folder(p, flag, p)
    for inp in inputs:
        if inp is not None and _same_file(p, Path(inp).expanduser()):
            raise OutputPathError(f"{flag} {p}: is an input folder; choose another output folder")
    return p


def check_distinct_outputs(paths: dict[str, str | Path | None]) -> None:
    """No two flags (``{flag: path}``) name the same output file."""
    seen: dict[Path, str] = {}
    for flag, path in paths.items():
        if path is None:
            continue
        key = Path(path).expanduser().resolve()
        if key in seen:
            raise OutputPathError(f"{flag} {path}: also given to {seen[key]}; one file each")
        seen[key] = flag


def _file_mode(path: Path) -> int:
    """The permissions a new file at ``path`` would get (an existing one keeps its own)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` with the same suffix (writers that choose the
    format by suffix keep working); renamed onto ``path`` only when the block succeeds,
    removed otherwise, so a failure never leaves half a file or clobbers the old one.

    The file gets the permissions of the one it replaces, or the usual ``0o666 & ~umask``
    for a new one (not ``mkstemp``'s private 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
