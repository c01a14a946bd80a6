"""Entry point of a local worker process (started by :mod:`painterly.batch.local`):
``python -m painterly.batch.process_worker READ_FD WRITE_FD THREADS DRIVER_PID``."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from multiprocessing.connection import Connection


def main(read_fd: int, write_fd: int, threads: int, driver_pid: int) -> None:
    _die_with(driver_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    from painterly.batch.render import Failure, render
    from painterly.cluster import prepare_worker

    jobs, results = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    prepare_worker(threads)
    while True:
        try:
            spec = jobs.recv()
        except (EOFError, OSError):  # the driver closed the pipe or died
            return
        try:
            outcome = render(spec)
        except Exception as error:  # e.g. no space for the inputs' temporary files
            outcome = Failure(f"{type(error).__name__}: {error}", retry=True)
        results.send(outcome)


def _die_with(driver_pid: int) -> None:
    """Ask Linux to kill this process when the driver dies (kill -9 included), so no orphan
    keeps computing a job that will be done again."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != driver_pid:  # the driver died before prctl took effect
        os._exit(1)


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:5]))
