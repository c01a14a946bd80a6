"""The one atomic writer: every file painterly writes (images, traces, JSON state, model
checkpoints) becomes visible only when complete, so a crash or Ctrl-C never leaves a half file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


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


def write_json(path: str | os.PathLike, data: object, *, indent: int = 1) -> Path:
    """Write ``data`` as UTF-8 JSON atomically (values JSON cannot hold become strings)."""
    path = Path(path)
    with atomic_file(path) as stream:
        stream.write((json.dumps(data, indent=indent, default=str) + "\n").encode("utf-8"))
    return path


def read_json(path: str | os.PathLike) -> dict | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
