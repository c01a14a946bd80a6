"""``painterly serve``: the web page on this machine (127.0.0.1:8000 unless told otherwise)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import os
import socket
from pathlib import Path

from painterly.cli.common import positive_int, say
from painterly.errors import UserError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DATA_DIR = Path("painterly-data")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="a web page for style transfer on this machine",
        description="Serve the painterly web page and its HTTP API (see /docs). Uploads and runs "
                    "are kept in the data folder, so a reload or restart loses nothing.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; "
                             "0.0.0.0 opens the page to the network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"(default {DEFAULT_PORT})")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"folder for uploads and runs (default ./{DEFAULT_DATA_DIR})")
    parser.add_argument("--max-concurrent", type=positive_int, default=None,
                        help="runs computed at once, others wait in a queue (default 1 on up "
                             "to 4 cores, else 2)")
    parser.add_argument("--max-queued", type=positive_int, default=8,
                        help="runs allowed to wait (default 8)")
    parser.set_defaults(run=run_serve)


def default_concurrency() -> int:
    return 1 if (os.cpu_count() or 1) <= 4 else 2


def local_host_names(host: str) -> list[str] | None:
    """Host names accepted in requests when bound to a loopback address (guards against DNS
    rebinding); None (any) when serving the network."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return ["127.0.0.1", "localhost", "::1", "[::1]"] if loopback else None


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, before anything is printed or loaded: a busy port or an
    unknown address is one line (UserError), not a traceback after "serving"."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as error:
        raise UserError(f"cannot listen on {host}:{port}: unknown address "
                        f"({getattr(error, 'strerror', None) or error})") from None
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        hint = " (another server is using it: pick another --port)" \
            if error.errno == errno.EADDRINUSE else ""
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror or error}{hint}") \
            from None
    return sock


def run_serve(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {args.port}")
    try:
        import uvicorn
    except ImportError:
        raise UserError("painterly serve needs uvicorn and starlette: "
                        "pip install uvicorn starlette") from None
    from painterly.web import create_app

    sock = listening_socket(args.host, args.port)
    with contextlib.closing(sock):
        try:
            app = create_app(args.data_dir, max_concurrent=args.max_concurrent or
                             default_concurrency(), max_queued=args.max_queued,
                             allowed_hosts=local_host_names(args.host))
        except OSError as error:
            raise UserError(f"cannot use data folder {args.data_dir}: "
                            f"{error.strerror or error}") from None
        shown = f"[{args.host}]" if ":" in args.host else args.host
        say(f"painterly: serving http://{shown}:{args.port}/ (data in "
            f"{app.state.folder.root}; Ctrl-C stops)")
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                                timeout_graceful_shutdown=3)
        uvicorn.Server(config).run(sockets=[sock])
    return 0
