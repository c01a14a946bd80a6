"""The lecture's experiments on the page: a chosen layer's feature maps for an image, and the
learned filters of a convolution, drawn by :mod:`painterly.lecture.experiments` (the figures of
``painterly features`` and ``painterly filters``). The reconstructions take minutes, so they are
runs (see :mod:`painterly.web.runs`), not requests."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from painterly.lecture import experiments

FEATURE_SIDE = 192
"""Long side the image is scaled to before the network sees it."""
MAX_MAPS = 64


def _first(count: int) -> str:
    """'0-(count-1)', with ``count`` kept within 1..MAX_MAPS."""
    return f"0-{max(1, min(count, MAX_MAPS)) - 1}"


def feature_maps_figure(image_path: Path, layer: str, count: int = 32) -> Image.Image:
    """The first ``count`` activation maps of ``layer`` for the image, numbered."""
    return experiments.feature_map_figure(image_path, layer, maps=_first(count),
                                          size=FEATURE_SIDE)


def filters_figure(layer: str, count: int = 64) -> Image.Image:
    """The first ``count`` kernels of a convolution: colour patches for ``conv1_1``, else their
    weights on the first input channel, in gray."""
    return experiments.filter_figure(layer, filters=_first(count))
