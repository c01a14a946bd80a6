"""``painterly transfer``, ``painterly demo`` and ``painterly examples``."""

from __future__ import annotations

import argparse
from pathlib import Path

from painterly.cli.common import (
    ProgressBar,
    add_quiet,
    positive_int,
    save_result,
    say,
    snapshot_writer,
)
from painterly.cli.options import add_option_fields, options_from_args
from painterly.examples import CONTENT_EXAMPLES, STYLE_EXAMPLES, example_path
from painterly.io import images
from painterly.options import named_files
from painterly.style import trace
from painterly.style.guides import KEEP_CONTENT
from painterly.style.options import TransferOptions
from painterly.style.transfer import transfer

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
    parser.add_argument("--save-every", type=positive_int, default=None, metavar="N",
                        help="also write the image every N steps at the final scale, "
                             "as OUTPUT_NNNN.png")
    parser.add_argument("--trace", action="store_true",
                        help="also write OUTPUT_STEM.trace.json: settings, versions, weights "
                             "checksum, loss and time per evaluation")
    add_transfer_options(parser)
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
    add_quiet(demo)
    demo.set_defaults(run=run_demo)

    listing = subparsers.add_parser("examples", help="list the built-in example images")
    listing.set_defaults(run=run_examples)


def add_transfer_options(parser: argparse.ArgumentParser) -> None:
    """Every field of :class:`TransferOptions` as a flag (generated), and ``--quiet``."""
    add_option_fields(parser, TransferOptions, title="transfer options")
    add_quiet(parser)


def check_transfer_output(output: Path, content, styles, options: dict) -> Path:
    """The output of a transfer (or of a grid of them), checked before any work: never one of
    its inputs."""
    return images.check_output_path(output, [content, *styles,
                                             *named_files(TransferOptions, options).values()])


def run_and_save(content, styles, output: Path, options: dict, *, quiet: bool,
                 save_every: int | None = None, write_trace: bool = False) -> int:
    """Run a transfer with a progress bar, write the result atomically (and its trace), report
    it."""
    output = check_transfer_output(output, content, styles, options)
    bar = ProgressBar("transfer", quiet=quiet, then=snapshot_writer(output))
    try:
        result = transfer(content, styles, on_event=bar, save_every=save_every or 0, **options)
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
    return run_and_save(args.content, args.styles, args.output,
                        options_from_args(args, TransferOptions), quiet=args.quiet,
                        save_every=args.save_every, write_trace=args.trace)


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
