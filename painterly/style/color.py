"""Colour control (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer").

* ``luminance``: transfer on luminance only. Content and style become grey images of their
  luminance, the style's luminance shifted and scaled to the content's mean and spread; the
  stylized luminance is then recombined with the content's chroma.
* ``match``: recolour each style image so that its colours have the content's mean and
  covariance (a linear map, from symmetric matrix square roots via ``torch.linalg.eigh``, or
  Cholesky factors), then transfer as usual.
* ``yuv``: transfer as usual, then keep the result's luminance and the content's chroma.

The default start of a run (``init="palette"``) uses the same linear map the other way round: the
photo recoloured to the painting's colour mean and covariance. The optimization then begins in
the painting's palette with the photo's layout; from the photo itself it keeps most of the photo's
colours within a normal budget of evaluations (docs/look.md).

Luminance is Y = 0.299 R + 0.587 G + 0.114 B. Adding the same amount to R, G and B changes Y by
that amount and leaves the chroma (YIQ's I and Q, YUV's U and V) unchanged, so "result's luminance
with the content's chroma" is ``content + (Y(result) - Y(content))`` on every channel.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from painterly.io import images

PRESERVE_COLORS = ("luminance", "match", "yuv")
MATCH_MODES = ("pca", "chol")
LUMA = (0.299, 0.587, 0.114)
YIQ_CHROMA = ((0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def luminance(image: torch.Tensor) -> torch.Tensor:
    """Y of a (B, 3, H, W) RGB batch, shape (B, 1, H, W)."""
    weights = image.new_tensor(LUMA).view(1, 3, 1, 1)
    return (image * weights).sum(1, keepdim=True)


def chroma(image: torch.Tensor) -> torch.Tensor:
    """YIQ's I and Q of a (B, 3, H, W) RGB batch, shape (B, 2, H, W)."""
    return torch.einsum("cd,bdhw->bchw", image.new_tensor(YIQ_CHROMA), image)


def grey(luma: torch.Tensor) -> torch.Tensor:
    """A (B, 1, H, W) luminance as a grey RGB image, clipped to 0..1."""
    return luma.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Style luminance shifted and scaled to the content luminance's mean and standard deviation,
    as a grey RGB image."""
    s, c = luminance(style), luminance(content)
    return grey((s - s.mean()) / s.std().clamp_min(1e-6) * c.std() + c.mean())


def recombine(luma_source: torch.Tensor, colour_source: torch.Tensor) -> torch.Tensor:
    """The luminance of ``luma_source`` with the chroma of ``colour_source`` (same size),
    clipped to 0..1 (which only changes colours outside the RGB cube)."""
    shift = luminance(luma_source) - luminance(colour_source)
    return (colour_source + shift).clamp(0, 1)


def _matrix_power(covariance: torch.Tensor, power: float) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(covariance)
    return vectors @ torch.diag(values.clamp_min(1e-8) ** power) @ vectors.T


ColourStatistics = tuple[torch.Tensor, torch.Tensor]
"""Mean (3, 1) and covariance (3, 3) of an image's RGB values, float64."""


def colour_moments(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (3, 1) and population covariance (3, 3) of the colours of a (1, 3, H, W) image, in
    its number format and on its device (differentiable: the palette term uses it)."""
    pixels = image.flatten(2)[0]
    mean = pixels.mean(1, keepdim=True)
    centred = pixels - mean
    return mean, centred @ centred.T / pixels.shape[1]


def colour_statistics(image: torch.Tensor) -> ColourStatistics:
    """:func:`colour_moments` in float64 on the host."""
    return colour_moments(image.detach().double().cpu())


def mixture_statistics(parts: Sequence[ColourStatistics], weights: Sequence[float]
                       ) -> ColourStatistics:
    """Mean and covariance of the colours of several images pooled with ``weights``."""
    total = float(sum(weights))
    mean = sum(w / total * m for (m, _), w in zip(parts, weights, strict=True))
    second = sum(w / total * (c + m @ m.T) for (m, c), w in zip(parts, weights, strict=True))
    return mean, second - mean @ mean.T


def statistics_transform(source: ColourStatistics, target: ColourStatistics,
                         mode: str = "pca") -> tuple[torch.Tensor, torch.Tensor]:
    """(A, b) such that A x + b maps colours with the ``source`` statistics to the ``target``
    mean and covariance: A = C_t^1/2 C_s^-1/2 (``pca``) or L_t L_s^-1 (``chol``)."""
    if mode not in MATCH_MODES:
        raise ValueError(f"unknown colour matching mode '{mode}'")
    (mean_s, cov_s), (mean_t, cov_t) = source, target
    eye = torch.eye(3, dtype=torch.float64) * 1e-7  # keeps flat (one-colour) images invertible
    cov_s, cov_t = cov_s + eye, cov_t + eye
    if mode == "pca":
        matrix = _matrix_power(cov_t, 0.5) @ _matrix_power(cov_s, -0.5)
    else:
        matrix = torch.linalg.cholesky(cov_t) @ torch.linalg.inv(torch.linalg.cholesky(cov_s))
    return matrix, mean_t - matrix @ mean_s


def colour_transform(source: torch.Tensor, target: torch.Tensor, mode: str = "pca"
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, b) such that A x + b maps the colours of ``source`` to the mean and covariance of
    ``target`` (both (1, 3, H, W))."""
    return statistics_transform(colour_statistics(source), colour_statistics(target), mode)


def moved_statistics(source: ColourStatistics, target: ColourStatistics,
                     share: float) -> ColourStatistics:
    """Mean and covariance of colours with the ``source`` statistics after moving them
    ``share`` of the way along the map onto ``target``'s (before any clipping): ``target`` at
    share 1, ``source`` at 0."""
    matrix, offset = statistics_transform(source, target)
    moved = (1 - share) * torch.eye(3, dtype=torch.float64) + share * matrix
    return moved @ source[0] + share * offset, moved @ source[1] @ moved.T


def keeps_photo_colours(mode: str | None) -> bool:
    """Whether ``mode`` optimizes with the photo's colours (``luminance``, ``match``): the
    palette start is then the photo itself."""
    return mode in ("luminance", "match")


def recolour(image: torch.Tensor, target: ColourStatistics, mode: str = "pca") -> torch.Tensor:
    """``image`` (1, 3, H, W) with its colours mapped to the ``target`` mean and covariance,
    clipped to 0..1: the painting's palette on the photo's layout (the ``palette`` start)."""
    matrix, offset = statistics_transform(colour_statistics(image), target, mode)
    flat = image.flatten(2)[0].double().cpu()
    mapped = (matrix @ flat + offset).float().reshape(image.shape).to(image.device)
    return mapped.clamp(0, 1)


def match_colors(style: torch.Tensor, content: torch.Tensor, mode: str = "pca",
                 clip: bool = True) -> torch.Tensor:
    """``style`` recoloured to the content's colour mean and covariance."""
    matrix, offset = colour_transform(style, content, mode)
    flat = style.flatten(2)[0].double()
    mapped = (matrix @ flat + offset).float().reshape(style.shape)
    return mapped.clamp(0, 1) if clip else mapped


def prepare(content: Image.Image, styles: Sequence[Image.Image | None], mode: str | None
            ) -> tuple[Image.Image, list[Image.Image | None]]:
    """The images to optimize with under ``mode``: grey luminance images (``luminance``),
    recoloured styles (``match``), or the inputs unchanged."""
    if mode not in ("luminance", "match"):
        return content, list(styles)
    content_tensor = images.to_tensor(content)
    prepared: list[Image.Image | None] = []
    for style in styles:
        if style is None:
            prepared.append(None)
            continue
        style_tensor = images.to_tensor(style)
        if mode == "luminance":
            prepared.append(images.to_image(match_luminance(style_tensor, content_tensor)))
        else:
            prepared.append(images.to_image(match_colors(style_tensor, content_tensor)))
    if mode == "luminance":
        content = images.to_image(grey(luminance(content_tensor)))
    return content, prepared


def finish(result: torch.Tensor, content: Image.Image, mode: str | None) -> torch.Tensor:
    """The final image under ``mode``: the result's luminance with the content's chroma for
    ``luminance`` and ``yuv``, the result unchanged otherwise."""
    if mode not in ("luminance", "yuv"):
        return result
    height, width = result.shape[-2:]
    resized = content if content.size == (width, height) else content.resize(
        (width, height), Image.Resampling.LANCZOS)
    return recombine(result, images.to_tensor(resized).to(result))
