"""What a batch reports while it runs (one event per change) and when it ends."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar


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


@dataclass(frozen=True, kw_only=True)
class BatchEvent:
    """What every event of a batch carries: the jobs by state after the change, and the ETA.
    Each kind of change is its own type; ``kind`` is its name in ``--json-progress``."""

    kind: ClassVar[str] = ""
    """The event's name in ``--json-progress``: ``class JobDone(JobEvent, kind="done")``."""
    counts: Counts
    eta: float | None = None
    """Seconds until every job is through, from this run's rate; None until measured."""

    def __init_subclass__(cls, kind: str = "", **rest) -> None:
        super().__init_subclass__(**rest)
        if kind:
            cls.kind = kind

    def as_dict(self) -> dict:
        data = {"event": self.kind, "done": self.counts.done, "failed": self.counts.failed,
                "running": self.counts.running, "pending": self.counts.pending,
                "total": self.counts.total}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in ("counts", "eta") or value is None:
                continue
            data[item.name] = round(value, 3) if isinstance(value, float) else value
        if self.eta is not None:
            data["eta"] = round(self.eta, 3)
        return data


@dataclass(frozen=True, kw_only=True)
class BatchStarted(BatchEvent, kind="start"):
    """The batch starts."""

    executor: str
    """Where the jobs run."""


@dataclass(frozen=True, kw_only=True)
class JobEvent(BatchEvent):
    """Something happened to one job."""

    output: str
    """The job (its output file name)."""


@dataclass(frozen=True, kw_only=True)
class JobStarted(JobEvent, kind="started"):
    """A job started on a worker."""

    worker: str


@dataclass(frozen=True, kw_only=True)
class JobDone(JobEvent, kind="done"):
    """A job's result is written."""

    seconds: float
    """The worker's time."""


@dataclass(frozen=True, kw_only=True)
class JobError(JobEvent):
    """A job's attempt failed."""

    error: str
    """Why, in one line."""


@dataclass(frozen=True, kw_only=True)
class JobRetried(JobError, kind="retry"):
    """... and it will be tried again."""


@dataclass(frozen=True, kw_only=True)
class JobFailed(JobError, kind="failed"):
    """... for good (no attempts left, or another try would fail the same way)."""


@dataclass(frozen=True, kw_only=True)
class BatchEnded(BatchEvent, kind="end"):
    """The batch ends (done, interrupted or stopped)."""


EVENT_KINDS = tuple(event.kind for event in (BatchStarted, JobStarted, JobDone, JobRetried,
                                             JobFailed, BatchEnded))
"""The ``event`` names of ``--json-progress``."""


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
