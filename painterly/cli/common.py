"""Pieces shared by the subcommands: one-line argument errors, list parsers, the progress bar,
and writing results (atomically) where the user asked."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from painterly.errors import UserError
from painterly.io import images
from painterly.style.transfer import Progress


class ArgumentParser(argparse.ArgumentParser):
    """argparse with usage errors as one line and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def float_list(text: str) -> tuple[float, ...]:
    """'0.7,0.3' -> (0.7, 0.3)."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got '{text}'") \
            from None


def name_list(text: str) -> tuple[str, ...]:
    """'relu1_1, relu2_1' -> ('relu1_1', 'relu2_1')."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_run_options(parser: argparse.ArgumentParser, *, size: int, steps: int) -> None:
    """--size, --steps, --seed, --quiet: the options every optimizing command shares."""
    parser.add_argument("--size", type=int, default=size,
                        help=f"long side of the result in pixels (default {size})")
    parser.add_argument("--steps", type=positive_int, default=steps,
                        help=f"evaluations (forward+backward passes) (default {steps})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_network_options(parser: argparse.ArgumentParser, *, pooling: str, device: str) -> None:
    """--pooling, --weights, --weights-layout, --device: which VGG-19 runs, and where."""
    from painterly.nets.layers import POOLING_KINDS
    from painterly.nets.vgg import LAYOUTS

    parser.add_argument("--pooling", choices=POOLING_KINDS, default=pooling,
                        help=f"(default {pooling})")
    parser.add_argument("--weights", default=None,
                        help="a VGG-19 state dict (torchvision vgg19-*.pth or Caffe-converted "
                             "vgg19-d01eb7cb.pth) instead of the bundled original weights")
    parser.add_argument("--weights-layout", choices=tuple(LAYOUTS), default=None,
                        help="preprocessing of --weights (default: guessed from the file name)")
    parser.add_argument("--device", default=device,
                        help=f"cpu, cuda, cuda:N, mps, or auto: the GPU where PyTorch finds one, "
                             f"else the CPU (default {device})")


def network_options(args: argparse.Namespace) -> dict:
    """The options added by :func:`add_network_options`, as API keywords."""
    return dict(pooling=args.pooling, weights=args.weights, weights_layout=args.weights_layout,
                device=args.device)


class ProgressBar:
    """A tqdm bar fed by :class:`~painterly.style.transfer.Progress` events: scale, loss and an ETA
    from the measured cost per pixel (tqdm's own rate would be wrong across scales)."""

    def __init__(self, description: str, quiet: bool = False):
        self.description, self.quiet = description, quiet
        self.bar: tqdm | None = None

    def __call__(self, event: Progress) -> None:
        if self.quiet:
            return
        if self.bar is None:
            self.bar = tqdm(total=event.total, desc=self.description, unit="step",
                            dynamic_ncols=True, file=sys.stderr,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {n}/{total} "
                                       "[{elapsed}{postfix}]")
        if self.bar.total != event.total:  # a time budget re-plans the steps at each scale
            self.bar.total = event.total
        width, height = event.size
        scale = f"scale {event.scale + 1}/{event.scales} {width}x{height}, " \
            if event.scales > 1 else ""
        eta = f", eta {_clock(event.eta)}" if event.eta is not None else ""
        self.bar.set_postfix_str(f"{scale}loss {event.terms.total:.3g}{eta}", refresh=False)
        self.bar.update(event.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def say(message: str) -> None:
    """Tell the user something (stdout), e.g. where a file was written."""
    print(message, flush=True)


def snapshot_writer(output: Path, every_path: bool = True):
    """A snapshot callback: the best image after each scale replaces ``output``; periodic
    snapshots (``step N``) go beside it as ``<stem>_NNNN<suffix>``. A snapshot that cannot be
    written (disk full) is skipped: the run goes on, and writing its result says what is wrong."""

    def write(image: torch.Tensor, label: str) -> None:
        with contextlib.suppress(OSError):
            if label.startswith("step ") and every_path:
                step = int(label.split()[1])
                images.save_image(image, output.with_name(
                    f"{output.stem}_{step:04d}{output.suffix}"))
            else:
                images.save_image(image, output)

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
