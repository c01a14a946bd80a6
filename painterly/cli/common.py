"""Pieces shared by the subcommands: one-line argument errors, the progress bar, and writing
results (atomically) where the user asked. Option flags come from :mod:`painterly.cli.options`."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from painterly.errors import UserError
from painterly.io import images
from painterly.style.events import Evaluated, Event, PartStarted, Snapshot


class ArgumentParser(argparse.ArgumentParser):
    """argparse with usage errors as one line and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


class ProgressBar:
    """A tqdm bar fed by the events of a run (:mod:`painterly.style.events`): scale, part of a
    figure, loss and an ETA from the measured cost per pixel (tqdm's own rate would be wrong
    across scales). Other listeners (e.g. a snapshot writer) can be chained with ``then``."""

    def __init__(self, description: str, quiet: bool = False,
                 then: Callable[[Event], None] | None = None):
        self.description, self.quiet, self.then = description, quiet, then
        self.bar: tqdm | None = None
        self.part = ""

    def __call__(self, event: Event) -> None:
        if self.then is not None:
            self.then(event)
        if isinstance(event, PartStarted):
            self.part = f"{event.part}/{event.parts} {event.label}, " if event.parts > 1 else ""
        if self.quiet or not isinstance(event, Evaluated):
            return
        if self.bar is None:
            self.bar = tqdm(total=event.total, desc=self.description, unit="step",
                            dynamic_ncols=True, file=sys.stderr,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {n}/{total} "
                                       "[{elapsed}{postfix}]")
        if self.bar.total != event.total:  # a time budget re-plans the steps at each scale
            self.bar.total = event.total
        width, height = event.size
        scale = f"scale {event.rung + 1}/{event.rungs} {width}x{height}, " \
            if event.rungs > 1 else ""
        eta = f", eta {clock(event.eta)}" if event.eta is not None else ""
        self.bar.set_postfix_str(f"{self.part}{scale}loss {event.terms.total:.3g}{eta}",
                                 refresh=False)
        self.bar.update(event.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def clock(seconds: float) -> str:
    """A duration as a bar shows it: ``4:05``, ``1:02:03``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else \
        f"{rest // 60}:{rest % 60:02d}"


def say(message: str) -> None:
    """Tell the user something (stdout), e.g. where a file was written."""
    print(message, flush=True)


def snapshot_writer(output: Path) -> Callable[[Event], None]:
    """A listener that writes snapshots: the best image after each scale replaces ``output``;
    periodic ones go beside it as ``<stem>_NNNN<suffix>`` (the final result is the caller's).
    A snapshot that cannot be written (disk full) is skipped: the run goes on, and writing its
    result says what is wrong."""

    def write(event: Event) -> None:
        if not isinstance(event, Snapshot):
            return
        with contextlib.suppress(OSError, UserError):  # e.g. a name grown too long
            if event.kind == "periodic":
                images.save_image(event.image, output.with_name(
                    f"{output.stem}_{event.step:04d}{output.suffix}"))
            elif event.kind == "rung":
                images.save_image(event.image, output)

    return write


def save_result(image: torch.Tensor | Image.Image, output: Path) -> Path:
    """Write a command's result to ``output``; if that fails (disk full, I/O error), save it in
    the temporary folder instead and say so in one line (UserError): a long run is never lost
    to a full disk."""
    try:
        return images.save_image(image, output)
    except OSError as error:
        problem = error.strerror or type(error).__name__
    handle, spare = tempfile.mkstemp(prefix=f"painterly-{output.stem}-", suffix=output.suffix)
    os.close(handle)
    try:
        images.save_image(image, spare)
    except OSError:
        Path(spare).unlink(missing_ok=True)
        raise UserError(f"cannot write {output}: {problem} (and no other place to save the "
                        "result had room either)") from None
    raise UserError(f"cannot write {output}: {problem}; the result was saved to {spare} "
                    "instead")
