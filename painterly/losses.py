"""The losses of Gatys et al. exactly as the lecture writes them, and the objective built from them.

* content:  L_content = 1/2 * sum (F - P)^2 on one layer
* Gram:     G = F F^T  (F: N_l feature maps x M_l positions)
* style:    E_l = 1/(4 N_l^2 M_l^2) * sum (G - A)^2,  L_style = sum_l w_l E_l
* total:    alpha * L_content + beta * L_style (+ tv_weight * total variation)

One deliberate addition, documented in the README: the content term is multiplied by
``REFERENCE_PIXELS / (H * W)``. E_l is already independent of the image size (the Gram matrix is
divided by M_l), but the content sum grows with the number of pixels, so without this factor the
same alpha/beta would mean a different balance at every size (and at every scale of a
coarse-to-fine run). At 512x512 pixels the objective is exactly the lecture's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

REFERENCE_PIXELS = 512 * 512
"""Image size at which the content term has exactly the lecture's scale."""

LAYER_WEIGHT_SCHEMES = ("equal", "inverse-channels")


class _Gram(torch.autograd.Function):
    """F F^T with the backward pass written for its symmetry: dF = (dG + dG^T) F is one matrix
    product, where autograd would do two and add two feature-sized results (measured about 2x
    faster for the Gram part, which is some 15% of an evaluation)."""

    @staticmethod
    def forward(ctx, flat: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(flat)
        return flat @ flat.transpose(1, 2)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (flat,) = ctx.saved_tensors
        return (grad + grad.transpose(1, 2)) @ flat


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = F F^T for features of shape (B, N, H, W); returns (B, N, N), not normalized."""
    flat = features.flatten(2)
    if not (torch.is_grad_enabled() and flat.requires_grad):
        return flat @ flat.transpose(1, 2)
    return _Gram.apply(flat)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1/2 * sum (F - P)^2."""
    return 0.5 * (features - target).pow(2).sum()


def style_layer_loss(gram: torch.Tensor, target_gram: torch.Tensor, channels: int,
                     positions: int) -> torch.Tensor:
    """E_l = 1/(4 N^2 M^2) * sum (G - A)^2, computed as 1/(4 N^2) * sum ((G - A)/M)^2 so that
    float32 never sees the huge squared Gram entries of large images."""
    return ((gram - target_gram) / positions).pow(2).sum() / (4 * channels**2)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Sum of squared differences between neighbouring pixels (isotropic smoothness prior)."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).sum() + dy.pow(2).sum()


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


@dataclass
class LossTerms:
    """The value of the objective and of each of its terms (plain floats, for reporting)."""

    total: float
    content: float = 0.0
    style: float = 0.0
    tv: float = 0.0
    per_layer: dict[str, float] = field(default_factory=dict)


class PerceptualLoss:
    """alpha * L_content + beta * L_style (+ tv) of an image against fixed targets.

    Targets are computed once, without autograd, from the content and style images; calling the
    loss on an image returns a differentiable scalar and the :class:`LossTerms`.
    """

    def __init__(self, vgg, *, content_layer: str | None, style_layers: Sequence[str],
                 content_weight: float = 1.0, style_weight: float = 1.0, tv_weight: float = 0.0,
                 layer_weights: str | Sequence[float] = "equal"):
        self.vgg = vgg
        self.content_layer = content_layer
        self.style_layers = list(style_layers)
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.layer_weights_spec = layer_weights
        self.layers = ([content_layer] if content_layer else []) + self.style_layers
        self.content_target: torch.Tensor | None = None
        self.style_targets: dict[str, torch.Tensor] = {}
        self.layer_weights: dict[str, float] = {}

    @torch.no_grad()
    def set_content(self, image: torch.Tensor) -> None:
        """Take the content target P from ``image`` (RGB 0..1)."""
        if self.content_layer:
            self.content_target = self.vgg(image, [self.content_layer])[self.content_layer]

    @torch.no_grad()
    def set_style(self, images: Sequence[torch.Tensor],
                  blend: Sequence[float] | None = None) -> None:
        """Take the Gram targets A from one or more style images; several are blended with
        ``blend`` weights (normalized to sum to 1)."""
        if not self.style_layers:
            return
        blend = [1.0] * len(images) if blend is None else list(blend)
        total = sum(blend)
        targets: dict[str, torch.Tensor] = {}
        for image, weight in zip(images, blend, strict=True):
            features = self.vgg(image, self.style_layers)
            for name in self.style_layers:
                gram = gram_matrix(features[name]) / features[name][0, 0].numel()  # G / M
                targets[name] = targets.get(name, 0) + gram * (weight / total)
        self.style_targets = targets
        channels = {name: targets[name].shape[-1] for name in self.style_layers}
        self.layer_weights = style_layer_weights(self.style_layers, self.layer_weights_spec,
                                                 channels)

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, LossTerms]:
        features = self.vgg(image, self.layers)
        total = image.new_zeros(())
        terms = LossTerms(total=0.0)
        if self.content_layer and self.content_weight:
            size_factor = REFERENCE_PIXELS / (image.shape[-1] * image.shape[-2])
            content = content_loss(features[self.content_layer], self.content_target)
            total = total + self.content_weight * size_factor * content
            terms.content = float(content.detach()) * size_factor
        if self.style_weight:
            style = image.new_zeros(())
            for name in self.style_layers:
                f = features[name]
                positions = f.shape[-1] * f.shape[-2]
                layer = style_layer_loss(gram_matrix(f) / positions,
                                         self.style_targets[name], f.shape[1], 1)
                terms.per_layer[name] = float(layer.detach())
                style = style + self.layer_weights[name] * layer
            total = total + self.style_weight * style
            terms.style = float(style.detach())
        if self.tv_weight:
            tv = total_variation(image)
            total = total + self.tv_weight * tv
            terms.tv = float(tv.detach())
        terms.total = float(total.detach())
        return total, terms
