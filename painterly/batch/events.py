"""What a batch reports while it runs (one event per change) and when it ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EVENT_KINDS = ("start", "started", "done", "retry", "failed", "end")


@dataclass(frozen=True)
class Counts:
    """The batch's jobs by state."""

    done: int = 0
    failed: int = 0
    running: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.done + self.failed + self.running + self.pending


@dataclass(frozen=True)
class BatchEvent:
    kind: str
    """One of EVENT_KINDS: the batch starts; a job ``started`` on a worker, is ``done``, failed
    and will be tried again (``retry``), or ``failed`` for good; the batch ends."""
    counts: Counts
    output: str | None = None
    """The job (its output file name)."""
    worker: str | None = None
    error: str | None = None
    seconds: float | None = None
    """The worker's time for a done job."""
    eta: float | None = None
    """Seconds until every job is through, from this run's rate; None until measured."""
    executor: str | None = None
    """Where the jobs run (start event)."""

    def as_dict(self) -> dict:
        data = {"event": self.kind, "done": self.counts.done, "failed": self.counts.failed,
                "running": self.counts.running, "pending": self.counts.pending,
                "total": self.counts.total}
        for name in ("output", "worker", "error", "executor"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        for name in ("seconds", "eta"):
            if getattr(self, name) is not None:
                data[name] = round(getattr(self, name), 3)
        return data


@dataclass
class BatchSummary:
    """How a batch ended."""

    outdir: Path
    counts: Counts
    done_now: int = 0
    """Jobs finished by this run (the others were done before)."""
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(output, one-line error) of every failed job."""
    interrupted: bool = False
    seconds: float = 0.0
    executor: str | None = None
    notes: list[str] = field(default_factory=list)
    """What the run found when it started (taken-over jobs, missing outputs, changed inputs)."""

    @property
    def ok(self) -> bool:
        return self.counts.done == self.counts.total

    def lines(self) -> list[str]:
        c = self.counts
        rate = f", {3600 * self.done_now / self.seconds:.0f} jobs/hour" \
            if self.done_now and self.seconds > 0 else ""
        head = f"{c.done} of {c.total} jobs done ({self.done_now} by this run in " \
               f"{self.seconds:.1f} s{rate}), {c.failed} failed, {c.pending + c.running} left; " \
               f"results in {self.outdir}"
        lines = [("interrupted: " if self.interrupted else "") + head, *self.notes]
        lines += [f"failed: {output}: {error}" for output, error in self.failures]
        if self.interrupted or c.pending + c.running:
            lines.append("run the same command again to continue")
        elif c.failed:
            lines.append("run the same command again to retry failed jobs that have attempts "
                         "left (the retries option)")
        return lines
