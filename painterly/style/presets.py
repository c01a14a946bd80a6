"""Named sets of transfer settings that reproduce the look of well-known tools.

A preset only fills in the settings the user did not give: ``transfer(..., preset="johnson",
steps=200)`` runs jcjohnson/neural-style's settings with 200 evaluations.

Weights are converted to painterly's normalization (docs/controls.md, "The losses and their
normalization"); the conversions are exact for the default layers:

* Gatys' notebook (leongatys/PytorchNeuralStyleTransfer): content ``mean (F-P)^2`` on relu4_2
  with weight 1, style ``mean (G/M - A/M)^2`` with weight 1e3/N_l^2 per layer. With painterly's
  ``inverse-channels`` layer weights (1/N_l^2 normalized by S = sum 1/N_l^2) that is
  alpha = 2^-20, beta = 4000 S = 1.3123 for relu1_1..relu5_1 (beta/alpha = 1.376e6): the
  notebook's objective exactly, at its own scale. Content init, 500 evaluations at one scale,
  L-BFGS with history 100: painterly's bounded L-BFGS-B, because PyTorch's unbounded L-BFGS (the
  notebook's) diverges to inf within 3 evaluations on this objective in 0..1 pixel units.
* jcjohnson/neural-style: content ``5 * mean (F-P)^2``, style ``100 * mean (G/(NM) - A/(NM))^2``
  (its Gram divided by N M, hence effectively 1/N_l^2 layer weights), TV 1e-3 on the 0..255
  image as 1/2 sum of squared differences. In painterly's terms alpha = 0.625/2^17 = 4.77e-6,
  beta = 400 S = 0.1312, TV 32.51 (on 0..1 pixels; beta/alpha = 27520); bounded L-BFGS
  history 100 (as for gatys), noise init, 1000 evaluations at one scale.
* painterly: the defaults of :class:`~painterly.style.transfer.TransferOptions` (one scale up to
  512 px, coarse to fine above; bounded L-BFGS, palette start), what you get without a preset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from painterly.nets.vgg import DEFAULT_STYLE_LAYERS
from painterly.options import OptionError

_S = 1 / 64**2 + 1 / 128**2 + 1 / 256**2 + 2 / 512**2
"""Sum of 1/N_l^2 over relu1_1..relu5_1 (N_l: channels)."""

SINGLE_SCALE = 8192
"""A ``min_size`` at least as large as any output: no coarse-to-fine ladder."""


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    source: str
    options: Mapping[str, object] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {preset.name: preset for preset in (
    Preset("painterly", "painterly's defaults: one scale up to 512 px (200 evaluations; larger "
           "sizes coarse to fine from 512 px), bounded L-BFGS from the photo in the painting's "
           "palette, Gatys' notebook balance (1/N^2 layer weights, beta/alpha 1.376e6), light "
           "smoothness prior, palette term",
           "this project (docs/look.md)", {}),
    Preset("paper", "the paper's printed formula: equal layer weights, alpha/beta = 1e-3, no "
           "smoothness prior (a light touch: the photo with the painting's texture)",
           "Gatys, Ecker & Bethge 2015, eq. 7 (docs/look.md)",
           {"content_weight": 1.0, "style_weight": 1e3, "tv_weight": 0.0,
            "palette_weight": 0.0, "layer_weights": "equal", "min_size": 256, "coarse_steps": 10,
            "steps": 70, "reference_size": 0}),
    Preset("gatys", "Gatys' own PyTorch notebook: 1e3/N^2 layer weights, L-BFGS, content init, "
           "500 evaluations at one scale",
           "leongatys/PytorchNeuralStyleTransfer (field notes 1.2, 3.5)",
           {"content_weight": 2.0**-20, "style_weight": 4000 * _S, "tv_weight": 0.0,
            "palette_weight": 0.0,
            "layer_weights": "inverse-channels", "content_layer": "relu4_2",
            "style_layers": DEFAULT_STYLE_LAYERS,
            "init": "content", "optimizer": "lbfgs", "history": 100, "steps": 500,
            "reference_size": 0,
            "min_size": SINGLE_SCALE, "pooling": "max", "style_loss": "gram"}),
    Preset("johnson", "jcjohnson/neural-style defaults: content 5, style 100, TV 1e-3, Gram/(NM), "
           "noise init, L-BFGS, 1000 evaluations at one scale",
           "jcjohnson/neural-style neural_style.lua (field notes 1.1)",
           {"content_weight": 0.625 / 2**17, "style_weight": 400 * _S, "tv_weight": 32.5125,
            "palette_weight": 0.0,
            "layer_weights": "inverse-channels", "content_layer": "relu4_2",
            "style_layers": DEFAULT_STYLE_LAYERS,
            "init": "noise", "optimizer": "lbfgs", "history": 100, "steps": 1000,
            "reference_size": 0,
            "min_size": SINGLE_SCALE, "pooling": "max", "style_loss": "gram"}),
)}
DEFAULT_PRESET = "painterly"


def apply_preset(options: Mapping[str, object]) -> dict[str, object]:
    """``options`` with the settings of ``options["preset"]`` (if any) filled in where the
    caller did not give them."""
    options = dict(options)
    name = options.get("preset")
    if name is None:
        return options
    if not isinstance(name, str) or name not in PRESETS:
        raise OptionError("preset", f"must be one of {', '.join(PRESETS)}, got {name!r}")
    for key, value in PRESETS[name].options.items():
        options.setdefault(key, value)
    return options
