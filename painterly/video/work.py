"""The work folder of a video run: finished frames as PNG files, each written atomically, in a
folder named by a hash of the input and every setting that changes a pixel. Running the same
command again finds the frames already done; a different setting gets a different folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from painterly.io.files import atomic_file

FRAME_NAME = "{:06d}.png"


def default_root() -> Path:
    """Where work folders live unless the caller says: ``$XDG_CACHE_HOME/painterly/video``
    (``~/.cache/painterly/video``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "painterly" / "video"


def run_key(parts: dict) -> str:
    """A short hash of everything that determines the frames (JSON-serializable values)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class WorkFolder:
    """Finished frames of one run, by index."""

    def __init__(self, root: str | os.PathLike, key: str, description: dict | None = None):
        self.path = Path(root) / key
        self.path.mkdir(parents=True, exist_ok=True)
        if description is not None and not (self.path / "settings.json").exists():
            with atomic_file(self.path / "settings.json") as stream:
                stream.write(json.dumps(description, indent=1, sort_keys=True,
                                        default=str).encode())

    def frame_path(self, index: int, variant: str | None = None) -> Path:
        """The finished frame ``index``, or with ``variant`` a candidate version of it (e.g. one
        of the two that a chunk seam blends), kept in ``variants/``."""
        if variant is None:
            return self.path / FRAME_NAME.format(index)
        return self.path / "variants" / f"{index:06d}-{variant}.png"

    def has(self, index: int, variant: str | None = None) -> bool:
        return self.frame_path(index, variant).exists()

    def save(self, index: int, pixels: np.ndarray, variant: str | None = None) -> None:
        """Store frame ``index`` ((H, W, 3) uint8); it exists only once completely written."""
        path = self.frame_path(index, variant)
        path.parent.mkdir(exist_ok=True)
        with atomic_file(path) as stream:
            Image.fromarray(pixels).save(stream, format="PNG", compress_level=1)

    def load(self, index: int, variant: str | None = None) -> np.ndarray:
        with Image.open(self.frame_path(index, variant)) as image:
            return np.asarray(image.convert("RGB"))

    def note(self, name: str) -> str | None:
        """A small text record of the run (None if absent)."""
        path = self.path / "notes" / name
        return path.read_text() if path.exists() else None

    def write_note(self, name: str, text: str) -> None:
        (self.path / "notes").mkdir(exist_ok=True)
        with atomic_file(self.path / "notes" / name) as stream:
            stream.write(text.encode())

    def finished(self) -> int:
        """How many frames are done, counting from the first."""
        count = 0
        while self.has(count):
            count += 1
        return count

    def frames(self, count: int) -> Iterator[np.ndarray]:
        for index in range(count):
            yield self.load(index)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
