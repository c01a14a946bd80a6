"""What a run tells its listeners, as small typed records built with keywords.

A transfer (or a lecture figure made of several optimizations) calls its ``on_event`` listener
with each of these as it happens; the command line's progress bar, the web page's event stream
and traces read their fields, never a label::

    def on_event(event):
        match event:
            case Evaluated(done=done, total=total): ...
            case Snapshot(kind="periodic", step=step, image=image): ...

Stopping is not an event: the loop asks its ``should_stop`` predicate after each evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from painterly.optim.optimize import LossTerms


@dataclass(frozen=True, kw_only=True)
class Evaluated:
    """One evaluation (forward + backward pass) is done."""

    rung: int
    """Index of the current rung of the coarse-to-fine ladder (0-based)."""
    rungs: int
    size: tuple[int, int]
    """(width, height) of the current rung."""
    step: int
    """Evaluations done at this rung."""
    steps: int
    """Evaluations planned at this rung."""
    done: int
    """Evaluations done overall."""
    total: int
    """Evaluations planned overall (re-planned under a time budget)."""
    terms: LossTerms
    elapsed: float
    """Seconds since the run started."""
    eta: float | None
    """Seconds left, from the measured cost per pixel; None until measured."""

    def record(self) -> dict:
        """The evaluation as a trace row."""
        return {"scale": self.rung, "step": self.step, "loss": self.terms.total,
                "content": self.terms.content, "style": self.terms.style,
                **({"extra": self.terms.extra} if self.terms.extra else {}),
                "time": round(self.elapsed, 4)}


@dataclass(frozen=True, kw_only=True)
class RungFinished:
    """A rung of the ladder is done (its best image is the next rung's start)."""

    rung: int
    rungs: int
    size: tuple[int, int]
    evaluations: int
    """Evaluations this rung took."""
    elapsed: float


SnapshotKind = Literal["rung", "periodic", "final"]


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """The best image so far: after a rung (``rung``), every ``save_every`` evaluations at the
    final size (``periodic``), or the result (``final``), with the artistic controls applied."""

    image: torch.Tensor
    """(1, 3, H, W) RGB 0..1."""
    kind: SnapshotKind
    rung: int
    step: int
    """Evaluations done at this rung."""


@dataclass(frozen=True, kw_only=True)
class PartStarted:
    """Part ``part`` of ``parts`` of a figure begins (e.g. the 2nd of 5 reconstructions)."""

    part: int
    """1-based."""
    parts: int
    label: str
    """What the part is, e.g. its layers ``relu1_1+relu2_1`` or its style."""


Event = Evaluated | RungFinished | Snapshot | PartStarted
Listener = Callable[[Event], None]
