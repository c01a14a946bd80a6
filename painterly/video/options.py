"""The settings of a video run besides the per-frame transfer options, declared once (the
command line's flags come from here, see :mod:`painterly.options`)."""

from __future__ import annotations

from dataclasses import dataclass

from painterly.cluster import WorkerOptions
from painterly.options import OptionError, option, same_as, validate
from painterly.style.options import TransferOptions
from painterly.video.reader import MAX_FPS, MIN_FPS, Selection, parse_frame_range

PER_VIDEO = ("steps", "init", "time_budget")
"""Transfer options the video decides per frame (``first_frame_steps`` / ``frame_steps``, the
warped previous result, and the video's own ``time_budget``)."""


@dataclass
class VideoOptions:
    """How a video is stylized; every other setting is a :class:`TransferOptions` field used
    for each frame."""

    temporal_weight: float = option(
        1.0, "weight of the temporal loss that keeps each pixel where the warped previous "
             "result put it (0: only the warped start links frames)", low=0, main=True,
        label="Temporal weight")
    first_frame_steps: int = option(
        TransferOptions.steps, "evaluations of the first frame's full coarse-to-fine run (at "
                               "its final size)", low=1, label="Steps of the first frame")
    frame_steps: int = option(
        7, "evaluations of every later frame (single scale, starting from the warped "
           "previous result)", low=1, main=True, label="Steps per later frame")
    time_budget: float | None = option(
        None, "seconds for the whole video, shared among the frames in proportion to their "
              "steps and re-planned after each frame", positive=True, metavar="SECONDS",
        main=True, label="Time budget for the video (s)")
    independent: bool = option(
        False, "stylize every frame on its own (the flickering baseline, for comparison)",
        label="Frames independently")
    start: float = option(0.0, "seconds into the input where the output begins", low=0,
                          metavar="SECONDS", main=True, label="Start (s)")
    duration: float | None = option(None, "seconds of input to stylize (off: to the end)",
                                    positive=True, metavar="SECONDS", main=True,
                                    label="Duration (s)")
    frames: str | None = option(
        None, "frame range A:B of the (resampled) input, B exclusive, instead of start and "
              "duration", metavar="A:B", label="Frames A:B")
    fps: float | None = option(
        None, "output frame rate; frames are repeated or dropped to meet it (off: the "
              "input's, 24 for a folder of frames)", low=MIN_FPS, high=MAX_FPS,
        main=True, label="Frame rate")
    work_dir: str | None = option(
        None, "folder for the finished frames of runs, one subfolder per input and settings "
              "(off: ~/.cache/painterly/video)", metavar="FOLDER", web=False)
    keep_frames: bool = option(
        False, "keep the finished frames after the output is written (else they are removed)",
        web=False)
    partial: bool = option(
        False, "when interrupted, still encode the frames finished so far into the output",
        web=False)
    ray: str | None = same_as(WorkerOptions, "ray")
    """On a Ray cluster, chunks of the clip are stylized at once."""
    workers: int | None = same_as(WorkerOptions, "workers")
    """Used with ``ray`` only: without it, a video runs in this process."""
    threads: int | None = same_as(WorkerOptions, "threads")
    """Used with ``ray`` only (off: 1 up to 256 px, else 4)."""
    chunk_frames: int = option(
        48, "with --ray: frames per chunk (chunks run on different actors)", low=2,
        metavar="N", web=False)
    overlap: int = option(
        8, "with --ray: frames before a chunk that it also computes when the previous chunk "
           "is still running; the two are cross-faded over them (0: a hard cut)", low=0,
        metavar="K", web=False)

    def validated(self) -> VideoOptions:
        """Raise :class:`~painterly.options.OptionError` for any bad value; returns self."""
        validate(self)
        if self.frames is not None:
            if self.start or self.duration is not None:
                raise OptionError("frames", "replaces start and duration: give one or the other")
            try:
                parse_frame_range(self.frames)
            except ValueError as error:
                raise OptionError("frames", str(error)) from None
        if self.overlap >= self.chunk_frames:
            raise OptionError("overlap", f"must be less than chunk_frames "
                                         f"({self.chunk_frames})")
        if self.ray is not None and self.time_budget is not None:
            raise OptionError("time_budget", "cannot be shared among the chunks of a ray run: "
                                             "use frame_steps")
        return self

    def selection(self) -> Selection:
        frames = None if self.frames is None else parse_frame_range(self.frames)
        return Selection(self.start, self.duration, frames, self.fps)
