"""How much work each frame gets: evaluations, or seconds when the whole video has a time budget.

The first frame (and, with ``independent``, every frame) gets a full coarse-to-fine run; later
frames start from the warped previous result and need far fewer evaluations. Under a budget the
seconds are shared in proportion to those evaluation counts and re-planned after every frame from
the time actually left, so a slow frame is made up by the ones after it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FramePlan:
    full_run: bool
    """A coarse-to-fine run from the frame itself (first or independent frames)."""
    steps: int
    seconds: float | None
    """Time budget for this frame (None: no budget, run ``steps`` evaluations)."""


def frame_plan(index: int, frames: int, *, first_frame_steps: int, frame_steps: int,
               independent: bool, seconds_left: float | None) -> FramePlan:
    """The plan for frame ``index`` of ``frames``; ``seconds_left`` is what remains of the
    video's budget (None without one)."""
    full_run = independent or index == 0
    steps = first_frame_steps if full_run else frame_steps
    if seconds_left is None:
        return FramePlan(full_run, steps, None)
    later = frames - index - 1
    later_steps = later * (first_frame_steps if independent else frame_steps)
    share = steps / (steps + later_steps)
    return FramePlan(full_run, steps, max(0.0, seconds_left) * share)
