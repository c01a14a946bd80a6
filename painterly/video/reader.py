"""Reading a clip's frames, one at a time: a video file through PyAV (mp4, mov, webm, mkv, animated
GIF, ...) or a folder or glob of image files, with a selection (start, duration or frame range) and
an optional frame rate. Memory does not grow with the length of the clip; every problem with the
input is a one-line :class:`~painterly.errors.UserError` raised before any long work."""

from __future__ import annotations

import glob
import hashlib
import math
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from painterly.errors import UserError
from painterly.io import images
from painterly.io.files import file_problem

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
"""Files a frame folder contributes; everything else in it is ignored."""
FOLDER_FPS = Fraction(24)
"""Frame rate of a folder of frames unless --fps says otherwise."""
MIN_FPS, MAX_FPS = 0.1, 240.0
"""Output frame rates accepted (a slower one rounds to no frame rate at all)."""
GLOB_CHARACTERS = "*?["
TIME_TOLERANCE = 1e-3
"""Seconds within which two times count as equal (containers round timestamps to 1 ms)."""


@dataclass(frozen=True)
class Selection:
    """Which part of the input to read, and at what rate."""

    start: float = 0.0
    """Seconds from the beginning."""
    duration: float | None = None
    """Seconds to read (None: to the end)."""
    frames: tuple[int, int | None] | None = None
    """``(first, end)``: frame indices (end exclusive, None: to the end) of the sequence at the
    output rate; replaces ``start`` and ``duration``."""
    fps: float | None = None
    """Output frame rate (None: the input's); frames are repeated or dropped to meet it."""

    def validated(self) -> Selection:
        if not (math.isfinite(self.start) and self.start >= 0):
            raise UserError(f"start must be a number of seconds >= 0, got {self.start}")
        if self.duration is not None and not (math.isfinite(self.duration)
                                              and self.duration > 0):
            raise UserError(f"duration must be a number of seconds > 0, got {self.duration}")
        if self.fps is not None and not (math.isfinite(self.fps)
                                         and MIN_FPS <= self.fps <= MAX_FPS):
            raise UserError(f"fps must be a frame rate between {MIN_FPS:g} and {MAX_FPS:g}, got "
                            f"{self.fps}")
        if self.frames is not None:
            if self.start or self.duration is not None:
                raise UserError("a frame range replaces start and duration: give one or the "
                                "other")
            first, end = self.frames
            if first < 0 or (end is not None and end <= first):
                raise UserError(f"frame range {first}:{end} needs 0 <= A < B")
        return self


def parse_frame_range(text: str) -> tuple[int, int | None]:
    """``'10:58'`` -> (10, 58); ``'10:'`` -> (10, None); ``':24'`` -> (0, 24); ValueError for
    anything else or an empty range."""
    match = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", text)
    if not match or not (match[1] or match[2]):
        raise ValueError(f"must be A:B (frame indices, B exclusive), got '{text}'")
    first, end = int(match[1] or 0), int(match[2]) if match[2] else None
    if end is not None and end <= first:
        raise ValueError(f"must be A:B with A < B, got '{text}'")
    return first, end


@dataclass(frozen=True)
class Clip:
    """An opened input: its size, rate and frame count after the selection, and its frames."""

    source: str
    size: tuple[int, int]
    """(width, height) of the frames as displayed."""
    fps: Fraction
    count: int
    """Frames the selection yields (counted by decoding once, so exact)."""
    start_time: float
    """Seconds into the input where the selection begins (for the audio)."""
    end_time: float
    audio: bool
    """The input has an audio stream."""
    _video: bool
    _files: tuple[Path, ...]
    _selection: Selection

    @property
    def is_video_file(self) -> bool:
        return self._video

    def frames(self) -> Iterator[np.ndarray]:
        """The selected frames in order, each (H, W, 3) uint8 RGB."""
        timed = _decode(self.source) if self._video else _read_files(self._files, self.fps)
        return _select(timed, self._selection, self.fps, None)

    def fingerprint(self) -> str:
        """A hash of the input's bytes and the selection: the same clip gives the same value."""
        digest = hashlib.sha256(repr(self._selection).encode())
        for path in (Path(self.source),) if self._video else self._files:
            digest.update(path.name.encode())
            with open(path, "rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
        return digest.hexdigest()


def open_clip(source: str | os.PathLike, selection: Selection = Selection(), *,
              max_pixels: int = images.MAX_INPUT_PIXELS) -> Clip:
    """Open a video file, a folder of frames or a glob pattern of frame files; raises UserError
    if it holds no readable frames for the selection, or frames of more than ``max_pixels``
    (from the header, before decoding)."""
    selection = selection.validated()
    text = str(source)
    path = Path(text)
    if any(c in text for c in GLOB_CHARACTERS) and not path.exists():
        files = tuple(sorted((Path(p) for p in glob.glob(text)
                              if Path(p).suffix.lower() in IMAGE_SUFFIXES), key=_natural))
        if not files:
            raise UserError(f"no image files match '{text}'")
        return _open_frame_files(text, files, selection, max_pixels)
    if not path.exists():
        raise UserError(f"input not found: {text}")
    if path.is_dir():
        files = tuple(sorted((p for p in path.iterdir()
                              if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                             key=_natural))
        if not files:
            raise UserError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
        return _open_frame_files(text, files, selection, max_pixels)
    problem = file_problem(path)
    if problem is not None:
        raise UserError(f"input {problem}: {path}")
    if is_still_image(path):
        raise UserError(f"input is a still image, not a video (style it with 'painterly "
                        f"transfer', or give a folder of frames): {path}")
    return _open_video_file(path, selection, max_pixels)


def is_still_image(path: Path) -> bool:
    """True when the file's content is an image of one frame (whatever its name says); an
    animated GIF, PNG or WebP is a clip."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                return not getattr(image, "is_animated", False)
    except Exception:  # Pillow's plugins raise many kinds on a damaged header
        return False  # not a readable still image: the video reader decides what it is


def _check_pixels(size: tuple[int, int], max_pixels: int, path: Path) -> None:
    if size[0] * size[1] > max_pixels:
        raise UserError(f"frames of {size[0]}x{size[1]} pixels are more than the limit of "
                        f"{max_pixels / 1_000_000:g} megapixels: {path}")


def resized(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` ((H, W, 3) uint8) at ``size`` (width, height), Lanczos-resampled if needed."""
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.LANCZOS))


def _open_video_file(path: Path, selection: Selection, max_pixels: int) -> Clip:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UserError(f"input has no video stream: {path}")
            stream = container.streams.video[0]
            if stream.codec_context is None:
                raise UserError(f"input's video codec is unknown to this FFmpeg build: {path}")
            _check_pixels((stream.codec_context.width, stream.codec_context.height),
                          max_pixels, path)
            rate = stream.average_rate or stream.guessed_rate or Fraction(24)
            audio = bool(container.streams.audio)
    except UserError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise UserError(f"input is not a video file FFmpeg can read ({_reason(error)}): "
                        f"{path}") from None
    fps = Fraction(selection.fps).limit_denominator(1001) if selection.fps else Fraction(rate)
    times: list[float] = []
    count, size, first, last = _survey(_decode(str(path)), selection, fps, str(path), times)
    if not selection.fps:
        fps = _measured_rate(times, fps)
        last = times[-1] + float(1 / fps)
    return Clip(str(path), size, fps, count, first, last, audio, True, (), selection)


def _measured_rate(times: list[float], declared: Fraction) -> Fraction:
    """The rate the frames' own timestamps show (the median step between them), where it differs
    from the container's ``declared`` rate by more than 1%: headers lie (an .avi that declares 50
    fps and holds frames 0.04 s apart, every other index entry empty), timestamps play."""
    steps = np.diff(times)
    steps = steps[steps > 0]
    if not len(steps):
        return declared
    measured = Fraction(1 / float(np.median(steps))).limit_denominator(1001)
    return declared if abs(measured / declared - 1) <= 0.01 else measured


def _open_frame_files(source: str, files: tuple[Path, ...], selection: Selection,
                      max_pixels: int) -> Clip:
    sizes: dict[tuple[int, int], Path] = {}
    for file in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the pixel cap below decides
                with Image.open(file) as image:
                    size = image.size
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            raise UserError(f"not an image file Pillow can read: {file}") from None
        _check_pixels(size, max_pixels, file)
        sizes.setdefault(size, file)
        if len(sizes) > 1:
            (a, first), (b, other) = sizes.items()
            raise UserError(f"frames differ in size: {first.name} is {a[0]}x{a[1]}, "
                            f"{other.name} is {b[0]}x{b[1]}")
    fps = Fraction(selection.fps).limit_denominator(1001) if selection.fps else FOLDER_FPS
    count, size, first_time, last_time = _survey(_read_files(files, fps, decode=False),
                                                  selection, fps, source)
    return Clip(source, size, fps, count, first_time, last_time, False, False, files, selection)


def _survey(timed: Iterator[tuple[float, object]], selection: Selection, fps: Fraction,
            source: str, times: list[float] | None = None
            ) -> tuple[int, tuple[int, int], float, float]:
    """Count the frames of the selection in one pass (validating every frame on the way; their
    times go to ``times`` if given): (count, size, first time, end time)."""
    count, size, times = 0, None, [] if times is None else times
    for frame in _select(timed, selection, fps, times):
        count += 1
        size = size or _frame_size(frame)
    if count == 0:
        raise UserError(f"no frames in the selected part of the input: {source}")
    return count, size, times[0], times[-1] + float(1 / fps)


def _frame_size(frame: object) -> tuple[int, int]:
    if isinstance(frame, np.ndarray):
        return frame.shape[1], frame.shape[0]
    width, height = frame.width, frame.height  # an undecoded PyAV frame or PIL image
    return (height, width) if getattr(frame, "rotation", 0) % 180 else (width, height)


def _decode(source: str) -> Iterator[tuple[float, object]]:
    """(seconds since the first frame, PyAV frame) for every frame of a video file."""
    import av

    try:
        with av.open(source) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or Fraction(24)
            first = None
            for index, frame in enumerate(container.decode(stream)):
                time = frame.time if frame.time is not None else index / float(rate)
                first = time if first is None else first
                yield time - first, frame
    except av.error.FFmpegError as error:
        raise UserError(f"cannot decode the video ({_reason(error)}): {source}") from None


def _read_files(files: tuple[Path, ...], fps: Fraction,
                decode: bool = True) -> Iterator[tuple[float, object]]:
    for index, file in enumerate(files):
        if decode:
            yield index / float(fps), images.load_image(file, what="frame")
        else:
            with Image.open(file) as image:
                size = _Dimensions(*image.size)
            yield index / float(fps), size


@dataclass(frozen=True)
class _Dimensions:
    width: int
    height: int


def _natural(path: Path) -> list:
    """Sort key that puts frame2 before frame10."""
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r"(\d+)", path.name)]


def _reason(error: Exception) -> str:
    """FFmpeg's explanation without the file name PyAV appends."""
    return str(getattr(error, "strerror", None) or error).strip().rstrip(".")


def _pixels(frame: object) -> np.ndarray:
    if isinstance(frame, Image.Image):
        return np.asarray(frame.convert("RGB"))
    import av

    try:
        pixels = frame.to_ndarray(format="rgb24")
    except av.error.FFmpegError as error:  # a frame FFmpeg decoded but cannot convert
        raise UserError(f"the video has a frame FFmpeg cannot convert to RGB "
                        f"({_reason(error)})") from None
    turns = round(getattr(frame, "rotation", 0) / 90) % 4  # counterclockwise, as displayed
    return np.ascontiguousarray(np.rot90(pixels, turns)) if turns else pixels


def _select(timed: Iterator[tuple[float, object]], selection: Selection, fps: Fraction,
            times: list[float] | None) -> Iterator:
    """The selected frames. At the input's own rate every frame in the selection is one output
    frame; with ``selection.fps`` the output shows, at each time ``start + k / fps``, the input
    frame of that moment (frames repeat or drop). With ``times`` given, frames are yielded
    undecoded (for counting) and their times recorded."""
    first, end = selection.frames or (0, None)
    begin = 0.0 if selection.frames is not None else selection.start
    until = math.inf if selection.duration is None else begin + selection.duration
    step = 1 / float(fps)

    def emit(frame: object, time: float):
        if times is not None:
            times.append(time)
            return frame
        return _pixels(frame)

    if selection.fps is None:
        index = 0
        for time, frame in timed:
            if time < begin - TIME_TOLERANCE:
                continue
            if time >= until - TIME_TOLERANCE or (end is not None and index >= end):
                return
            if index >= first:
                yield emit(frame, time)
            index += 1
        return
    slot, previous, previous_time, native_step = 0, None, 0.0, step
    tolerance = max(TIME_TOLERANCE, step / 10)

    def due(shown_until: float) -> Iterator:
        nonlocal slot
        while True:
            time = begin + slot * step
            if (end is not None and slot >= end) or time >= until - tolerance or \
                    time >= shown_until - tolerance:
                return
            if slot >= first:
                yield emit(previous, time)
            slot += 1

    for time, frame in timed:
        if previous is not None:
            native_step = time - previous_time
            yield from due(time)
        previous, previous_time = frame, time
    if previous is not None:
        yield from due(previous_time + native_step)
