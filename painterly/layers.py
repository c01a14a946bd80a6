"""The lecture's CNN building blocks as PyTorch layers: pooling kinds (max, average, L2),
activations by name, maxout, and the output-size arithmetic of convolution and pooling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

POOLING_KINDS = ("max", "avg", "l2")


def l2_pool2d(x: torch.Tensor, kernel_size: int = 2, stride: int | None = None) -> torch.Tensor:
    """L2 pooling: the square root of the sum of squares over each window.

    A tiny epsilon keeps the gradient finite where a whole window is zero (common after ReLU).
    """
    stride = kernel_size if stride is None else stride
    sum_of_squares = F.avg_pool2d(x * x, kernel_size, stride) * (kernel_size * kernel_size)
    return torch.sqrt(sum_of_squares + 1e-12)


def pool2d(x: torch.Tensor, kind: str, kernel_size: int = 2, stride: int | None = None):
    """Pool ``x`` with ``kind`` in :data:`POOLING_KINDS`."""
    if kind == "max":
        return F.max_pool2d(x, kernel_size, stride)
    if kind == "avg":
        return F.avg_pool2d(x, kernel_size, stride)
    if kind == "l2":
        return l2_pool2d(x, kernel_size, stride)
    raise ValueError(f"unknown pooling '{kind}': choose from {', '.join(POOLING_KINDS)}")


class Pool2d(nn.Module):
    """A pooling layer of any kind in :data:`POOLING_KINDS`."""

    def __init__(self, kind: str = "max", kernel_size: int = 2, stride: int | None = None):
        super().__init__()
        if kind not in POOLING_KINDS:
            raise ValueError(f"unknown pooling '{kind}': choose from {', '.join(POOLING_KINDS)}")
        self.kind, self.kernel_size, self.stride = kind, kernel_size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pool2d(x, self.kind, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, kernel_size={self.kernel_size}, stride={self.stride}"
