"""Optimization of an image's pixels against a differentiable loss.

Methods:

* ``lbfgs`` (default): L-BFGS-B (:mod:`painterly.optim.lbfgsb`) with the pixels kept inside [0, 1]
  during the search, so the saved 8-bit image is the optimized one (no clipping afterwards).
  No early stop on tolerances: it runs the number of evaluations asked for, restarting its
  memory if the line search ever gives up.
* ``adam``: Adam on the pixels, clamped to [0, 1] after each step.
* ``lbfgs-unbounded``: PyTorch's L-BFGS without bounds, clipped when saved: what the classic
  tools do, kept as the baseline for benchmarks.

One step is one evaluation (one forward and backward pass through the network), whatever the
method, so step counts compare across methods. The best image seen so far is kept, so an
interruption (Ctrl-C or a stop request) still returns a result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from threadpoolctl import threadpool_limits

from painterly.nets.devices import keep_freed_host_memory
from painterly.optim.lbfgsb import minimize_box

METHODS = ("lbfgs", "adam", "lbfgs-unbounded")
FIRST_STEP = 0.1
"""Largest pixel change (of the 0..1 range) of L-BFGS-B's first trial step from a start far from
the result (the photo, noise, a coarser rung)."""


@dataclass
class LossTerms:
    """The value of the objective and of each of its terms (plain floats, for reporting)."""

    total: float
    content: float = 0.0
    style: float = 0.0
    tv: float = 0.0
    palette: float = 0.0
    """The palette term: colour mean and covariance against the painting's."""
    extra: float = 0.0
    """A caller's own term (``transfer(extra_loss=...)``)."""
    per_layer: dict[str, float] = field(default_factory=dict)


LossFunction = Callable[[torch.Tensor], tuple[torch.Tensor, LossTerms]]
EvaluationCallback = Callable[[int, LossTerms, torch.Tensor], None]
"""Called after every evaluation with (evaluations done, loss terms, current image)."""
StopPredicate = Callable[[], bool]
"""Asked after every evaluation (and its callback): True ends the optimization early."""


class _Stop(Exception):
    """Unwinds the optimizer when the evaluations are spent or the stop predicate says so."""


@dataclass
class OptimizationResult:
    image: torch.Tensor
    terms: LossTerms | None
    evaluations: int
    seconds: float
    stopped: bool = False
    interrupted: bool = False


class _Tracker:
    """Counts evaluations, keeps the best image, and forwards progress."""

    def __init__(self, loss_fn: LossFunction, steps: int, callback: EvaluationCallback | None,
                 should_stop: StopPredicate | None):
        self.loss_fn, self.steps, self.callback = loss_fn, steps, callback
        self.should_stop = should_stop
        self.evaluations = 0
        self.best_loss = float("inf")
        self.best_image: torch.Tensor | None = None
        self.best_terms: LossTerms | None = None

    def evaluate(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss and gradient at ``image``; raises _Stop once the steps are spent or a stop is
        requested."""
        if self.evaluations >= self.steps:
            raise _Stop
        image = image.detach().requires_grad_(True)
        loss, terms = self.loss_fn(image)
        (gradient,) = torch.autograd.grad(loss, image)
        gradient = gradient.contiguous()  # the network may hand it back channels-last
        self.evaluations += 1
        if terms.total < self.best_loss:
            self.best_loss, self.best_terms = terms.total, terms
            self.best_image = image.detach().clamp(0, 1).clone()
        if self.callback is not None:
            self.callback(self.evaluations, terms, image.detach())
        if self.should_stop is not None and self.should_stop():
            raise _Stop
        return loss.detach(), gradient


def optimize_pixels(loss_fn: LossFunction, image: torch.Tensor, *, steps: int,
                    method: str = "lbfgs", learning_rate: float = 0.02, history: int = 20,
                    callback: EvaluationCallback | None = None,
                    should_stop: StopPredicate | None = None,
                    first_step: float = FIRST_STEP) -> OptimizationResult:
    """Minimize ``loss_fn`` over the pixels of ``image`` (RGB 0..1) for ``steps`` evaluations;
    ``callback`` hears of each evaluation, then ``should_stop`` may end the run early.
    ``first_step`` (L-BFGS-B): the largest pixel change of the first trial step."""
    if method not in METHODS:
        raise ValueError(f"unknown optimizer '{method}': choose from {', '.join(METHODS)}")
    if image.device.type == "cpu":
        keep_freed_host_memory()
    tracker = _Tracker(loss_fn, steps, callback, should_stop)
    start = time.perf_counter()
    stopped = interrupted = False
    try:
        if method == "lbfgs":
            _run_lbfgs_b(tracker, image, history, first_step)
        elif method == "adam":
            _run_adam(tracker, image, learning_rate)
        else:
            _run_torch_lbfgs(tracker, image, history)
    except _Stop:
        stopped = tracker.evaluations < steps
    except KeyboardInterrupt:
        interrupted = True
    best = tracker.best_image if tracker.best_image is not None else image.detach().clamp(0, 1)
    return OptimizationResult(best, tracker.best_terms, tracker.evaluations,
                              time.perf_counter() - start, stopped, interrupted)


def _run_lbfgs_b(tracker: _Tracker, image: torch.Tensor, history: int,
                 first_step: float) -> None:
    """L-BFGS-B (:mod:`painterly.optim.lbfgsb`, on the image's device and dtype) on the objective
    times a constant chosen at the first evaluation so that the first trial step moves no pixel
    by more than ``first_step``. L-BFGS-B's first step is the raw gradient projected on the
    box: unscaled, it sends every pixel to 0 or 1 (a loss some 1000x the start) and the line
    search spends evaluations backing off from there."""
    shape = image.shape
    scale: float | None = None

    def fun(flat: torch.Tensor) -> tuple[float, torch.Tensor]:
        nonlocal scale
        loss, gradient = tracker.evaluate(flat.view(shape))
        if scale is None:
            scale = first_step / max(float(gradient.abs().max()), 1e-30)
        return float(loss) * scale, gradient.reshape(-1) * scale

    start = image.detach().clamp(0, 1).reshape(-1)
    with _one_blas_thread(image.device):
        while tracker.evaluations < tracker.steps:
            before = tracker.evaluations
            minimize_box(fun, start, history=history, max_line_search=MAX_LINE_SEARCH)
            if tracker.evaluations == before:  # no progress possible (e.g. an exact optimum)
                break
            # the line search gave up (or converged): restart the memory from the best point
            start = tracker.best_image.reshape(-1)


def _one_blas_thread(device: torch.device):
    """The small matrices of L-BFGS-B go through NumPy's BLAS, whose threads keep spinning for
    a while after each call: on a CPU they would take a core from the next evaluation (measured
    with SciPy's L-BFGS-B on 2 cores at 512 px: 0.44 s per evaluation instead of 0.36). On a
    GPU the host's cores are free, so the BLAS keeps its threads."""
    return threadpool_limits(1, user_api="blas") if device.type == "cpu" else nullcontext()


MAX_LINE_SEARCH = 20
"""Evaluations L-BFGS-B's line search may spend on one step (SciPy's default)."""


def _run_adam(tracker: _Tracker, image: torch.Tensor, learning_rate: float) -> None:
    x = image.detach().clamp(0, 1).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=learning_rate)
    while tracker.evaluations < tracker.steps:
        _, gradient = tracker.evaluate(x)
        optimizer.zero_grad()
        x.grad = gradient
        optimizer.step()
        with torch.no_grad():
            x.clamp_(0, 1)


def _run_torch_lbfgs(tracker: _Tracker, image: torch.Tensor, history: int) -> None:
    """PyTorch's L-BFGS (no line search, lr 1) on the objective divided by its starting value.
    Unscaled, painterly's objective (about 1e13 at the content image) makes PyTorch's second
    step overshoot to NaN at the third evaluation; the classic tools' objectives are of order
    1e5, where it is stable, and L-BFGS is otherwise indifferent to a constant factor."""
    x = image.detach().clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], lr=1.0, max_iter=tracker.steps, max_eval=tracker.steps,
                                  history_size=history, tolerance_grad=-1, tolerance_change=-1)
    scale: float | None = None

    def closure() -> torch.Tensor:
        nonlocal scale
        loss, gradient = tracker.evaluate(x)
        if scale is None:
            scale = 1.0 / max(float(loss), 1e-30)
        x.grad = gradient * scale
        return loss * scale

    while tracker.evaluations < tracker.steps:
        optimizer.step(closure)
