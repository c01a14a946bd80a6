"""Neural style transfer: content + style images -> targets -> objective -> optimized pixels.

:func:`transfer` is plan -> rung loop -> finish. The plan (:class:`Plan`) holds the prepared
inputs, the coarse-to-fine ladder and a memory plan per rung; the loop optimizes each rung,
initialized from the upsampled result of the one before, with its targets recomputed at that
size; a
:class:`~painterly.style.schedule.Budget` owns the clock (deadline, cost model, ETA,
each rung's allotment). Most evaluations happen where they are cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from PIL import Image

from painterly.errors import UserError
from painterly.io import images
from painterly.nets.devices import free_device_bytes, resolve_device, resolve_precision
from painterly.nets.vgg import MIN_SIDE, load_vgg19
from painterly.optim.optimize import FIRST_STEP, LossTerms, optimize_pixels
from painterly.options import OptionError, resolve
from painterly.style import color, guides, memory, schedule
from painterly.style.events import Evaluated, Listener, RungFinished, Snapshot
from painterly.style.losses import PerceptualLoss
from painterly.style.objective import Objective, with_extra_loss
from painterly.style.options import INIT_CHOICES, MAX_SIZE, TransferOptions
from painterly.style.schedule import Budget, Rung
from painterly.style.tiling import TiledLoss

ExtraLoss = Callable[[torch.Tensor], torch.Tensor]
"""A term added to the objective: pixels (1, 3, H, W) at the current rung -> scalar tensor."""
InitImage = Image.Image | torch.Tensor
"""A start image: PIL, or a (1, 3, H, W) 0..1 tensor; resized to the first rung's size."""


@dataclass
class TransferResult:
    image: Image.Image
    tensor: torch.Tensor
    """The result as (1, 3, H, W) float32 RGB in 0..1, on the CPU."""
    terms: LossTerms | None
    evaluations: int
    seconds: float
    interrupted: bool = False
    history: list[Evaluated] = field(default_factory=list)
    """Every evaluation of the run (see :meth:`Evaluated.record` for a trace row)."""
    measure_content_style: Callable[[], float] | None = field(default=None, repr=False)
    options: TransferOptions | None = None
    """The settings the run used (preset applied)."""

    @functools.cached_property
    def content_style_loss(self) -> float | None:
        """Style loss of the content image itself against the same targets: the yardstick for
        how far the result moved towards the style (computed when first asked: one forward
        pass, which a video's frames do without)."""
        return None if self.measure_content_style is None else self.measure_content_style()


@dataclass
class StyleTargetCache:
    """Whole-image style targets (and their layer weights) by image size, kept from one
    transfer for the next with the same styles and options (a video's frames), which then
    does not recompute them: the same values, without one forward pass of each style image
    per frame. Not used where the styles are recoloured to each content image
    (``preserve_colors`` luminance and match)."""

    targets: dict[tuple[int, int], tuple[dict, dict]] = field(default_factory=dict)


# --- the plan ------------------------------------------------------------------------------------

@dataclass
class Plan:
    """Everything decided before the first evaluation: inputs, ladder, memory, objective."""

    opts: TransferOptions
    content: Image.Image
    """The content as optimized (colour-prepared)."""
    original_content: Image.Image
    styles: list[Image.Image | None]
    """Style images (colour-prepared); None keeps a mask region unstylized."""
    regions: guides.Regions | None
    rungs: list[Rung]
    memory_plans: list[memory.MemoryPlan]
    loss: PerceptualLoss
    palette: color.ColourStatistics | None = None
    """The styles' pooled colour statistics, for the ``palette`` start and the palette term
    (None when the run keeps the photo's colours or uses neither)."""

    def objective(self, index: int) -> Objective:
        """The objective of rung ``index``: whole-image or tiled, as its memory plan says."""
        tile = self.memory_plans[index].tile
        return self.loss if tile is None else TiledLoss(self.loss, tile)

    def content_at(self, size: tuple[int, int]) -> torch.Tensor:
        return _tensor(self.content, size, self.opts.device)

    def set_targets(self, objective: Objective, content: torch.Tensor,
                    cache: StyleTargetCache | None = None) -> None:
        """Content and style targets at the size of ``content``: style blended over the whole
        image (from ``cache`` when it has them for this size, else kept there), or one per
        mask region."""
        size = (content.shape[-1], content.shape[-2])
        objective.set_content(content)
        if self.palette is not None and self.opts.palette_weight:
            moments = color.moved_statistics(color.colour_statistics(content), self.palette,
                                             palette_share(self.opts.strength))
            # on the shared PerceptualLoss: a tiled objective adds its pixel terms from it too
            self.loss.set_palette(*(part.to(content.device) for part in moments))
        if color.keeps_photo_colours(self.opts.preserve_colors):
            cache = None  # the styles were recoloured to this content: their targets are its own
        if self.regions is None and cache is not None and size in cache.targets:
            self.loss.restore_style(cache.targets[size])
            return
        side = self.opts.min_side
        tensors = [None if s is None else _tensor(s, _style_size(s, size, scale, side),
                                                  self.opts.device)
                   for s, scale in zip(self.styles, _style_scales(self.opts, len(self.styles)),
                                       strict=True)]
        if self.regions is None:
            objective.set_style(tensors, self.opts.style_blend)
            if cache is not None:
                cache.targets[size] = self.loss.saved_style()
        else:
            objective.set_regions(tensors, self.regions.guides(size).to(self.opts.device))

    def finish(self, result: torch.Tensor) -> torch.Tensor:
        """Colour recombination and unstylized regions, applied to a result."""
        result = color.finish(result, self.original_content, self.opts.preserve_colors)
        if self.regions is not None:
            height, width = result.shape[-2:]
            content = _tensor(self.original_content, (width, height), str(result.device))
            result = guides.keep_content(result, content, self.regions.guides((width, height)),
                                         [s is None for s in self.styles])
        return result

    @property
    def finishes(self) -> bool:
        """Whether :meth:`finish` changes an image (snapshots show it finished)."""
        return self.opts.preserve_colors not in (None, "match") or self.regions is not None


def check_size(content_size: tuple[int, int], size: int, side: int = MIN_SIDE) -> None:
    """OptionError naming ``size`` when it would make a content image of ``content_size`` thinner
    than every network layer needs."""
    needed = images.smallest_long_side(*content_size, side)
    if size < needed:
        width, height = images.fit_long_side(*content_size, size)
        raise OptionError("size", f"{size} would make the {content_size[0]}x{content_size[1]} "
                                  f"content image {width}x{height}, thinner than the {side} "
                                  f"px every network layer needs: use {needed} or more")


def plan(content: images.ImageSource, style: images.ImageSource | Sequence[images.ImageSource],
         opts: TransferOptions) -> Plan:
    """Load and check the inputs, build the ladder and the memory plans, load the network."""
    content_image = images.load_image(content, what="content image")
    check_size(content_image.size, opts.size, opts.min_side)
    style_sources = [style] if isinstance(style, (str, Image.Image)) or not isinstance(
        style, Sequence) else list(style)
    style_images = _load_styles(style_sources, opts)
    regions = guides.load_mask(opts.mask, len(style_images), images.fit_long_side(
        *content_image.size, opts.size)) if opts.mask is not None else None
    prepared, style_images = color.prepare(content_image, style_images, opts.preserve_colors)
    if opts.init not in INIT_CHOICES:
        images.load_image(opts.init, what="init image")  # fail now, not after minutes
    torch.manual_seed(opts.seed)
    vgg = load_vgg19(opts.weights, opts.pooling, opts.weights_layout, opts.device)
    rungs = schedule.build(*prepared.size, opts.size, opts.min_size, opts.coarse_steps,
                           opts.steps, opts.scale_ratio, opts.min_side)
    # the largest rung first, so a refusal names the size asked for
    memory_plans = [_memory_plan(opts, rung.size, style_images)
                    for rung in reversed(rungs)][::-1]
    if any(p.tile for p in memory_plans) and regions is not None:
        raise OptionError("size", f"{opts.size} px needs tiled evaluation to fit in memory, and "
                                  "tiles cannot be used with a mask (its guided statistics are "
                                  "not split over tiles): use a smaller size or allow more "
                                  "memory")
    loss = PerceptualLoss(vgg, content_layer=opts.content_layer, style_layers=opts.style_layers,
                          content_weight=opts.content_weight,
                          style_weight=opts.style_weight * opts.strength,
                          tv_weight=opts.tv_weight, palette_weight=opts.palette_weight,
                          layer_weights=opts.layer_weights,
                          style_loss=opts.style_loss,
                          precision=resolve_precision(opts.precision, opts.device),
                          reference_size=opts.reference_size or None)
    uses_palette = opts.init == "palette" or opts.palette_weight > 0
    return Plan(opts, prepared, content_image, style_images, regions, rungs, memory_plans, loss,
                _palette(style_images, opts)
                if uses_palette and not color.keeps_photo_colours(opts.preserve_colors)
                else None)


def _palette(styles: list[Image.Image | None], opts: TransferOptions) -> color.ColourStatistics:
    """The colour statistics of the style images, pooled with the blend weights."""
    present = [s for s in styles if s is not None]
    weights = [w for s, w in zip(styles, opts.style_blend or [1.0] * len(styles), strict=True)
               if s is not None]
    return color.mixture_statistics([color.colour_statistics(images.to_tensor(s))
                                     for s in present], weights)


# --- one rung ------------------------------------------------------------------------------------

STOP, NEXT_RUNG = "stop", "next rung"
"""Why a rung ends early (:attr:`_RungRun.ending`)."""


@dataclass
class _RungRun:
    """The bookkeeping of one rung while it optimizes: events, ETA, snapshots, and whether to
    stop (the user asked, the deadline passed, or the rung used up its allotment)."""

    index: int
    rungs: list[Rung]
    done: int
    """Evaluations before this rung."""
    budget: Budget
    cost: schedule.CostModel | None
    """The cost model as the rung started (None before the first measurement)."""
    on_event: Listener | None
    should_stop: Callable[[], bool] | None
    save_every: int
    history: list[Evaluated]
    snapshot: Callable[[torch.Tensor], torch.Tensor]
    started: float = field(default_factory=time.perf_counter)
    ending: str | None = None
    """Why the rung ends before its steps: ``STOP`` (asked, or out of time: the run ends) or
    ``NEXT_RUNG`` (its allotment of the budget is used: the run goes on with the next rung)."""

    def __post_init__(self) -> None:
        self.allotted = self.budget.allotment(self.rung, self.last)

    @property
    def rung(self) -> Rung:
        return self.rungs[self.index]

    @property
    def last(self) -> bool:
        return self.index == len(self.rungs) - 1

    @property
    def fills_budget(self) -> bool:
        """The final rung under a budget runs until the next evaluation would pass the
        deadline: its plan, made from the cost at smaller sizes, tends to leave time unused."""
        return self.budget.timed and self.last

    @property
    def step_limit(self) -> int:
        return self.rung.steps * 10 + 100 if self.fills_budget else self.rung.steps

    def evaluated(self, step: int, terms: LossTerms, image: torch.Tensor) -> None:
        now = time.perf_counter()
        pixels = self.rung.pixels
        measured = schedule.CostModel((now - self.started) / (step * pixels))
        if self.cost is not None and step < 2:
            measured = self.cost
        steps, total = self.rung.steps, self.done + sum(r.steps for r in self.rungs[self.index:])
        if self.fills_budget and step >= 2:  # as many more as fit before the deadline
            steps = step + int(self.budget.left(now) / measured.evaluation(pixels))
            total = self.done + steps
        eta = measured.evaluation(pixels) * (steps - step) + schedule.predicted_seconds(
            self.rungs[self.index + 1:], measured)
        if self.budget.timed:
            eta = min(eta, self.budget.left(now))
        event = Evaluated(rung=self.index, rungs=len(self.rungs), size=self.rung.size, step=step,
                          steps=steps, done=self.done + step, total=total, terms=terms,
                          elapsed=now - self.budget.start, eta=eta)
        self.history.append(event)
        if self.on_event is not None:
            self.on_event(event)
        asked = self.should_stop is not None and self.should_stop()
        out_of_time = self.budget.timed and (now >= self.budget.deadline or (
            self.fills_budget and step >= 2 and step == steps))
        if asked or out_of_time:
            self.ending = STOP
        elif (self.allotted is not None and step >= schedule.MIN_STEPS and step < steps
              and now - self.started > self.allotted):
            self.ending = NEXT_RUNG
        elif (self.save_every and self.on_event is not None and self.last
              and step % self.save_every == 0):
            self.on_event(Snapshot(image=self.snapshot(image.clamp(0, 1)), kind="periodic",
                                   rung=self.index, step=step))

    def stop_requested(self) -> bool:
        return self.ending is not None


# --- the run -------------------------------------------------------------------------------------

def transfer(content: images.ImageSource, style: images.ImageSource | Sequence[images.ImageSource],
             *, on_event: Listener | None = None, should_stop: Callable[[], bool] | None = None,
             save_every: int = 0, init_image: InitImage | None = None,
             extra_loss: ExtraLoss | None = None, style_cache: StyleTargetCache | None = None,
             first_step: float = FIRST_STEP, **options) -> TransferResult:
    """Render ``content`` in the style of ``style`` (one image or several).

    ``options`` are the fields of :class:`TransferOptions`. ``on_event`` receives the typed
    events of :mod:`painterly.style.events`: :class:`Evaluated` after each evaluation,
    :class:`RungFinished` and a ``rung`` :class:`Snapshot` after each rung, a ``periodic``
    snapshot every ``save_every`` evaluations at the final size, and the ``final`` one.
    ``should_stop`` is asked after each evaluation and ends the run early when it returns True;
    Ctrl-C also ends it early; the result then holds the best image so far.

    ``init_image`` (a PIL image or a (1, 3, H, W) 0..1 tensor) is the start instead of
    ``init``; ``extra_loss`` maps the pixels (1, 3, H, W) at the current rung to a scalar
    tensor added to the objective (reported as ``terms.extra``). ``style_cache``
    keeps the style targets for the next call with the same styles and options;
    ``first_step`` is the largest pixel change of L-BFGS-B's first trial step (smaller for a
    start already close to the result, as a video's warped previous frame is).
    """
    opts = resolve(TransferOptions, options)
    opts = dataclasses.replace(opts, device=resolve_device(opts.device))
    the_plan = plan(content, style, opts)
    budget = Budget(opts.time_budget)
    rungs = the_plan.rungs  # a budget re-plans the steps into new lists, never the plan's
    done = 0
    current: torch.Tensor | None = None
    content_tensor: torch.Tensor | None = None
    result_terms: LossTerms | None = None
    history: list[Evaluated] = []
    interrupted = False
    objective: Objective = the_plan.loss

    def snapshot(image: torch.Tensor) -> torch.Tensor:
        return the_plan.finish(image) if the_plan.finishes else image

    for index in range(len(rungs)):
        objective = the_plan.objective(index)
        if extra_loss is not None:
            objective = with_extra_loss(objective, extra_loss)
        if budget.timed and budget.cost is not None:
            rungs = budget.refit(rungs, index, at_least_one=current is None)
        if rungs[index].steps == 0 and not budget.needs_measurement:
            continue
        content_tensor = the_plan.content_at(rungs[index].size)
        the_plan.set_targets(objective, content_tensor, style_cache)
        current = _start(init_image, the_plan, content_tensor) if current is None else \
            images.resize_tensor(current, tuple(content_tensor.shape[-2:]))
        if budget.needs_measurement:  # plan the whole run from two evaluations
            budget.measure(objective, current)
            rungs = budget.refit(rungs, index)
            if rungs[index].steps == 0:
                continue
        run = _RungRun(index, rungs, done, budget, budget.cost, on_event, should_stop,
                       save_every, history, snapshot)
        outcome = optimize_pixels(objective, current, steps=run.step_limit,
                                  method=opts.optimizer, learning_rate=opts.learning_rate,
                                  history=the_plan.memory_plans[index].history,
                                  callback=run.evaluated, should_stop=run.stop_requested,
                                  first_step=first_step)
        current, result_terms = outcome.image, outcome.terms or result_terms
        done += outcome.evaluations
        budget.record(rungs[index].pixels, outcome.evaluations, outcome.seconds)
        if on_event is not None:
            on_event(RungFinished(rung=index, rungs=len(rungs), size=rungs[index].size,
                                  evaluations=outcome.evaluations,
                                  elapsed=time.perf_counter() - budget.start))
            if not run.last:
                on_event(Snapshot(image=snapshot(current), kind="rung", rung=index,
                                  step=outcome.evaluations))
        if (outcome.interrupted or outcome.stopped) and run.ending != NEXT_RUNG:
            interrupted = outcome.interrupted
            break

    final_size = rungs[-1].size
    if current is None:  # nothing ran (a budget too small for even one evaluation)
        current = _start(init_image, the_plan, the_plan.content_at(final_size))
    if current.shape[-1] != final_size[0] or current.shape[-2] != final_size[1]:
        current = images.resize_tensor(current, (final_size[1], final_size[0]))  # size asked
    measure_content_style = None
    if content_tensor is not None:  # against the targets of the last rung that ran
        measure_content_style = functools.partial(objective.style_value, content_tensor)
    current = the_plan.finish(current).cpu()
    if on_event is not None:
        on_event(Snapshot(image=current, kind="final", rung=len(rungs) - 1, step=done))
    return TransferResult(images.to_image(current), current, result_terms, done,
                          time.perf_counter() - budget.start, interrupted, history,
                          measure_content_style=measure_content_style, options=opts)


# --- helpers ---------------------------------------------------------------------------------

def check_memory(content_size: tuple[int, int], options: dict) -> None:
    """OptionError naming ``size`` when the full-size result of a ``content_size`` photo cannot
    fit the memory limit under ``options`` (TransferOptions fields), before a run is queued; the
    style images count when they are loaded."""
    opts = resolve(TransferOptions, options)
    try:
        _plan_memory(opts, images.fit_long_side(*content_size, opts.size), 0)
    except OptionError as error:
        if opts.max_memory is None:
            raise
        raise OptionError("max_memory", f"of {opts.max_memory:g} GB is too little: the "
                                        f"{error.field} {error.message}") from None


def _memory_plan(opts: TransferOptions, size: tuple[int, int],
                 style_images: Sequence[Image.Image | None]) -> memory.MemoryPlan:
    """Tiling and L-BFGS history for one rung, or a UserError if it cannot fit."""
    scales = _style_scales(opts, len(style_images))
    style_pixels = max(w * h for w, h in (_style_size(s, size, scale, opts.min_side)
                                          for s, scale in zip(style_images, scales, strict=True)
                                          if s is not None))
    return _plan_memory(opts, size, style_pixels)


def _plan_memory(opts: TransferOptions, size: tuple[int, int],
                 style_pixels: int) -> memory.MemoryPlan:
    limit = None if opts.max_memory is None else int(opts.max_memory * 2**30)
    return memory.plan(*size, method=opts.optimizer, history=opts.history, tile=opts.tile_size,
                       limit=limit, style_pixels=style_pixels,
                       device_limit=free_device_bytes(opts.device))


def _tensor(image: Image.Image, size: tuple[int, int], device: str) -> torch.Tensor:
    resized = image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
    return images.to_tensor(resized).to(device)


def _style_size(style: Image.Image, content_size: tuple[int, int], scale: float,
                side: int = MIN_SIDE) -> tuple[int, int]:
    """The style image's size at one rung; its short side stays >= ``side`` px so that every
    layer the losses compare exists."""
    aspect = max(style.size) / min(style.size)
    return images.fit_long_side(*style.size, max(math.ceil(side * aspect),
                                                  round(max(content_size) * scale)))


MAX_STYLE_ASPECT = 8.0
"""A style image more elongated than this is centre-cropped to it: keeping its short side at
16 px would otherwise make it huge (a 1x10000 strip: 16x160000 px for a 64 px run)."""
STYLE_SLACK = 4.0
"""A style image whose long side exceeds what the run's largest rung needs by more than this
factor is reduced once, right after loading (its largest use is then an exact copy)."""


def _bounded_style(style: Image.Image, size: int, scale: float,
                   side: int = MIN_SIDE) -> Image.Image:
    """``style`` cropped to :data:`MAX_STYLE_ASPECT` and, if far larger than a run at ``size``
    (long side) with this style scale needs, reduced to that size before anything else sees it."""
    width, height = style.size
    if max(width, height) > MAX_STYLE_ASPECT * min(width, height):
        long_side = round(MAX_STYLE_ASPECT * min(width, height))
        left, top = (width - long_side) // 2, (height - long_side) // 2
        style = style.crop((left, 0, left + long_side, height) if width > height
                           else (0, top, width, top + long_side))
    needed = _style_size(style, (size, size), scale, side)
    if max(style.size) > STYLE_SLACK * max(needed):
        style = style.resize(needed, Image.Resampling.LANCZOS)
    return style


def palette_share(strength: float) -> float:
    """How far the ``palette`` start moves the photo's colours towards the painting's: all the
    way from the default strength up, none at the lightest (0.01), linear in log10(strength)
    between, so that "more photo" also keeps the photo's colours."""
    return min(1.0, max(0.0, 1 + math.log10(strength) / 2))


def _start(init_image: InitImage | None, the_plan: Plan, content: torch.Tensor) -> torch.Tensor:
    """The first rung's start: ``init_image`` if given, else what ``init`` names."""
    opts = the_plan.opts
    height, width = content.shape[-2:]
    if isinstance(init_image, Image.Image):
        return _tensor(init_image.convert("RGB"), (width, height), str(content.device))
    if isinstance(init_image, torch.Tensor):
        if init_image.dim() != 4 or init_image.shape[:2] != (1, 3):
            raise UserError(f"init_image must be a (1, 3, H, W) tensor, got "
                            f"{tuple(init_image.shape)}")
        start = init_image.detach().float().to(content.device).clamp(0, 1)
        return start if start.shape[-2:] == content.shape[-2:] else \
            images.resize_tensor(start, (height, width))
    if opts.init == "palette" and the_plan.palette is not None:
        share = palette_share(opts.strength)
        return content + share * (color.recolour(content, the_plan.palette) - content)
    if opts.init in ("palette", "content"):  # keeping the photo's colours: palette is the photo
        return content.clone()
    if opts.init == "noise":
        generator = torch.Generator().manual_seed(opts.seed)
        return torch.rand(content.shape, generator=generator).to(content.device)
    start = images.load_image(opts.init, what="init image")
    return _tensor(start, (width, height), str(content.device))


def _load_styles(sources: list, opts: TransferOptions) -> list[Image.Image | None]:
    """The style images; ``none`` (keep a mask region unstylized) becomes None."""
    check_style_counts(opts.style_blend, opts.style_scale, len(sources))
    keep = [isinstance(s, str) and s == guides.KEEP_CONTENT for s in sources]
    if any(keep) and opts.mask is None:
        raise OptionError("mask", f"is needed by style '{guides.KEEP_CONTENT}' (it keeps a mask "
                                  "region unstylized)")
    scales = _style_scales(opts, len(sources))
    styles = [None if k else _bounded_style(images.load_image(s, what="style image"), opts.size,
                                            scale, opts.min_side)
              for s, k, scale in zip(sources, keep, scales, strict=True)]
    if all(s is None for s in styles):
        raise UserError("give at least one style image besides 'none'")
    if opts.style_blend is not None and opts.mask is not None:
        raise OptionError("style_blend", "cannot be used with a mask (each mask colour takes "
                                         "one style)")
    return styles


def check_style_counts(style_blend: Sequence[float] | None,
                       style_scale: float | Sequence[float], count: int) -> None:
    """OptionError unless ``style_blend`` has one weight per style image and ``style_scale`` one
    value or one per style image (every face checks this before a run is queued)."""
    if style_blend is not None and len(style_blend) != count:
        raise OptionError("style_blend", f"has {len(style_blend)} weights for {count} style "
                                         "images")
    if not isinstance(style_scale, (int, float)) and len(style_scale) not in (1, count):
        raise OptionError("style_scale", f"has {len(style_scale)} values for {count} style "
                                         "images")


def _style_scales(opts: TransferOptions, count: int) -> tuple[float, ...]:
    scales = opts.style_scale if isinstance(opts.style_scale, tuple) else (opts.style_scale,)
    return scales * count if len(scales) == 1 else scales


__all__ = ["MAX_SIZE", "Plan", "TransferOptions", "TransferResult", "plan", "transfer"]
