"""The coarse-to-fine schedule: which sizes to optimize at, how many evaluations at each, and how
a time budget becomes step counts.

The ladder divides the target size by ``ratio`` (2 by default: each rung has a quarter of the
pixels of the next) down to ``min_size``. Step counts taper geometrically from ``coarse_steps``
at the smallest rung to ``steps`` at the final one. The defaults were chosen by measurement
(benchmarks/tune_schedule.py and benchmarks/speed.py, docs/performance.md): every jump
to a larger size costs a few evaluations to recover from the upsampling, so one jump of 2 beat
two of sqrt(2) at equal time. The default ladder starts at 512 px (docs/look.md, "The
schedule"): below that the network's deeper layers see the painting's strokes as shapes, and a
coarse rung lays down shapes the final one cannot break up again; so up to 512 px a run is one
scale of ``steps`` evaluations, and larger sizes are built on a 512 px result.

With a time budget, the step counts keep the same proportions but are scaled to fill the time
left, predicted from the measured cost of an evaluation (seconds per pixel, re-measured at
every rung). When the budget is too small for a few evaluations at the top rungs, those rungs are
skipped and the result is upsampled to the size asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from painterly.io import images
from painterly.nets.vgg import MIN_SIDE

MIN_STEPS = 5
"""Fewest evaluations worth spending at a rung under a time budget (fewer: skip the rung)."""

TARGET_COST = 0.6
"""Cost of computing one rung's targets (content + style forward passes), in evaluations."""

BUDGET_SAFETY = 0.93
"""Fraction of the time left that a plan fills (the rest absorbs noise in the cost)."""


@dataclass(frozen=True)
class Rung:
    """One scale of the ladder: its (width, height) and the evaluations spent there."""

    size: tuple[int, int]
    steps: int

    @property
    def pixels(self) -> int:
        return self.size[0] * self.size[1]


DEFAULT_RATIO = 2.0


def ladder(width: int, height: int, size: int, min_size: int,
           ratio: float = DEFAULT_RATIO, side: int = MIN_SIDE) -> list[tuple[int, int]]:
    """Sizes (width, height) from about ``min_size`` up to ``size`` (long side): ``size``
    divided by ``ratio`` as often as the result stays at least ``min_size``; rungs whose short
    side is under ``side`` (what the network's layers need) are left out."""
    sides = [size]
    while sides[-1] / ratio >= min_size * 0.99 and min_size < size:
        sides.append(round(sides[-1] / ratio))
    sizes = [images.fit_long_side(width, height, side) for side in reversed(sides)]
    # rungs too thin for every VGG layer are left out (a wide banner starts higher up)
    return [rung for rung in sizes[:-1] if min(rung) >= side] + sizes[-1:]


def taper(rungs: int, coarse_steps: int, steps: int) -> list[int]:
    """Step counts from ``coarse_steps`` at the smallest rung to ``steps`` at the last,
    geometric in between (``coarse_steps`` 0 means: only the last rung)."""
    if rungs == 1:
        return [steps]
    if coarse_steps == 0:
        return [0] * (rungs - 1) + [steps]
    ratio = (steps / coarse_steps) ** (1 / (rungs - 1))
    return [round(coarse_steps * ratio**index) for index in range(rungs - 1)] + [steps]


def build(width: int, height: int, size: int, min_size: int, coarse_steps: int,
          steps: int, ratio: float = DEFAULT_RATIO, side: int = MIN_SIDE) -> list[Rung]:
    """The default schedule for an image of ``width`` x ``height`` scaled to ``size``. A size
    at or below ``min_size`` is a single rung of ``steps`` evaluations."""
    sizes = ladder(width, height, size, min_size, ratio, side)
    if len(sizes) == 1:
        return [Rung(sizes[0], steps)]
    return [Rung(s, n) for s, n in zip(sizes, taper(len(sizes), coarse_steps, steps),
                                       strict=True)]


@dataclass
class CostModel:
    """Seconds per evaluation, proportional to the pixels (per-call overhead makes small sizes
    cost a little more per pixel, so predictions for larger rungs err on the safe side)."""

    seconds_per_pixel: float

    def evaluation(self, pixels: int) -> float:
        return self.seconds_per_pixel * pixels

    def rung(self, rung: Rung) -> float:
        """Predicted seconds for a rung, its targets included."""
        return self.evaluation(rung.pixels) * (rung.steps + TARGET_COST) if rung.steps else 0.0

    def update(self, pixels: int, evaluations: int, seconds: float) -> None:
        """Take the rate measured over ``evaluations`` at ``pixels`` pixels."""
        if evaluations >= 2 and seconds > 0:
            self.seconds_per_pixel = seconds / (evaluations * pixels)


def measure_cost(evaluate: Callable[[torch.Tensor], object], image: torch.Tensor,
                 repeats: int = 2) -> CostModel:
    """Time ``repeats`` evaluations (loss and input gradient) of ``evaluate`` at ``image``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        x = image.detach().requires_grad_(True)
        loss, _ = evaluate(x)
        torch.autograd.grad(loss, x)
        best = min(best, time.perf_counter() - start)
    return CostModel(best / (image.shape[-1] * image.shape[-2]))


def predicted_seconds(rungs: Sequence[Rung], cost: CostModel) -> float:
    return sum(cost.rung(r) for r in rungs)


def fit_budget(rungs: Sequence[Rung], seconds: float, cost: CostModel, *,
               at_least_one: bool = True) -> list[Rung]:
    """Scale the step counts of ``rungs`` (keeping their proportions) so that they are predicted
    to take ``seconds``; top rungs that would get fewer than :data:`MIN_STEPS` evaluations are
    skipped (0 steps). With ``at_least_one`` the smallest rung keeps at least one evaluation
    (a run must produce something)."""
    rungs = list(rungs)
    usable = max(0.0, seconds * BUDGET_SAFETY)
    kept = len(rungs)
    while kept > 0:
        active = rungs[:kept]
        work = sum(cost.evaluation(r.pixels) * r.steps for r in active)
        overhead = sum(cost.evaluation(r.pixels) * TARGET_COST for r in active if r.steps)
        factor = (usable - overhead) / work if work > 0 else 0.0
        top = active[-1]
        if kept == 1 or (top.steps and factor * top.steps >= MIN_STEPS):
            break
        kept -= 1
    planned = [Rung(r.size, max(0, round(r.steps * factor))) for r in rungs[:kept]]
    if at_least_one and planned and not any(r.steps for r in planned):
        planned[0] = Rung(planned[0].size, 1)
    return planned + [Rung(r.size, 0) for r in rungs[kept:]]


class Budget:
    """The clock of one run: its deadline (with a time budget), the cost model measured so far,
    each rung's allotment and the time left. Without a budget it still learns the cost, for
    the ETA."""

    ALLOTMENT_SLACK = 1.1
    """A rung under a budget may overrun its predicted time by this factor before it ends."""

    def __init__(self, seconds: float | None):
        self.start = time.perf_counter()
        self.deadline = None if seconds is None else self.start + seconds
        self.cost: CostModel | None = None

    @property
    def timed(self) -> bool:
        return self.deadline is not None

    @property
    def needs_measurement(self) -> bool:
        """Under a budget, before anything was measured: two evaluations plan the run."""
        return self.timed and self.cost is None

    def left(self, now: float | None = None) -> float:
        """Seconds to the deadline (never negative)."""
        return max(0.0, self.deadline - (time.perf_counter() if now is None else now))

    def measure(self, evaluate: Callable[[torch.Tensor], object], image: torch.Tensor) -> None:
        self.cost = measure_cost(evaluate, image)

    def refit(self, rungs: list[Rung], index: int, *, at_least_one: bool = True) -> list[Rung]:
        """``rungs`` with the step counts of ``rungs[index:]`` re-planned to fill the time left
        (a new list: the plan the run started from is left as it was decided)."""
        return rungs[:index] + fit_budget(rungs[index:], self.deadline - time.perf_counter(),
                                          self.cost, at_least_one=at_least_one)

    def allotment(self, rung: Rung, last: bool) -> float | None:
        """Seconds a rung may take before it ends early so as not to starve the larger rungs
        (None: no limit; the final rung runs to the deadline instead)."""
        if not self.timed or self.cost is None or last:
            return None
        return self.cost.rung(rung) * self.ALLOTMENT_SLACK

    def record(self, pixels: int, evaluations: int, seconds: float) -> None:
        """Learn the cost from a finished rung."""
        if self.cost is None:
            self.cost = CostModel(1.0)
        self.cost.update(pixels, evaluations, seconds)


__all__ = ["Budget", "CostModel", "Rung", "build", "fit_budget", "ladder", "measure_cost",
           "predicted_seconds", "taper"]
