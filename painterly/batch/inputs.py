"""Which files a batch reads: CONTENTS and STYLE arguments (a file, a folder, a glob pattern, or
a built-in example's name) expanded to image files, in a stable order."""

from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from painterly.errors import UserError
from painterly.examples import example_names

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson")
"""A CONTENTS argument with one of these suffixes is a manifest (see painterly.batch.manifest)."""
GLOB_CHARACTERS = frozenset("*?[")


def image_suffixes() -> frozenset[str]:
    """File suffixes Pillow can read (a folder's other files are ignored)."""
    Image.init()
    return frozenset(suffix.lower() for suffix in Image.registered_extensions())


def is_manifest(argument: str) -> bool:
    return Path(argument).suffix.lower() in MANIFEST_SUFFIXES and Path(argument).is_file()


Skip = Callable[[Path], bool]
"""Files a folder or a glob pattern must not contribute (the batch's own results)."""


def expand(argument: str, what: str, skip: Skip | None = None) -> list[str]:
    """The image files named by one argument: a folder (its image files, not recursive), a glob
    pattern (``photos/**/*.jpg``: every match, so a damaged or non-image match becomes a failed
    job), a file, or a built-in example's name; a folder or pattern leaves out the files
    ``skip`` names. UserError when nothing matches: a typo should stop the command before any
    work."""
    path = Path(argument).expanduser()
    unless = " (results of this batch are not inputs)" if skip else ""
    if path.is_dir():
        suffixes = image_suffixes()
        found = sorted(str(p) for p in path.iterdir() if p.is_file()
                       and p.suffix.lower() in suffixes and not p.name.startswith(".")
                       and not (skip and skip(p)))
        if not found:
            raise UserError(f"{what} folder holds no image files{unless}: {argument}")
        return found
    if GLOB_CHARACTERS & set(argument) and not path.exists():
        found = sorted(p for p in glob.glob(str(path), recursive=True) if Path(p).is_file()
                       and not (skip and skip(Path(p))))
        if not found:
            raise UserError(f"{what}: no files match '{argument}'{unless}")
        return found
    if path.exists() or argument in example_names():
        return [argument]
    raise UserError(f"{what} not found: {argument} (give an image file, a folder, a glob pattern "
                    f"or a built-in example: {', '.join(example_names())})")


def expand_all(arguments: list[str], what: str, skip: Skip | None = None) -> list[str]:
    """:func:`expand` over several arguments, duplicates dropped (first occurrence kept)."""
    seen: dict[str, None] = {}
    for argument in arguments:
        for found in expand(argument, what, skip):
            seen.setdefault(found, None)
    return list(seen)
