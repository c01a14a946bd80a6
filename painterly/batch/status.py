"""``painterly batch status OUTDIR``: the store's counts and failures, read-only."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .events import Counts
from .owner import is_dead
from .store import JobStore


@dataclass
class BatchStatus:
    outdir: Path
    counts: Counts
    failures: list[tuple[str, int, str]] = field(default_factory=list)
    """(output, attempts, error)."""
    running: list[tuple[str, str, bool]] = field(default_factory=list)
    """(output, worker, whether its driver is gone: the next run takes it over)."""
    mean_seconds: float | None = None

    @property
    def complete(self) -> bool:
        return self.counts.done == self.counts.total

    def lines(self) -> list[str]:
        c = self.counts
        lines = [f"{self.outdir}: {c.total} jobs: {c.done} done, {c.failed} failed, "
                 f"{c.running} running, {c.pending} pending"]
        if self.mean_seconds is not None:
            lines.append(f"mean time per done job: {self.mean_seconds:.2f} s on a worker")
        for output, worker, orphaned in self.running:
            lines.append(f"running: {output} on {worker or 'a worker'}"
                         + (" (its driver stopped: the next run takes it over)" if orphaned
                            else ""))
        lines += [f"failed: {output} ({attempts} attempt{'s' if attempts != 1 else ''}): "
                  f"{error}" for output, attempts, error in self.failures]
        return lines


def batch_status(outdir: str | os.PathLike) -> BatchStatus:
    """The state of the batch in ``outdir``; UserError when there is none."""
    store = JobStore(outdir, create=False)
    try:
        now = time.time()
        running = [(row["output"], row["worker"] or "",
                    is_dead(row["owner"]) or (row["lease_until"] or 0) < now)
                   for row in store.jobs() if row["state"] == "running"]
        return BatchStatus(Path(outdir), Counts(**store.counts()),
                           [(row["output"], row["attempts"], row["error"] or "")
                            for row in store.failures()], running, store.mean_seconds())
    finally:
        store.close()
