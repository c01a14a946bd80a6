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


# --- activations ---------------------------------------------------------------------------------

LEAKY_SLOPE = 0.1
"""The lecture's leaky ReLU: max(0.1 x, x)."""


class Maxout(nn.Module):
    """Maxout over groups of ``pieces`` channels: max(w1·x + b1, w2·x + b2, ...).

    It follows a layer that computes ``pieces`` times as many channels (the linear pieces) and
    returns the element-wise maximum of each consecutive group, so C channels become
    C / pieces. Works for (N, C) and (N, C, H, W) inputs.
    """

    def __init__(self, pieces: int = 2):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"maxout needs at least one piece, got {pieces}")
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        if channels % self.pieces:
            raise ValueError(f"maxout with {self.pieces} pieces needs a channel count divisible "
                             f"by {self.pieces}, got {channels}")
        grouped = x.reshape(x.shape[0], channels // self.pieces, self.pieces, *x.shape[2:])
        return grouped.amax(dim=2)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "maxout")
"""Names accepted by :func:`activation`."""


def activation(name: str) -> nn.Module:
    """The activation layer called ``name`` (one of :data:`ACTIVATIONS`).

    ``maxout`` halves the channel count (two pieces): the layer before it must compute twice the
    channels; :func:`activation_pieces` says by how much.
    """
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "maxout":
        return Maxout(2)
    raise ValueError(f"unknown activation '{name}': choose from {', '.join(ACTIVATIONS)}")


def activation_pieces(name: str) -> int:
    """How many channels the activation ``name`` turns into one (2 for maxout, else 1)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{name}': choose from {', '.join(ACTIVATIONS)}")
    return 2 if name == "maxout" else 1


# --- output-size arithmetic ----------------------------------------------------------------------

def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """The lecture's (W - F + 2P) / S + 1 for one spatial side, for a convolution or a pooling.

    Raises ValueError when the kernel does not fit or the stride does not divide evenly (the
    lecture's rule: the hyperparameters must give a whole number).
    """
    if min(size, kernel, stride) < 1 or padding < 0:
        raise ValueError(f"sizes must be positive and padding >= 0: W={size}, F={kernel}, "
                         f"S={stride}, P={padding}")
    span = size - kernel + 2 * padding
    if span < 0:
        raise ValueError(f"a {kernel}x{kernel} kernel does not fit in {size} pixels with padding "
                         f"{padding}")
    if span % stride:
        raise ValueError(f"(W - F + 2P)/S + 1 = ({size} - {kernel} + 2*{padding})/{stride} + 1 = "
                         f"{span / stride + 1:g} is not a whole number: these hyperparameters do "
                         "not fit")
    return span // stride + 1


def same_padding(kernel: int) -> int:
    """The padding that keeps the size at stride 1: (F - 1) / 2 for an odd kernel."""
    if kernel % 2 == 0:
        raise ValueError(f"'same' padding needs an odd kernel, got {kernel}")
    return (kernel - 1) // 2
