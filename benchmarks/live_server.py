"""A real ``painterly serve`` in a child process on 127.0.0.1 for the benchmarks that need one
(soak.py, upload_memory.py): a free port, a fresh data folder, its resident memory read from
/proc."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    data_dir: Path

    def rss_mib(self) -> float:
        """Resident memory of the server process now (MiB)."""
        return _status_kib(self.process.pid, "VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        """Highest resident memory of the server process so far (MiB)."""
        return _status_kib(self.process.pid, "VmHWM") / 1024


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def live_server(*extra: str, nice: int = 0, timeout: float = 60) -> Iterator[LiveServer]:
    """Start ``python -m painterly serve`` (this checkout) and stop it (SIGTERM) afterwards."""
    with tempfile.TemporaryDirectory(prefix="painterly-live-") as folder:
        port = free_port()
        command = [sys.executable, "-m", "painterly", "serve", "--port", str(port),
                   "--data-dir", folder, *extra]
        environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
        process = subprocess.Popen(command, cwd=REPOSITORY, env=environment,
                                   preexec_fn=(lambda: os.nice(nice)) if nice else None)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(url + "/api/options", timeout=2).read()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.2)
            yield LiveServer(url, process, Path(folder))
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
