"""The lecture's experiments as subcommands: ``reconstruct-content``, ``reconstruct-style``,
``features``, ``filters`` and ``grid``."""

from __future__ import annotations

import argparse
from pathlib import Path

from painterly.cli.common import ProgressBar, add_quiet, save_result, say
from painterly.cli.options import add_option_fields, float_list, name_list, options_from_args
from painterly.cli.transfer import add_transfer_options, check_transfer_output
from painterly.errors import UserError
from painterly.io import images
from painterly.lecture import experiments
from painterly.lecture.experiments import ReconstructionOptions
from painterly.style.options import TransferOptions

FIGURE_NOTE = "Images are paths or names of built-in examples (see 'painterly examples')."


def register(subparsers: argparse._SubParsersAction) -> None:
    content = subparsers.add_parser(
        "reconstruct-content", help="reconstruct an image from one layer's features",
        description="Optimize white noise until its features at one VGG-19 layer match those of "
                    "IMAGE (1/2 sum (F-P)^2). convX_Y is before the ReLU, reluX_Y after it (the "
                    f"paper's Caffe 'conv' layers are painterly's relu layers). {FIGURE_NOTE}")
    content.add_argument("image", metavar="IMAGE")
    content.add_argument("--layer", default="relu4_2", help="(default relu4_2)")
    content.add_argument("--layers", type=name_list, default=None,
                         help="several layers, e.g. relu1_2,relu2_2,relu3_2,relu4_2,relu5_2: one "
                              "reconstruction each, side by side in --grid")
    _add_outputs(content)
    _add_reconstruction_options(content)
    content.set_defaults(run=run_reconstruct_content)

    style = subparsers.add_parser(
        "reconstruct-style", help="synthesize a texture from the Gram matrices of chosen layers",
        description="Optimize white noise until its Gram matrices at the chosen VGG-19 layers "
                    "match those of IMAGE (style reconstruction, texture synthesis). "
                    + FIGURE_NOTE)
    style.add_argument("image", metavar="IMAGE")
    style.add_argument("--layers", type=name_list, default=None,
                       help="comma-separated (default relu1_1,relu2_1,relu3_1,relu4_1,relu5_1)")
    style.add_argument("--cumulative", type=name_list, default=None,
                       help="a,b,c: one texture from a, one from a+b, one from a+b+c, side by side "
                            "in --grid (the lecture's figure)")
    _add_outputs(style)
    _add_reconstruction_options(style)
    style.set_defaults(run=run_reconstruct_style)

    features = subparsers.add_parser(
        "features", help="the feature maps of a layer as a numbered grid",
        description=f"Show the activation maps of one VGG-19 layer for IMAGE. {FIGURE_NOTE}")
    features.add_argument("image", metavar="IMAGE")
    features.add_argument("--layer", default="conv1_1", help="(default conv1_1)")
    features.add_argument("--maps", default=None,
                          help="which maps, e.g. 0-15,40 or all (default the first 64)")
    features.add_argument("--size", type=int, default=256,
                          help="long side of the input in pixels (default 256)")
    features.add_argument("-o", "--output", required=True, type=Path, help="figure file (.png)")
    features.set_defaults(run=run_features)

    filters = subparsers.add_parser(
        "filters", help="the learned 3x3 filters of a convolution",
        description="Show the kernels of one VGG-19 convolution: conv1_1's 64 3x3x3 filters as "
                    "colour patches; deeper layers' weights on one input channel, in gray.")
    filters.add_argument("--layer", default="conv1_1", help="(default conv1_1)")
    filters.add_argument("--filters", default=None,
                         help="which filters, e.g. 0-15,40 or all (default the first 64)")
    filters.add_argument("--channel", type=int, default=0,
                         help="input channel shown for layers after conv1_1 (default 0)")
    filters.add_argument("-o", "--output", required=True, type=Path, help="figure file (.png)")
    filters.set_defaults(run=run_filters)

    grid = subparsers.add_parser(
        "grid", help="a content image transferred into several styles, side by side",
        description="Transfer CONTENT into each of --styles and put the results side by side "
                    "(each with its painting as an inset); --sweep varies one weight. Every "
                    f"transfer option applies to each run. {FIGURE_NOTE}")
    grid.add_argument("content", metavar="CONTENT")
    grid.add_argument("--styles", nargs="+", required=True, metavar="STYLE")
    grid.add_argument("--sweep", default=None, metavar="PARAMETER=V1,V2,...",
                      help=f"one row per style, one column per value; PARAMETER is one of "
                           f"{', '.join(experiments.SWEEP_PARAMETERS)} "
                           "(e.g. style-weight=1e2,1e3,1e4)")
    grid.add_argument("-o", "--output", required=True, type=Path, help="figure file (.png)")
    add_transfer_options(grid)
    grid.set_defaults(run=run_grid)


def _add_outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="the reconstruction (with several layers: of the last one)")
    parser.add_argument("--grid", type=Path, default=None,
                        help="figure with the original and every reconstruction, titled")


def _add_reconstruction_options(parser: argparse.ArgumentParser) -> None:
    add_option_fields(parser, ReconstructionOptions, title="reconstruction options")
    add_quiet(parser)


def _check_outputs(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    if args.output is None and args.grid is None:
        raise UserError("say where to write the result: --output FILE and/or --grid FIGURE")
    inputs = [getattr(args, "image", None)]
    output = images.check_output_path(args.output, inputs) if args.output else None
    grid = images.check_output_path(args.grid, inputs) if args.grid else None
    return output, grid


def _run_series(args: argparse.Namespace, what: str, compute, describe) -> int:
    output, grid = _check_outputs(args)
    bar = ProgressBar(what, quiet=args.quiet)
    try:
        results = compute(on_event=bar, **options_from_args(args, ReconstructionOptions))
    finally:
        bar.close()
    results = results if isinstance(results, list) else [results]
    for result in results:
        say(describe(result))
    if output:
        save_result(results[-1].tensor, output)
        say(f"wrote {output} ({results[-1].image.width}x{results[-1].image.height})")
    if grid:
        steps = getattr(args, "steps", ReconstructionOptions.steps)
        heading = f"{what} from white noise, {results[0].image.width}x" \
                  f"{results[0].image.height}, {steps} steps"
        save_result(experiments.reconstruction_figure(results, heading=heading), grid)
        say(f"wrote {grid}")
    if any(result.interrupted for result in results):
        say("interrupted: the results are the best images so far")
        return 130
    return 0


def run_reconstruct_content(args: argparse.Namespace) -> int:
    layers = list(args.layers) if args.layers else [args.layer]

    def describe(result: experiments.Reconstruction) -> str:
        return (f"{result.layers[0]}: PSNR {result.psnr:.1f} dB, content loss "
                f"{result.start_terms.total:.3g} -> {result.terms.total:.3g} "
                f"({result.evaluations} evaluations, {result.seconds:.1f} s)")

    return _run_series(args, "content reconstruction",
                       lambda **kw: experiments.reconstruct_content(args.image, layers, **kw),
                       describe)


def run_reconstruct_style(args: argparse.Namespace) -> int:
    if args.layers and args.cumulative:
        raise UserError("give --layers or --cumulative, not both")

    def describe(result: experiments.Reconstruction) -> str:
        return (f"{'+'.join(result.layers)}: Gram loss {result.start_terms.total:.3g} -> "
                f"{result.terms.total:.3g} (/{result.loss_reduction:.3g}, "
                f"{result.evaluations} evaluations, {result.seconds:.1f} s)")

    if args.cumulative:
        def compute(**kw):
            return experiments.reconstruct_style_cumulative(args.image, args.cumulative, **kw)
    else:
        layers = list(args.layers or experiments.STYLE_LAYERS)

        def compute(**kw):
            return experiments.reconstruct_style(args.image, layers, **kw)

    return _run_series(args, "style reconstruction", compute, describe)


def run_features(args: argparse.Namespace) -> int:
    output = images.check_output_path(args.output, [args.image])
    figure = experiments.feature_map_figure(args.image, args.layer, maps=args.maps,
                                            size=args.size)
    images.save_image(figure, output)
    say(f"wrote {output}")
    return 0


def run_filters(args: argparse.Namespace) -> int:
    output = images.check_output_path(args.output)
    figure = experiments.filter_figure(args.layer, filters=args.filters, channel=args.channel)
    images.save_image(figure, output)
    say(f"wrote {output}")
    return 0


def parse_sweep(text: str) -> tuple[str, tuple[float, ...]]:
    """'style-weight=1e2,1e3' -> ('style-weight', (100.0, 1000.0))."""
    parameter, _, values = text.partition("=")
    parameter = parameter.strip()
    if parameter not in experiments.SWEEP_PARAMETERS or not values:
        raise UserError(f"--sweep: expected PARAMETER=V1,V2,... with PARAMETER one of "
                        f"{', '.join(experiments.SWEEP_PARAMETERS)}, got '{text}'")
    try:
        numbers = float_list(values)
    except argparse.ArgumentTypeError as error:
        raise UserError(f"--sweep: {error}") from None
    if not numbers:
        raise UserError(f"--sweep: no values in '{text}'")
    return parameter, numbers


def run_grid(args: argparse.Namespace) -> int:
    options = options_from_args(args, TransferOptions)
    output = check_transfer_output(args.output, args.content, args.styles, options)
    sweep = parse_sweep(args.sweep) if args.sweep else None
    bar = ProgressBar("grid", quiet=args.quiet)
    try:
        result = experiments.result_grid(args.content, args.styles, sweep=sweep, on_event=bar,
                                         **options)
    finally:
        bar.close()
    save_result(result.figure, output)
    runs = len(result.results)
    if result.interrupted:
        say(f"interrupted after {runs} transfer(s): wrote the figure so far to {output}")
        return 130
    say(f"wrote {output} ({runs} transfers, {result.seconds:.1f} s)")
    return 0
