"""The local executor: worker processes on this machine (``python -m
painterly.batch.process_worker``), each with its own torch threads and its own VGG-19, fed jobs one
at a time through a pipe. A worker that dies (killed, out of memory) is replaced and its job comes
back as a retryable failure; workers die with the driver (Linux)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import torch

from painterly.style import memory
from painterly.style.options import TransferOptions

from .executor import Outcome
from .render import Failure, JobSpec


def default_layout(cores: int, size: int, device: str,
                   available: int | None = None) -> tuple[int, int]:
    """(processes, threads each) for ``cores`` CPU cores. Measured on 2 cores with
    benchmarks/batch.py (docs/batch.md): one single-threaded process per core makes the most jobs
    per hour at 64 px and at 512 px alike (1.6x the steady rate of one two-threaded process at
    512 px: a run's serial parts, L-BFGS-B and the per-layer overhead, leave threads idle). The
    processes are capped so that their estimated peaks fit in 80% of the ``available`` memory,
    and the cores are shared among them. A GPU gets one process."""
    if device != "cpu" and (device.startswith("cuda") or (device == "auto" and
                                                          torch.cuda.is_available())):
        return 1, max(1, min(cores, 4))
    per_process = memory.peak_bytes(size, size, "lbfgs", TransferOptions.history, None)
    budget = 0.8 * (memory.available_bytes() if available is None else available)
    processes = max(1, min(cores, int(budget // per_process)))
    return processes, max(1, cores // processes)


class LocalExecutor:
    def __init__(self, processes: int, threads: int):
        self.slots = processes
        self.threads = threads
        self.description = f"{processes} local process{'es' if processes > 1 else ''} x " \
                           f"{threads} thread{'s' if threads > 1 else ''}"
        self._workers: list[_Worker | None] = [self._start(i) for i in range(processes)]

    def _start(self, index: int) -> _Worker:
        return _Worker(index, self.threads)

    def submit(self, spec: JobSpec) -> str:
        for index, worker in enumerate(self._workers):
            if worker is None:
                worker = self._workers[index] = self._start(index)
            if worker.job is None:
                try:
                    worker.conn.send(spec)
                except OSError:  # died while idle: its successor takes the job
                    worker.close()
                    worker = self._workers[index] = self._start(index)
                    worker.conn.send(spec)
                worker.job = spec.output
                return worker.label
        raise RuntimeError("no free worker: submit at most `slots` jobs at once")

    def collect(self, timeout: float) -> list[Outcome]:
        busy = {w.conn: w for w in self._workers if w is not None and w.job is not None}
        outcomes = []
        for conn in wait(list(busy), timeout) if busy else []:
            worker = busy[conn]
            try:
                result: Any = conn.recv()
            except (EOFError, OSError):  # the process died with the job
                result = Failure(f"worker process died ({worker.exit_status()})", retry=True)
                worker.close()
                self._workers[worker.index] = None
            outcomes.append(Outcome(worker.job, result))
            worker.job = None
        return outcomes

    def close(self) -> None:
        for worker in self._workers:
            if worker is not None:
                worker.close()
        self._workers = []


class _Worker:
    """One worker process and the two pipes to it."""

    def __init__(self, index: int, threads: int):
        self.index = index
        self.job: str | None = None
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        package_root = str(Path(__file__).resolve().parents[2])  # this copy of painterly
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "painterly.batch.process_worker", str(to_child),
             str(from_child), str(threads), str(os.getpid())],
            pass_fds=(to_child, from_child), env=env, stdin=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        self.conn = _Pipe(to_parent, from_parent)

    @property
    def label(self) -> str:
        return f"local worker {self.index + 1} (pid {self.process.pid})"

    def exit_status(self) -> str:
        try:
            code = self.process.wait(10)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            hint = ": out of memory?" if code == -signal.SIGKILL else ""
            return f"killed by signal {-code}{hint}"
        return f"exit code {code}"

    def close(self) -> None:
        self.conn.close()
        self.process.kill()  # idle or not: a worker holds nothing worth waiting for
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class _Pipe(Connection):
    """A connection that reads one pipe and writes another (multiprocessing's Connection over
    raw file descriptors, so ``wait`` works on it)."""

    def __init__(self, read_fd: int, write_fd: int):
        super().__init__(read_fd, writable=False)
        self._writer = Connection(write_fd, readable=False)

    def send(self, obj: Any) -> None:
        self._writer.send(obj)

    def close(self) -> None:
        self._writer.close()
        super().close()
