"""``painterly transfer``, ``painterly demo`` and ``painterly examples``."""

from __future__ import annotations

import argparse
from pathlib import Path

from painterly.cli.common import (
    ProgressBar,
    add_network_options,
    add_run_options,
    float_list,
    name_list,
    network_options,
    positive_int,
    save_result,
    say,
    snapshot_writer,
)
from painterly.errors import UserError
from painterly.examples import CONTENT_EXAMPLES, STYLE_EXAMPLES, example_path
from painterly.io import images
from painterly.nets.devices import PRECISION_CHOICES
from painterly.optim.optimize import METHODS
from painterly.style import trace
from painterly.style.color import PRESERVE_COLORS
from painterly.style.guides import KEEP_CONTENT
from painterly.style.losses import LAYER_WEIGHT_SCHEMES, STYLE_STATISTICS
from painterly.style.presets import PRESETS
from painterly.style.transfer import TransferOptions, transfer

DEFAULTS = TransferOptions()
DEMO_SIZE = 384


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "transfer", help="render a content image in the style of one or more paintings",
        description="Render CONTENT in the style of STYLE (Gatys et al.). Images are paths or "
                    "names of built-in examples (see 'painterly examples').")
    parser.add_argument("content", metavar="CONTENT")
    parser.add_argument("styles", metavar="STYLE", nargs="+",
                        help=f"one or more style images; with --mask, '{KEEP_CONTENT}' keeps a "
                             "region unstylized")
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="result file (.png, .jpg or .tif)")
    add_transfer_options(parser)
    add_control_options(parser)
    parser.set_defaults(run=run_transfer)

    demo = subparsers.add_parser(
        "demo", help="style the built-in Tübingen photo after The Starry Night",
        description="Run the main job on the built-in example images with CPU-friendly settings.")
    demo.add_argument("-o", "--output", type=Path, default=Path("painterly-demo.png"),
                      help="result file (default painterly-demo.png)")
    demo.add_argument("--size", type=int, default=DEMO_SIZE,
                      help=f"long side in pixels (default {DEMO_SIZE})")
    demo.add_argument("--style", default="starry_night", choices=STYLE_EXAMPLES)
    demo.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                      help="finish within SECONDS")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=run_demo)

    listing = subparsers.add_parser("examples", help="list the built-in example images")
    listing.set_defaults(run=run_examples)


def add_transfer_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``transfer``; defaults come from :class:`TransferOptions`."""
    d = DEFAULTS
    add_run_options(parser, size=d.size, steps=d.steps)
    parser.add_argument("--coarse-steps", type=int, default=d.coarse_steps,
                        help="evaluations at the smallest scale, tapering geometrically to "
                             f"--steps at the final one (default {d.coarse_steps})")
    parser.add_argument("--min-size", type=int, default=d.min_size,
                        help="smallest scale of the coarse-to-fine ladder; set it to --size for "
                             "a single scale, which gets max(--steps, --coarse-steps) "
                             f"evaluations (default {d.min_size})")
    parser.add_argument("--scale-ratio", type=float, default=d.scale_ratio,
                        help="size ratio between neighbouring scales of the ladder "
                             f"(default {d.scale_ratio:g})")
    parser.add_argument("--content-weight", type=float, default=d.content_weight,
                        help=f"alpha (default {d.content_weight:g})")
    parser.add_argument("--style-weight", type=float, default=d.style_weight,
                        help=f"beta (default {d.style_weight:g})")
    parser.add_argument("--tv-weight", type=float, default=d.tv_weight,
                        help=f"total variation weight (default {d.tv_weight:g})")
    parser.add_argument("--content-layer", default=d.content_layer,
                        help=f"(default {d.content_layer})")
    parser.add_argument("--style-layers", type=name_list, default=d.style_layers,
                        help=f"comma-separated (default {','.join(d.style_layers)})")
    parser.add_argument("--style-layer-weights", "--layer-weights", dest="layer_weights",
                        default=d.layer_weights,
                        help=f"style layer weights: {' | '.join(LAYER_WEIGHT_SCHEMES)} | "
                             f"comma-separated numbers (default {d.layer_weights})")
    parser.add_argument("--style-blend", type=float_list, default=None,
                        help="weights of several styles, e.g. 0.7,0.3 (normalized)")
    parser.add_argument("--style-scale", type=float_list, default=d.style_scale,
                        help="style image size relative to the content; one value, or one per "
                             f"style, e.g. 0.5,1 (default {d.style_scale:g})")
    parser.add_argument("--init", default=d.init,
                        help=f"content | noise | PATH of an image (default {d.init})")
    parser.add_argument("--optimizer", choices=METHODS, default=d.optimizer,
                        help=f"(default {d.optimizer})")
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate,
                        help=f"Adam's step size on 0..1 pixels (default {d.learning_rate:g})")
    add_network_options(parser, pooling=d.pooling, device=d.device)
    add_speed_options(parser)
    parser.add_argument("--save-every", type=positive_int, default=None, metavar="N",
                        help="also write the image every N steps at the final scale, "
                             "as OUTPUT_NNNN.png")


def add_speed_options(parser: argparse.ArgumentParser) -> None:
    """--time-budget, --history, --max-memory, --tile-size (see painterly.style.schedule/memory)."""
    d = DEFAULTS
    parser.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                        help="finish within SECONDS: plan the steps from the measured cost of an "
                             "evaluation and return the best image when time is up")
    parser.add_argument("--history", type=positive_int, default=d.history,
                        help=f"L-BFGS memory (default {d.history}; lowered automatically when "
                             "memory is short)")
    parser.add_argument("--max-memory", type=float, default=None, metavar="GB",
                        help="memory the run may use (default: 80%% of what is available, at "
                             "most 45%% of the RAM); larger images are evaluated in tiles")
    parser.add_argument("--tile-size", type=int, default=None, metavar="PIXELS",
                        help="evaluate the image in tiles of this size (exact, seamless); "
                             "0 never tiles (default: tile only when memory requires it)")
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default=d.precision,
                        help="number format of the network: bfloat16 is 1.8x faster where the "
                             "CPU has it, for the same result (default auto: bfloat16 where "
                             "native, else float32)")


def speed_options_from_args(args: argparse.Namespace) -> dict:
    return dict(time_budget=args.time_budget, history=args.history,
                max_memory=args.max_memory, tile_size=args.tile_size, precision=args.precision)


def _layer_weights(text: str) -> str | tuple[float, ...]:
    if text in LAYER_WEIGHT_SCHEMES:
        return text
    try:
        return float_list(text)
    except argparse.ArgumentTypeError:
        raise UserError("--style-layer-weights: choose from "
                        f"{', '.join(LAYER_WEIGHT_SCHEMES)} or give comma-separated numbers"
                        ) from None


def add_control_options(parser: argparse.ArgumentParser) -> None:
    """Colour, regions, style statistic, presets and the trace (see README, "Artistic control")."""
    d = DEFAULTS
    parser.add_argument("--preserve-colors", choices=PRESERVE_COLORS, default=None,
                        help="keep the content's colours: luminance (stylize luminance only), "
                             "match (recolour the style first) or yuv (swap colours afterwards)")
    parser.add_argument("--mask", default=None, metavar="IMAGE",
                        help="regions: one style per mask colour, darkest colour first")
    parser.add_argument("--style-loss", choices=STYLE_STATISTICS, default=d.style_loss,
                        help=f"statistic the style loss matches (default {d.style_loss})")
    parser.add_argument("--preset", choices=tuple(PRESETS), default=None,
                        help="settings of a classic tool (options you give still win): "
                             + "; ".join(f"{p.name}: {p.summary}" for p in PRESETS.values()))
    parser.add_argument("--trace", action="store_true",
                        help="also write OUTPUT_STEM.trace.json: settings, versions, weights "
                             "checksum, loss and time per evaluation")
    _record_given(parser)


_RECORDING: dict[type, type] = {}


def _record_given(parser: argparse.ArgumentParser) -> None:
    """Make every option note its name in ``args.given`` when the user gives it, so a preset
    fills in only the others."""
    for action in parser._actions:
        kind = type(action)
        if kind not in _RECORDING:
            def __call__(self, parser, namespace, values, option_string=None, _kind=kind):
                _kind.__call__(self, parser, namespace, values, option_string)
                given = getattr(namespace, "given", None) or set()
                namespace.given = given | {self.dest}
            _RECORDING[kind] = type(f"Recording{kind.__name__}", (kind,), {"__call__": __call__})
        action.__class__ = _RECORDING[kind]


def _style_scale(values: float | tuple[float, ...]) -> float | tuple[float, ...]:
    if isinstance(values, tuple) and len(values) == 1:
        return values[0]
    return values


def options_from_args(args: argparse.Namespace) -> dict:
    """The :class:`TransferOptions` fields set by the command line (with ``--preset``: only
    those the user gave, the preset fills in the rest)."""
    options = _core_options(args)
    options.update(style_scale=_style_scale(options["style_scale"]),
                   style_loss=getattr(args, "style_loss", DEFAULTS.style_loss),
                   preserve_colors=getattr(args, "preserve_colors", None),
                   mask=getattr(args, "mask", None))
    preset = getattr(args, "preset", None)
    if preset is not None:
        given = getattr(args, "given", None) or set()
        options = {key: value for key, value in options.items()
                   if key in given or key not in PRESETS[preset].options}
        options["preset"] = preset
    return options


def _core_options(args: argparse.Namespace) -> dict:
    return dict(
        size=args.size, steps=args.steps, coarse_steps=args.coarse_steps,
        min_size=args.min_size, scale_ratio=args.scale_ratio, content_weight=args.content_weight,
        style_weight=args.style_weight, tv_weight=args.tv_weight,
        content_layer=args.content_layer, style_layers=tuple(args.style_layers),
        layer_weights=_layer_weights(args.layer_weights), style_blend=args.style_blend,
        style_scale=args.style_scale, init=args.init, optimizer=args.optimizer,
        learning_rate=args.learning_rate, seed=args.seed, **network_options(args),
        **speed_options_from_args(args),
    )


def run_and_save(content, styles, output: Path, options: dict, *, quiet: bool,
                 save_every: int | None = None, write_trace: bool = False) -> int:
    """Run a transfer with a progress bar, write the result atomically (and its trace), report
    it."""
    output = images.check_output_path(output, [content, *styles, options.get("mask"),
                                               options.get("init")])
    bar = ProgressBar("transfer", quiet=quiet)
    try:
        result = transfer(content, styles, progress=bar, snapshot=snapshot_writer(output),
                          save_every=save_every or 0, **options)
    finally:
        bar.close()
    save_result(result.tensor, output)
    if write_trace:
        record = trace.build_trace(result, content, styles, output=output,
                                   mask=options.get("mask"))
        say(f"wrote trace {trace.write_trace(record, trace.trace_path(output))}")
    width, height = result.image.size
    terms = result.terms
    losses = ""
    if terms:
        losses = f"; content loss {terms.content:.4g}, style loss {terms.style:.4g}"
        if result.content_style_loss:
            share = 100 * terms.style / result.content_style_loss
            losses += f" = {share:.2g}% of the content image's own" if share < 10 else \
                f" = {share:.0f}% of the content image's own"
    if result.interrupted:
        say(f"interrupted: wrote the best image so far to {output} ({width}x{height}, "
            f"{result.evaluations} evaluations, {result.seconds:.1f} s{losses})")
        return 130
    say(f"wrote {output} ({width}x{height}, {result.evaluations} evaluations, "
        f"{result.seconds:.1f} s{losses})")
    return 0


def run_transfer(args: argparse.Namespace) -> int:
    return run_and_save(args.content, args.styles, args.output, options_from_args(args),
                        quiet=args.quiet, save_every=args.save_every, write_trace=args.trace)


def run_demo(args: argparse.Namespace) -> int:
    say(f"painterly demo: Tübingen (photo: Andreas Praefcke, CC BY 3.0) in the style of "
        f"{args.style.replace('_', ' ')}, {args.size} px")
    return run_and_save("tubingen", [args.style], args.output,
                        {"size": args.size, "time_budget": args.time_budget},
                        quiet=args.quiet)


def run_examples(args: argparse.Namespace) -> int:
    for kind, names in (("content", CONTENT_EXAMPLES), ("style", STYLE_EXAMPLES)):
        for name in names:
            say(f"{kind:8} {name:28} {example_path(name)}")
    say("attribution: " + str(example_path("tubingen").with_name("ATTRIBUTION.md")))
    return 0
