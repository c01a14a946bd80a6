"""Style transfer for a video, frame by frame, without flicker (after Ruder et al. 2016).

The first frame gets a full painterly run. Every later frame starts from the previous result
warped by the optical flow between the two input frames (disoccluded pixels from the frame
itself) and adds a temporal loss that keeps the reliable pixels where the warped result put them,
so a few evaluations at the final size suffice. Finished frames go to a work folder keyed by the
input and the settings: an interrupted run keeps them, and the same command resumes. The output
file is encoded once every frame is done.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from painterly.io import images
from painterly.options import file_fields, named_files, resolve
from painterly.runs import listener_of
from painterly.style.events import Evaluated, Event
from painterly.style.options import TransferOptions
from painterly.style.transfer import check_style_counts
from painterly.video import plan, reader, writer
from painterly.video.events import FrameEvaluated, FrameEvent, FrameFinished, FrameResumed
from painterly.video.options import PER_VIDEO, VideoOptions
from painterly.video.stylize import FrameStylizer
from painterly.video.work import WorkFolder, default_root, run_key


@dataclass
class VideoResult:
    output: Path | None
    """The written video (None when interrupted without ``partial``)."""
    frames: int
    """Frames finished (computed now or earlier)."""
    total_frames: int
    computed: int
    """Frames computed by this call."""
    interrupted: bool
    work_folder: Path
    seconds: float
    timing: dict[str, float] = field(default_factory=dict)
    """Seconds spent on ``flow``, ``optimization`` and ``io`` (decoding, resizing, storing,
    encoding)."""
    losses: list[float] = field(default_factory=list)
    """Final objective of each frame computed now."""


VideoProgressCallback = Callable[[FrameEvent], None]


def video(input: str, style: images.ImageSource | Sequence[images.ImageSource],
          output: str, *, on_event: VideoProgressCallback | None = None,
          should_stop: Callable[[], bool] | None = None,
          progress: VideoProgressCallback | None = None, **options) -> VideoResult:
    """Stylize the video (or folder / glob of frames) ``input`` with ``style`` (one image or
    several) into ``output`` (.mp4, .mov, .mkv, .webm, .gif, or a folder of PNG frames).

    ``options`` are the fields of :class:`VideoOptions` and of
    :class:`~painterly.transfer.TransferOptions` except ``steps``, ``init`` and ``time_budget``
    (the video sets those per frame). ``on_event`` receives the events of
    :mod:`painterly.video.events` (``progress`` is its older name);
    ``should_stop`` returning True, Ctrl-C or SIGTERM end the run after keeping every finished
    frame. Running the same call again resumes.
    """
    start = time.perf_counter()
    progress = listener_of(on_event, progress)
    options = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in options.items()}
    video_fields = {f.name for f in dataclasses.fields(VideoOptions)}
    frame_fields = {k: v for k, v in options.items() if k not in video_fields}
    if set(frame_fields) & set(PER_VIDEO):
        raise TypeError(f"the video sets {', '.join(PER_VIDEO)} per frame: use "
                        "first_frame_steps, frame_steps and the video's time_budget")
    settings = resolve(VideoOptions, {k: v for k, v in options.items() if k in video_fields})
    checked = resolve(TransferOptions, frame_fields)
    frame_options = TransferOptions.implied(frame_fields)
    sources = _style_sources(style)
    check_style_counts(checked.style_blend, checked.style_scale, len(sources))
    files = named_files(TransferOptions, frame_options)
    output_path = writer.check_output(output, [input, *sources, *files.values()])
    clip = reader.open_clip(input, settings.selection())
    styles = _load_styles(sources)
    size = _working_size(clip.size, checked.size)
    frame_options["size"] = max(size)
    key_parts = {"clip": clip.fingerprint(), "styles": [_image_hash(s) for s in styles],
                 "size": size, "options": frame_options,
                 "video": _pixel_settings(settings),
                 "files": {k: _file_stamp(files.get(k)) for k in file_fields(TransferOptions)
                           if k not in PER_VIDEO}}
    work = WorkFolder(settings.work_dir or default_root(), run_key(key_parts),
                      {"input": str(input), **key_parts})
    if settings.ray is None:
        loop = _FrameLoop(clip, styles, size, settings, frame_options, work, progress,
                          should_stop)
    else:
        from painterly.video.raychunks import RayChunks

        loop = RayChunks(clip, styles, size, settings, frame_options, work, progress,
                         should_stop)
    loop.run(start)
    timing = loop.timing
    result_path = None
    finished = work.finished()
    if finished == clip.count or (loop.interrupted and settings.partial and finished):
        encode_start = time.perf_counter()
        audio = writer.AudioSpan(clip.source, clip.start_time, clip.end_time) \
            if clip.audio else None
        try:
            result_path = writer.write_video(work.frames(finished), output_path, clip.fps,
                                             audio=audio)
        except KeyboardInterrupt:
            loop.interrupted = True
        timing["io"] += time.perf_counter() - encode_start
        if result_path is not None and finished == clip.count and not settings.keep_frames:
            work.remove()
    return VideoResult(result_path, finished, clip.count, loop.computed, loop.interrupted,
                       work.path, time.perf_counter() - start, timing, loop.losses)


def _pixel_settings(settings: VideoOptions) -> dict:
    """The video settings that change a pixel (part of the work folder's key). Where the run
    happens does not; how a --ray run is cut into chunks does."""
    chunked = ("chunk_frames", "overlap") if settings.ray is not None else ()
    return {k: v for k, v in dataclasses.asdict(settings).items()
            if k not in ("work_dir", "keep_frames", "partial", "ray", "workers", "threads",
                         "chunk_frames", "overlap") or k in chunked}


class _FrameLoop:
    """Walks the clip's frames, computing those the work folder does not have yet."""

    def __init__(self, clip: reader.Clip, styles: list, size: tuple[int, int],
                 settings: VideoOptions, frame_options: dict, work: WorkFolder,
                 progress: VideoProgressCallback | None,
                 should_stop: Callable[[], bool] | None):
        self.clip, self.styles, self.size = clip, styles, size
        self.settings, self.frame_options, self.work = settings, frame_options, work
        self.progress, self.should_stop = progress, should_stop
        self.stylizer = FrameStylizer(styles, size, frame_options, settings.temporal_weight)
        self.interrupted = False
        self.computed = 0
        self.losses: list[float] = []
        self.timing = {"flow": 0.0, "optimization": 0.0, "io": 0.0}

    def _emit(self, event: FrameEvent) -> None:
        if self.progress is not None:
            self.progress(event)

    def run(self, start: float) -> None:
        count = self.clip.count
        deadline = None if self.settings.time_budget is None else \
            start + self.settings.time_budget
        previous_frame: np.ndarray | None = None
        previous_result: np.ndarray | None = None
        frames = self.clip.frames()
        try:
            for index in range(count):
                moment = time.perf_counter()
                frame = reader.resized(next(frames), self.size)
                done = self.work.has(index)
                if done and (self.settings.independent or self.work.has(index + 1)):
                    result = None  # neither this frame nor the next needs it
                else:
                    result = self.work.load(index) if done else None
                self.timing["io"] += time.perf_counter() - moment
                if done:
                    self._emit(FrameResumed(frame=index, frames=count))
                else:
                    if self.should_stop is not None and self.should_stop():
                        self.interrupted = True
                        return
                    seconds_left = None if deadline is None else deadline - time.perf_counter()
                    frame_plan = plan.frame_plan(
                        index, count, first_frame_steps=self.settings.first_frame_steps,
                        frame_steps=self.settings.frame_steps,
                        independent=self.settings.independent, seconds_left=seconds_left)
                    result = self._stylize(index, frame, frame_plan, previous_frame,
                                           previous_result)
                    if result is None:
                        self.interrupted = True
                        return
                previous_frame, previous_result = frame, result
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            frames.close()

    def _stylize(self, index: int, frame: np.ndarray, frame_plan: plan.FramePlan,
                 previous_frame: np.ndarray | None,
                 previous_result: np.ndarray | None) -> np.ndarray | None:
        """Run one frame and store it; None if the run was interrupted."""
        count = self.clip.count

        def forward(event: Event) -> None:
            if isinstance(event, Evaluated):
                self._emit(FrameEvaluated(frame=index, frames=count, evaluation=event))

        stylized = self.stylizer(frame, frame_plan, (previous_frame, previous_result),
                                 on_event=forward, should_stop=self.should_stop)
        if stylized is None:
            return None
        for part, seconds in stylized.timing.items():
            self.timing[part] += seconds
        moment = time.perf_counter()
        self.work.save(index, stylized.pixels)
        self.timing["io"] += time.perf_counter() - moment
        self.computed += 1
        self.losses.append(stylized.loss)
        self._emit(FrameFinished(frame=index, frames=count, loss=stylized.loss,
                                 image=stylized.pixels))
        return stylized.pixels


def _working_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """The output frame size: the input's aspect at ``long_side``, both sides even (4:2:0 video
    needs them so)."""
    width, height = images.fit_long_side(*size, long_side)
    return max(2, width // 2 * 2), max(2, height // 2 * 2)


def _style_sources(style) -> list:
    """One style image or several, as a list."""
    return [style] if isinstance(style, (str, os.PathLike, Image.Image)) or not isinstance(
        style, Sequence) else list(style)


def _load_styles(sources: list) -> list:
    from painterly.style.guides import KEEP_CONTENT

    return [s if isinstance(s, str) and s == KEEP_CONTENT
            else images.load_image(s, what="style image") for s in sources]


def _image_hash(image) -> str:
    import hashlib

    if isinstance(image, str):
        return image
    return hashlib.sha256(image.tobytes() + repr(image.size).encode()).hexdigest()


def _file_stamp(path: str | None) -> list | None:
    if path is None or not Path(path).exists():
        return None
    stat = Path(path).stat()
    return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]
