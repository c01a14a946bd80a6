"""Settings of a run as the web page and the HTTP API see them: the fields of
:class:`~painterly.style.transfer.TransferOptions` for a transfer, of
:class:`~painterly.lecture.experiments.ReconstructionOptions` (plus the layers) for a reconstruction
(defaults from there, nothing redefined), minus those that name files or hardware of the server,
with the types coerced from JSON and a few server limits."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from painterly.errors import UserError
from painterly.lecture.experiments import CONTENT_LAYERS, STYLE_LAYERS, ReconstructionOptions
from painterly.nets.devices import PRECISION_CHOICES
from painterly.nets.layers import POOLING_KINDS
from painterly.nets.vgg import LAYER_NAMES, check_layers
from painterly.optim.optimize import METHODS
from painterly.style.color import PRESERVE_COLORS
from painterly.style.losses import LAYER_WEIGHT_SCHEMES
from painterly.style.transfer import INIT_CHOICES, TransferOptions

RUN_KINDS = ("transfer", "reconstruct-content", "reconstruct-style")
"""What a run computes: a style transfer, or one of the lecture's reconstruction figures."""
HIDDEN = frozenset({"weights", "weights_layout", "device", "mask", "masks", "trace"})
"""Options the page and the API never set: they name files or hardware of the server (and no
text option may hold a path: see :func:`parse_options`)."""
MAIN = ("size", "steps", "time_budget", "style_weight", "style_scale", "preserve_colors", "seed")
"""Options shown outside the "advanced" section (when TransferOptions has them)."""
MAX_WEB_SIZE = 2048
MAX_WEB_STEPS = 5000
MAX_RECONSTRUCTIONS = 8
"""Most reconstructions (layers, or layer sets) in one figure."""
CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": METHODS, "pooling": POOLING_KINDS, "init": INIT_CHOICES,
    "content_layer": LAYER_NAMES, "layer_weights": LAYER_WEIGHT_SCHEMES,
    "precision": PRECISION_CHOICES, "preserve_colors": PRESERVE_COLORS,
}
"""Allowed values of the text options (``init`` is never a path here)."""
LABELS = {
    "size": "Size (long side, px)", "steps": "Steps at the final size",
    "time_budget": "Time budget (s)", "style_weight": "Style weight (β)",
    "style_scale": "Style scale", "preserve_colors": "Preserve colours", "seed": "Seed",
    "coarse_steps": "Steps at the smallest scale", "min_size": "Smallest scale (px)",
    "scale_ratio": "Size ratio between scales",
    "content_weight": "Content weight (α)", "tv_weight": "Total variation weight",
    "content_layer": "Content layer", "style_layers": "Style layers",
    "layer_weights": "Style layer weights", "style_blend": "Style blend (one weight per style)",
    "init": "Start from", "optimizer": "Optimizer", "learning_rate": "Learning rate (Adam)",
    "history": "L-BFGS history", "pooling": "Pooling",
    "noise": "Start noise (amplitude)", "precision": "Network number format",
}
SUGGESTED = {"size": 384}
"""Starting values on the page that differ from the library defaults: a CPU-friendly size."""
RECONSTRUCTION_SUGGESTED = {"size": 128, "steps": 100}
"""The same for reconstructions: a figure of five took 30 s on one CPU core."""


def _kind(field: dataclasses.Field, default: Any) -> str:
    """int | float | bool | text | list (of text) | numbers (list of floats), from the default
    (or, for options off by default, from the annotation's first type)."""
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, str):
        return "text"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    annotation = str(field.type).replace(" ", "")
    for prefix, kind in (("bool", "bool"), ("int", "int"), ("float", "float"),
                         ("tuple[float", "numbers"), ("tuple[str", "list")):
        if annotation.startswith(prefix):
            return kind
    return "text"


def option_fields(options_class: type = TransferOptions) -> list[dict]:
    """Every settable option of ``options_class`` with its default, kind, label, choices and
    section."""
    defaults = options_class()
    described = []
    for field in dataclasses.fields(options_class):
        if field.name in HIDDEN:
            continue
        default = getattr(defaults, field.name)
        entry = {"name": field.name, "default": list(default) if isinstance(default, tuple)
                 else default, "kind": _kind(field, default),
                 "label": LABELS.get(field.name, field.name.replace("_", " ").capitalize()),
                 "section": "main" if field.name in MAIN else "advanced",
                 "optional": "None" in str(field.type)}
        if field.name in CHOICES:
            entry["choices"] = list(CHOICES[field.name])
        if field.name == "style_layers":
            entry["choices"] = list(LAYER_NAMES)
        described.append(entry)
    return described


def parse_options(raw: Any) -> dict:
    """JSON settings -> keyword arguments for :func:`painterly.transfer`, validated by
    TransferOptions itself; UserError (one line) for anything wrong."""
    options = _coerced(_json_object(raw), option_fields(), "unknown option(s)")
    opts = TransferOptions(**options).validated()
    _check_web_limits(opts.size, opts.steps, opts.coarse_steps)
    if opts.init not in INIT_CHOICES:
        raise UserError(f"init: choose from {', '.join(INIT_CHOICES)}")
    return options


def reconstruction_fields() -> list[dict]:
    """The settable options of a reconstruction (size, steps, seed, noise, optimizer, ...)."""
    return option_fields(ReconstructionOptions)


def parse_reconstruction_options(kind: str, raw: Any) -> dict:
    """JSON settings of a reconstruction -> ``{"layers": [...], ...}`` (plus ``"cumulative":
    bool`` for a style reconstruction) and the given fields of ReconstructionOptions, validated;
    UserError (one line) for anything wrong.

    ``layer`` (one name) or ``layers`` (a list: one content reconstruction per layer; for style,
    one texture from all of them, or with ``cumulative`` one per prefix: a, a+b, a+b+c, ...)."""
    raw = dict(_json_object(raw))
    if "layer" in raw and "layers" in raw:
        raise UserError("give layer or layers, not both")
    layer = raw.pop("layer", None)
    if layer is not None:
        if not isinstance(layer, str):
            raise UserError("layer must be the name of one VGG-19 layer, e.g. relu4_2")
        layers = [layer]
    else:
        default = ["relu4_2"] if kind == "reconstruct-content" else list(STYLE_LAYERS)
        layers = raw.pop("layers", default)
        if not isinstance(layers, list) or not layers or not all(
                isinstance(name, str) for name in layers):
            raise UserError("layers must be a list of one or more VGG-19 layer names, e.g. "
                            + ",".join(CONTENT_LAYERS if kind == "reconstruct-content"
                                       else STYLE_LAYERS))
    if len(layers) > MAX_RECONSTRUCTIONS:
        raise UserError(f"at most {MAX_RECONSTRUCTIONS} layers on the web page")
    check_layers(layers)
    options: dict[str, Any] = {"layers": list(layers)}
    if kind == "reconstruct-style":
        cumulative = raw.pop("cumulative", False)
        if not isinstance(cumulative, bool):
            raise UserError("cumulative must be true or false")
        options["cumulative"] = cumulative
    given = _coerced(raw, reconstruction_fields(), "unknown option(s) of a reconstruction")
    opts = ReconstructionOptions(**given).validated()
    _check_web_limits(opts.size, opts.steps)
    return options | given


def _json_object(raw: Any) -> dict:
    """The settings of a request: a JSON object (absent: no settings)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError("options must be a JSON object")
    return raw


def _coerced(raw: dict, fields: list[dict], unknown_message: str) -> dict:
    """``raw``'s values coerced to the types of ``fields``; UserError naming unknown keys."""
    by_name = {field["name"]: field for field in fields}
    unknown = sorted(set(raw) - set(by_name))
    if unknown:
        raise UserError(f"{unknown_message}: {', '.join(unknown)}")
    return {name: _coerce(by_name[name], value) for name, value in raw.items()}


def _check_web_limits(size: int, *steps: int) -> None:
    """The server's caps on size and step counts (above what the library allows)."""
    if size > MAX_WEB_SIZE:
        raise UserError(f"size must be at most {MAX_WEB_SIZE} px on the web page")
    if max(steps) > MAX_WEB_STEPS:
        raise UserError(f"steps must be at most {MAX_WEB_STEPS} on the web page")


def _coerce(field: dict, value: Any) -> Any:
    name, kind = field["name"], field["kind"]
    if value is None:
        if field["optional"]:
            return None
        raise UserError(f"{name} needs a value")
    if kind == "bool":
        if not isinstance(value, bool):
            raise UserError(f"{name} must be true or false")
        return value
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{name} must be a number")
        if not math.isfinite(value):
            raise UserError(f"{name} must be a finite number")
        if kind == "int":
            if value != int(value):
                raise UserError(f"{name} must be a whole number")
            return int(value)
        return float(value)
    if kind == "numbers":
        if not isinstance(value, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise UserError(f"{name} must be a list of numbers")
        return tuple(float(v) for v in value)
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UserError(f"{name} must be a list of names")
        return tuple(value)
    if name == "layer_weights" and isinstance(value, list):
        return _coerce({"name": name, "kind": "numbers", "optional": False}, value)
    if not isinstance(value, str):
        raise UserError(f"{name} must be text")
    if "/" in value or "\\" in value or value.startswith("."):
        raise UserError(f"{name}: file paths are not accepted here")
    if name in CHOICES and value not in CHOICES[name]:
        raise UserError(f"{name}: choose from {', '.join(CHOICES[name])}")
    return value
