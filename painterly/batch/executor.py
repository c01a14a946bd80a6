"""What the driver needs from an executor: slots for jobs at once, submit a job, collect the
outcomes that are ready, close. A worker that dies becomes a retryable failure of its job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .render import Failure, JobSpec, Rendered


@dataclass(frozen=True)
class Outcome:
    output: str
    result: Rendered | Failure


class Executor(Protocol):
    slots: int
    """Jobs it runs at once."""
    description: str
    """One line: where the jobs run, e.g. ``2 local processes x 1 thread``."""

    def submit(self, spec: JobSpec) -> str:
        """Start a job on a free worker; returns the worker's label."""

    def collect(self, timeout: float) -> list[Outcome]:
        """Outcomes that are ready, waiting up to ``timeout`` seconds for the first."""

    def close(self) -> None:
        """Stop the workers (jobs still running are abandoned)."""
