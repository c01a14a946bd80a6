"""Spatial control (Gatys et al. 2017): a mask image whose colours say which style goes where.

Each clear colour of the mask is one region; regions are taken in order of brightness (darkest
first) and matched to the style images in the order they were given. The style term of a region
uses guided Gram matrices: the region's mask, downsampled to each layer's feature map and eroded
by one position there, weights the feature positions. A region whose style is ``none`` keeps the
content: it gets no style term and the content's pixels are put back (with a soft edge) at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from painterly.errors import UserError
from painterly.io import images

KEEP_CONTENT = "none"
"""Style name that leaves a mask region unstylized."""

MIN_COLOUR_SHARE = 0.01
"""A colour counts as a region when it covers at least this share of the mask; other pixels (the
antialiased or JPEG-blurred edges) join the nearest region colour."""


def hex_colour(rgb: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


@dataclass
class Regions:
    """A mask split into regions: ``labels[y, x]`` is the index of the region colour there."""

    labels: np.ndarray
    colours: list[tuple[int, int, int]]

    def guides(self, size: tuple[int, int]) -> torch.Tensor:
        """Soft masks (K, 1, height, width) at ``size`` = (width, height), summing to 1."""
        one_hot = torch.stack([torch.from_numpy(self.labels == k).float()
                               for k in range(len(self.colours))])[:, None]
        width, height = size
        if one_hot.shape[-2:] == (height, width):
            return one_hot
        return F.interpolate(one_hot, size=(height, width), mode="bilinear",
                             align_corners=False, antialias=True).clamp(0, 1)


def load_mask(source: images.ImageSource, styles: int, size: tuple[int, int]) -> Regions:
    """Read a mask for a content image of ``size`` (width, height) and ``styles`` style images.

    A mask of another size is resized (nearest neighbour, so no new colours appear). It must have
    exactly one clear colour per style; otherwise a UserError names the colours found.
    """
    mask = images.load_image(source, what="mask")
    if mask.size != size:
        mask = mask.resize(size, Image.Resampling.NEAREST)
    pixels = np.asarray(mask, dtype=np.int64)
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    values, counts = np.unique(packed, return_counts=True)
    palette = values[counts >= MIN_COLOUR_SHARE * packed.size]
    colours = [((v >> 16) & 255, (v >> 8) & 255, v & 255) for v in palette.tolist()]
    colours.sort(key=lambda c: (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2], c))
    if len(colours) != styles:
        names = ", ".join(hex_colour(c) for c in colours) or "no clear colour"
        raise UserError(
            f"mask has {len(colours)} colour{'s' if len(colours) != 1 else ''} ({names}) but "
            f"{styles} style{'s' if styles != 1 else ''} given: give one style (or "
            f"'{KEEP_CONTENT}') per mask colour, darkest colour first")
    palette_array = np.array(colours, dtype=np.int64)
    distance = ((pixels[:, :, None, :] - palette_array[None, None]) ** 2).sum(-1)
    return Regions(distance.argmin(-1), colours)


def layer_guide(guide: torch.Tensor, size: tuple[int, int], erode: bool = True) -> torch.Tensor:
    """A (1, 1, H, W) guide at a feature map's (height, width): area-downsampled, then eroded
    with a 3x3 minimum so that positions whose receptive field straddles the edge count less.
    A region too small to survive erosion keeps its uneroded guide."""
    small = F.interpolate(guide, size=size, mode="area") if guide.shape[-2:] != size else guide
    if not erode:
        return small
    eroded = -F.max_pool2d(-small, kernel_size=3, stride=1, padding=1)
    return eroded if eroded.sum() >= 1 else small


def keep_content(result: torch.Tensor, content: torch.Tensor, guides: torch.Tensor,
                 keep: Sequence[bool]) -> torch.Tensor:
    """Put the content's pixels back in the regions marked ``keep`` (soft 3-pixel edge)."""
    if not any(keep):
        return result
    height, width = result.shape[-2:]
    mask = guides[[i for i, k in enumerate(keep) if k]].sum(0, keepdim=True)
    mask = F.interpolate(mask, size=(height, width), mode="bilinear", align_corners=False)
    mask = F.avg_pool2d(mask, kernel_size=3, stride=1, padding=1, count_include_pad=False)
    mask = mask.clamp(0, 1).to(result)
    return mask * content + (1 - mask) * result
