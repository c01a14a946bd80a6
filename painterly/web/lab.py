"""The lecture's experiments on the page: a chosen layer's feature maps for an image, and the
learned filters of a convolution.

The figures come from ``painterly.experiments`` (``feature_map_figure``, ``filter_figure``)
when it is installed; until then a thin stand-in on the core (VGG-19 and figures.image_grid)
draws them, so the page works either way."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch
from PIL import Image

from painterly import figures, images
from painterly.errors import UserError
from painterly.models.vgg import CONV_NAMES, check_layers, load_vgg19

FEATURE_SIDE = 192
"""Long side the image is scaled to before the network sees it."""
MAX_MAPS = 64


def _experiments_function(name: str):
    try:
        module = importlib.import_module("painterly.experiments")
    except ImportError:
        return None
    return getattr(module, name, None)


def _normalized_tile(values: torch.Tensor, side: int) -> Image.Image:
    """A 2-D tensor scaled to 0..255 gray, enlarged to ``side`` px (nearest neighbour)."""
    low, high = values.min(), values.max()
    scaled = (values - low) / (high - low) if high > low else torch.zeros_like(values)
    tile = Image.fromarray(scaled.mul(255).round().to(torch.uint8).numpy(), "L")
    return tile.resize(images.fit_long_side(*tile.size, side), Image.Resampling.NEAREST)


def feature_maps_figure(image_path: Path, layer: str, count: int = 32) -> Image.Image:
    """The first ``count`` activation maps of ``layer`` for the image, numbered."""
    check_layers([layer])
    count = max(1, min(count, MAX_MAPS))
    external = _experiments_function("feature_map_figure")
    if external is not None:
        return external(image_path, layer, maps=f"0-{count - 1}", size=FEATURE_SIDE)
    image = images.resize_long_side(images.load_image(image_path), FEATURE_SIDE)
    with torch.no_grad():
        maps = load_vgg19()(images.to_tensor(image), [layer])[layer][0]
    tiles = [_normalized_tile(maps[index], 96) for index in range(min(count, maps.shape[0]))]
    return figures.image_grid(tiles, [f"#{index}" for index in range(len(tiles))], columns=8,
                              heading=f"{layer}: {len(tiles)} of {maps.shape[0]} feature maps "
                                      f"({maps.shape[2]}x{maps.shape[1]})", font_size=12)


def filters_figure(layer: str, count: int = 64) -> Image.Image:
    """The kernels of a convolution: colour patches for ``conv1_1`` (3 input channels), else
    each filter's kernel on its first input channel, in gray."""
    check_layers([layer])
    if layer not in CONV_NAMES:
        raise UserError(f"filters exist for convolutions only: choose from {', '.join(CONV_NAMES)}")
    count = max(1, min(count, MAX_MAPS))
    external = _experiments_function("filter_figure")
    if external is not None:
        return external(layer, filters=f"0-{count - 1}")
    weight = load_vgg19().conv_weight(layer)[:count]
    if weight.shape[1] == 3:
        tiles = []
        for kernel in weight:
            low, high = kernel.min(), kernel.max()
            pixels = ((kernel - low) / (high - low)).flip(0) if high > low else kernel * 0
            tile = images.to_image(pixels)  # Caffe weights take BGR: flip to RGB for display
            tiles.append(tile.resize((48, 48), Image.Resampling.NEAREST))
        note = "RGB kernels"
    else:
        tiles = [_normalized_tile(kernel[0], 48) for kernel in weight]
        note = f"kernels on input channel 0 of {weight.shape[1]}"
    return figures.image_grid(tiles, [f"#{index}" for index in range(len(tiles))], columns=16,
                              heading=f"{layer}: {len(tiles)} filters, 3x3, {note}",
                              font_size=12)
