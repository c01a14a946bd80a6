"""Architecture summaries: per layer the output volume, neurons, weights and biases, and totals.

Counting follows the lecture: a neuron is one output of a layer with weights (a unit of a fully
connected layer, one position of one feature map of a convolution); activations and pooling
have none. Shapes are propagated with the checked (W - F + 2P)/S + 1 arithmetic of
:mod:`painterly.nets.layers`, so no forward pass (and no weight file) is needed.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from painterly.errors import UserError
from painterly.nets.layers import Maxout, Pool2d, activation, output_size

Shape = tuple[int, ...]
"""(features,) or (channels, height, width); no batch dimension."""

SHAPE_PRESERVING = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Identity, nn.Dropout,
                    nn.Softmax, nn.BatchNorm2d)


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    shape: Shape
    neurons: int
    weights: int
    biases: int

    @property
    def volume(self) -> str:
        """The output volume as the lecture writes it: W x H x C (or the feature count)."""
        if len(self.shape) == 3:
            channels, height, width = self.shape
            return f"{width}x{height}x{channels}"
        return "x".join(map(str, self.shape))


@dataclass(frozen=True)
class Summary:
    title: str
    input_shape: Shape
    rows: tuple[LayerRow, ...]

    @property
    def neurons(self) -> int:
        return sum(row.neurons for row in self.rows)

    @property
    def weights(self) -> int:
        return sum(row.weights for row in self.rows)

    @property
    def biases(self) -> int:
        return sum(row.biases for row in self.rows)

    @property
    def parameters(self) -> int:
        return self.weights + self.biases

    def row(self, name: str) -> LayerRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def table(self) -> str:
        """A plain-text table with a totals line."""
        header = ("layer", "kind", "output volume", "neurons", "weights", "biases")
        input_row = LayerRow("input", "", self.input_shape, 0, 0, 0)
        lines = [(row.name, row.kind, row.volume, f"{row.neurons:,}", f"{row.weights:,}",
                  f"{row.biases:,}") for row in (input_row, *self.rows)]
        lines.append(("total", "", "", f"{self.neurons:,}", f"{self.weights:,}",
                      f"{self.biases:,}"))
        widths = [max(len(line[column]) for line in (header, *lines)) for column in range(6)]

        def format_line(line: tuple[str, ...]) -> str:
            left = [text.ljust(width) for text, width in zip(line[:3], widths[:3], strict=True)]
            right = [text.rjust(width) for text, width in zip(line[3:], widths[3:], strict=True)]
            return "  ".join(left + right).rstrip()

        rule = "-" * (sum(widths) + 2 * 5)
        body = [format_line(line) for line in lines]
        return "\n".join([self.title, format_line(header), rule, *body[:-1], rule, body[-1],
                          f"parameters (weights + biases): {self.parameters:,}"])


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _conv_row(name: str, layer: nn.Conv2d, shape: Shape) -> LayerRow:
    if len(shape) != 3 or shape[0] != layer.in_channels:
        raise ValueError(f"{name}: a convolution over {layer.in_channels} channels cannot take "
                         f"an input of shape {shape}")
    (kernel_h, kernel_w), (stride_h, stride_w) = _pair(layer.kernel_size), _pair(layer.stride)
    if isinstance(layer.padding, str):
        raise ValueError(f"{name}: give the padding as numbers, not '{layer.padding}'")
    pad_h, pad_w = _pair(layer.padding)
    channels, height, width = shape
    out = (layer.out_channels, output_size(height, kernel_h, stride_h, pad_h),
           output_size(width, kernel_w, stride_w, pad_w))
    weights = layer.out_channels * (channels // layer.groups) * kernel_h * kernel_w
    biases = layer.out_channels if layer.bias is not None else 0
    return LayerRow(name, f"conv {kernel_h}x{kernel_w}", out, math.prod(out), weights, biases)


def _linear_row(name: str, layer: nn.Linear, shape: Shape) -> LayerRow:
    if math.prod(shape) != layer.in_features:
        raise ValueError(f"{name}: a fully connected layer with {layer.in_features} inputs "
                         f"cannot take {math.prod(shape)} values of shape {shape}")
    biases = layer.out_features if layer.bias is not None else 0
    return LayerRow(name, "fully connected", (layer.out_features,), layer.out_features,
                    layer.in_features * layer.out_features, biases)


def _pool_row(name: str, kind: str, kernel: int, stride: int, padding: int,
              shape: Shape) -> LayerRow:
    channels, height, width = shape
    out = (channels, output_size(height, kernel, stride, padding),
           output_size(width, kernel, stride, padding))
    return LayerRow(name, f"{kind} pool {kernel}x{kernel}", out, 0, 0, 0)


def layer_row(name: str, layer: nn.Module, shape: Shape) -> LayerRow:
    """One layer's row, given the shape of its input."""
    if isinstance(layer, nn.Conv2d):
        return _conv_row(name, layer, shape)
    if isinstance(layer, nn.Linear):
        return _linear_row(name, layer, shape)
    if isinstance(layer, Pool2d):
        stride = layer.stride or layer.kernel_size
        return _pool_row(name, layer.kind, layer.kernel_size, stride, 0, shape)
    if isinstance(layer, nn.MaxPool2d | nn.AvgPool2d):
        kernel, padding = _pair(layer.kernel_size)[0], _pair(layer.padding)[0]
        stride = _pair(layer.stride or layer.kernel_size)[0]
        kind = "max" if isinstance(layer, nn.MaxPool2d) else "avg"
        return _pool_row(name, kind, kernel, stride, padding, shape)
    if isinstance(layer, Maxout):
        if shape[0] % layer.pieces:
            raise ValueError(f"{name}: maxout of {layer.pieces} cannot split {shape[0]} channels")
        return LayerRow(name, f"maxout of {layer.pieces}",
                        (shape[0] // layer.pieces, *shape[1:]), 0, 0, 0)
    if isinstance(layer, nn.Flatten):
        return LayerRow(name, "flatten", (math.prod(shape),), 0, 0, 0)
    if isinstance(layer, SHAPE_PRESERVING):
        return LayerRow(name, type(layer).__name__.lower(), shape, 0, 0, 0)
    raise ValueError(f"{name}: cannot summarize a {type(layer).__name__} layer")


def summarize(model: nn.Module, input_shape: Shape, title: str | None = None) -> Summary:
    """Rows for every leaf layer of ``model``, in the order they were defined (which must be the
    order the data flows, as in an ``nn.Sequential`` or the digit net)."""
    shape = tuple(input_shape)
    rows = []
    for name, layer in model.named_modules():
        if list(layer.children()):
            continue
        row = layer_row(name.rsplit(".", 1)[-1] if name else type(layer).__name__, layer, shape)
        rows.append(row)
        shape = row.shape
    return Summary(title or type(model).__name__, tuple(input_shape), tuple(rows))


# --- models by name ------------------------------------------------------------------------------

def fully_connected(sizes: list[int], activation_name: str = "sigmoid") -> nn.Sequential:
    """The lecture's fully connected nets, e.g. [3, 4, 2]: input, hidden layers, output."""
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError("a fully connected net needs at least an input and an output size >= 1")
    layers: dict[str, nn.Module] = {}
    for index, (inputs, outputs) in enumerate(itertools.pairwise(sizes), 1):
        last = index == len(sizes) - 1
        name = "output" if last else f"hidden{index}"
        layers[name] = nn.Linear(inputs, outputs, device="meta")
        if not last:
            layers[f"{activation_name}{index}"] = activation(activation_name)
    return nn.Sequential(OrderedDict(layers))


def vgg19_layers() -> nn.Sequential:
    """VGG-19's convolutional part with the paper's layer names (no weights: shapes only)."""
    from painterly.nets import vgg

    shapes = vgg.expected_shapes()
    layers: dict[str, nn.Module] = {}
    for name in vgg.LAYER_NAMES:
        if name.startswith("conv"):
            out, inputs = shapes[name][:2]
            layers[name] = nn.Conv2d(inputs, out, 3, padding=1, device="meta")
        elif name.startswith("relu"):
            layers[name] = nn.ReLU()
        else:
            layers[name] = Pool2d("max", 2)
    return nn.Sequential(OrderedDict(layers))


CONV_SPEC = re.compile(r"conv:(\d+)x(\d+)x(\d+):(\d+)x(\d+)x(\d+)(?::s(\d+))?(?::p(\d+))?")
FC_SPEC = re.compile(r"fc:(\d+(?:-\d+)+)")
MODEL_HELP = ("vgg19, digits, a digits model file (.pt), fc:3-4-2 (fully connected sizes), or "
              "conv:32x32x3:6x5x5[:sS][:pP] (W x H x C input, N filters of F x F, stride, padding)")


def summary_of(spec: str, image_size: int = 224) -> Summary:
    """The summary of a model named by ``spec`` (see :data:`MODEL_HELP`); raises UserError."""
    try:
        if spec == "vgg19":
            return summarize(vgg19_layers(), (3, image_size, image_size),
                             f"VGG-19 (convolutional part) on {image_size}x{image_size}x3")
        if spec == "digits":
            from painterly.nets.digitnet import INPUT_SIZE, DigitNet

            return summarize(DigitNet(), (1, INPUT_SIZE, INPUT_SIZE),
                             "the lecture's digit net (default configuration)")
        if match := FC_SPEC.fullmatch(spec):
            sizes = [int(size) for size in match.group(1).split("-")]
            return summarize(fully_connected(sizes), (sizes[0],),
                             f"fully connected {match.group(1)}")
        if match := CONV_SPEC.fullmatch(spec):
            width, height, channels, filters, kernel_h, kernel_w = map(int, match.groups()[:6])
            stride, padding = int(match.group(7) or 1), int(match.group(8) or 0)
            conv = nn.Sequential(OrderedDict(conv=nn.Conv2d(
                channels, filters, (kernel_h, kernel_w), stride, padding, device="meta")))
            return summarize(conv, (channels, height, width),
                             f"{filters} filters of {kernel_h}x{kernel_w} on {width}x{height}x"
                             f"{channels}, stride {stride}, padding {padding}")
    except (ValueError, RuntimeError, OverflowError) as error:  # sizes torch cannot hold
        raise UserError(f"{spec}: {str(error).splitlines()[0]}") from None
    path = Path(spec)
    if path.suffix == ".pt" or path.exists():
        from painterly.digits.training import load_model
        from painterly.nets.digitnet import INPUT_SIZE

        model = load_model(path).model
        return summarize(model, (1, INPUT_SIZE, INPUT_SIZE), f"digit net from {path}")
    raise UserError(f"unknown model '{spec}': use {MODEL_HELP}")
