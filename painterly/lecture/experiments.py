"""The lecture's experiments: what the layers of VGG-19 keep of an image, what they learned, and
what style transfer makes of one photo and several paintings.

* content reconstruction: white noise optimized so that one layer's features match the image's
  (L_content = 1/2 sum (F - P)^2, the content term of
  :class:`~painterly.style.losses.PerceptualLoss`);
* style reconstruction (texture synthesis): white noise optimized so that the Gram matrices of
  chosen layers match the image's (the style term of the same loss, w_l = 1/L);
* feature maps of a layer and the filters (kernels) of a convolution, as labelled grids;
* result grids: a content image transferred into several styles, or across a weight sweep.

All optimization goes through :func:`painterly.optim.optimize.optimize_pixels`; progress flows
out as the typed events of :mod:`painterly.style.events`, counted over a whole figure, with a
:class:`~painterly.style.events.PartStarted` before each of its parts.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from painterly.errors import UserError
from painterly.io import figures, images
from painterly.nets.devices import AUTO, resolve_device
from painterly.nets.vgg import (
    CONV_NAMES,
    DEFAULT_STYLE_LAYERS,
    MIN_SIDE,
    check_layers,
    load_vgg19,
)
from painterly.optim.optimize import LossTerms, optimize_pixels
from painterly.options import (
    OptionError,
    check_value,
    field_named,
    option,
    resolve,
    same_as,
    validate,
)
from painterly.runs import eta
from painterly.style.events import Evaluated, Event, Listener, PartStarted, Snapshot
from painterly.style.losses import PerceptualLoss
from painterly.style.options import MAX_SIZE, TransferOptions
from painterly.style.schedule import build
from painterly.style.transfer import transfer

CONTENT_LAYERS = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")
"""Layers of the lecture's content reconstruction figure (a)-(e). The paper's "conv1_2" ... were
computed in Caffe, whose ReLU works in place: they are painterly's ``relu`` layers."""

STYLE_LAYERS = DEFAULT_STYLE_LAYERS
"""Layers of the lecture's style reconstruction figure, added one at a time."""

SWEEP_PARAMETERS = ("content-weight", "style-weight", "tv-weight", "style-scale")
"""Transfer options a weight sweep can vary."""

@dataclass
class ReconstructionOptions:
    """Settings of a reconstruction from white noise, with their defaults."""

    size: int = option(256, "long side of the image in pixels", low=MIN_SIDE, high=MAX_SIZE,
                       main=True, label="Size (long side, px)")
    steps: int = option(300, "evaluations (forward+backward passes) per reconstruction", low=1,
                        main=True, label="Steps")
    seed: int = option(0, "seed of the white noise the optimization starts from", main=True,
                       label="Seed")
    noise: float = option(
        0.2, "amplitude of the white noise the optimization starts from, around mid-gray; 1 = "
             "the whole 0..1 range (pixel noise the layers barely see is slow to remove, so a "
             "quieter start reaches the lecture's near-perfect low-layer reconstructions in "
             "fewer steps)", low=0.001, high=1, label="Start noise (amplitude)")
    optimizer: str = same_as(TransferOptions, "optimizer")
    learning_rate: float = same_as(TransferOptions, "learning_rate")
    pooling: str = same_as(TransferOptions, "pooling")
    weights: str | None = same_as(TransferOptions, "weights")
    weights_layout: str | None = same_as(TransferOptions, "weights_layout")
    device: str = same_as(TransferOptions, "device")

    def validated(self) -> ReconstructionOptions:
        """Raise :class:`~painterly.options.OptionError` for any bad value; returns self."""
        return validate(self)


@dataclass
class Reconstruction:
    """One image optimized from white noise to match what ``layers`` see of the original."""

    kind: str
    """``content`` or ``style``."""
    layers: tuple[str, ...]
    image: Image.Image
    tensor: torch.Tensor
    original: torch.Tensor
    """The original at the same size (RGB 0..1)."""
    start_terms: LossTerms
    """The loss at the white-noise start."""
    terms: LossTerms
    """The loss of the result."""
    evaluations: int
    seconds: float
    interrupted: bool = False

    @property
    def psnr(self) -> float:
        """Peak signal-to-noise ratio of the result against the original, in dB."""
        return psnr(self.tensor, self.original)

    @property
    def loss_reduction(self) -> float:
        """Start loss / final loss (how many times the optimization lowered it)."""
        return self.start_terms.total / max(self.terms.total, 1e-30)


def psnr(image: torch.Tensor, reference: torch.Tensor) -> float:
    """10 log10(1 / MSE) for images in 0..1, after rounding both to 8 bits as saved."""
    a = (image.detach().float().clamp(0, 1) * 255).round()
    b = (reference.detach().float().clamp(0, 1) * 255).round()
    mse = float((a - b).pow(2).mean()) / 255**2
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def _options(options: dict) -> ReconstructionOptions:
    opts = resolve(ReconstructionOptions, options)
    return dataclasses.replace(opts, device=resolve_device(opts.device))


class _Counter:
    """Turns the events of several optimizations into one stream for a whole figure: counts
    over all its parts, a PartStarted before each."""

    def __init__(self, total: int, parts: Sequence[str], on_event: Listener | None,
                 should_stop: Callable[[], bool] | None, snapshots: bool = False):
        self.total, self.parts, self.on_event = total, list(parts), on_event
        self.should_stop, self.snapshots = should_stop, snapshots
        self.done = 0
        self.part = 0
        self.start = time.perf_counter()

    def begin(self) -> None:
        """The next part starts."""
        self.part += 1
        if self.on_event is not None:
            self.on_event(PartStarted(part=self.part, parts=len(self.parts),
                                      label=self.parts[self.part - 1]))

    def relay(self, event: Event) -> None:
        """Forward one part's event, evaluations counted over the whole figure."""
        if self.on_event is None:
            return
        if isinstance(event, Evaluated):
            done = self.done + event.done
            elapsed = time.perf_counter() - self.start
            event = dataclasses.replace(event, done=done, total=self.total, elapsed=elapsed,
                                        eta=eta(elapsed, done, self.total - done, at_least=2))
        elif isinstance(event, Snapshot) and event.kind == "final":
            return  # the figure's own result is the final one
        self.on_event(event)

    def evaluation_callback(self, size: tuple[int, int], steps: int):
        def on_evaluation(step: int, terms: LossTerms, image: torch.Tensor) -> None:
            self.relay(Evaluated(rung=0, rungs=1, size=size, step=step, steps=steps, done=step,
                                 total=steps, terms=terms, elapsed=0.0, eta=None))
            if self.snapshots and self.on_event is not None:
                self.on_event(Snapshot(image=image.clamp(0, 1), kind="periodic", rung=0,
                                       step=step))
        return on_evaluation

    def stop_requested(self) -> bool:
        return self.should_stop is not None and self.should_stop()

    def finish(self, evaluations: int) -> None:
        self.done += evaluations


def white_noise(like: torch.Tensor, seed: int, amplitude: float = 1.0) -> torch.Tensor:
    """Uniform white noise of ``like``'s shape in 0.5 +- amplitude/2."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(like.shape, generator=generator).to(like.device)
    return 0.5 + amplitude * (noise - 0.5)


def _reconstruct(kind: str, original: torch.Tensor, layers: Sequence[str],
                 opts: ReconstructionOptions, counter: _Counter) -> Reconstruction:
    vgg = load_vgg19(opts.weights, opts.pooling, opts.weights_layout, opts.device)
    if kind == "content":
        loss = PerceptualLoss(vgg, content_layer=layers[0], style_layers=(), style_weight=0.0)
        loss.set_content(original)
    else:
        loss = PerceptualLoss(vgg, content_layer=None, style_layers=layers, content_weight=0.0)
        loss.set_style([original])
    start = white_noise(original, opts.seed, opts.noise)
    with torch.no_grad():
        _, start_terms = loss(start)
    size = (original.shape[-1], original.shape[-2])
    counter.begin()
    outcome = optimize_pixels(loss, start, steps=opts.steps, method=opts.optimizer,
                              learning_rate=opts.learning_rate,
                              callback=counter.evaluation_callback(size, opts.steps),
                              should_stop=counter.stop_requested)
    counter.finish(outcome.evaluations)
    return Reconstruction(kind, tuple(layers), images.to_image(outcome.image),
                          outcome.image.cpu(), original.cpu(), start_terms,
                          outcome.terms or start_terms,
                          outcome.evaluations, outcome.seconds,
                          outcome.interrupted or outcome.stopped)


def _original(image: images.ImageSource, size: int, device: str) -> torch.Tensor:
    loaded = images.load_image(image)
    needed = images.smallest_long_side(*loaded.size, MIN_SIDE)
    if size < needed:
        raise OptionError("size", f"{size} is too small for the {loaded.width}x{loaded.height} "
                                  f"image: every network layer needs a short side of at least "
                                  f"{MIN_SIDE} px; use {needed} or more")
    loaded = images.resize_long_side(loaded, size)
    return images.to_tensor(loaded).to(device)


def _series(kind: str, image: images.ImageSource, layer_sets: Sequence[Sequence[str]],
            on_event: Listener | None, should_stop: Callable[[], bool] | None,
            options: dict, snapshots: bool = False) -> list[Reconstruction]:
    opts = _options(options)
    if not layer_sets or any(not layers for layers in layer_sets):
        raise UserError("give at least one layer")
    for layers in layer_sets:
        check_layers(layers)
    original = _original(image, opts.size, opts.device)
    torch.manual_seed(opts.seed)
    counter = _Counter(opts.steps * len(layer_sets), ["+".join(layers) for layers in layer_sets],
                       on_event, should_stop, snapshots)
    results = []
    for layers in layer_sets:
        results.append(_reconstruct(kind, original, layers, opts, counter))
        if results[-1].interrupted:
            break
    return results


def reconstruct_content(image: images.ImageSource, layer: str | Sequence[str], *,
                        on_event: Listener | None = None,
                        should_stop: Callable[[], bool] | None = None,
                        snapshots: bool = False,
                        **options) -> Reconstruction | list[Reconstruction]:
    """Optimize white noise until its features at ``layer`` match those of ``image``.

    With a list of layers, one reconstruction per layer (the lecture's figure (a)-(e)).
    ``options`` are the fields of :class:`ReconstructionOptions`; ``on_event`` gets the events
    of the whole figure (with ``snapshots``: the current image after every evaluation).
    """
    layers = [layer] if isinstance(layer, str) else list(layer)
    results = _series("content", image, [[name] for name in layers], on_event, should_stop,
                      options, snapshots)
    return results[0] if isinstance(layer, str) else results


def reconstruct_style(image: images.ImageSource, layers: Sequence[str], *,
                      on_event: Listener | None = None,
                      should_stop: Callable[[], bool] | None = None,
                      snapshots: bool = False, **options) -> Reconstruction:
    """Optimize white noise until its Gram matrices at ``layers`` match those of ``image``
    (texture synthesis)."""
    return _series("style", image, [list(layers)], on_event, should_stop, options,
                   snapshots)[0]


def cumulative(layers: Sequence[str]) -> list[list[str]]:
    """[a, b, c] -> [[a], [a, b], [a, b, c]]."""
    return [list(layers[: index + 1]) for index in range(len(layers))]


def reconstruct_style_cumulative(image: images.ImageSource, layers: Sequence[str], *,
                                 on_event: Listener | None = None,
                                 should_stop: Callable[[], bool] | None = None,
                                 snapshots: bool = False, **options) -> list[Reconstruction]:
    """One texture per prefix of ``layers``: the lecture's style reconstruction figure."""
    return _series("style", image, cumulative(layers), on_event, should_stop, options,
                   snapshots)


def reconstruction_figure(results: Sequence[Reconstruction], *, heading: str | None = None,
                          show_original: bool = True, tile_height: int | None = None,
                          ) -> Image.Image:
    """The reconstructions side by side, each titled (a) layer ... with its PSNR (content) or
    its Gram-loss reduction (style), after the original."""
    tiles, titles = [], []
    if show_original:
        tiles.append(images.to_image(results[0].original))
        titles.append("original")
    for index, result in enumerate(results):
        letter = chr(ord("a") + index)
        if result.kind == "content":
            name, detail = result.layers[0], f"{result.psnr:.1f} dB"
        else:
            name = result.layers[0] if len(result.layers) == 1 else \
                f"+{result.layers[-1]}"
            detail = f"/{result.loss_reduction:.0e}".replace("e+0", "e")
        tiles.append(result.image)
        titles.append(f"({letter}) {name} {detail}")
    width = results[0].image.width * (tile_height or results[0].image.height) \
        // results[0].image.height
    return figures.image_grid(tiles, titles, heading=heading, tile_height=tile_height,
                              font_size=max(10, min(14, width // 13)))


# -- feature maps and filters ------------------------------------------------------------------

def parse_indices(text: str | None, count: int, *, default: int = 64,
                  what: str = "map") -> list[int]:
    """'0-7,12' -> [0..7, 12]; None -> the first ``default``; 'all' -> every index."""
    if text is None:
        return list(range(min(default, count)))
    if text.strip() == "all":
        return list(range(count))
    chosen: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            if "-" in part:
                first, last = (int(v) for v in part.split("-", 1))
                chosen += list(range(first, last + 1))
            else:
                chosen.append(int(part))
        except ValueError:
            raise UserError(f"bad {what} list '{text}': use numbers and ranges like 0-7,12") \
                from None
    bad = [index for index in chosen if not 0 <= index < count]
    if bad or not chosen:
        raise UserError(f"{what} numbers must be between 0 and {count - 1}, got '{text}'")
    return chosen


def feature_maps(image: images.ImageSource, layer: str, *, size: int = 256,
                 weights: str | None = None, pooling: str = "max",
                 device: str = AUTO) -> torch.Tensor:
    """The activations of ``layer`` for ``image`` at ``size`` px: shape (maps, H, W)."""
    check_layers([layer])
    check_value(field_named(ReconstructionOptions, "size"), size)  # the one size rule
    device = resolve_device(device)
    vgg = load_vgg19(weights, pooling, device=device)
    with torch.no_grad():
        return vgg(_original(image, size, device), [layer])[layer][0].cpu()


def _gray_tile(values: torch.Tensor, scale: int = 1) -> Image.Image:
    """A 2-D map stretched to 0..255 (its own min..max), enlarged ``scale`` times."""
    low, high = float(values.min()), float(values.max())
    normalized = (values - low) / (high - low) if high > low else torch.zeros_like(values)
    tile = Image.fromarray((normalized.numpy() * 255).round().astype(np.uint8), "L")
    if scale > 1:
        tile = tile.resize((tile.width * scale, tile.height * scale), Image.Resampling.NEAREST)
    return tile


def feature_map_figure(image: images.ImageSource, layer: str, *, maps: str | None = None,
                       size: int = 256, columns: int = 8, tile_height: int = 96,
                       weights: str | None = None) -> Image.Image:
    """The activation maps of ``layer`` as a numbered grid (each map stretched to its own
    range: black = its lowest value, white = its highest). ``maps`` picks them ('0-15,40');
    by default the first 64."""
    activations = feature_maps(image, layer, size=size, weights=weights)
    chosen = parse_indices(maps, activations.shape[0], what="map")
    tiles = [_gray_tile(activations[index]) for index in chosen]
    height, width = activations.shape[-2:]
    heading = (f"{layer}: {len(chosen)} of {activations.shape[0]} feature maps "
               f"({width}x{height}), black = lowest, white = highest")
    figure = figures.image_grid(tiles, [str(index) for index in chosen],
                                columns=min(columns, len(tiles)), tile_height=tile_height,
                                heading=heading, gap=4, font_size=12)
    return figure.convert("L")  # all gray: a third of the file size


def filter_figure(layer: str = "conv1_1", *, filters: str | None = None, channel: int = 0,
                  columns: int = 8, tile_size: int = 48, weights: str | None = None,
                  weights_layout: str | None = None) -> Image.Image:
    """The 3x3 kernels of a convolution as a numbered grid of enlarged patches.

    ``conv1_1``: each kernel's three input channels as one RGB colour patch (64 patches).
    Deeper layers: the kernels' weights on input ``channel``, in gray. Each patch is stretched to
    its own range; ``filters`` picks which ('0-15,40'), by default the first 64.
    """
    name = layer.replace("relu", "conv")
    if name not in CONV_NAMES:
        raise UserError(f"'{layer}' has no filters: choose a convolution, "
                        f"one of {', '.join(CONV_NAMES)}")
    vgg = load_vgg19(weights, "max", weights_layout)
    kernels = vgg.conv_weight(name).cpu()
    chosen = parse_indices(filters, kernels.shape[0], what="filter")
    scale = max(1, tile_size // 3)
    if kernels.shape[1] == 3:
        if vgg.preprocessing.bgr:
            kernels = kernels.flip(1)  # the network reads BGR: show the patches in RGB
        tiles = []
        for index in chosen:
            kernel = kernels[index]
            normalized = (kernel - kernel.min()) / (kernel.max() - kernel.min()).clamp_min(1e-12)
            patch = images.to_image(normalized)
            tiles.append(patch.resize((3 * scale, 3 * scale), Image.Resampling.NEAREST))
        heading = f"{name}: {len(chosen)} of {kernels.shape[0]} learned 3x3x3 filters (RGB)"
    else:
        if not 0 <= channel < kernels.shape[1]:
            raise UserError(f"channel must be between 0 and {kernels.shape[1] - 1} for {name}")
        tiles = [_gray_tile(kernels[index, channel], scale) for index in chosen]
        heading = (f"{name}: {len(chosen)} of {kernels.shape[0]} filters, 3x3 weights on "
                   f"input channel {channel} of {kernels.shape[1]}")
    return figures.image_grid(tiles, [str(index) for index in chosen],
                              columns=min(columns, len(tiles)), heading=heading, gap=6,
                              font_size=12)


# -- result grids --------------------------------------------------------------------------

def image_title(source: images.ImageSource, fallback: str) -> str:
    """A short title for an image: a file's or example's name without extension."""
    if isinstance(source, Image.Image):
        return fallback
    return images.resolve_source(source).stem.replace("_", " ")


def _transfer_total(content: Image.Image, options: dict) -> int:
    opts = resolve(TransferOptions, options)
    return sum(rung.steps for rung in build(*content.size, opts.size, opts.min_size,
                                            opts.coarse_steps, opts.steps, opts.scale_ratio))


@dataclass
class GridResult:
    figure: Image.Image
    results: list[Image.Image]
    seconds: float
    interrupted: bool = False


def result_grid(content: images.ImageSource, styles: Sequence[images.ImageSource], *,
                sweep: tuple[str, Sequence[float]] | None = None,
                on_event: Listener | None = None,
                should_stop: Callable[[], bool] | None = None, **options) -> GridResult:
    """The content image and its transfer into each style (one row), like the lecture's results
    slide; each result carries its painting as an inset. With ``sweep=("style-weight",
    [1e2, 1e3, 1e4])`` one row per style, one column per value. ``options`` are the fields of
    :class:`~painterly.style.transfer.TransferOptions` (shared by every run)."""
    if not styles:
        raise UserError("give at least one style image")
    content_image = images.load_image(content, what="content image")
    style_images = [images.load_image(style, what="style image") for style in styles]
    names = [image_title(s, f"style {i + 1}") for i, s in enumerate(styles)]
    runs: list[tuple[int, dict]] = []
    if sweep is None:
        runs = [(index, dict(options)) for index in range(len(style_images))]
    else:
        parameter, values = sweep
        if parameter not in SWEEP_PARAMETERS:
            raise UserError(f"sweep: choose a parameter from {', '.join(SWEEP_PARAMETERS)}")
        if not values:
            raise UserError("a sweep needs at least one value, e.g. style-weight=1e2,1e3,1e4")
        field = parameter.replace("-", "_")
        runs = [(index, {**options, field: value}) for index in range(len(style_images))
                for value in values]
    labels = [names[index] if sweep is None else
              f"{names[index]}, {sweep[0]} {run_options[sweep[0].replace('-', '_')]:g}"
              for index, run_options in runs]
    counter = _Counter(sum(_transfer_total(content_image, o) for _, o in runs), labels,
                       on_event, should_stop)
    start = time.perf_counter()
    results: list[Image.Image] = []
    interrupted = False
    for index, run_options in runs:
        counter.begin()
        outcome = transfer(content_image, style_images[index], on_event=counter.relay,
                           should_stop=counter.stop_requested, **run_options)
        counter.finish(outcome.evaluations)
        results.append(outcome.image)
        if outcome.interrupted or counter.stop_requested():
            interrupted = True
            break
    shown = images.resize_long_side(content_image, max(results[0].size))
    tiles, titles = [], []
    if sweep is None:
        tiles.append(shown)
        titles.append(image_title(content, "content"))
        for (index, _), result in zip(runs, results, strict=False):
            tiles.append(figures.with_inset(result, style_images[index]))
            titles.append(names[index])
        columns = len(tiles)
        heading = None
    else:
        parameter, values = sweep
        for position, ((index, _), result) in enumerate(zip(runs, results, strict=False)):
            if position % len(values) == 0:
                tiles.append(shown)
                titles.append(f"content / {names[index]}")
            tiles.append(figures.with_inset(result, style_images[index]))
            titles.append(f"{parameter} {values[position % len(values)]:g}")
        columns = len(values) + 1
        heading = f"{parameter} sweep"
    figure = figures.image_grid(tiles, titles, columns=columns, heading=heading, font_size=14)
    return GridResult(figure, results, time.perf_counter() - start, interrupted)
