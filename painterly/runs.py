"""The run contract every product follows (transfer, video, batch, the lecture's figures, digit
training): a run takes ``on_event`` (a listener, sent the product's typed events) and
``should_stop`` (asked between units of work; True ends the run early, as Ctrl-C does, keeping
what is finished), and reports its ETA with :func:`eta`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Event = TypeVar("Event")
Listener = Callable[[Any], None]
"""Receives a product's events; ignores the types it does not know."""
StopCheck = Callable[[], bool]
"""Asked between units of work (an evaluation, a frame, a job): True ends the run early."""


def eta(elapsed: float, done: float, left: float, *, at_least: float = 1) -> float | None:
    """Seconds still to go at the rate measured so far (``elapsed`` seconds for ``done`` units,
    ``left`` units to do), or None before ``at_least`` units are done (too few to measure)."""
    if done < at_least or done <= 0:
        return None
    return elapsed / done * left


def listener_of(on_event: Callable[[Event], None] | None,
                progress: Callable[[Event], None] | None) -> Callable[[Event], None] | None:
    """The run's listener: ``on_event``, or ``progress`` (the older name of the same argument,
    still accepted); a TypeError for both."""
    if on_event is not None and progress is not None:
        raise TypeError("give on_event or progress (its older name), not both")
    return on_event if on_event is not None else progress
