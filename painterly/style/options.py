"""Every setting of a style transfer, declared once with its default, help and allowed values:
the command line, the web page, the API and docs/cli.md all come from here (see
:mod:`painterly.options`)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from painterly.nets.devices import AUTO, PRECISION_CHOICES
from painterly.nets.layers import POOLING_KINDS
from painterly.nets.vgg import DEFAULT_STYLE_LAYERS, LAYER_NAMES, LAYOUTS, MIN_SIDE, min_side
from painterly.optim.optimize import METHODS
from painterly.options import OptionError, option, validate
from painterly.style.color import PRESERVE_COLORS
from painterly.style.losses import LAYER_WEIGHT_SCHEMES, STYLE_STATISTICS
from painterly.style.presets import PRESETS, apply_preset

INIT_CHOICES = ("palette", "content", "noise")
MAX_SIZE = 8192


@dataclass
class TransferOptions:
    """Every setting of a style transfer, with its default. The CLI and the web page use these
    defaults; nothing else defines them."""

    size: int = option(512, "long side of the result in pixels", low=MIN_SIDE, high=MAX_SIZE,
                       main=True, label="Size (long side, px)")
    steps: int = option(
        200, "evaluations (forward+backward passes) at the final size (all of them in a "
             "single-scale run: size <= min-size, the default up to 512 px)", low=1, main=True,
        label="Steps at the final size")
    coarse_steps: int = option(
        100, "evaluations at the smallest scale of a coarse-to-fine run (size > min-size), "
             "tapering geometrically to steps at the final one", low=0,
        label="Steps at the smallest scale")
    min_size: int = option(
        512, "smallest scale of the coarse-to-fine ladder: sizes up to it run at one scale "
             "(below 512 px the network's deeper layers see the painting's strokes as shapes: "
             "docs/look.md)", low=MIN_SIDE, label="Smallest scale (px)")
    scale_ratio: float = option(2.0, "size ratio between neighbouring scales of the ladder",
                                low=1.1, high=4, label="Size ratio between scales")
    content_weight: float = option(1.0, "alpha, the weight of the content term", low=0,
                                   label="Content weight (α)")
    style_weight: float = option(
        1.376e6, "beta, the weight of the style term (the default with inverse-channels layer "
                 "weights is the balance of Gatys' own notebook; the paper's printed formula is "
                 "--preset paper)", low=0, label="Style weight (β)")
    strength: float = option(
        1.0, "style strength: a factor on the style weight (the effective style weight is "
             "style-weight x strength); below 1 the palette start also keeps more of the "
             "photo's colours", low=0.01, high=100, log=True, main=True,
        control="slider", label="Content/style balance")
    tv_weight: float = option(1e8, "total variation weight: a smoothness prior against "
                                   "pixel-level noise in flat regions", low=0,
                              label="Total variation weight")
    palette_weight: float = option(
        3e15, "weight of the palette term, which holds the result's colour mean and covariance "
              "at the painting's (several styles: their blend; below strength 1, moved towards "
              "the photo's as the palette start is); 0 turns it off", low=0,
        label="Palette weight")
    content_layer: str = option("relu4_2", "VGG-19 layer the content term compares",
                                choices=LAYER_NAMES, metavar="LAYER", label="Content layer")
    style_layers: tuple[str, ...] = option(
        DEFAULT_STYLE_LAYERS, "comma-separated VGG-19 layers the style term compares",
        choices=LAYER_NAMES, min_items=1, metavar="LAYERS", label="Style layers")
    layer_weights: str | tuple[float, ...] = option(
        "inverse-channels", "style layer weights: a scheme, or comma-separated numbers (one "
                            "per style layer)", choices=LAYER_WEIGHT_SCHEMES, low=0,
        same_length_as="style_layers",
        flag="--style-layer-weights", aliases=("--layer-weights",),
        label="Style layer weights")
    style_blend: tuple[float, ...] | None = option(
        None, "weights of several style images, e.g. 0.7,0.3 (normalized to sum to 1)", low=0,
        label="Style blend (one weight per style)")
    style_scale: float | tuple[float, ...] = option(
        1.0, "style image size relative to the content's; one value, or one per style, e.g. "
             "0.5,1", low=0.05, high=8, min_items=1, main=True, label="Style scale")
    reference_size: int = option(
        512, "size whose look smaller sizes keep: below it, the style layers that see the "
             "painting's shapes rather than its strokes (relu4_1, relu5_1) are weighted by "
             "(painting size / this size)^6, so that a small result keeps as much of the scene "
             "as a result at this size (docs/look.md); 0 off", low=MIN_SIDE,
        high=MAX_SIZE, special=0, metavar="PIXELS", label="Reference size (px)")
    style_loss: str = option("gram", "statistic the style loss matches",
                             choices=STYLE_STATISTICS, label="Style statistic")
    preserve_colors: str | None = option(
        None, "keep the content's colours: luminance (stylize luminance only), match (recolour "
              "the style first) or yuv (swap colours afterwards)", choices=PRESERVE_COLORS,
        main=True, label="Preserve colours")
    mask: str | None = option(None, "regions: an image with one colour per style, darkest "
                                    "colour first", metavar="IMAGE", web=False,
                                names_file=True)
    preset: str | None = option(
        None, "settings of a classic tool (options you give still win): "
              + "; ".join(f"{p.name}: {p.summary}" for p in PRESETS.values()),
        choices=tuple(PRESETS), label="Preset")
    init: str = option("palette", "what the optimization starts from: palette (the photo "
                       "recoloured to the painting's colour mean and covariance; the photo "
                       "itself under preserve-colors luminance or match), content (the "
                       "photo), noise, or an image file", choices=INIT_CHOICES,
                       free_text="PATH of an image", label="Start from", names_file=True)
    optimizer: str = option("lbfgs", "optimization method", choices=METHODS, label="Optimizer")
    learning_rate: float = option(0.02, "Adam's step size on 0..1 pixels", positive=True,
                                  label="Learning rate (Adam)")
    history: int = option(100, "L-BFGS memory, in steps (the classic tools' 100; lowered "
                               "automatically when memory is short)",
                          low=1, label="L-BFGS history")
    pooling: str = option("max", "pooling of the network", choices=POOLING_KINDS,
                          label="Pooling")
    seed: int = option(0, "random seed", main=True, label="Seed")
    weights: str | None = option(
        None, "a VGG-19 state dict (torchvision vgg19-*.pth or Caffe-converted "
              "vgg19-d01eb7cb.pth) instead of the bundled original weights", metavar="PATH",
        web=False, names_file=True)
    weights_layout: str | None = option(
        None, "preprocessing of weights (default: guessed from the file name)",
        choices=tuple(LAYOUTS), web=False)
    device: str = option(AUTO, "cpu, cuda, cuda:N, mps, or auto: the GPU where PyTorch finds "
                               "one, else the CPU", web=False)
    precision: str = option(
        AUTO, "number format of the network: bfloat16 is 1.8x faster where the CPU has it, for "
              "the same result (auto: bfloat16 where native, else float32)",
        choices=PRECISION_CHOICES, label="Network number format")
    time_budget: float | None = option(
        None, "finish within SECONDS: plan the steps from the measured cost of an evaluation "
              "and return the best image when time is up", positive=True, metavar="SECONDS",
        main=True, label="Time budget (s)")
    max_memory: float | None = option(
        None, "GB the run may use (default: 80% of what is available, at most 45% of the "
              "RAM); larger images are evaluated in tiles", positive=True, high=1e6,
        metavar="GB",
        label="Memory limit (GB)")
    tile_size: int | None = option(
        None, "evaluate the image in tiles of this size (exact, seamless); 0 never tiles "
              "(default: tile only when memory requires it)", low=64, special=0,
        metavar="PIXELS", label="Tile size (px)")

    @property
    def min_side(self) -> int:
        """Smallest image side at which every layer the losses compare is non-empty."""
        return min_side((self.content_layer, *self.style_layers))

    @property
    def effective_style_weight(self) -> float:
        """The style weight the objective uses: ``style_weight x strength``."""
        return self.style_weight if self.strength == 1 else self.style_weight * self.strength

    @staticmethod
    def implied(given: dict) -> dict:
        """The given options with those they imply: a preset's settings where not given (used
        by :func:`painterly.options.resolve`)."""
        return apply_preset(given)

    def validated(self) -> TransferOptions:
        """Raise :class:`~painterly.options.OptionError` for any bad value; returns self."""
        validate(self)
        if self.style_blend is not None and sum(self.style_blend) <= 0:
            raise OptionError("style_blend", "needs weights with a positive sum")
        if self.style_blend is not None and not all(math.isfinite(v) for v in self.style_blend):
            raise OptionError("style_blend", "needs finite weights")
        return self

    def replace(self, **changes) -> TransferOptions:
        return dataclasses.replace(self, **changes)
