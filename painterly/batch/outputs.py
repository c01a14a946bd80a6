"""Result files in OUTDIR: PNG bytes that carry their job's key (a ``painterly-job`` text chunk),
written atomically and durably, so that a file under a job's name is always a complete result and
says which inputs and settings made it."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, PngImagePlugin

from painterly.io.files import atomic_file

KEY_CHUNK = "painterly-job"
DATABASE_NAME = "painterly-batch.sqlite"
"""The job store in OUTDIR (SQLite adds ``-wal`` and ``-shm`` files beside it)."""
PART_SUFFIX = ".part"


def encode_png(image: Image.Image, key: str) -> bytes:
    """The image as PNG bytes, tagged with the job's key."""
    info = PngImagePlugin.PngInfo()
    info.add_text(KEY_CHUNK, key)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def write_output(outdir: Path, name: str, data: bytes) -> Path:
    """``data`` as ``outdir/name``: a temporary file, flushed to disk, then renamed over the
    name, so a crash leaves the old file or the new one, never a part."""
    path = outdir / name
    with atomic_file(path) as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    return path


def output_key(path: Path) -> str | None:
    """The job key a result file carries; None for a missing or foreign file."""
    try:
        with Image.open(path) as image:
            return image.info.get(KEY_CHUNK) if image.format == "PNG" else None
    except (OSError, ValueError, SyntaxError):
        return None


def is_batch_file(path: Path) -> bool:
    """True for what a batch writes in OUTDIR: a result (a PNG carrying a job's key), the job
    store and its journal files, a temporary ``.part`` file."""
    return path.name.startswith((DATABASE_NAME, ".")) or output_key(path) is not None


def stale_parts(outdir: Path) -> list[Path]:
    """Temporary files a killed writer left behind (``.NAME.xxxxxx.part``)."""
    return [path for path in outdir.glob(f".*{PART_SUFFIX}") if path.is_file()]


def part_owner(path: Path) -> str:
    """The result name a temporary file was for."""
    return path.name[1:].rsplit(".", 2)[0]
