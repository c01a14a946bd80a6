"""Settings of a run as the web page and the HTTP API see them, generated from the option
declarations (:mod:`painterly.options`): the fields of
:class:`~painterly.style.options.TransferOptions` for a transfer, of
:class:`~painterly.lecture.experiments.ReconstructionOptions` (plus the layers) for a
reconstruction, of :class:`~painterly.video.options.VideoOptions` and the per-frame transfer
options for a video, minus those declared ``web=False`` (files or hardware of the server), with the
types coerced from JSON and a few server limits. Nothing here names a particular option."""

from __future__ import annotations

from typing import Any

from painterly.errors import UserError
from painterly.lecture.experiments import CONTENT_LAYERS, STYLE_LAYERS, ReconstructionOptions
from painterly.nets.vgg import check_layers
from painterly.options import (
    Field,
    OptionError,
    UnknownOptionError,
    convert,
    fields_of,
    resolve,
)
from painterly.style.options import TransferOptions
from painterly.video.options import PER_VIDEO, VideoOptions

RUN_KINDS = ("transfer", "reconstruct-content", "reconstruct-style", "video")
"""What a run computes: a style transfer, one of the lecture's reconstruction figures, or a
stylized video clip."""
MAX_WEB_SIZE = 2048
MAX_WEB_STEPS = 5000
MAX_RECONSTRUCTIONS = 8
"""Most reconstructions (layers, or layer sets) in one figure."""
SUGGESTED = {"size": 384}
"""Starting values on the page that differ from the library defaults: a CPU-friendly size."""
RECONSTRUCTION_SUGGESTED = {"size": 128, "steps": 100}
"""The same for reconstructions: a figure of five took 30 s on one CPU core."""
VIDEO_SUGGESTED = {"size": 256}
"""The same for videos: every frame is a run, so a smaller size than for a picture."""
MAX_WEB_FRAMES = 1500
"""Most frames a video run may stylize (after its start, duration and frame rate)."""
PAGE_KINDS = {"names": "list"}
"""The page's word for a kind where it differs (``list``: a list of names)."""


def _control(item: Field) -> str:
    """The form control of a field: its declared one, else one for its kind."""
    if item.spec.control:
        return item.spec.control
    if item.kind == "bool":
        return "checkbox"
    if item.kind == "text" and item.spec.choices:
        return "select"
    return "number" if item.kind in ("int", "float") else "text"


def web_fields(options_class: type) -> list[Field]:
    """The declared options the page and the API may set."""
    return [item for item in fields_of(options_class) if item.spec.web]


def video_fields() -> list[Field]:
    """The settings of a video run: its own (:class:`VideoOptions`), then the transfer options
    that apply to each frame (all but those the video sets per frame)."""
    return web_fields(VideoOptions) + [item for item in web_fields(TransferOptions)
                                       if item.name not in PER_VIDEO]


def option_fields(options_class: type = TransferOptions,
                  fields: list[Field] | None = None) -> list[dict]:
    """Every settable option of ``options_class`` (or the given ``fields``) as the page needs
    it: default, kind(s), label, help, choices, bounds, section and control."""
    described = []
    for item in web_fields(options_class) if fields is None else fields:
        spec = item.spec
        default = list(item.default) if isinstance(item.default, tuple) else item.default
        entry = {"name": item.name, "default": default,
                 "kind": PAGE_KINDS.get(item.kind, item.kind),
                 "kinds": [PAGE_KINDS.get(kind, kind) for kind in item.kinds],
                 "label": item.label, "help": spec.help,
                 "section": "main" if spec.main else "advanced",
                 "optional": item.optional, "control": _control(item)}
        if spec.choices:
            entry["choices"] = list(spec.choices)
        for key, value in (("min", spec.low), ("max", spec.high)):
            if value is not None:
                entry[key] = value
        if spec.log:
            entry["log"] = True
        described.append(entry)
    return described


def parse_options(raw: Any) -> dict:
    """JSON settings -> keyword arguments for :func:`painterly.transfer`, validated by
    TransferOptions itself; UserError (one line) for anything wrong."""
    options = _coerced(_json_object(raw), web_fields(TransferOptions))
    opts = resolve(TransferOptions, options)
    _check_web_limits(opts.size, steps=opts.steps, coarse_steps=opts.coarse_steps)
    return options


def parse_video_options(raw: Any) -> dict:
    """JSON settings of a video -> keyword arguments for :func:`painterly.video` (the fields
    of :func:`video_fields`), validated by VideoOptions and TransferOptions themselves;
    UserError (one line) for anything wrong."""
    options = _coerced(_json_object(raw), video_fields(), " of a video")
    own = {item.name for item in web_fields(VideoOptions)}
    settings = resolve(VideoOptions, {k: v for k, v in options.items() if k in own})
    frame = resolve(TransferOptions, {k: v for k, v in options.items() if k not in own})
    _check_web_limits(frame.size, first_frame_steps=settings.first_frame_steps,
                      frame_steps=settings.frame_steps, coarse_steps=frame.coarse_steps)
    return options


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
    given = _coerced(raw, web_fields(ReconstructionOptions), " of a reconstruction")
    opts = resolve(ReconstructionOptions, given)
    _check_web_limits(opts.size, steps=opts.steps)
    return options | given


def _json_object(raw: Any) -> dict:
    """The settings of a request: a JSON object (absent: no settings)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError("options must be a JSON object")
    return raw


def _coerced(raw: dict, fields: list[Field], what: str = "") -> dict:
    """``raw``'s values converted to the types of ``fields`` (text is never parsed, never a
    path); UnknownOptionError for keys that are none of them."""
    by_name = {item.name: item for item in fields}
    unknown = sorted(set(raw) - set(by_name))
    if unknown:
        raise UnknownOptionError(unknown, what)
    return {name: convert(by_name[name], value, parse_text=False, paths=False)
            for name, value in raw.items()}


def _check_web_limits(size: int, **steps: int) -> None:
    """The server's caps on size and on step counts (by field name), above what the library
    allows."""
    if size > MAX_WEB_SIZE:
        raise OptionError("size", f"must be at most {MAX_WEB_SIZE} px on the web page")
    for name, count in steps.items():
        if count > MAX_WEB_STEPS:
            raise OptionError(name, f"must be at most {MAX_WEB_STEPS} on the web page")
