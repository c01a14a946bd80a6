"""The lecture's handwritten-digit classifier: 28x28 grayscale in, a first stage of 6 feature
maps, a second of 12, 5x5 kernels, each stage convolution -> activation -> pooling, and a fully
connected output layer (no hidden layer) giving 10 class scores."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass

import torch
from torch import nn

from painterly.nets.layers import (
    ACTIVATIONS,
    POOLING_KINDS,
    Pool2d,
    activation,
    activation_pieces,
    output_size,
)

INPUT_SIZE = 28
CLASSES = 10
ACTIVATION_PREFIX = "act"


@dataclass(frozen=True)
class DigitNetConfig:
    """The architecture: sizes fixed by the lecture, the rest selectable."""

    maps: tuple[int, int] = (6, 12)
    kernel: int = 5
    activation: str = "relu"
    pooling: str = "max"
    padding: tuple[int, int] = (2, 2)
    """Padding of each convolution: 2 keeps the size ('same'), 0 shrinks by 4 ('valid')."""

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{self.activation}': choose from "
                             f"{', '.join(ACTIVATIONS)}")
        if self.pooling not in POOLING_KINDS:
            raise ValueError(f"unknown pooling '{self.pooling}': choose from "
                             f"{', '.join(POOLING_KINDS)}")
        object.__setattr__(self, "maps", tuple(self.maps))
        object.__setattr__(self, "padding", tuple(self.padding))

    def side_after_stages(self) -> int:
        """Spatial side of the last feature maps (checked arithmetic)."""
        side = INPUT_SIZE
        for padding in self.padding:
            side = output_size(side, self.kernel, 1, padding)
            side = output_size(side, 2, 2)
        return side

    def to_dict(self) -> dict:
        return asdict(self)


class DigitNet(nn.Module):
    """The lecture's two-stage CNN; ``stages`` returns every intermediate feature map."""

    def __init__(self, config: DigitNetConfig | None = None):
        super().__init__()
        self.config = config = config or DigitNetConfig()
        pieces = activation_pieces(config.activation)
        layers: dict[str, nn.Module] = {}
        channels = 1
        for stage, (maps, padding) in enumerate(zip(config.maps, config.padding, strict=True), 1):
            layers[f"conv{stage}"] = nn.Conv2d(channels, maps * pieces, config.kernel,
                                               padding=padding)
            layers[f"{ACTIVATION_PREFIX}{stage}"] = activation(config.activation)
            layers[f"pool{stage}"] = Pool2d(config.pooling, 2)
            channels = maps
        self.features = nn.Sequential(OrderedDict(layers))
        side = config.side_after_stages()
        self.classifier = nn.Linear(channels * side * side, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))

    def stages(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named intermediate outputs: conv1, act1, pool1, conv2, act2, pool2, classifier."""
        outputs = {}
        for name, layer in self.features.named_children():
            x = layer(x)
            outputs[name] = x
        outputs["classifier"] = self.classifier(x.flatten(1))
        return outputs
