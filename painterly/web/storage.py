"""The data folder of ``painterly serve``: uploaded images and video clips and runs, each in a
directory named by a random id, with JSON metadata. Files are only ever found from an id that
passed :func:`check_id`, never from a path taken from a request."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import math
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from painterly.errors import UserError
from painterly.examples import example_names, example_path
from painterly.io import images, jsonio
from painterly.io.files import write_json

log = logging.getLogger("painterly.web")

ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
"""Largest accepted upload (bytes)."""
MAX_UPLOADS = 200
"""Most uploads kept in one data folder; more are refused until some are deleted."""
PREVIEW_SIDE = 320
"""Long side of the preview images shown on the page."""
MAX_UPLOAD_PIXELS = 50_000_000
"""Largest decoded upload (pixels, from the header, checked before decoding): a 25 MB file may
be a tiny PNG that decodes to gigabytes. Decoding takes about 12 bytes per pixel at its peak."""
MAX_VIDEO_BYTES = 100 * 1024 * 1024
"""Largest accepted video clip (bytes)."""
MAX_VIDEO_SECONDS = 60.0
"""Longest accepted video clip (seconds): the web page is for short clips (a frame takes seconds
on a CPU); longer ones go through ``painterly video``."""
VIDEO_FILE = "clip.video"
"""Name of an uploaded clip in its folder (FFmpeg finds the format from the content)."""
UPLOAD_KINDS = ("image", "video")
VIDEO_CONTAINERS = "MP4/MOV, MKV/WebM, AVI or an animated GIF"
"""What a clip upload may be: recognized by its first bytes before FFmpeg sees it, so that a text
format FFmpeg would follow (a playlist naming other files or URLs) never reaches it."""
MAX_CONCURRENT_DECODES = 2
"""Uploads decoded at once; more wait (so decoded-image memory is bounded on the server)."""
DAMAGED = "damaged"
"""Folder (in the data folder) where damaged or foreign records are moved aside."""


def new_id() -> str:
    return secrets.token_hex(8)


def check_id(text: str) -> bool:
    """True for a well-formed id (16 hex digits): nothing else ever becomes part of a path."""
    return bool(ID_PATTERN.match(text))


def give_memory_back() -> None:
    """Return freed heap memory to the operating system (glibc keeps large freed blocks of
    worker threads' arenas otherwise, so one big decode would stay in the server's RSS)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> Any:
    name = ctypes.util.find_library("c")
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "malloc_trim"):
            return libc
    return None


_LIBC = _load_libc()


@dataclass
class Upload:
    id: str
    name: str
    width: int
    height: int
    created: float
    kind: str = "image"
    """``image`` or ``video`` (upload.json of older versions has no kind: images)."""
    frames: int | None = None
    """Frames of a video clip, at its own rate."""
    fps: float | None = None
    seconds: float | None = None

    def as_dict(self) -> dict:
        video = {"frames": self.frames, "fps": self.fps, "seconds": self.seconds} \
            if self.kind == "video" else {}
        return {"id": self.id, "kind": self.kind, "name": self.name, "width": self.width,
                "height": self.height, "created": self.created,
                "preview": f"/api/uploads/{self.id}/preview.png"} | video

    @classmethod
    def from_record(cls, data: Any, upload_id: str) -> Upload:
        """The upload an ``upload.json`` describes; ValueError naming what is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("id") != upload_id:
            raise ValueError("its id is not its folder's name")
        if not isinstance(data.get("name"), str):
            raise ValueError("name is not text")
        for key in ("width", "height"):
            value = data.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{key} is not a positive whole number")
        created = data.get("created")
        if not _is_number(created):
            raise ValueError("created is not a number")
        kind = data.get("kind", "image")
        if kind not in UPLOAD_KINDS:
            raise ValueError(f"kind is not one of {', '.join(UPLOAD_KINDS)}")
        video = {}
        if kind == "video":
            frames, fps, seconds = data.get("frames"), data.get("fps"), data.get("seconds")
            if not isinstance(frames, int) or isinstance(frames, bool) or frames < 1:
                raise ValueError("frames is not a positive whole number")
            if not (_is_number(fps) and fps > 0 and _is_number(seconds) and seconds > 0):
                raise ValueError("fps or seconds is not a positive number")
            video = {"frames": frames, "fps": float(fps), "seconds": float(seconds)}
        return cls(upload_id, _display_name(data["name"]), data["width"], data["height"],
                   float(created), kind, **video)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)


class DataFolder:
    """``uploads/<id>/{image.png, preview.png, upload.json}`` and ``runs/<id>/...``."""

    def __init__(self, root: str | os.PathLike, *, max_upload_bytes: int = MAX_UPLOAD_BYTES,
                 max_uploads: int = MAX_UPLOADS, max_upload_pixels: int = MAX_UPLOAD_PIXELS,
                 max_video_bytes: int = MAX_VIDEO_BYTES,
                 max_video_seconds: float = MAX_VIDEO_SECONDS,
                 max_concurrent_decodes: int = MAX_CONCURRENT_DECODES):
        self.root = Path(root).expanduser().resolve()
        self.uploads_dir = self.root / "uploads"
        self.runs_dir = self.root / "runs"
        self.video_work_dir = self.root / "video-work"
        """Finished frames of video runs, by clip and settings (:mod:`painterly.video.work`):
        a run started again with the same clip and settings resumes from them."""
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in (self.root / DAMAGED, self.uploads_dir, self.runs_dir,
                       self.video_work_dir):
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                self.move_aside(folder, "a file or link where painterly keeps a folder")
        for folder in (self.uploads_dir, self.runs_dir):
            folder.mkdir(exist_ok=True)
        self.max_upload_bytes = max_upload_bytes
        self.max_video_bytes = max_video_bytes
        self.max_video_seconds = max_video_seconds
        self.max_uploads = max_uploads
        self.max_upload_pixels = max_upload_pixels
        self._lock = threading.Lock()
        self._decodes = threading.BoundedSemaphore(max(1, max_concurrent_decodes))
        self._heal_uploads()

    # damaged or foreign records
    def move_aside(self, path: Path, reason: str) -> None:
        """Move a damaged or foreign record out of the way, into ``damaged/``, with one log line
        naming it (it is never deleted: a person may want it back)."""
        target_dir = self.root / DAMAGED
        target = target_dir / f"{path.parent.name}-{path.name}"
        if path == target_dir:  # the folder for damaged entries is damaged itself
            target_dir, target = self.root, self.root / f"{DAMAGED}.{new_id()}"
        try:
            target_dir.mkdir(exist_ok=True)
            for number in range(1, 1000):
                if not target.exists() and not target.is_symlink():
                    break
                target = target_dir / f"{path.parent.name}-{path.name}-{number}"
            os.replace(path, target)
        except OSError as error:
            log.warning("painterly: ignoring %s/%s (%s; could not move it aside: %s)",
                        path.parent.name, path.name, reason, error.strerror or error)
            return
        log.warning("painterly: moved %s/%s aside to %s: %s", path.parent.name, path.name,
                    target.relative_to(self.root), reason)

    def move_links_aside(self, entry: Path) -> None:
        """At start-up: move aside every symbolic link (and FIFO, device, ...) inside a run or
        upload folder: the server serves and reads only regular files it made."""
        found = []
        for folder, names, files in os.walk(entry):
            found += [Path(folder, name) for name in names + files]
        for path in found:
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                self.move_aside(path, "a symbolic link or special file (never served)")

    def _heal_uploads(self) -> None:
        """At start-up: every entry of ``uploads/`` is a complete upload, or is moved aside."""
        for entry in sorted(self.uploads_dir.iterdir()):
            problem = self._upload_problem(entry)
            if problem:
                self.move_aside(entry, problem)
            else:
                self.move_links_aside(entry)

    def _upload_problem(self, entry: Path) -> str | None:
        if not check_id(entry.name) or entry.is_symlink() or not entry.is_dir():
            return "not an upload of painterly (a folder named by 16 hex digits)"
        try:
            upload = Upload.from_record(jsonio.read(entry / "upload.json"), entry.name)
        except FileNotFoundError:
            return "upload.json is missing"
        except OSError as error:
            return f"upload.json cannot be read ({error.strerror or error})"
        except ValueError as error:
            return f"upload.json is damaged: {error}"
        for name in (VIDEO_FILE if upload.kind == "video" else "image.png", "preview.png"):
            if not own_file(entry / name):
                return f"{name} is missing (or a link)"
        return None

    # uploads
    def upload_dir(self, upload_id: str) -> Path | None:
        if not check_id(upload_id):
            return None
        folder = self.uploads_dir / upload_id
        return folder if (folder / "upload.json").is_file() else None

    def uploads(self) -> list[Upload]:
        """The complete uploads (one being written, or damaged since start-up, is left out)."""
        found = (self.get_upload(entry.name) for entry in self.uploads_dir.iterdir())
        return sorted((upload for upload in found if upload), key=lambda upload: upload.created)

    def get_upload(self, upload_id: str) -> Upload | None:
        folder = self.upload_dir(upload_id)
        try:
            return Upload.from_record(jsonio.read(folder / "upload.json"), upload_id) \
                if folder else None
        except (OSError, ValueError):
            return None

    def add_upload(self, data: bytes, name: str) -> Upload:
        """Validate ``data`` as the CLI validates an image file (real image, not damaged, not a
        decompression bomb) and keep it as an 8-bit sRGB PNG; UserError with one line if bad."""
        name = _display_name(name)
        if len(data) > self.max_upload_bytes:
            raise UserError(f"{name} is larger than the upload limit of "
                            f"{self.max_upload_bytes // (1024 * 1024)} MB")
        return self._keep(data, "original.bin", name, self._decode)

    def _keep(self, data: bytes, file_name: str, name: str,
              read: Callable[[Path, Path, str, str], Upload]) -> Upload:
        """``data`` written to ``file_name`` in a new upload folder and read by ``read`` (file,
        folder, upload id, display name) among the bounded concurrent decodes; the folder is
        removed again if anything fails."""
        upload_id, folder = self._new_upload_folder()
        try:
            stored = folder / file_name
            stored.write_bytes(data)
            with self._decodes:
                try:
                    return read(stored, folder, upload_id, name)
                finally:
                    give_memory_back()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def _new_upload_folder(self) -> tuple[str, Path]:
        """A fresh upload folder; UploadLimitReached when the data folder is full."""
        with self._lock:
            if sum(1 for _ in self.uploads_dir.iterdir()) >= self.max_uploads:
                raise UploadLimitReached(
                    f"the data folder already holds {self.max_uploads} uploads, the limit: "
                    "delete some (or start with another --data-dir)")
            upload_id = new_id()
            folder = self.uploads_dir / upload_id
            folder.mkdir()
        return upload_id, folder

    def add_video(self, data: bytes, name: str) -> Upload:
        """Validate ``data`` as a video clip :func:`painterly.video` can read (not a still image,
        at most :attr:`max_video_seconds` long, frames of at most :attr:`max_upload_pixels`) and
        keep it with a preview of its first frame; UserError with one line if bad."""
        name = _display_name(name)
        if len(data) > self.max_video_bytes:
            raise UserError(f"{name} is larger than the video upload limit of "
                            f"{self.max_video_bytes // (1024 * 1024)} MB")
        return self._keep(data, VIDEO_FILE, name, self._survey_video)

    def _survey_video(self, clip_file: Path, folder: Path, upload_id: str, name: str) -> Upload:
        """Read the clip once (at most :attr:`max_video_seconds` of it): its frames, rate and
        size, and its first frame as the preview; messages name the user's file."""
        from painterly.video.reader import Selection, is_still_image, open_clip

        if is_still_image(clip_file):
            raise UserError(f"{name} is a still image, not a video: use it as a content "
                            "or style image")
        with open(clip_file, "rb") as stream:
            if not is_video_container(stream.read(12)):
                raise UserError(f"{name} is not a video file of a kind the web page takes "
                                f"({VIDEO_CONTAINERS})")
        limit = self.max_video_seconds
        try:  # reads no further than just past the limit
            clip = open_clip(clip_file, Selection(duration=limit + 0.5),
                             max_pixels=self.max_upload_pixels)
        except UserError as error:
            raise UserError(str(error).replace(f": {clip_file}", f": {name}")
                            .replace(str(clip_file), name)) from None
        seconds = clip.end_time - clip.start_time
        if seconds > limit + 1e-3:
            raise UserError(f"{name} is longer than the limit of {limit:g} s for a clip on the "
                            "web page: cut it, or use the command line (painterly video ... "
                            "--start S --duration S)")
        width, height = clip.size
        frames = clip.frames()
        try:
            first = Image.fromarray(next(frames))
        finally:
            frames.close()
        images.save_image(images.resize_long_side(first, PREVIEW_SIDE)
                          if max(first.size) > PREVIEW_SIDE else first, folder / "preview.png")
        upload = Upload(upload_id, name, width, height, time.time(), "video", clip.count,
                        round(float(clip.fps), 3), round(seconds, 3))
        write_json(folder / "upload.json", upload.__dict__)
        return upload

    def _decode(self, original: Path, folder: Path, upload_id: str, name: str) -> Upload:
        """Decode the uploaded file (at most :attr:`max_upload_pixels`) into ``image.png``, its
        preview and ``upload.json``; messages name the user's file, never a server path."""
        try:
            image = images.load_image(original, what=name, max_pixels=self.max_upload_pixels)
        except UserError as error:
            message = str(error).replace(f": {original}", "").replace(str(original), name)
            raise UserError(message) from None
        original.unlink()
        images.save_image(image, folder / "image.png")
        images.save_image(images.resize_long_side(image, PREVIEW_SIDE)
                          if max(image.size) > PREVIEW_SIDE else image, folder / "preview.png")
        upload = Upload(upload_id, name, image.width, image.height, time.time())
        write_json(folder / "upload.json", upload.__dict__)
        return upload

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
        if folder is not None and (folder / VIDEO_FILE).is_file():
            raise UserError(f"'{reference}' is a video clip, not an image")
        if folder is None or not own_file(folder / "image.png"):
            raise UserError(f"no such image: '{reference[:40]}' (give an upload id or one of the "
                            f"built-in examples: {', '.join(example_names())})")
        return folder / "image.png"

    def resolve_video(self, reference: str) -> Path:
        """The clip behind ``reference`` (the id of a video upload)."""
        folder = self.upload_dir(reference)
        if folder is None or not own_file(folder / VIDEO_FILE):
            raise UserError(f"no such video clip: '{reference[:40]}' (give the id of a video "
                            "upload)")
        return folder / VIDEO_FILE

    def run_dir(self, run_id: str) -> Path | None:
        if not check_id(run_id):
            return None
        folder = self.runs_dir / run_id
        return folder if folder.is_dir() else None


def own_file(path: Path) -> bool:
    """True for a regular file of the data folder itself: not a symbolic link, nor in a linked
    folder (a link planted in the data folder is never served or read)."""
    return path.is_file() and not path.is_symlink() and not path.parent.is_symlink()


class UploadLimitReached(UserError):
    """The data folder holds the maximum number of uploads."""


def is_video_container(head: bytes) -> bool:
    """True when a file's first 12 bytes start an ISO media (MP4, MOV), Matroska (MKV, WebM),
    AVI or GIF file."""
    return (head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
            or head.startswith(b"\x1aE\xdf\xa3") or head.startswith((b"GIF87a", b"GIF89a"))
            or (head.startswith(b"RIFF") and head[8:12] == b"AVI "))


def _display_name(name: str) -> str:
    """A short, harmless name for messages and the page (never used as a path)."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable())[:80].strip()
    return cleaned or "uploaded file"


def preview_of_example(name: str) -> Image.Image:
    """A preview-sized copy of a built-in example."""
    return images.resize_long_side(images.load_image(name), PREVIEW_SIDE)
