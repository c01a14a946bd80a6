"""``painterly video``: stylize a clip without flicker (see :mod:`painterly.video`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from painterly.cli.common import add_quiet, say
from painterly.cli.options import add_option_fields, options_from_args
from painterly.style.guides import KEEP_CONTENT
from painterly.style.options import TransferOptions
from painterly.video.events import FrameEvaluated, FrameEvent, FrameFinished, FrameResumed
from painterly.video.options import PER_VIDEO, VideoOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "video", help="stylize a video (or a folder of frames) without flicker",
        description="Render the video INPUT in the style of STYLE, frame by frame, each frame "
                    "starting from the previous result moved by the optical flow (Ruder et al. "
                    "2016). INPUT: a video file (.mp4, .mov, .webm, .mkv, .gif, ...), a folder "
                    "of frames or a quoted glob ('frames/*.png'). Finished frames are kept: "
                    "run the same command again to resume after Ctrl-C.")
    parser.add_argument("input", metavar="INPUT")
    parser.add_argument("styles", metavar="STYLE", nargs="+",
                        help=f"one or more style images; with --mask, '{KEEP_CONTENT}' keeps a "
                             "region unstylized")
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="result: .mp4, .mov, .mkv, .webm, .gif, or a folder name (no "
                             "extension) for PNG frames")
    add_option_fields(parser, VideoOptions, title="video options")
    add_option_fields(parser, TransferOptions, exclude=PER_VIDEO,
                      title="transfer options (for every frame)")
    add_quiet(parser)
    parser.set_defaults(run=run_video)


class FrameBar:
    """One bar over the frames, with the ETA and the current frame's loss. Frames resumed from
    an earlier run count as done from the start, so they do not distort the rate."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar: tqdm | None = None
        self.resumed = 0

    def __call__(self, event: FrameEvent) -> None:
        if self.quiet:
            return
        if isinstance(event, FrameResumed):
            self.resumed += 1
            return
        if self.bar is None:
            self.bar = tqdm(total=event.frames, initial=self.resumed, desc="video",
                            unit="frame", dynamic_ncols=True, file=sys.stderr)
        if isinstance(event, FrameEvaluated):
            self.bar.set_postfix_str(f"frame {event.frame + 1} step {event.evaluation.done}/"
                                     f"{event.evaluation.total} loss "
                                     f"{event.evaluation.terms.total:.3g}")
        if isinstance(event, FrameFinished):
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_video(args: argparse.Namespace) -> int:
    from painterly.video.run import video

    options = {**options_from_args(args, TransferOptions), **options_from_args(args,
                                                                                VideoOptions)}
    bar = FrameBar(args.quiet)
    try:
        result = video(args.input, args.styles, args.output, on_event=bar, **options)
    finally:
        bar.close()
    per_frame = result.seconds / max(result.computed, 1)
    if result.interrupted:
        written = f"; wrote the finished frames to {result.output}" if result.output else ""
        say(f"interrupted: {result.frames} of {result.total_frames} frames done, kept in "
            f"{result.work_folder}{written}; run the same command again to resume")
        return 130
    say(f"wrote {result.output} ({result.total_frames} frames; {result.computed} computed now "
        f"in {result.seconds:.0f} s, {per_frame:.1f} s a frame)")
    return 0
