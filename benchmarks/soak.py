"""Soak test of a live ``painterly serve`` on 127.0.0.1, bounded in time: runs, uploads (small
and decompression-bomb-ish), cancels and progress streams all at once, while ``GET /`` is timed.
Reports p50/p99 latency of ``GET /``, the server's RSS over time (and its growth after warm-up),
runs finished, and errors (any 5xx, unexpected status, broken stream or timeout).

    PYTHONPATH=. nice -n 15 python benchmarks/soak.py --minutes 30

Target: 0 errors and RSS growth under 5% after warm-up.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import numpy as np
from live_server import LiveServer, live_server
from PIL import Image

TINY = {"size": 32, "steps": 3, "min_size": 32, "coarse_steps": 0}
LONG = {"size": 48, "steps": 5000, "min_size": 48}


class Soak:
    def __init__(self, server: LiveServer, deadline: float, streams: int):
        self.server, self.deadline, self.streams = server, deadline, streams
        self.latencies: list[float] = []
        self.rss: list[tuple[float, float]] = []
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.run_ids: list[str] = []
        self.lock = threading.Lock()
        self.started = time.monotonic()

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1

    def request(self, method: str, path: str, body: bytes | None = None,
                kind: str | None = None, expect: tuple[int, ...] = (200,),
                timeout: float = 30) -> tuple[int, bytes]:
        headers = {"Content-Type": kind} if kind else {}
        request = urllib.request.Request(self.server.url + path, data=body, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, data = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, data = error.code, error.read()
        except OSError as error:
            self.error(f"{method} {_route(path)}: {type(error).__name__}")
            return 0, b""
        if status not in expect:
            self.error(f"{method} {_route(path)} answered {status}")
        return status, data

    # workers
    def probe_page(self) -> None:
        while self.running():
            started = time.perf_counter()
            status, _ = self.request("GET", "/")
            if status == 200:
                with self.lock:
                    self.latencies.append(time.perf_counter() - started)
            time.sleep(0.2)

    def sample_memory(self) -> None:
        while self.running():
            self.rss.append((time.monotonic() - self.started, self.server.rss_mib()))
            time.sleep(5)

    def start_run(self, options: dict) -> str | None:
        body = json.dumps({"content": "tubingen", "styles": ["starry_night"],
                           "options": options}).encode()
        status, data = self.request("POST", "/api/runs", body, "application/json",
                                    expect=(201, 429))
        if status == 429:
            self.count("runs refused (queue full)")
            time.sleep(1)
            return None
        if status != 201:
            return None
        run_id = json.loads(data)["id"]
        with self.lock:
            self.run_ids.append(run_id)
        return run_id

    def runs(self) -> None:
        while self.running():
            run_id = self.start_run(TINY)
            if run_id and self.follow(run_id) == "done":
                self.count("runs finished")

    def cancels(self) -> None:
        while self.running():
            run_id = self.start_run(LONG)
            if not run_id:
                continue
            time.sleep(1.5)
            self.request("POST", f"/api/runs/{run_id}/cancel")
            if self.follow(run_id) == "cancelled":
                self.count("runs cancelled")

    def follow(self, run_id: str) -> str | None:
        """Read a run's event stream to its end; the last state."""
        state = None
        try:
            with urllib.request.urlopen(f"{self.server.url}/api/runs/{run_id}/events",
                                        timeout=600) as stream:
                for line in stream:
                    if line.startswith(b"data: "):
                        state = json.loads(line[6:])["state"]
        except (OSError, ValueError) as error:
            self.error(f"event stream: {type(error).__name__}")
        self.count("progress streams read")
        return state

    def watchers(self) -> None:
        """Progress streams held open on whatever runs exist (many at once)."""
        while self.running():
            with self.lock:
                recent = self.run_ids[-1:]
            if recent:
                self.follow(recent[0])
            time.sleep(0.5)

    def uploads(self) -> None:
        small = _png(Image.fromarray(np.random.default_rng(0).integers(
            0, 255, (64, 64, 3), dtype=np.uint8)))
        bomb = _png(Image.new("RGB", (4000, 4000), (10, 200, 30)))  # 16 MP in about 50 kB
        number = 0
        while self.running():
            number += 1
            data = bomb if number % 10 == 0 else small
            status, body = self.request("POST", "/api/uploads?name=soak.png", data, "image/png",
                                        expect=(201,), timeout=120)
            if status == 201:
                self.count("uploads")
                upload_id = json.loads(body)["id"]
                self.request("GET", f"/api/uploads/{upload_id}/preview.png")
                self.request("DELETE", f"/api/uploads/{upload_id}", expect=(204,))
            self.request("GET", "/api/runs")
            time.sleep(0.5)


def _route(path: str) -> str:
    parts = path.split("?")[0].split("/")
    return "/".join("{id}" if len(part) == 16 else part for part in parts)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--streams", type=int, default=20, help="progress streams held open")
    parser.add_argument("--warm-up", type=float, default=None,
                        help="seconds before the RSS baseline (default a sixth of the run)")
    args = parser.parse_args()
    warm_up = args.warm_up if args.warm_up is not None else args.minutes * 10
    with live_server("--max-concurrent", "1", "--max-queued", "8") as server:
        soak = Soak(server, time.monotonic() + args.minutes * 60, args.streams)
        workers = [soak.probe_page, soak.sample_memory, soak.runs, soak.cancels, soak.uploads,
                   *[soak.watchers] * args.streams]
        threads = [threading.Thread(target=work, daemon=True) for work in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, soak.deadline - time.monotonic()) + 120)
        report(soak, warm_up)


def report(soak: Soak, warm_up: float) -> None:
    latencies = sorted(soak.latencies)
    if latencies:
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
        print(f"GET /: {len(latencies)} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    for what, number in sorted(soak.counts.items()):
        print(f"{what}: {number}")
    print(f"errors: {sum(soak.errors.values())}" +
          "".join(f"\n  {what}: {number}" for what, number in soak.errors.most_common()))
    print("RSS (MiB) over time: " + ", ".join(f"{t:.0f}s {rss:.0f}" for t, rss in soak.rss[::6]))
    after = [rss for t, rss in soak.rss if t >= warm_up]
    if len(after) >= 2:
        growth = (after[-1] - after[0]) / after[0] * 100
        print(f"RSS after warm-up ({warm_up:.0f} s): {after[0]:.0f} -> {after[-1]:.0f} MiB "
              f"({growth:+.1f}%), peak {max(after):.0f} MiB")


if __name__ == "__main__":
    main()
