"""Neural style transfer: content + style images -> targets -> objective -> optimized pixels.

The optimization runs coarse to fine by default: on a ladder of sizes growing by
``scale_ratio`` from about ``min_size`` to ``size``, each rung initialized from the upsampled
result of the one before (plus the content's fine detail that the smaller rung could not hold)
and with its targets recomputed at that size. Most evaluations happen where they are cheap.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from PIL import Image

from painterly.errors import UserError
from painterly.io import images
from painterly.nets.devices import (
    AUTO,
    PRECISION_CHOICES,
    free_device_bytes,
    resolve_device,
    resolve_precision,
)
from painterly.nets.vgg import (
    DEFAULT_STYLE_LAYERS,
    LAYER_NAMES,
    MIN_SIDE,
    check_layers,
    load_vgg19,
)
from painterly.optim.optimize import METHODS, StopRequested, optimize_pixels
from painterly.style import color, guides, memory, schedule
from painterly.style.losses import (
    LAYER_WEIGHT_SCHEMES,
    STYLE_STATISTICS,
    LossTerms,
    PerceptualLoss,
)
from painterly.style.presets import PRESETS, apply_preset
from painterly.style.schedule import ladder
from painterly.style.tiling import TiledLoss

INIT_CHOICES = ("content", "noise")
MAX_SIZE = 8192


@dataclass
class TransferOptions:
    """Every setting of a style transfer, with its default. The CLI and the web page use these
    defaults; nothing else defines them."""

    size: int = 512
    """Long side of the output in pixels."""
    steps: int = 70
    """Evaluations (forward+backward passes) at the final size. A single-scale run (``size <=
    min_size``) is its ladder's smallest rung too and gets ``max(steps, coarse_steps)``."""
    coarse_steps: int = 10
    """Evaluations at the smallest rung of the ladder, tapering geometrically to ``steps``
    (chosen with benchmarks/tune_schedule.py and benchmarks/speed.py: at 512 px, 256 px x 10
    then 512 px x 70, about 73 full-size evaluations' worth of work, which reaches the classic
    300-evaluation loss on all three benchmark pairs; README "Speed and large images")."""
    min_size: int = 256
    """Smallest rung of the coarse-to-fine ladder; ``>= size`` means a single scale."""
    scale_ratio: float = 2.0
    """Size ratio between neighbouring rungs of the ladder."""
    content_weight: float = 1.0
    """alpha."""
    style_weight: float = 1e3
    """beta."""
    tv_weight: float = 0.0
    content_layer: str = "relu4_2"
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS
    layer_weights: str | tuple[float, ...] = "equal"
    style_blend: tuple[float, ...] | None = None
    """Weights of several style images (normalized to sum to 1)."""
    style_scale: float | tuple[float, ...] = 1.0
    """Style image long side relative to the content's at each scale (one value per style, or one
    for all)."""
    style_loss: str = "gram"
    """Statistic the style loss matches: ``gram`` or ``meanstd``."""
    preserve_colors: str | None = None
    """``luminance``, ``match`` or ``yuv`` (see :mod:`~painterly.style.color`); None: style
    colours."""
    mask: str | None = None
    """An image whose colours assign the styles to regions (see :mod:`painterly.style.guides`)."""
    preset: str | None = None
    """Fill the settings not given from a preset (see :mod:`painterly.style.presets`)."""
    init: str = "content"
    """``content``, ``noise``, or a path to an image to start from."""
    optimizer: str = "lbfgs"
    learning_rate: float = 0.02
    history: int = 20
    pooling: str = "max"
    seed: int = 0
    weights: str | None = None
    """A VGG-19 state dict to use instead of the bundled original weights."""
    weights_layout: str | None = None
    device: str = AUTO
    """A torch device, or ``auto``: the CUDA GPU where there is one (see painterly.nets.devices)."""
    precision: str = AUTO
    """Number format of the network: ``float32``, ``bfloat16`` (see devices.PRECISIONS), or
    ``auto``: bfloat16 where the device computes it natively, else float32."""
    # speed and memory (see painterly.style.schedule and painterly.style.memory)
    time_budget: float | None = None
    """Seconds for the whole run: step counts are planned from the measured cost of an
    evaluation and the best image so far is returned when the time is up."""
    max_memory: float | None = None
    """GB the run may use (default: 80% of the available memory, at most 45% of the RAM)."""
    tile_size: int | None = None
    """Core size of tiles for tiled evaluation: None chooses by memory, 0 never tiles."""

    def validated(self) -> TransferOptions:
        """Raise UserError for any bad value; returns self for chaining."""
        if not 16 <= self.size <= MAX_SIZE:
            raise UserError(f"--size must be between 16 and {MAX_SIZE} pixels, got {self.size}")
        if self.steps < 1 or self.coarse_steps < 0:
            raise UserError("--steps must be at least 1 (and --coarse-steps at least 0)")
        if not (math.isfinite(self.scale_ratio) and 1.1 <= self.scale_ratio <= 4):
            raise UserError("--scale-ratio must be between 1.1 and 4")
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise UserError(f"--{name.replace('_', '-')} must be a finite number >= 0")
        scales = self.style_scale if isinstance(self.style_scale, tuple) else (self.style_scale,)
        if not scales or not all(math.isfinite(v) and 0.05 <= v <= 8 for v in scales):
            raise UserError("--style-scale must be between 0.05 and 8")
        if self.style_loss not in STYLE_STATISTICS:
            raise UserError(f"--style-loss: choose from {', '.join(STYLE_STATISTICS)}")
        if self.precision not in PRECISION_CHOICES:
            raise UserError(f"--precision: choose from {', '.join(PRECISION_CHOICES)}")
        if self.preserve_colors is not None and self.preserve_colors not in color.PRESERVE_COLORS:
            raise UserError(f"--preserve-colors: choose from {', '.join(color.PRESERVE_COLORS)}")
        if self.preset is not None and self.preset not in PRESETS:
            raise UserError(f"--preset: choose from {', '.join(PRESETS)}")
        if self.style_blend is not None and (
                not all(math.isfinite(v) and v >= 0 for v in self.style_blend)
                or sum(self.style_blend) <= 0):
            raise UserError("--style-blend weights must be numbers >= 0 with a positive sum")
        check_layers([self.content_layer, *self.style_layers])
        if not self.style_layers:
            raise UserError("--style-layers needs at least one layer")
        if isinstance(self.layer_weights, str) and self.layer_weights not in LAYER_WEIGHT_SCHEMES:
            raise UserError(f"--style-layer-weights: choose from {', '.join(LAYER_WEIGHT_SCHEMES)} "
                            "or give one number per style layer")
        if not isinstance(self.layer_weights, str) and len(self.layer_weights) != len(
                self.style_layers):
            raise UserError(f"--style-layer-weights has {len(self.layer_weights)} values for "
                            f"{len(self.style_layers)} style layers")
        if self.optimizer not in METHODS:
            raise UserError(f"--optimizer: choose from {', '.join(METHODS)}")
        if self.time_budget is not None and not (math.isfinite(self.time_budget)
                                                 and self.time_budget > 0):
            raise UserError("--time-budget must be a number of seconds > 0")
        if self.max_memory is not None and not (math.isfinite(self.max_memory)
                                                and self.max_memory > 0):
            raise UserError("--max-memory must be a number of GB > 0")
        if self.tile_size is not None and self.tile_size != 0 and self.tile_size < 64:
            raise UserError("--tile-size must be 0 (never tile) or at least 64 pixels")
        return self


@dataclass
class Progress:
    """One progress event, sent after every evaluation."""

    scale: int
    """Index of the current rung of the ladder (0-based)."""
    scales: int
    size: tuple[int, int]
    """(width, height) of the current rung."""
    step: int
    """Evaluations done at this rung."""
    steps: int
    done: int
    """Evaluations done overall."""
    total: int
    terms: LossTerms
    elapsed: float
    eta: float | None
    """Seconds left, estimated from the measured cost per pixel; None until measured."""


@dataclass
class TransferResult:
    image: Image.Image
    tensor: torch.Tensor
    """The result as (1, 3, H, W) float32 RGB in 0..1, on the CPU."""
    terms: LossTerms | None
    evaluations: int
    seconds: float
    interrupted: bool = False
    history: list[dict] = field(default_factory=list)
    content_style_loss: float | None = None
    """Style loss of the content image itself against the same targets: the yardstick for how
    far the result moved towards the style."""
    options: TransferOptions | None = None
    """The settings the run used (preset applied)."""


ProgressCallback = Callable[[Progress], None]
SnapshotCallback = Callable[[torch.Tensor, str], None]
"""Receives the best image so far and why (``scale 2/5`` or ``step 50``)."""


def _memory_plan(opts: TransferOptions, size: tuple[int, int],
                 style_images: Sequence[Image.Image | None]) -> memory.MemoryPlan:
    """Tiling and L-BFGS history for one rung, or a UserError if it cannot fit."""
    scales = _style_scales(opts, len(style_images))
    style_pixels = max(w * h for w, h in (_style_size(s, size, scale)
                                          for s, scale in zip(style_images, scales, strict=True)
                                          if s is not None))
    limit = None if opts.max_memory is None else int(opts.max_memory * 2**30)
    return memory.plan(*size, method=opts.optimizer, history=opts.history, tile=opts.tile_size,
                       limit=limit, style_pixels=style_pixels,
                       device_limit=free_device_bytes(opts.device))


def _tensor(image: Image.Image, size: tuple[int, int], device: str) -> torch.Tensor:
    resized = image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
    return images.to_tensor(resized).to(device)


def _style_size(style: Image.Image, content_size: tuple[int, int], scale: float) -> tuple[int, int]:
    """The style image's size at one rung; its short side stays >= 16 px so that every VGG
    layer exists."""
    aspect = max(style.size) / min(style.size)
    return images.fit_long_side(*style.size, max(math.ceil(MIN_SIDE * aspect),
                                                  round(max(content_size) * scale)))


MAX_STYLE_ASPECT = 8.0
"""A style image more elongated than this is centre-cropped to it: keeping its short side at
16 px would otherwise make it huge (a 1x10000 strip: 16x160000 px for a 64 px run)."""
STYLE_SLACK = 4.0
"""A style image whose long side exceeds what the run's largest rung needs by more than this
factor is reduced once, right after loading (its largest use is then an exact copy)."""


def _bounded_style(style: Image.Image, size: int, scale: float) -> Image.Image:
    """``style`` cropped to :data:`MAX_STYLE_ASPECT` and, if far larger than a run at ``size``
    (long side) with this style scale needs, reduced to that size before anything else sees it."""
    width, height = style.size
    if max(width, height) > MAX_STYLE_ASPECT * min(width, height):
        long_side = round(MAX_STYLE_ASPECT * min(width, height))
        left, top = (width - long_side) // 2, (height - long_side) // 2
        style = style.crop((left, 0, left + long_side, height) if width > height
                           else (0, top, width, top + long_side))
    needed = _style_size(style, (size, size), scale)
    if max(style.size) > STYLE_SLACK * max(needed):
        style = style.resize(needed, Image.Resampling.LANCZOS)
    return style


def _upsampled(image: torch.Tensor, content: torch.Tensor, add_detail: bool) -> torch.Tensor:
    """``image`` resized to the size of ``content`` (the next rung's), with ``add_detail`` plus
    the content's detail band between the two sizes: the upsampled image lacks the photo's fine
    detail that the smaller rung could not hold, so the content loss at the new size would start
    far above where it ended (measured: 8% lower final loss at equal work at 512 px)."""
    size = tuple(content.shape[-2:])
    upsampled = images.resize_tensor(image, size)
    if not add_detail:
        return upsampled
    blurred = images.resize_tensor(images.resize_tensor(content, tuple(image.shape[-2:])), size)
    return (upsampled + content - blurred).clamp(0, 1)


def _initial_image(init: str, content: torch.Tensor, seed: int) -> torch.Tensor:
    if init == "content":
        return content.clone()
    if init == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(content.shape, generator=generator).to(content.device)
    start = images.load_image(init, what="init image")
    return _tensor(start, (content.shape[-1], content.shape[-2]), str(content.device))


def transfer(content: images.ImageSource, style: images.ImageSource | Sequence[images.ImageSource],
             *, progress: ProgressCallback | None = None,
             snapshot: SnapshotCallback | None = None, save_every: int = 0,
             should_stop: Callable[[], bool] | None = None, **options) -> TransferResult:
    """Render ``content`` in the style of ``style`` (one image or several).

    ``options`` are the fields of :class:`TransferOptions`. ``progress`` receives a
    :class:`Progress` after each evaluation, ``snapshot`` the best image after each scale (and
    every ``save_every`` steps at the final scale), ``should_stop`` ends the run early when it
    returns True. Ctrl-C also ends it early; the result then holds the best image so far.
    """
    unknown = set(options) - {f.name for f in dataclasses.fields(TransferOptions)}
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    opts = TransferOptions(**apply_preset(options)).validated()
    opts = dataclasses.replace(opts, device=resolve_device(opts.device))
    content_image = images.load_image(content, what="content image")
    images.fit_with_short_side(*content_image.size, opts.size, MIN_SIDE)
    style_sources = [style] if isinstance(style, (str, Image.Image)) or not isinstance(
        style, Sequence) else list(style)
    style_images = _load_styles(style_sources, opts)
    regions = guides.load_mask(opts.mask, len(style_images), images.fit_long_side(
        *content_image.size, opts.size)) if opts.mask is not None else None
    original_content = content_image
    content_image, style_images = color.prepare(content_image, style_images,
                                                opts.preserve_colors)
    snapshot = _finishing_snapshot(snapshot, original_content, regions, style_images, opts)
    if opts.init not in INIT_CHOICES:
        images.load_image(opts.init, what="init image")  # fail now, not after minutes

    torch.manual_seed(opts.seed)
    vgg = load_vgg19(opts.weights, opts.pooling, opts.weights_layout, opts.device)
    rungs = schedule.build(*content_image.size, opts.size, opts.min_size, opts.coarse_steps,
                           opts.steps, opts.scale_ratio)
    sizes = [rung.size for rung in rungs]
    # the largest rung first, so a refusal names the size asked for
    memory_plans = [_memory_plan(opts, size, style_images) for size in reversed(sizes)][::-1]
    if any(plan.tile for plan in memory_plans) and (regions is not None
                                                    or opts.style_loss != "gram"):
        raise UserError(f"a {opts.size} px result needs tiled evaluation, which supports neither "
                        "--mask nor --style-loss other than gram: use a smaller --size")
    loss = PerceptualLoss(vgg, content_layer=opts.content_layer, style_layers=opts.style_layers,
                          content_weight=opts.content_weight, style_weight=opts.style_weight,
                          tv_weight=opts.tv_weight, layer_weights=opts.layer_weights,
                          style_loss=opts.style_loss,
                          precision=resolve_precision(opts.precision, opts.device))
    start = time.perf_counter()
    deadline = None if opts.time_budget is None else start + opts.time_budget
    cost: schedule.CostModel | None = None
    done = 0
    current: torch.Tensor | None = None
    result_terms: LossTerms | None = None
    history: list[dict] = []
    interrupted = False
    content_tensor: torch.Tensor | None = None
    objective: PerceptualLoss | TiledLoss = loss

    for index, size in enumerate(sizes):
        memory_plan = memory_plans[index]
        objective = loss if memory_plan.tile is None else TiledLoss(loss, memory_plan.tile)
        if deadline is not None and cost is not None:
            rungs[index:] = schedule.fit_budget(rungs[index:], deadline - time.perf_counter(),
                                                cost, at_least_one=current is None)
        if rungs[index].steps == 0 and not (deadline is not None and cost is None):
            continue
        content_tensor = _tensor(content_image, size, opts.device)
        objective.set_content(content_tensor)
        _set_style_targets(objective, style_images, regions, size, opts)
        if current is None:
            current = _initial_image(opts.init, content_tensor, opts.seed)
        else:
            current = _upsampled(current, content_tensor, add_detail=opts.content_weight > 0)
        if deadline is not None and cost is None:  # plan the whole run from two evaluations
            cost = schedule.measure_cost(objective, current)
            rungs[index:] = schedule.fit_budget(rungs[index:], deadline - time.perf_counter(),
                                                cost)
            if rungs[index].steps == 0:
                continue
        rung_steps = rungs[index].steps
        total = done + sum(r.steps for r in rungs[index:])
        rung_start = time.perf_counter()
        # under a budget each rung gets the time it was planned for; if its evaluations turn out
        # slower than measured, it ends early instead of starving the larger rungs
        allotted = None if deadline is None or cost is None or index == len(sizes) - 1 else \
            cost.rung(rungs[index]) * 1.1
        # the final rung under a budget runs until the next evaluation would pass the deadline:
        # its plan, made from the cost at smaller sizes, tends to leave time unused
        fills_budget = deadline is not None and index == len(sizes) - 1
        moving_on = [False]
        pixels = size[0] * size[1]
        after = rungs[index + 1:]

        def on_evaluation(step: int, terms: LossTerms, image: torch.Tensor, *, _index=index,
                          _size=size, _steps=rung_steps, _pixels=pixels, _total=total,
                          _rung_start=rung_start, _after=after, _done=done,
                          _cost=cost, _allotted=allotted, _moving_on=moving_on,
                          _fills=fills_budget) -> None:
            now = time.perf_counter()
            measured = schedule.CostModel((now - _rung_start) / (step * _pixels))
            if _cost is not None and step < 2:
                measured = _cost
            if _fills and step >= 2:  # as many more as fit before the deadline
                _steps = step + int(max(0.0, deadline - now) / measured.evaluation(_pixels))
                _total = _done + _steps
            eta = measured.evaluation(_pixels) * (_steps - step) + \
                schedule.predicted_seconds(_after, measured)
            if deadline is not None:
                eta = min(eta, max(0.0, deadline - now))
            history.append({"scale": _index, "step": step, "loss": terms.total,
                            "content": terms.content, "style": terms.style,
                            "time": round(now - start, 4)})
            if progress is not None:
                progress(Progress(_index, len(sizes), _size, step, _steps, _done + step, _total,
                                  terms, now - start, eta))
            if should_stop is not None and should_stop():
                raise StopRequested
            if deadline is not None and (now >= deadline or (_fills and step >= 2
                                                             and step == _steps)):
                raise StopRequested
            if (_allotted is not None and step >= schedule.MIN_STEPS and step < _steps
                    and now - _rung_start > _allotted):
                _moving_on[0] = True
                raise StopRequested
            if (save_every and snapshot is not None and _index == len(sizes) - 1
                    and step % save_every == 0):
                snapshot(image.clamp(0, 1), f"step {step}")

        outcome = optimize_pixels(objective, current,
                                  steps=rung_steps * 10 + 100 if fills_budget else rung_steps,
                                  method=opts.optimizer,
                                  learning_rate=opts.learning_rate, history=memory_plan.history,
                                  callback=on_evaluation)
        current, result_terms = outcome.image, outcome.terms or result_terms
        done += outcome.evaluations
        if cost is None:
            cost = schedule.CostModel(1.0)
        cost.update(pixels, outcome.evaluations, outcome.seconds)
        if snapshot is not None and index < len(sizes) - 1:
            snapshot(current, f"scale {index + 1}/{len(sizes)}")
        if (outcome.interrupted or outcome.stopped) and not moving_on[0]:
            interrupted = outcome.interrupted
            break

    if current is None:  # nothing ran (a budget too small for even one evaluation)
        current = _initial_image(opts.init, _tensor(content_image, sizes[-1], opts.device),
                                 opts.seed)
    if current.shape[-1] != sizes[-1][0] or current.shape[-2] != sizes[-1][1]:
        current = images.resize_tensor(current, (sizes[-1][1], sizes[-1][0]))  # size asked for
    content_style_loss = None
    if content_tensor is not None:  # against the targets of the last rung that ran
        if isinstance(objective, TiledLoss):
            content_style_loss = objective.style_value(content_tensor)
        else:
            with torch.no_grad():
                content_style_loss = loss(content_tensor)[1].style
    current = _finish(current, original_content, regions, style_images, opts).cpu()
    return TransferResult(images.to_image(current), current, result_terms, done,
                          time.perf_counter() - start, interrupted, history,
                          content_style_loss=content_style_loss, options=opts)


# Hooks of the artistic controls (colour, several styles, regions): see painterly.style.color and
# painterly.style.guides.

def _load_styles(sources: list, opts: TransferOptions) -> list[Image.Image | None]:
    """The style images; ``none`` (keep a mask region unstylized) becomes None."""
    keep = [isinstance(s, str) and s == guides.KEEP_CONTENT for s in sources]
    if any(keep) and opts.mask is None:
        raise UserError(f"style '{guides.KEEP_CONTENT}' keeps a mask region unstylized: it needs "
                        "--mask")
    scales = _style_scales(opts, len(sources)) if not isinstance(opts.style_scale, tuple) or \
        len(opts.style_scale) in (1, len(sources)) else (max(opts.style_scale),) * len(sources)
    styles = [None if k else _bounded_style(images.load_image(s, what="style image"), opts.size,
                                            scale)
              for s, k, scale in zip(sources, keep, scales, strict=True)]
    if all(s is None for s in styles):
        raise UserError("give at least one style image besides 'none'")
    if opts.style_blend is not None and len(opts.style_blend) != len(styles):
        raise UserError(f"--style-blend has {len(opts.style_blend)} weights for "
                        f"{len(styles)} style images")
    if opts.style_blend is not None and opts.mask is not None:
        raise UserError("--style-blend cannot be used with --mask (each mask colour takes "
                        "one style)")
    if isinstance(opts.style_scale, tuple) and len(opts.style_scale) not in (1, len(styles)):
        raise UserError(f"--style-scale has {len(opts.style_scale)} values for "
                        f"{len(styles)} style images")
    return styles


def _style_scales(opts: TransferOptions, count: int) -> tuple[float, ...]:
    scales = opts.style_scale if isinstance(opts.style_scale, tuple) else (opts.style_scale,)
    return scales * count if len(scales) == 1 else scales


def _set_style_targets(loss: PerceptualLoss | TiledLoss, styles: list[Image.Image | None],
                       regions: guides.Regions | None, size: tuple[int, int],
                       opts: TransferOptions) -> None:
    """Style targets for one rung: blended over the whole image, or one per mask region."""
    tensors = [None if s is None else _tensor(s, _style_size(s, size, scale), opts.device)
               for s, scale in zip(styles, _style_scales(opts, len(styles)), strict=True)]
    if regions is None:
        loss.set_style(tensors, opts.style_blend)
    else:
        loss.set_regions(tensors, regions.guides(size).to(opts.device))


def _finish(result: torch.Tensor, content: Image.Image, regions: guides.Regions | None,
            styles: list[Image.Image | None], opts: TransferOptions) -> torch.Tensor:
    """Colour recombination and unstylized regions, applied to a result."""
    result = color.finish(result, content, opts.preserve_colors)
    if regions is not None:
        height, width = result.shape[-2:]
        content_tensor = _tensor(content, (width, height), str(result.device))
        result = guides.keep_content(result, content_tensor, regions.guides((width, height)),
                                     [s is None for s in styles])
    return result


def _finishing_snapshot(snapshot: SnapshotCallback | None, content: Image.Image,
                        regions: guides.Regions | None, styles: list[Image.Image | None],
                        opts: TransferOptions) -> SnapshotCallback | None:
    if snapshot is None or (opts.preserve_colors in (None, "match") and regions is None):
        return snapshot
    return lambda image, label: snapshot(_finish(image, content, regions, styles, opts), label)


__all__ = ["LAYER_NAMES", "Progress", "TransferOptions", "TransferResult", "ladder", "transfer"]
