"""What a video run tells its listener (see :func:`painterly.video.run.video`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from painterly.style.events import Evaluated


@dataclass(frozen=True, kw_only=True)
class FrameProgress:
    """A frame's evaluation, or a frame finished."""

    frame: int
    """Index of the frame (0-based)."""
    frames: int
    """Frames in the selection."""
    evaluation: Evaluated | None = None
    """The frame's latest evaluation (None for a finished frame)."""
    finished: bool = False
    """The frame is done and stored."""
    resumed: bool = False
    """It was found in the work folder of an earlier run."""
    loss: float | None = None
    """The frame's final objective (frames computed now)."""
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    """The finished frame, (H, W, 3) uint8 RGB (frames computed now), e.g. to show it."""
