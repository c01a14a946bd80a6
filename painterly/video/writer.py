"""Writing frames as a video: .mp4 / .mov / .mkv (H.264, yuv420p, browser-friendly), .webm (VP9),
.gif, or a folder of PNG frames; audio copied (re-encoded) from a span of the input. Frames are
encoded as they arrive, into a temporary file beside the output that replaces it only when
complete: an interrupted or failed write leaves nothing half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from painterly.errors import UserError
from painterly.io import images
from painterly.io.files import atomic_path, check_name


@dataclass(frozen=True)
class Format:
    container: str
    video_codecs: tuple[str, ...]
    """Encoders to use, the first one available."""
    pixel_format: str
    audio_codec: str | None
    options: dict[str, str]
    container_options: dict[str, str]


_H264 = {"crf": "18", "preset": "medium"}
FORMATS = {
    ".mp4": Format("mp4", ("libx264",), "yuv420p", "aac", _H264, {"movflags": "+faststart"}),
    ".mov": Format("mov", ("libx264",), "yuv420p", "aac", _H264, {"movflags": "+faststart"}),
    ".mkv": Format("matroska", ("libx264",), "yuv420p", "aac", _H264, {}),
    ".webm": Format("webm", ("libvpx-vp9", "libvpx"), "yuv420p", "libopus",
                    {"crf": "32", "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"},
                    {}),
    ".gif": Format("gif", ("gif",), "pal8", None, {}, {}),
}
"""Video files painterly writes, by extension. A path without an extension is a folder of PNG
frames."""
AUDIO_RATE = 48000
FRAME_NAME = "frame_{:06d}.png"


@dataclass(frozen=True)
class AudioSpan:
    """The audio to copy: ``start`` to ``end`` seconds of the first audio stream of ``path``."""

    path: str
    start: float
    end: float


def check_output(path: str | os.PathLike, inputs: Iterable[object] = ()) -> Path:
    """Fail before any long work if ``path`` cannot be written: one of ``inputs`` (the clip, a
    style image, ...: the result would replace it), an unknown extension, a missing or
    read-only folder, a folder of frames that is not empty."""
    check_name(path)
    path = Path(path)
    images.input_files(inputs).check(path)
    suffix = path.suffix.lower()
    if suffix and suffix not in FORMATS:
        raise UserError(f"cannot write '{suffix}' videos: use one of "
                        f"{', '.join(FORMATS)}, or a folder name (without an extension) for "
                        "PNG frames")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise UserError(f"output folder is not writable: {parent}")
    if suffix and path.is_dir():
        raise UserError(f"output path is a directory: {path}")
    if not suffix and path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(f"output folder for frames must be new or empty: {path}")
    return path


def write_video(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: Fraction, *,
                audio: AudioSpan | None = None) -> Path:
    """Encode ``frames`` ((H, W, 3) uint8 RGB, all the same size) to ``path`` at ``fps``, with
    ``audio`` where the format holds sound; returns the path. The file appears only when
    complete."""
    path = check_output(path)
    if not path.suffix:
        return _write_folder(frames, path)
    with atomic_path(path) as temporary:
        _encode(frames, temporary, FORMATS[path.suffix.lower()], Fraction(fps), audio)
    return path


def _write_folder(frames: Iterable[np.ndarray], path: Path) -> Path:
    temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        for index, frame in enumerate(frames):
            Image.fromarray(frame).save(temporary / FRAME_NAME.format(index))
        os.chmod(temporary, 0o755)
        os.replace(temporary, path)  # onto a new or empty folder
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path


def _encode(frames: Iterable[np.ndarray], path: Path, fmt: Format, fps: Fraction,
            audio: AudioSpan | None) -> None:
    import av

    with av.open(str(path), "w", format=fmt.container,
                 options=fmt.container_options) as container:
        video = sound = palette = None
        try:
            for index, pixels in enumerate(frames):
                if fmt.pixel_format == "yuv420p":  # 4:2:0 needs even dimensions
                    pixels = pixels[:pixels.shape[0] // 2 * 2, :pixels.shape[1] // 2 * 2]
                if video is None:
                    video = _video_stream(container, fmt, fps, pixels.shape[1],
                                          pixels.shape[0])
                    if audio is not None and fmt.audio_codec:
                        sound = _AudioCopy(container, audio, fmt.audio_codec)
                if fmt.pixel_format == "pal8":
                    palette = palette or _palette(pixels)
                    frame = _paletted_frame(pixels, palette)
                else:
                    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels),
                                                       format="rgb24")
                frame.pts = index
                frame.time_base = 1 / fps
                container.mux(video.encode(frame))
                if sound is not None:
                    sound.until((index + 1) / float(fps))
            if video is None:
                raise UserError("no frames to write")
            container.mux(video.encode(None))
            if sound is not None:
                sound.finish()
        finally:
            if sound is not None:
                sound.close()


def _video_stream(container, fmt: Format, fps: Fraction, width: int, height: int):
    import av

    for codec in fmt.video_codecs:
        try:
            stream = container.add_stream(codec, rate=fps)
            break
        except (av.error.FFmpegError, ValueError):
            continue
    else:
        raise UserError(f"this FFmpeg build has none of the encoders {fmt.video_codecs}")
    stream.width, stream.height = width, height
    stream.pix_fmt = fmt.pixel_format
    stream.options = dict(fmt.options)
    return stream


def _palette(pixels: np.ndarray) -> Image.Image:
    """A 256-colour palette for the whole GIF, taken from its first frame (one palette keeps
    colours from jumping between frames)."""
    return Image.fromarray(pixels).quantize(256, method=Image.Quantize.MEDIANCUT)


def _paletted_frame(pixels: np.ndarray, palette: Image.Image):
    import av

    indices = Image.fromarray(pixels).quantize(palette=palette, dither=Image.Dither.NONE)
    rgb = np.zeros((256, 3), np.uint8)
    colours = np.asarray(palette.getpalette()[:768], np.uint8).reshape(-1, 3)
    rgb[:len(colours)] = colours
    argb = np.concatenate([np.full((256, 1), 255, np.uint8), rgb], axis=1)
    return av.VideoFrame.from_ndarray((np.asarray(indices), argb), format="pal8")


class _AudioCopy:
    """Re-encodes the audio of an input span into the output, interleaved with the video."""

    def __init__(self, container, span: AudioSpan, codec: str):
        import av

        self.container = container
        self.span = span
        self.input = av.open(span.path)
        if not self.input.streams.audio:
            self.frames: Iterator | None = None
            return
        source = self.input.streams.audio[0]
        layout = "mono" if source.channels == 1 else "stereo"
        self.stream = container.add_stream(codec, rate=AUDIO_RATE)
        self.stream.layout = layout
        self.resampler = av.AudioResampler(format=self.stream.format.name, layout=layout,
                                           rate=AUDIO_RATE, frame_size=self.stream.frame_size
                                           or 1024)
        self.frames = self.input.decode(source)
        self.first: float | None = None
        self.samples = 0

    def until(self, seconds: float) -> None:
        """Encode the audio that plays before ``seconds`` of output time."""
        while self.frames is not None and self.samples < seconds * AUDIO_RATE:
            frame = next(self.frames, None)
            if frame is None:
                self.finish()
                return
            time = frame.time or 0.0
            self.first = time if self.first is None else self.first
            if time - self.first < self.span.start - 1e-3:
                continue
            if time - self.first >= self.span.end - 1e-3:
                self.finish()
                return
            frame.pts = None
            for piece in self.resampler.resample(frame):
                self._encode(piece)

    def _encode(self, piece) -> None:
        piece.pts = self.samples
        piece.time_base = Fraction(1, AUDIO_RATE)
        self.samples += piece.samples
        self.container.mux(self.stream.encode(piece))

    def finish(self) -> None:
        if self.frames is None:
            return
        for piece in self.resampler.resample(None):
            self._encode(piece)
        self.container.mux(self.stream.encode(None))
        self.frames = None

    def close(self) -> None:
        self.input.close()
