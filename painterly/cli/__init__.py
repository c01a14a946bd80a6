"""The ``painterly`` command: subcommands that parse options, call the Python API, and turn user
errors into one line on stderr and exit code 2 (1 for a bug, 130 for Ctrl-C or SIGTERM, which
both end a run early with its best result so far written)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from painterly.cli.options import flag_of
from painterly.errors import UserError
from painterly.options import OptionError

COMMAND_MODULES = ("transfer", "video", "batch", "experiments", "digits", "serve")
ENVIRONMENT_ERRORS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EROFS, errno.EFBIG,
                                errno.EACCES, errno.EPERM, errno.ENAMETOOLONG})
"""Errors of the machine, not of painterly (a full disk, a failing drive, no permission): one
line and exit code 2."""
"""Modules of this package that each add subcommands with ``register(subparsers)``."""


def build_parser() -> argparse.ArgumentParser:
    from painterly.cli.common import ArgumentParser  # imports torch: after main's Ctrl-C guard

    parser = ArgumentParser(
        prog="painterly",
        description="Neural style transfer (Gatys et al.) and the CNN lecture's experiments.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    from painterly import __version__

    parser.add_argument("--version", action="version", version=f"painterly {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"painterly.cli.{name}").register(subparsers)
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, ``timeout``, a batch scheduler) handled like Ctrl-C, so a long run still
    writes its best result; the previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _file_problem(error: OSError) -> str:
    """``No space left on device: out.png``: the file the user named, not the temporary file
    beside it that painterly writes first (``.out.png.x1y2.part``)."""
    name = os.path.basename(str(error.filename or ""))
    if name.startswith(".") and name.endswith(".part"):
        name = name[1:].rsplit(".", 2)[0]
    folder = os.path.dirname(str(error.filename or ""))
    shown = os.path.join(folder, name) if name else ""
    return f"{error.strerror or type(error).__name__}" + (f": {shown}" if shown else "")


def _interrupt_noted(interrupts: list[int], *, raising: bool = True):
    """A SIGINT handler that notes the interrupt and, when ``raising``, raises
    KeyboardInterrupt as Python's does (an interrupt that lands inside a library's C code can
    surface as another error). While torch loads it must not raise: an exception thrown into
    the C++ that is importing aborts the process (SIGABRT, no message of ours)."""
    def handler(signum, frame):
        interrupts.append(signum)
        if raising:
            raise KeyboardInterrupt
    return handler


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    interrupts: list[int] = []
    previous = None
    main_thread = threading.current_thread() is threading.main_thread()
    try:  # from the first line: Ctrl-C before the handler below is in place is one line too
        if main_thread:  # start-up only notes an interrupt; it is acted on once torch is loaded
            previous = signal.signal(signal.SIGINT, _interrupt_noted(interrupts, raising=False))
        return _main(argv, interrupts, main_thread)
    except KeyboardInterrupt:
        return _interrupted()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _interrupted() -> int:
    print("painterly: interrupted", file=sys.stderr)
    return 130


def _main(argv: list[str] | None, interrupts: list[int], main_thread: bool) -> int:
    try:  # Ctrl-C while torch loads: one line too
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        return _interrupted()
    except Exception:
        if interrupts:  # the interrupt surfaced as another error inside an import
            return _interrupted()
        raise
    if interrupts:  # an interrupt noted during start-up
        return _interrupted()
    if main_thread:  # from here Ctrl-C stops the run at once (a run keeps its best image)
        signal.signal(signal.SIGINT, _interrupt_noted(interrupts))
    try:
        with _terminate_as_interrupt():
            code = args.run(args) or 0
        return _interrupted() if interrupts and code == 0 else code
    except OptionError as error:
        print(f"painterly: error: {flag_of(error)}", file=sys.stderr)
        return 2
    except UserError as error:
        print(f"painterly: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as error:
        if interrupts:  # the interrupt surfaced as another error
            return _interrupted()
        if args.debug:
            raise
        if isinstance(error, OSError) and error.errno in ENVIRONMENT_ERRORS:
            print(f"painterly: error: {_file_problem(error)}", file=sys.stderr)
            return 2
        print(f"painterly: internal error: {type(error).__name__}: {error} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return 1
