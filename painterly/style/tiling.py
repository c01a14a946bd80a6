"""Tiled evaluation of the style-transfer objective, for images too large to evaluate at once.

The image is cut into tiles on a grid aligned to the network's coarsest stride (16 px to
relu5_1); each tile is evaluated with a halo of context around it at least as wide as the
receptive field's radius, and only the features of its own core positions count. Because the
core positions of the tiles partition the feature maps of the whole image:

* the whole image's Gram matrix is the sum of the cores' Gram matrices (first pass, no autograd),
  and so are the sums behind each channel's mean and deviation (the ``meanstd`` statistic);
* the content loss is the sum of the cores' content losses;
* the gradient of the whole objective is the sum of the tiles' gradients: each tile back-propagates
  ``sum(dE/dG * G_core)`` with ``dE/dG`` computed from the whole image's Gram (second pass); for
  ``meanstd``, ``sum(a F + b/2 (F - mean)^2)`` with ``a``, ``b`` from the distance's gradient.

Masks (guided statistics) are not split over tiles: a run that needs tiles refuses them.

The result equals the untiled evaluation up to float rounding: there are no seams to blend
because nothing is approximated. Memory is that of one tile plus the image and its targets.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from painterly.nets.vgg import DEFAULT_STYLE_LAYERS, LAYER_NAMES
from painterly.style.losses import (
    REFERENCE_PIXELS,
    STD_EPS,
    LossTerms,
    PerceptualLoss,
    blend_statistics,
    content_loss,
    gram_matrix,
    statistic_loss,
    style_layer_gradient,
    style_layer_loss,
    style_side,
)


def layer_stride(name: str) -> int:
    """Pixels between neighbouring feature positions of layer ``name``."""
    index = LAYER_NAMES.index(name)
    return 2 ** sum(1 for n in LAYER_NAMES[:index] if n.startswith("pool"))


def receptive_radius(name: str) -> int:
    """How far (in pixels) beyond its own position a feature of ``name`` sees."""
    field, jump = 1, 1
    for n in LAYER_NAMES[: LAYER_NAMES.index(name) + 1]:
        if n.startswith("conv"):
            field += 2 * jump
        elif n.startswith("pool"):
            field += jump
            jump *= 2
    return math.ceil(field / 2)


@dataclass(frozen=True)
class Tile:
    """A core region [y0, y1) x [x0, x1) and the window [wy0, wy1) x [wx0, wx1) evaluated for it."""

    y0: int
    y1: int
    x0: int
    x1: int
    wy0: int
    wy1: int
    wx0: int
    wx1: int

    def core(self, features: torch.Tensor, stride: int) -> torch.Tensor:
        """The core positions of a window's ``features`` (at ``stride``)."""
        top, left = (self.y0 - self.wy0) // stride, (self.x0 - self.wx0) // stride
        bottom = self.y1 // stride - self.wy0 // stride
        right = self.x1 // stride - self.wx0 // stride
        return features[..., top:bottom, left:right]

    def place(self, stride: int) -> tuple[slice, slice]:
        """Where the core's features lie in the whole image's feature map."""
        return (slice(self.y0 // stride, self.y1 // stride),
                slice(self.x0 // stride, self.x1 // stride))


def aligned_halo(deepest: str) -> int:
    """Context evaluated around a tile for features up to layer ``deepest``: the receptive
    radius, rounded up to the grid's alignment (what :func:`grid` uses)."""
    align = max(16, layer_stride(deepest))
    return math.ceil(receptive_radius(deepest) / align) * align


DEFAULT_HALO = aligned_halo(DEFAULT_STYLE_LAYERS[-1])
"""The halo for the default layers (relu5_1: 80 px); the memory plan assumes it."""


def grid(height: int, width: int, tile: int, halo: int, align: int = 16) -> list[Tile]:
    """Tiles of about ``tile`` pixels (rounded up to ``align``) covering an image."""
    tile = max(align, math.ceil(tile / align) * align)
    halo = math.ceil(halo / align) * align
    tiles = []
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(height, y0 + tile), min(width, x0 + tile)
            if height - y1 < align:  # a sliver below the last aligned row joins this tile
                y1 = height
            if width - x1 < align:
                x1 = width
            tiles.append(Tile(y0, y1, x0, x1, max(0, y0 - halo), min(height, y1 + halo),
                              max(0, x0 - halo), min(width, x1 + halo)))
            if x1 == width:
                break
        if tiles[-1].y1 == height:
            break
    return tiles


class _Precomputed(torch.autograd.Function):
    """A scalar whose gradient with respect to the image was computed already."""

    @staticmethod
    def forward(ctx, image, value, gradient):
        ctx.save_for_backward(gradient)
        return value.clone()

    @staticmethod
    def backward(ctx, grad_output):
        (gradient,) = ctx.saved_tensors
        return grad_output * gradient, None, None


class TiledLoss:
    """The objective of a :class:`~painterly.style.losses.PerceptualLoss` (same weights and layers),
    evaluated tile by tile. ``set_content``/``set_style`` are tiled as well."""

    def __init__(self, loss: PerceptualLoss, tile: int):
        self.loss = loss
        self.tile = tile
        deepest = max(loss.layers, key=LAYER_NAMES.index)
        self.align = layer_stride(deepest)
        self.halo = receptive_radius(deepest)
        self.strides = {name: layer_stride(name) for name in loss.layers}

    def tiles(self, image: torch.Tensor) -> list[Tile]:
        return grid(image.shape[-2], image.shape[-1], self.tile, self.halo, max(16, self.align))

    def _windows(self, image: torch.Tensor, layers: Sequence[str]
                 ) -> Iterator[tuple[Tile, dict[str, torch.Tensor]]]:
        for tile in self.tiles(image):
            window = image[..., tile.wy0:tile.wy1, tile.wx0:tile.wx1]
            features = self.loss.features(window, layers)
            yield tile, {n: tile.core(features[n], self.strides[n]) for n in layers}

    @torch.no_grad()
    def _grams(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Whole-image Gram matrices divided by the positions (G / M), summed over the cores."""
        grams: dict[str, torch.Tensor] = {}
        positions: dict[str, int] = {}
        for _, cores in self._windows(image, self.loss.style_layers):
            for name, core in cores.items():
                grams[name] = grams.get(name, 0) + gram_matrix(core)
                positions[name] = positions.get(name, 0) + core.shape[-1] * core.shape[-2]
        return {name: grams[name] / positions[name] for name in grams}

    @torch.no_grad()
    def _mean_std(self, image: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Whole-image channel means and deviations, from sums over the cores (in float64)."""
        sums: dict[str, torch.Tensor] = {}
        squares: dict[str, torch.Tensor] = {}
        positions: dict[str, int] = {}
        for _, cores in self._windows(image, self.loss.style_layers):
            for name, core in cores.items():
                flat = core.flatten(2).double()
                sums[name] = sums.get(name, 0) + flat.sum(-1)
                squares[name] = squares.get(name, 0) + flat.pow(2).sum(-1)
                positions[name] = positions.get(name, 0) + flat.shape[-1]
        statistics = {}
        for name, total in sums.items():
            mean = total / positions[name]
            variance = (squares[name] / positions[name] - mean.pow(2)).clamp_min(0)
            statistics[name] = (mean.float(), (variance + STD_EPS).sqrt().float())
        return statistics

    def _statistics(self, image: torch.Tensor) -> dict[str, tuple[torch.Tensor, ...]]:
        """The style statistic of the whole image per layer: ``(G / M,)`` or ``(mean, std)``."""
        if self.loss.style_loss == "gram":
            return {name: (gram,) for name, gram in self._grams(image).items()}
        return self._mean_std(image)

    @torch.no_grad()
    def set_content(self, image: torch.Tensor) -> None:
        name = self.loss.content_layer
        if not name:
            return
        stride = self.strides[name]
        target = None
        for tile, cores in self._windows(image, [name]):
            core = cores[name]
            if target is None:
                target = core.new_zeros(*core.shape[:2], image.shape[-2] // stride,
                                        image.shape[-1] // stride, dtype=torch.float32)
            target[(..., *tile.place(stride))] = core
        self.loss.use_content_target(target)

    @torch.no_grad()
    def set_style(self, images: Sequence[torch.Tensor],
                  blend: Sequence[float] | None = None) -> None:
        if not self.loss.style_layers:
            return
        statistics = [self._statistics(image) for image in images]
        self.loss.use_style_targets(blend_statistics(statistics, blend), style_side(images))

    def set_regions(self, images: Sequence[torch.Tensor | None], guides: torch.Tensor) -> None:
        raise ValueError("tiled evaluation does not support style regions (masks)")

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, LossTerms]:
        loss = self.loss
        terms = LossTerms(total=0.0)
        pixels = image.shape[-1] * image.shape[-2]
        with torch.no_grad():
            x = image.detach()
            coefficients: dict[str, torch.Tensor | tuple[torch.Tensor, ...]] = {}
            value = x.new_zeros(())
            if loss.style_weight and loss.style_layers:
                style = x.new_zeros(())
                for name, statistic in self._statistics(x).items():
                    target = loss.style_targets[name]
                    factor = loss.style_weight * loss.layer_weights[name]
                    if loss.style_loss == "gram":
                        gram, channels = statistic[0], statistic[0].shape[-1]
                        layer = style_layer_loss(gram, target, channels, 1)
                        coefficients[name] = style_layer_gradient(
                            gram, target, channels, self._positions(x, name), factor)
                    else:
                        layer, coefficients[name] = self._moment_coefficients(
                            statistic, target, self._positions(x, name), factor)
                    terms.per_layer[name] = float(layer)
                    style += loss.layer_weights[name] * layer
                value += loss.style_weight * style
                terms.style = float(style)
            content_scale = loss.content_weight * REFERENCE_PIXELS / pixels \
                if loss.content_layer and loss.content_weight else 0.0
            gradient = torch.zeros_like(x)
            content = 0.0
        layers = list(coefficients) + ([loss.content_layer] if content_scale else [])
        if layers:
            for tile in self.tiles(x):
                window = x[..., tile.wy0:tile.wy1, tile.wx0:tile.wx1].clone().requires_grad_(True)
                features = loss.features(window, layers)
                surrogate = window.new_zeros(())
                for name, coefficient in coefficients.items():
                    core = tile.core(features[name], self.strides[name])
                    if isinstance(coefficient, torch.Tensor):  # dE/dG
                        surrogate = surrogate + (gram_matrix(core) * coefficient).sum()
                    else:  # a, b/2 and the mean, per channel
                        a, half_b, mean = (c[..., None, None] for c in coefficient)
                        f = core.float()
                        surrogate = surrogate + (f * a).sum() + ((f - mean).pow(2) * half_b).sum()
                if content_scale:
                    name = loss.content_layer
                    core = tile.core(features[name], self.strides[name])
                    target = loss.content_target[(..., *tile.place(self.strides[name]))]
                    part = content_loss(core, target)
                    content += float(part.detach())
                    surrogate = surrogate + content_scale * part
                (window_gradient,) = torch.autograd.grad(surrogate, window)
                gradient[..., tile.wy0:tile.wy1, tile.wx0:tile.wx1] += window_gradient
        if content_scale:
            terms.content = content * REFERENCE_PIXELS / pixels
            value = value + loss.content_weight * terms.content
        return loss.add_pixel_terms(image, _Precomputed.apply(image, value, gradient), terms)

    @staticmethod
    def _moment_coefficients(statistic: tuple[torch.Tensor, ...], target: tuple[torch.Tensor, ...],
                             positions: int, factor: float
                             ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """E_l of (mean, std) and what each tile back-propagates for ``factor * E_l``: with
        dE/dF = dE/dmean / M + dE/dstd (F - mean) / (M std), the surrogate
        sum(a F + b/2 (F - mean)^2) has that gradient for a = dE/dmean / M, b = dE/dstd / (M std).
        The distance's own gradient comes from autograd: it is written once, in losses."""
        mean, std = (part.detach().clone().requires_grad_(True) for part in statistic)
        with torch.enable_grad():
            layer = statistic_loss((mean, std), target, "meanstd")
            d_mean, d_std = torch.autograd.grad(layer, (mean, std))
        return layer.detach(), (factor * d_mean / positions,
                                factor * d_std / (2 * positions * std.detach()), mean.detach())

    @torch.no_grad()
    def style_value(self, image: torch.Tensor) -> float:
        """L_style of ``image`` (without beta), from its whole-image statistics."""
        loss = self.loss
        total = 0.0
        for name, statistic in self._statistics(image).items():
            target = loss.style_targets[name]
            target = (target,) if isinstance(target, torch.Tensor) else target
            total += loss.layer_weights[name] * float(
                statistic_loss(statistic, target, loss.style_loss))
        return total

    def _positions(self, image: torch.Tensor, name: str) -> int:
        stride = self.strides[name]
        return (image.shape[-2] // stride) * (image.shape[-1] // stride)


__all__ = ["Tile", "TiledLoss", "grid", "layer_stride", "receptive_radius"]
