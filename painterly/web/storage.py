"""The data folder of ``painterly serve``: uploaded images and runs, each in a directory named by a
random id, with JSON metadata. Files are only ever found from an id that passed :func:`check_id`,
never from a path taken from a request."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from painterly.errors import UserError
from painterly.examples import example_names, example_path
from painterly.io import images
from painterly.io.files import read_json, write_json

ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
"""Largest accepted upload (bytes)."""
MAX_UPLOADS = 200
"""Most uploads kept in one data folder; more are refused until some are deleted."""
PREVIEW_SIDE = 320
"""Long side of the preview images shown on the page."""


def new_id() -> str:
    return secrets.token_hex(8)


def check_id(text: str) -> bool:
    """True for a well-formed id (16 hex digits): nothing else ever becomes part of a path."""
    return bool(ID_PATTERN.match(text))


@dataclass
class Upload:
    id: str
    name: str
    width: int
    height: int
    created: float

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height,
                "created": self.created, "preview": f"/api/uploads/{self.id}/preview.png"}


class DataFolder:
    """``uploads/<id>/{image.png, preview.png, upload.json}`` and ``runs/<id>/...``."""

    def __init__(self, root: str | os.PathLike, *, max_upload_bytes: int = MAX_UPLOAD_BYTES,
                 max_uploads: int = MAX_UPLOADS):
        self.root = Path(root).expanduser().resolve()
        self.uploads_dir = self.root / "uploads"
        self.runs_dir = self.root / "runs"
        for folder in (self.uploads_dir, self.runs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.max_upload_bytes = max_upload_bytes
        self.max_uploads = max_uploads
        self._lock = threading.Lock()

    # uploads
    def upload_dir(self, upload_id: str) -> Path | None:
        if not check_id(upload_id):
            return None
        folder = self.uploads_dir / upload_id
        return folder if (folder / "upload.json").is_file() else None

    def uploads(self) -> list[Upload]:
        found = []
        for folder in self.uploads_dir.iterdir():
            meta = read_json(folder / "upload.json") if check_id(folder.name) else None
            if meta:
                found.append(Upload(**meta))
        return sorted(found, key=lambda upload: upload.created)

    def get_upload(self, upload_id: str) -> Upload | None:
        folder = self.upload_dir(upload_id)
        meta = read_json(folder / "upload.json") if folder else None
        return Upload(**meta) if meta else None

    def add_upload(self, data: bytes, name: str) -> Upload:
        """Validate ``data`` as the CLI validates an image file (real image, not damaged, not a
        decompression bomb) and keep it as an 8-bit sRGB PNG; UserError with one line if bad."""
        name = _display_name(name)
        if len(data) > self.max_upload_bytes:
            raise UserError(f"{name} is larger than the upload limit of "
                            f"{self.max_upload_bytes // (1024 * 1024)} MB")
        with self._lock:
            if sum(1 for _ in self.uploads_dir.iterdir()) >= self.max_uploads:
                raise UploadLimitReached(
                    f"the data folder already holds {self.max_uploads} uploads, the limit: "
                    "delete some (or start with another --data-dir)")
            upload_id = new_id()
            folder = self.uploads_dir / upload_id
            folder.mkdir()
        try:
            original = folder / "original.bin"
            original.write_bytes(data)
            try:
                image = images.load_image(original, what=name)
            except UserError as error:  # name the user's file, not our temporary path
                message = str(error).replace(f": {original}", "").replace(str(original), name)
                raise UserError(message) from None
            original.unlink()
            images.save_image(image, folder / "image.png")
            images.save_image(images.resize_long_side(image, PREVIEW_SIDE)
                              if max(image.size) > PREVIEW_SIDE else image, folder / "preview.png")
            upload = Upload(upload_id, name, image.width, image.height, time.time())
            write_json(folder / "upload.json", upload.__dict__)
            return upload
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def delete_upload(self, upload_id: str) -> bool:
        folder = self.upload_dir(upload_id)
        if folder is None:
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True

    # image references used by runs: an upload id or a built-in example's name
    def resolve_image(self, reference: str) -> Path:
        """The image file behind ``reference`` (an upload id or an example name)."""
        if reference in example_names():
            return example_path(reference)
        folder = self.upload_dir(reference)
        if folder is None:
            raise UserError(f"no such image: '{reference[:40]}' (give an upload id or one of the "
                            f"built-in examples: {', '.join(example_names())})")
        return folder / "image.png"

    def run_dir(self, run_id: str) -> Path | None:
        if not check_id(run_id):
            return None
        folder = self.runs_dir / run_id
        return folder if folder.is_dir() else None


class UploadLimitReached(UserError):
    """The data folder holds the maximum number of uploads."""


def _display_name(name: str) -> str:
    """A short, harmless name for messages and the page (never used as a path)."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable())[:80].strip()
    return cleaned or "uploaded file"


def preview_of_example(name: str) -> Image.Image:
    """A preview-sized copy of a built-in example."""
    return images.resize_long_side(images.load_image(name), PREVIEW_SIDE)
