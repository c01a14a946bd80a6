"""``painterly batch CONTENTS... --style STYLE... -o OUTDIR`` and ``painterly batch status
OUTDIR``: parse, call :func:`painterly.batch.run_batch` / :func:`painterly.batch.batch_status`,
print the summary. Exit codes: 0 every job done, 3 some failed (or are left), 2 a command that
cannot start, 130 interrupted (run it again to continue)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from tqdm import tqdm

from painterly.batch.events import BatchEvent
from painterly.batch.options import BatchOptions
from painterly.cli.common import add_quiet, clock, say
from painterly.cli.options import add_option_fields, name_flag, options_from_args
from painterly.errors import UserError
from painterly.style.options import TransferOptions

EXIT_FAILED_JOBS = 3
EXIT_INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch", help="style many images (every content x style, or a manifest), resumably",
        description="Style every CONTENTS image with every --style image (or run each row of a "
                    "CSV / JSON-lines manifest) into OUTDIR. Progress is kept in "
                    "OUTDIR/painterly-batch.sqlite: run the same command again after a crash "
                    "or Ctrl-C and it finishes the rest. 'painterly batch status OUTDIR' shows "
                    "the counts and failures. Every option of 'painterly transfer' applies to "
                    "all jobs.")
    parser.add_argument("contents", metavar="CONTENTS", nargs="+",
                        help="image files, folders, glob patterns ('photos/*.jpg'), or manifests "
                             "(.csv, .jsonl: columns content, style, output and options)")
    parser.add_argument("--style", dest="styles", metavar="STYLE", nargs="+", action="extend",
                        default=[], help="style images, folders or globs: one job per content "
                                         "x style (a manifest row's own style wins)")
    name_flag("styles", "--style")
    parser.add_argument("-o", "--output-dir", dest="outdir", metavar="OUTDIR",
                        help="folder for the results and the job store")
    parser.add_argument("--json-progress", action="store_true",
                        help="one JSON object per line on stdout for every event, no bar")
    add_quiet(parser)
    add_option_fields(parser, BatchOptions, title="batch options")
    add_option_fields(parser, TransferOptions, title="transfer options (for every job)")
    parser.set_defaults(run=run_batch_command)


def run_batch_command(args: argparse.Namespace) -> int:
    if args.contents[0] == "status" and args.outdir is None:
        if len(args.contents) != 2:
            raise UserError("usage: painterly batch status OUTDIR")
        return run_status(args.contents[1])
    if args.outdir is None:
        raise UserError("give the output folder: -o OUTDIR")
    from painterly.batch import run_batch
    progress = JsonProgress(sys.stdout) if args.json_progress else \
        None if args.quiet else BatchBar(sys.stderr)
    summary = run_batch(args.contents, args.styles, outdir=args.outdir,
                        options=options_from_args(args, TransferOptions),
                        on_event=progress, **options_from_args(args, BatchOptions))
    report = (lambda line: print(line, file=sys.stderr)) if args.json_progress else say
    for line in summary.lines():
        report(line)
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return 0 if summary.ok else EXIT_FAILED_JOBS


def run_status(outdir: str) -> int:
    from painterly.batch import batch_status

    status = batch_status(outdir)
    for line in status.lines():
        say(line)
    return 0 if status.complete else EXIT_FAILED_JOBS


# -- showing a batch's progress: a bar over the jobs for a terminal, JSON lines for programs

class BatchBar:
    """A bar that counts finished jobs (done or failed) out of all of them."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.bar: tqdm | None = None

    def __call__(self, event: BatchEvent) -> None:
        c = event.counts
        if self.bar is None:
            self.bar = tqdm(total=c.total, initial=c.done + c.failed, desc="batch", unit="job",
                            dynamic_ncols=True, file=self.stream,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {n}/{total} "
                                       "[{elapsed}{postfix}]")
        eta = f", eta {clock(event.eta)}" if event.eta is not None else ""
        self.bar.set_postfix_str(f"{c.done} done, {c.failed} failed, {c.running} running{eta}",
                                 refresh=False)
        self.bar.update(c.done + c.failed - self.bar.n)
        if event.kind == "end":
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class JsonProgress:
    """One JSON object per event, e.g. ``{"event": "done", "output": "a--b.png", "done": 3,
    "failed": 0, "running": 2, "pending": 35, "total": 40, "seconds": 0.41, "eta": 22.5}``."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def __call__(self, event: BatchEvent) -> None:
        self.stream.write(json.dumps(event.as_dict()) + "\n")
        self.stream.flush()
