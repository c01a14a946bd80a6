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

    def frame_path(self, index: int) -> Path:
        return self.path / FRAME_NAME.format(index)

    def has(self, index: int) -> bool:
        return self.frame_path(index).exists()

    def save(self, index: int, pixels: np.ndarray) -> None:
        """Store frame ``index`` ((H, W, 3) uint8); it exists only once completely written."""
        with atomic_file(self.frame_path(index)) as stream:
            Image.fromarray(pixels).save(stream, format="PNG", compress_level=1)

    def load(self, index: int) -> np.ndarray:
        with Image.open(self.frame_path(index)) as image:
            return np.asarray(image.convert("RGB"))

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
