"""What a video run tells its listener (see :func:`painterly.video.run.video`): one type per
thing that happened, each naming the frame and the frames of the selection."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from painterly.style.events import Evaluated


@dataclass(frozen=True, kw_only=True)
class FrameEvaluated:
    """One evaluation of a frame being stylized."""

    frame: int
    """Index of the frame (0-based)."""
    frames: int
    """Frames in the selection."""
    evaluation: Evaluated
    """The frame's latest evaluation."""


@dataclass(frozen=True, kw_only=True)
class FrameFinished:
    """A frame is done and stored."""

    frame: int
    frames: int
    loss: float | None = None
    """The frame's final objective (None where not known: a resumed frame, or one of a Ray
    chunk's)."""
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    """The finished frame, (H, W, 3) uint8 RGB, e.g. to show it (None where not at hand)."""


@dataclass(frozen=True, kw_only=True)
class FrameResumed(FrameFinished):
    """A finished frame found in the work folder of an earlier run (computed then, not now)."""


FrameEvent = FrameEvaluated | FrameFinished
"""Every event of a video run (a :class:`FrameResumed` is a :class:`FrameFinished`)."""
FrameProgress = FrameEvent
"""The older name of :data:`FrameEvent`."""
