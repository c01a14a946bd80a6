"""Showing a batch's progress: one tqdm bar over the jobs (done / failed / running, ETA) for a
terminal, or one JSON object per line (``--json-progress``) for programs."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from tqdm import tqdm

from .events import BatchEvent


class ProgressBar:
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
        eta = f", eta {_clock(event.eta)}" if event.eta is not None else ""
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


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else \
        f"{rest // 60}:{rest % 60:02d}"
