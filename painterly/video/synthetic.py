"""Synthesized clips whose motion is known exactly: a camera panning and zooming across a built-in
photo while a striped disc crosses the frame. Tests and benchmarks compare flow, warping and
occlusion against this ground truth, and write the clips as real video files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from painterly.io import images


@dataclass(frozen=True)
class SyntheticClip:
    """Frame ``t`` shows the photo point ``c_t + s_t (p - m)`` at pixel ``p`` (``m`` the frame's
    centre, ``c_t`` the camera's centre moving by ``pan`` photo pixels per frame, ``s_t`` photo
    pixels per frame pixel, multiplied by ``1 / zoom`` each frame), and a disc of ``radius``
    frame pixels whose centre moves by ``velocity`` frame pixels per frame in front of it."""

    width: int = 96
    height: int = 64
    pan: tuple[float, float] = (1.5, 0.5)
    zoom: float = 1.004
    velocity: tuple[float, float] = (2.5, 0.75)
    radius: float = 12.0
    photo: str = "tubingen"

    def _photo(self) -> np.ndarray:
        """The photo as float32 RGB 0..1, resized to about twice the frame (so that sampling
        never shrinks it much and stays free of aliasing)."""
        image = images.resize_long_side(images.load_image(self.photo), 2 * max(self.width,
                                                                               self.height))
        return np.asarray(image, dtype=np.float32) / 255.0

    def _camera(self, t: int, photo_shape: tuple[int, ...]) -> tuple[np.ndarray, float]:
        """Camera centre (photo pixels) and scale (photo pixels per frame pixel) at frame t."""
        centre = np.array([photo_shape[1] / 2, photo_shape[0] / 2]) + t * np.array(self.pan)
        return centre, 0.75 * self.zoom ** -t

    def _disc_centre(self, t: int) -> np.ndarray:
        return np.array([self.width * 0.3, self.height * 0.45]) + t * np.array(self.velocity)

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        return np.meshgrid(np.arange(self.width, dtype=np.float32),
                           np.arange(self.height, dtype=np.float32))

    def _disc_alpha(self, t: int) -> np.ndarray:
        """Coverage of each pixel by the disc (anti-aliased over one pixel)."""
        x, y = self._grid()
        if self.radius <= 0:
            return np.zeros_like(x)
        cx, cy = self._disc_centre(t)
        distance = np.hypot(x - cx, y - cy)
        return np.clip(self.radius + 0.5 - distance, 0, 1)

    def frames(self, count: int) -> Iterator[np.ndarray]:
        """``count`` frames as (H, W, 3) uint8 RGB arrays."""
        photo = self._photo()
        x, y = self._grid()
        middle = np.array([(self.width - 1) / 2, (self.height - 1) / 2])
        for t in range(count):
            centre, scale = self._camera(t, photo.shape)
            map_x = (centre[0] + scale * (x - middle[0])).astype(np.float32)
            map_y = (centre[1] + scale * (y - middle[1])).astype(np.float32)
            background = cv2.remap(photo, map_x, map_y, cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT)
            cx, cy = self._disc_centre(t)
            stripes = (np.sin((x - cx + 0.5 * (y - cy)) * 0.8) > 0)[..., None]
            disc = np.where(stripes, [0.95, 0.2, 0.1], [0.1, 0.15, 0.9]).astype(np.float32)
            alpha = self._disc_alpha(t)[..., None]
            frame = background * (1 - alpha) + disc * alpha
            yield (np.clip(frame, 0, 1) * 255).round().astype(np.uint8)

    def backward_flow(self, t: int) -> np.ndarray:
        """True flow from frame ``t`` to frame ``t - 1``: (H, W, 2) displacements such that
        frame_t(p) shows what frame_{t-1} shows at ``p + flow(p)``."""
        photo_shape = (*(self._photo_shape()),)
        x, y = self._grid()
        middle = np.array([(self.width - 1) / 2, (self.height - 1) / 2])
        centre_now, scale_now = self._camera(t, photo_shape)
        centre_before, scale_before = self._camera(t - 1, photo_shape)
        photo_x = centre_now[0] + scale_now * (x - middle[0])
        photo_y = centre_now[1] + scale_now * (y - middle[1])
        flow = np.stack([middle[0] + (photo_x - centre_before[0]) / scale_before - x,
                         middle[1] + (photo_y - centre_before[1]) / scale_before - y], axis=-1)
        on_disc = self._disc_alpha(t) >= 0.5
        flow[on_disc] = -np.array(self.velocity)
        return flow.astype(np.float32)

    def disoccluded(self, t: int) -> np.ndarray:
        """Pixels of frame ``t`` (t >= 1) that frame ``t - 1`` did not show: background the disc
        covered there, and what came into view at the borders."""
        flow = self.backward_flow(t)
        x, y = self._grid()
        source_x, source_y = x + flow[..., 0], y + flow[..., 1]
        outside = ((source_x < 0) | (source_x > self.width - 1) | (source_y < 0)
                   | (source_y > self.height - 1))
        previous_disc = self._disc_alpha(t - 1) > 0
        sx = np.clip(source_x.round().astype(int), 0, self.width - 1)
        sy = np.clip(source_y.round().astype(int), 0, self.height - 1)
        on_disc = self._disc_alpha(t) >= 0.5
        hidden = previous_disc[sy, sx] & ~on_disc
        return outside | hidden

    def ages(self, count: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """For frames 0..count-1: ``(age, uncovered)``. ``age`` (H, W) int: the frames since each
        pixel's content came into view (carried along the true motion), -1 where it has been in
        view since frame 0, -2 on the disc; ``uncovered`` (H, W) bool: it came into view from
        behind the disc (else, with an age >= 0, at a border)."""
        height, width = self.height, self.width
        x, y = self._grid()
        age = np.full((height, width), -1, int)
        uncovered = np.zeros((height, width), bool)
        for t in range(count):
            if t:
                flow = self.backward_flow(t)
                sx = np.clip((x + flow[..., 0]).round().astype(int), 0, width - 1)
                sy = np.clip((y + flow[..., 1]).round().astype(int), 0, height - 1)
                carried = age[sy, sx]
                age = np.where(carried >= 0, carried + 1, -1)
                uncovered = uncovered[sy, sx] & (carried >= 0)
                new = self.disoccluded(t)
                age[new] = 0
                uncovered[new] = self._disc_alpha(t - 1)[np.clip(sy, 0, height - 1),
                                                          np.clip(sx, 0, width - 1)][new] > 0
            age = age.copy()
            age[self._disc_alpha(t) > 0] = -2
            yield age, uncovered & (age >= 0)

    def _photo_shape(self) -> tuple[int, int]:
        width, height = images.fit_long_side(*images.load_image(self.photo).size,
                                             2 * max(self.width, self.height))
        return height, width

    def write(self, path: str | Path, count: int, *, fps: int = 12, codec: str | None = None,
              audio: bool = False) -> Path:
        """Write ``count`` frames as a video file (codec chosen by the extension unless given),
        with a 440 Hz tone as audio if ``audio``."""
        path = Path(path)
        codec = codec or CODECS[path.suffix.lower()]
        with av_open(path, "w") as container:
            stream = container.add_stream(codec, rate=Fraction(fps))
            stream.width, stream.height = self.width, self.height
            stream.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
            stream.options = QUALITY.get(codec, {})
            sound = _add_tone_stream(container, path.suffix.lower()) if audio else None
            for t, frame in enumerate(self.frames(count)):
                picture = av_video_frame(frame)
                picture.pts = t
                picture.time_base = Fraction(1, fps)
                container.mux(stream.encode(picture))
            container.mux(stream.encode(None))
            if sound is not None:
                _write_tone(container, sound, seconds=count / fps)
        return path


CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9",
          ".gif": "gif"}
"""Video codec of the clips :meth:`SyntheticClip.write` makes, by extension."""

QUALITY = {"libx264": {"crf": "12"}, "libvpx-vp9": {"crf": "12", "b": "0"}}
"""Near-lossless settings, so that tests can compare decoded frames with the synthesized ones."""
TONE_RATE = 48000


def av_open(path: Path, mode: str):
    import av

    return av.open(str(path), mode)


def av_video_frame(pixels: np.ndarray):
    import av

    return av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")


def _add_tone_stream(container, suffix: str):
    stream = container.add_stream("libopus" if suffix == ".webm" else "aac", rate=TONE_RATE)
    stream.layout = "mono"
    return stream


def _write_tone(container, stream, seconds: float) -> None:
    import av

    samples = int(seconds * TONE_RATE)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / TONE_RATE)).astype(np.float32)
    chunk = 960
    for start in range(0, samples - chunk + 1, chunk):
        frame = av.AudioFrame.from_ndarray(tone[None, start:start + chunk], format="fltp",
                                           layout="mono")
        frame.sample_rate = TONE_RATE
        frame.pts = start
        frame.time_base = Fraction(1, TONE_RATE)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
