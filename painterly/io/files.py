"""The one atomic writer: every file painterly writes (images, traces, JSON state, model
checkpoints) becomes visible only when complete, so a crash or Ctrl-C never leaves a half file."""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from painterly.errors import UserError

MAX_NAME_BYTES = 240
"""Longest file name painterly writes: 255 bytes (the common limit) less the 15 that the atomic
writer's temporary name (``.NAME.xxxxxxxx.part``) adds."""


def name_problem(path: str | os.PathLike) -> str | None:
    """Why no file can be written under ``path``'s name (a NUL, too long, not encodable), or
    None: checked before any work, not when the result is written."""
    text = os.fspath(path)
    if "\0" in text:
        return "a file name cannot hold a NUL character"
    try:
        size = len(os.fsencode(Path(text).name))
    except UnicodeEncodeError:
        return "the name cannot be encoded as a file name"
    if size > MAX_NAME_BYTES:
        return f"the file name is {size} bytes long, more than {MAX_NAME_BYTES}"
    return None


def check_name(path: str | os.PathLike) -> None:
    """UserError naming ``path`` when :func:`name_problem` finds one."""
    problem = name_problem(path)
    if problem is not None:
        raise UserError(f"cannot write {os.fspath(path)!r}: {problem}")


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is no file to read, in words that name what it is ("is a FIFO (named
    pipe)", "is a device file", "is an empty file", ...), or None for a regular file with bytes
    in it."""
    try:
        mode = os.stat(path)
    except FileNotFoundError:
        return "not found"
    except (OSError, ValueError) as error:
        return f"cannot be read ({getattr(error, 'strerror', None) or error})"
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a device file"), (stat.S_ISBLK, "a device file"),
             (stat.S_ISSOCK, "a socket"))
    for test, kind in kinds:
        if test(mode.st_mode):
            return f"is {kind}, not a file"
    if not stat.S_ISREG(mode.st_mode):
        return "is not a regular file"
    return "is an empty file" if mode.st_size == 0 else None


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary stream that becomes ``path`` only when the block completes: written to a
    temporary file beside it, then renamed; on any error the temporary file is removed."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                             dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Like :func:`atomic_file`, for writers that need a file name rather than a stream (FFmpeg
    rereads an .mp4 to move its index to the front): the temporary path to write, renamed to
    ``path`` when the block completes, removed on any error."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                             dir=path.parent)
    os.close(descriptor)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, data: object, *, indent: int = 1) -> Path:
    """Write ``data`` as strict UTF-8 JSON atomically: NaN and infinities become null (JSON has
    no number for them; a strict reader would refuse the file), other values JSON cannot hold
    become strings."""
    path = Path(path)
    text = json.dumps(finite(data), indent=indent, default=str, allow_nan=False)
    with atomic_file(path) as stream:
        stream.write((text + "\n").encode("utf-8"))
    return path


def finite(value: object) -> object:
    """``value`` with every non-finite float (NaN, ±inf) replaced by None, in nested dicts, lists
    and tuples too."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def read_json(path: str | os.PathLike) -> dict | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class InputFiles:
    """The files a command reads, by identity (device and inode): the one output guard of every
    writing command. The same file reached through ``..``, a symlink or a hard link is one
    identity, so an output that would replace any input is found however it is spelled."""

    def __init__(self, paths: Iterable[str | os.PathLike | None] = ()):
        self._files: dict[tuple[int, int], str] = {}
        for path in paths:
            identity = _identity(path)
            if identity is not None:
                self._files.setdefault(identity, str(path))

    def replaced_by(self, output: str | os.PathLike) -> str | None:
        """The input that writing ``output`` would replace, or None."""
        identity = _identity(output)
        return None if identity is None else self._files.get(identity)

    def check(self, output: str | os.PathLike) -> None:
        """UserError when ``output`` is one of the inputs (call it before any long work)."""
        source = self.replaced_by(output)
        if source is not None:
            raise UserError(f"the output {output} is one of the inputs ({source}): the result "
                            "would replace it; choose another output file")


def _identity(path: str | os.PathLike | None) -> tuple[int, int] | None:
    """(device, inode) of an existing file or folder, following links; None otherwise."""
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except (OSError, ValueError):  # missing, unreadable, or a name with a NUL
        return None
    return stat.st_dev, stat.st_ino
