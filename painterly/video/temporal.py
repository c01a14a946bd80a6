"""The temporal loss of Ruder et al.: keep each pixel where the warped previous result put it,
wherever the flow can be trusted. Added to a frame's style-transfer objective."""

from __future__ import annotations

import torch

TEMPORAL_UNIT = 1e12
"""Scale of the temporal term against painterly's objective (content + style terms of order
1e11 to 1e13): with it, a ``temporal_weight`` of 1 costs about as much as the style term
when a frame drifts by a few grey levels from the warped previous result."""


class TemporalLoss:
    """``weight * TEMPORAL_UNIT * (1/D) * sum_p c_p (x_p - w_p)^2``: ``x`` the image being
    optimized (1, 3, H, W) in 0..1, ``w`` the previous result warped to this frame, ``c`` the
    per-pixel reliability (1, 1, H, W) in 0..1, D the number of values (3 H W)."""

    def __init__(self, warped_previous: torch.Tensor, reliability: torch.Tensor, weight: float):
        if warped_previous.shape[-2:] != reliability.shape[-2:]:
            raise ValueError("the warped previous result and the reliability differ in size")
        self.target = warped_previous
        self.reliability = reliability
        self.weight = weight

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if self.target.device != image.device:
            self.target = self.target.to(image.device)
            self.reliability = self.reliability.to(image.device)
        difference = image.float() - self.target
        return self.weight * TEMPORAL_UNIT * (self.reliability * difference.square()).mean()
