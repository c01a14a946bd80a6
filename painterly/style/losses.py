"""The losses of Gatys et al. exactly as the lecture writes them, and the objective built from them.

* content:  L_content = 1/2 * sum (F - P)^2 on one layer
* Gram:     G = F F^T  (F: N_l feature maps x M_l positions)
* style:    E_l = 1/(4 N_l^2 M_l^2) * sum (G - A)^2,  L_style = sum_l w_l E_l
* total:    alpha * L_content + beta * L_style (+ tv_weight * total variation)
            (+ palette_weight * L_palette)

Two additions in pixel space, both off in the lecture's formula: a smoothness prior (total
variation) and a palette term, L_palette = |mu - mu_t|^2 + |C - C_t|_F^2 between the colour mean
and covariance of the pixels and a target's (docs/look.md, "The palette term").

One deliberate addition, documented in docs/controls.md: the content term is multiplied by
``REFERENCE_PIXELS / (H * W)``. E_l is already independent of the image size (the Gram matrix is
divided by M_l), but the content sum grows with the number of pixels, so without this factor the
same alpha/beta would mean a different balance at every size (and at every scale of a
coarse-to-fine run). At 512x512 pixels the objective is exactly the lecture's.

And one for small images (off unless ``reference_size`` is given; the default's is 512 px): below
that size the deep style layers, which then see the painting's composition rather than its
strokes, weigh less (:func:`size_factors`), so that a small result keeps as much of the scene as
one at the reference size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from painterly.nets.vgg import RECEPTIVE_FIELDS, in_number_format
from painterly.optim.optimize import LossTerms
from painterly.style.color import colour_moments
from painterly.style.guides import layer_guide

REFERENCE_PIXELS = 512 * 512
"""Image size at which the content term has exactly the lecture's scale."""

LAYER_WEIGHT_SCHEMES = ("equal", "inverse-channels")

STYLE_STATISTICS = ("gram", "meanstd")
"""Statistics of the feature maps that the style loss matches: the Gram matrix (Gatys et al.), or
only each channel's mean and standard deviation (as AdaIN does)."""

MEANSTD_SCALE = 2e5
"""Scales the mean+std loss so that the default style weight stylizes about as strongly as with
Gram matrices: it matches the gradient norm of the Gram loss at the content image, measured
on tubingen with three example styles (ratios 1.2e4 to 2.2e4 at scale 1)."""


def _position_rows(features: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Features (B, N, H, W) as a matrix without copying where the layout allows: (B, N, M) for
    the default layout, or (B, M, N) (``True``) for channels-last tensors, whose channels are
    the fastest-varying dimension (see models.vgg: convolutions run faster in that layout)."""
    if features.is_contiguous() or not features.is_contiguous(memory_format=torch.channels_last):
        return features.flatten(2), False
    return features.permute(0, 2, 3, 1).flatten(1, 2), True


class _Gram(torch.autograd.Function):
    """F F^T in float32 from features of any number format and layout.

    bfloat16 features are multiplied in bfloat16 (the products accumulate in float32) and the
    result is returned in float32; the backward pass dF = (dG + dG^T) F is one matrix product in
    the features' own format and layout, where autograd would do two and add them. Measured at
    512 px: the Gram matrices' share of an evaluation falls from 20% to about 6%."""

    @staticmethod
    def forward(ctx, features: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(features)
        return _gram_value(features)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (features,) = ctx.saved_tensors
        matrix, transposed = _position_rows(features)
        symmetric = (grad + grad.mT).to(features.dtype)
        # written into a fresh tensor of the features' layout, returned as itself (not a view):
        # autograd then adds the gradient from the deeper layers into it in place instead of
        # allocating a third feature-sized tensor (measured: 8 ms per evaluation at relu1_1)
        b, n, h, w = features.shape
        if transposed:
            result = torch.empty(features.shape, dtype=features.dtype, device=features.device,
                                 memory_format=torch.channels_last)
            target = result.permute(0, 2, 3, 1).view(b, h * w, n)
        else:
            result = features.new_empty(features.shape)
            target = result.view(b, n, h * w)
        for m, s, out in zip(matrix, symmetric, target, strict=True):
            if transposed:
                torch.mm(m, s, out=out)
            else:
                torch.mm(s, m, out=out)
        return result


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = F F^T for features of shape (B, N, H, W); returns (B, N, N) in float32, not
    normalized."""
    if not (torch.is_grad_enabled() and features.requires_grad):
        return _gram_value(features)
    return _Gram.apply(features)


def _gram_value(features: torch.Tensor) -> torch.Tensor:
    # one 2-D product per image: a batched product copies a transposed operand first (measured
    # 3x slower for channels-last bfloat16 features at 512 px)
    matrix, transposed = _position_rows(features)
    return _stack([m.T @ m if transposed else m @ m.T for m in matrix]).float()


def _stack(products: list[torch.Tensor]) -> torch.Tensor:
    """Per-image products as one batch, without a copy for the usual batch of one."""
    return products[0].unsqueeze(0) if len(products) == 1 else torch.stack(products)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1/2 * sum (F - P)^2, in float32."""
    return 0.5 * (features.float() - target).pow(2).sum()


def style_layer_loss(gram: torch.Tensor, target_gram: torch.Tensor, channels: int,
                     positions: int) -> torch.Tensor:
    """E_l = 1/(4 N^2 M^2) * sum (G - A)^2, computed as 1/(4 N^2) * sum ((G - A)/M)^2 so that
    float32 never sees the huge squared Gram entries of large images."""
    return ((gram - target_gram) / positions).pow(2).sum() / (4 * channels**2)


def style_layer_gradient(gram: torch.Tensor, target_gram: torch.Tensor, channels: int,
                         positions: int, factor: float) -> torch.Tensor:
    """d(factor * E_l)/dG for the unnormalized Gram G, given ``gram`` = G / M: what the tiled
    evaluation back-propagates through each tile's own Gram matrix."""
    return (factor * 2 / (4 * channels**2) / positions) * (gram - target_gram)


def blend_statistics(statistics: Sequence[Mapping[str, tuple[torch.Tensor, ...]]],
                     blend: Sequence[float] | None) -> dict[str, tuple[torch.Tensor, ...]]:
    """Per layer, the statistics of several style images mixed with ``blend`` weights
    (normalized to sum to 1; None: equal)."""
    blend = [1.0] * len(statistics) if blend is None else list(blend)
    total = sum(blend)
    targets: dict[str, tuple[torch.Tensor, ...]] = {}
    for image_statistics, weight in zip(statistics, blend, strict=True):
        for name, statistic in image_statistics.items():
            scaled = tuple(part * (weight / total) for part in statistic)
            previous = targets.get(name)
            targets[name] = scaled if previous is None else tuple(
                a + b for a, b in zip(previous, scaled, strict=True))
    return targets


def weighted_gram(features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """G / M for features (B, N, H, W); with ``weights`` (B or 1, 1, H, W) a guided Gram matrix:
    sum_m w_m F_m F_m^T / sum_m w_m, the second moment over a (soft) region only."""
    if weights is None:
        return gram_matrix(features) / (features.shape[-2] * features.shape[-1])
    flat = features.flatten(2).float()
    w = weights.flatten(2)
    return (flat * w) @ flat.transpose(1, 2) / w.sum().clamp_min(1e-8)


STD_EPS = 1e-5
"""Added to each channel's variance before the square root (a flat channel's deviation has a
gradient)."""


def mean_std(features: torch.Tensor, weights: torch.Tensor | None = None,
             eps: float = STD_EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Each channel's mean and standard deviation, (B, N) each, over all positions or over the
    positions weighted by ``weights`` (B or 1, 1, H, W)."""
    flat = features.flatten(2).float()
    w = torch.ones_like(flat[:, :1]) if weights is None else weights.flatten(2)
    mass = w.sum(-1).clamp_min(1e-8)
    mean = (flat * w).sum(-1) / mass
    variance = ((flat - mean.unsqueeze(-1)).pow(2) * w).sum(-1) / mass
    return mean, (variance + eps).sqrt()


def style_statistic(features: torch.Tensor, kind: str = "gram",
                    weights: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """The statistic the style loss matches, as a tuple of tensors (blendable linearly)."""
    if kind == "gram":
        return (weighted_gram(features, weights),)
    if kind == "meanstd":
        return mean_std(features, weights)
    raise ValueError(f"unknown style statistic '{kind}'")


def statistic_loss(statistic: Sequence[torch.Tensor], target: Sequence[torch.Tensor],
                   kind: str = "gram") -> torch.Tensor:
    """Distance between two statistics of N channels: for ``gram`` the lecture's E_l (with
    G and A already divided by M), for ``meanstd`` MEANSTD_SCALE/N * (|mu - mu_s|^2 +
    |sigma - sigma_s|^2)."""
    if kind == "gram":
        return style_layer_loss(statistic[0], target[0], statistic[0].shape[-1], 1)
    if kind == "meanstd":
        channels = statistic[0].shape[-1]
        squared = sum((a - b).pow(2).sum() for a, b in zip(statistic, target, strict=True))
        return MEANSTD_SCALE * squared / channels
    raise ValueError(f"unknown style statistic '{kind}'")


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Sum of squared differences between neighbouring pixels (isotropic smoothness prior)."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).sum() + dy.pow(2).sum()


def palette_loss(image: torch.Tensor, target: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """|mu - mu_t|^2 + |C - C_t|_F^2: how far the image's colour mean and covariance are from
    ``target`` (mean (3, 1), covariance (3, 3)). It does not depend on the image size."""
    mean, covariance = colour_moments(image.float())
    return (mean - target[0]).pow(2).sum() + (covariance - target[1]).pow(2).sum()


def style_layer_weights(layers: Sequence[str], scheme: str | Sequence[float],
                        channels: Mapping[str, int]) -> dict[str, float]:
    """Weights w_l: ``equal`` (1/L each, as in the paper), ``inverse-channels`` (proportional to
    1/N_l^2 as in the author's notebook, normalized to sum to 1), or an explicit list."""
    if isinstance(scheme, str):
        if scheme == "equal":
            raw = [1.0] * len(layers)
        elif scheme == "inverse-channels":
            raw = [1.0 / channels[name] ** 2 for name in layers]
        else:
            raise ValueError(f"unknown layer weighting '{scheme}'")
        total = sum(raw)
        return {name: value / total for name, value in zip(layers, raw, strict=True)}
    values = list(scheme)
    if len(values) != len(layers):
        raise ValueError(f"{len(values)} style layer weights given for {len(layers)} style layers")
    return dict(zip(layers, values, strict=True))


COMPOSITION_SHARE = 1 / 8
"""A style layer whose receptive field spans more than this share of the reference size sees
the painting's shapes rather than its strokes once the painting is smaller (relu4_1 and
relu5_1 at 512 px): :func:`size_factors`."""

COMPOSITION_FALLOFF = 6
"""The power of the size ratio that weights those layers below the reference size: each
halving of the painting divides their weight by 2^6 = 64 (measured, docs/look.md)."""


def size_factors(layers: Sequence[str], style_side: int,
                 reference: int | None) -> dict[str, float]:
    """Per style layer, the factor on its weight for a painting ``style_side`` px long (long
    side): 1 at ``reference`` px and above (or without a reference); below it,
    ``(style_side / reference) ** COMPOSITION_FALLOFF`` for the layers whose receptive field
    spans more than COMPOSITION_SHARE of the reference size.

    Such a layer's Gram matrix averages over about (side / receptive field)^2 patches of the
    painting: dozens at 512 px, where it describes the swirls and strokes, a handful at 128 px,
    where it describes the painting's composition (its moon, its cypress), and matching it
    paints that composition over the photo. Its term is also the largest of the style loss
    (relu4_1's is about 40 times the other layers' together), so it must fall by orders of
    magnitude before the scene comes back: the falloff keeps the share of the scene a result
    keeps the same at every size (docs/look.md, "The same look at every size")."""
    if not reference or style_side >= reference:
        return {name: 1.0 for name in layers}
    factor = (style_side / reference) ** COMPOSITION_FALLOFF
    return {name: factor if RECEPTIVE_FIELDS[name] > COMPOSITION_SHARE * reference else 1.0
            for name in layers}


class PerceptualLoss:
    """alpha * L_content + beta * L_style (+ tv, + palette) of an image against fixed targets.

    Targets are computed once, without autograd, from the content and style images; calling the
    loss on an image returns a differentiable scalar and the :class:`LossTerms`. The style term
    matches Gram matrices (``style_loss="gram"``) or channel means and deviations
    (``"meanstd"``), over the whole image (:meth:`set_style`) or per region (:meth:`set_regions`).
    """

    def __init__(self, vgg, *, content_layer: str | None, style_layers: Sequence[str],
                 content_weight: float = 1.0, style_weight: float = 1.0, tv_weight: float = 0.0,
                 palette_weight: float = 0.0, layer_weights: str | Sequence[float] = "equal",
                 style_loss: str = "gram", precision: str = "float32",
                 reference_size: int | None = None):
        if style_loss not in STYLE_STATISTICS:
            raise ValueError(f"unknown style statistic '{style_loss}'")
        self.precision = precision
        self.network = in_number_format(vgg, precision)
        self.content_layer = content_layer
        self.style_layers = list(style_layers)
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.palette_weight = palette_weight
        self.palette_target: tuple[torch.Tensor, torch.Tensor] | None = None
        """Colour mean and covariance for the palette term (None: no palette term)."""
        self.layer_weights_spec = layer_weights
        self.reference_size = reference_size
        """Below this painting size the composition layers are weighted down
        (:func:`size_factors`; None: never)."""
        self.style_loss = style_loss
        self.layers = ([content_layer] if content_layer else []) + self.style_layers
        self.content_target: torch.Tensor | None = None
        self.style_targets: dict[str, torch.Tensor | tuple[torch.Tensor, ...]] = {}
        """Per layer: the Gram target A (``gram``) or (means, deviations) (``meanstd``)."""
        self.layer_weights: dict[str, float] = {}
        self.regions: list[StyleRegion] = []
        """Guided style targets set by :meth:`set_regions` (empty: whole-image style)."""

    def features(self, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """The network's features of ``image`` at ``layers``, in the number format the network
        ran in (bfloat16 features stay bfloat16: :func:`gram_matrix` multiplies them as they are
        and returns float32; the other statistics and the content loss convert them)."""
        return self.network(image, layers)

    @torch.no_grad()
    def set_content(self, image: torch.Tensor) -> None:
        """Take the content target P from ``image`` (RGB 0..1)."""
        if self.content_layer:
            target = self.features(image, [self.content_layer])[self.content_layer]
            self.use_content_target(target)

    def set_palette(self, mean: torch.Tensor, covariance: torch.Tensor) -> None:
        """Take the palette term's target: a colour mean (3, 1) and covariance (3, 3)."""
        self.palette_target = (mean.float(), covariance.float())

    def use_content_target(self, target: torch.Tensor) -> None:
        """Take P as computed (e.g. tile by tile)."""
        self.content_target = target.float()

    @torch.no_grad()
    def _targets(self, images: Sequence[torch.Tensor],
                 blend: Sequence[float] | None) -> dict[str, tuple[torch.Tensor, ...]]:
        statistics = []
        for image in images:
            features = self.features(image, self.style_layers)
            statistics.append({name: style_statistic(features[name], self.style_loss)
                               for name in self.style_layers})
        targets = blend_statistics(statistics, blend)
        self._weigh_layers(targets, style_side(images))
        return targets

    def _weigh_layers(self, targets: Mapping[str, tuple[torch.Tensor, ...]],
                      side: int) -> None:
        channels = {name: targets[name][0].shape[1] for name in self.style_layers}
        weights = style_layer_weights(self.style_layers, self.layer_weights_spec, channels)
        factors = size_factors(self.style_layers, side, self.reference_size)
        self.layer_weights = {name: weight * factors[name] for name, weight in weights.items()}

    @torch.no_grad()
    def set_style(self, images: Sequence[torch.Tensor],
                  blend: Sequence[float] | None = None) -> None:
        """Take the style targets from one or more style images; several are blended with
        ``blend`` weights (normalized to sum to 1)."""
        if not self.style_layers:
            return
        self.use_style_targets(self._targets(images, blend), style_side(images))

    def use_style_targets(self, targets: Mapping[str, tuple[torch.Tensor, ...]],
                          side: int) -> None:
        """Take whole-image style targets as computed (blended statistics per layer, e.g.
        summed tile by tile) from style images at most ``side`` px long, and the layer weights
        that go with them."""
        self._weigh_layers(targets, side)
        self.style_targets = {name: value[0] if len(value) == 1 else value
                              for name, value in targets.items()}
        self.regions = []

    def saved_style(self) -> tuple[dict, dict]:
        """The whole-image style targets and layer weights now in use, for
        :meth:`restore_style` on a later objective with the same styles and options."""
        return dict(self.style_targets), dict(self.layer_weights)

    def restore_style(self, saved: tuple[dict, dict]) -> None:
        """Use targets that :meth:`saved_style` returned instead of computing them again."""
        targets, weights = saved
        self.style_targets, self.layer_weights, self.regions = dict(targets), dict(weights), []

    @torch.no_grad()
    def set_regions(self, images: Sequence[torch.Tensor | None], guides: torch.Tensor) -> None:
        """One style image per region: ``guides`` (K, 1, H, W) holds K soft masks (0..1) at the
        size of the image to optimize; region k matches the statistics of ``images[k]`` on its
        own (guided) feature positions, a ``None`` image leaves region k without a style term.
        Each region's loss is weighted by its share of the image, so that a pixel feels the
        same style strength as without regions."""
        if len(images) != guides.shape[0]:
            raise ValueError(f"{len(images)} style images for {guides.shape[0]} regions")
        self.regions = []
        self.style_targets = {}
        shares = guides.flatten(1).mean(1) / guides.flatten(1).mean(1).sum().clamp_min(1e-8)
        for image, guide, share in zip(images, guides, shares, strict=True):
            if image is None:
                continue
            self.regions.append(StyleRegion(self._targets([image], None), guide[None],
                                            float(share)))

    def _style_term(self, features: Mapping[str, torch.Tensor],
                    terms: LossTerms) -> torch.Tensor:
        style = next(iter(features.values())).new_zeros(())
        for name in self.style_layers:
            f = features[name]
            if self.regions:
                layer = f.new_zeros(())
                for region in self.regions:
                    weights = region.layer_guide(f.shape[-2:])
                    statistic = style_statistic(f, self.style_loss, weights)
                    layer = layer + region.share * statistic_loss(
                        statistic, region.targets[name], self.style_loss)
            else:
                target = self.style_targets[name]
                target = (target,) if isinstance(target, torch.Tensor) else target
                layer = statistic_loss(style_statistic(f, self.style_loss), target,
                                       self.style_loss)
            terms.per_layer[name] = float(layer.detach())
            style = style + self.layer_weights[name] * layer
        return style

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, LossTerms]:
        features = self.features(image, self.layers)
        total = image.new_zeros(())
        terms = LossTerms(total=0.0)
        if self.content_layer and self.content_weight:
            size_factor = REFERENCE_PIXELS / (image.shape[-1] * image.shape[-2])
            content = content_loss(features[self.content_layer], self.content_target)
            total = total + self.content_weight * size_factor * content
            terms.content = float(content.detach()) * size_factor
        if self.style_weight and self.style_layers:
            style = self._style_term(features, terms)
            total = total + self.style_weight * style
            terms.style = float(style.detach())
        return self.add_pixel_terms(image, total, terms)

    @torch.no_grad()
    def style_value(self, image: torch.Tensor) -> float:
        """L_style of ``image`` (without beta) against the current targets."""
        return self(image)[1].style

    def add_pixel_terms(self, image: torch.Tensor, total: torch.Tensor,
                        terms: LossTerms) -> tuple[torch.Tensor, LossTerms]:
        """Add the terms computed on the pixels themselves, total variation and palette (where
        weighted), to ``total`` and complete ``terms``."""
        if self.tv_weight:
            tv = total_variation(image)
            total = total + self.tv_weight * tv
            terms.tv = float(tv.detach())
        if self.palette_weight and self.palette_target is not None:
            palette = palette_loss(image, self.palette_target)
            total = total + self.palette_weight * palette
            terms.palette = float(palette.detach())
        terms.total = float(total.detach())
        return total, terms


def style_side(images: Sequence[torch.Tensor | None]) -> int:
    """The longest side of the style images (N, 3, H, W) present."""
    return max((max(image.shape[-2:]) for image in images if image is not None), default=0)


@dataclass
class StyleRegion:
    """The style targets of one region of the image and its guide (mask)."""

    targets: dict[str, tuple[torch.Tensor, ...]]
    guide: torch.Tensor
    """(1, 1, H, W) soft mask at the size of the image being optimized."""
    share: float
    """Fraction of the image the region covers (weights its loss)."""
    _cache: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict)

    def layer_guide(self, size: Sequence[int]) -> torch.Tensor:
        """The guide at a feature map's (height, width): downsampled and eroded (cached)."""
        key = (int(size[0]), int(size[1]))
        if key not in self._cache:
            self._cache[key] = layer_guide(self.guide, key)
        return self._cache[key]
