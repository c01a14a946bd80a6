"""How stylized a result looks, measured so that any tool's output can be scored the same way.

* colour distance: CIELAB statistics, mean over L*, a*, b* of |Δmean| + |Δstd| between the result
  and the painting (:func:`colour_channels` gives the three parts, L* on the 8-bit scale);
* style distance: sliced Wasserstein distance (64 fixed random directions, 1-D W1 over 256
  quantiles) between the result's and the painting's VGG-19 feature distributions at relu1_1,
  relu2_1, relu3_1 and relu4_1, summed. The painting is resized with bilinear, bicubic, lanczos
  and box filters and the lowest sum is kept, so a result is not penalized for the resampling
  filter its tool used on the painting;
* content distance: mean squared difference of relu4_2 features between result and photo;
* roughness: mean absolute difference between neighbouring pixels (0..255), the measure of the
  fine cross-hatch that a smoothness prior removes.
"""

from __future__ import annotations

import torch
from PIL import Image

from painterly.io import images
from painterly.nets.vgg import load_vgg19

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CONTENT_LAYER = "relu4_2"
FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
           "lanczos": Image.Resampling.LANCZOS, "box": Image.Resampling.BOX}
DIRECTIONS = 64
QUANTILES = 256


def srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(3, H, W) sRGB in 0..1 -> (3, H, W) CIELAB (D65)."""
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    matrix = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                           [0.2126729, 0.7151522, 0.0721750],
                           [0.0193339, 0.1191920, 0.9503041]])
    xyz = torch.einsum("ij,jhw->ihw", matrix, linear)
    xyz = xyz / torch.tensor([0.95047, 1.0, 1.08883]).view(3, 1, 1)
    f = torch.where(xyz > (6 / 29) ** 3, xyz.clamp_min(1e-12) ** (1 / 3),
                    xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return torch.stack([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


LIGHTNESS_SCALE = 2.55
"""L* (0..100) on the 8-bit scale of a* and b*: the lightness part of :func:`colour_channels`."""


def colour_channels(result: Image.Image, painting: Image.Image) -> tuple[float, float, float]:
    """|Δmean| + |Δstd| of L* (times LIGHTNESS_SCALE), a* and b* between result and painting."""
    a = srgb_to_lab(images.to_tensor(result)[0]).flatten(1)
    b = srgb_to_lab(images.to_tensor(painting)[0]).flatten(1)
    parts = (a.mean(1) - b.mean(1)).abs() + (a.std(1) - b.std(1)).abs()
    return float(parts[0] * LIGHTNESS_SCALE), float(parts[1]), float(parts[2])


def colour_distance(result: Image.Image, painting: Image.Image) -> float:
    """The mean of :func:`colour_channels` with L* unscaled (the eleven-pair table's measure)."""
    lightness, a, b = colour_channels(result, painting)
    return (lightness / LIGHTNESS_SCALE + a + b) / 3


def roughness(image: Image.Image) -> float:
    x = images.to_tensor(image)[0] * 255
    return float(((x[:, :, 1:] - x[:, :, :-1]).abs().mean()
                  + (x[:, 1:, :] - x[:, :-1, :]).abs().mean()) / 2)


def _quantiles(projected: torch.Tensor) -> torch.Tensor:
    ordered = projected.sort(dim=1).values
    count = ordered.shape[1]
    index = ((torch.arange(QUANTILES) + 0.5) / QUANTILES * count).long().clamp(max=count - 1)
    return ordered[:, index]


class Scorer:
    """Scores images against one painting and one photo at ``size`` px (long side)."""

    def __init__(self, painting: Image.Image, photo: Image.Image, size: int = 512):
        self.size = size
        self.vgg = load_vgg19()
        generator = torch.Generator().manual_seed(0)
        self.directions = {}
        for name in STYLE_LAYERS:
            channels = self.vgg(torch.zeros(1, 3, 32, 32), [name])[name].shape[1]
            d = torch.randn(DIRECTIONS, channels, generator=generator)
            self.directions[name] = d / d.norm(dim=1, keepdim=True)
        self.painting = images.resize_long_side(painting, size)
        self.painting_quantiles = [self._style_quantiles(_resize(painting, size, f))
                                   for f in FILTERS.values()]
        photo = images.resize_long_side(photo, size)
        self.photo_size = photo.size
        self.photo_features = self._features(photo, [CONTENT_LAYER])[CONTENT_LAYER]

    @torch.no_grad()
    def _features(self, image: Image.Image, layers) -> dict[str, torch.Tensor]:
        return self.vgg(images.to_tensor(image), layers)

    def _style_quantiles(self, image: Image.Image) -> dict[str, torch.Tensor]:
        features = self._features(image, STYLE_LAYERS)
        return {name: _quantiles(self.directions[name] @ features[name][0].flatten(1))
                for name in STYLE_LAYERS}

    def style_distance(self, image: Image.Image) -> float:
        mine = self._style_quantiles(images.resize_long_side(image, self.size))
        return min(sum(float((mine[n] - target[n]).abs().mean()) for n in STYLE_LAYERS)
                   for target in self.painting_quantiles)

    def content_distance(self, image: Image.Image) -> float:
        image = images.resize_long_side(image, self.size)
        if image.size != self.photo_size:
            image = image.resize(self.photo_size, Image.Resampling.LANCZOS)
        features = self._features(image, [CONTENT_LAYER])[CONTENT_LAYER]
        return float(((features - self.photo_features) ** 2).mean())

    def score(self, image: Image.Image) -> dict[str, float]:
        image = image.convert("RGB")
        return {"colour": colour_distance(images.resize_long_side(image, self.size),
                                          self.painting),
                "style": self.style_distance(image),
                "content": self.content_distance(image),
                "roughness": roughness(images.resize_long_side(image, self.size))}


def _resize(image: Image.Image, size: int, resample: Image.Resampling) -> Image.Image:
    return image.resize(images.fit_long_side(*image.size, size), resample)
