"""``painterly batch``: many style transfers (every content x style pair, or the rows of a
manifest) into one folder, resumable at any point, on local processes or a Ray cluster.

The parts: :mod:`.inputs` and :mod:`.manifest` (what to read), :mod:`.plan` (the jobs, their
hashes and output names), :mod:`.store` (the SQLite job store), :mod:`.render` (one job, on a
worker), :mod:`.local` and :mod:`.raycluster` (executors), :mod:`.driver` (the run),
:mod:`.events` and :mod:`.status` (the bar and JSON lines are :mod:`painterly.cli.batch`'s)."""

from .driver import run_batch
from .events import (
    BatchEnded,
    BatchEvent,
    BatchStarted,
    BatchSummary,
    Counts,
    JobDone,
    JobError,
    JobEvent,
    JobFailed,
    JobRetried,
    JobStarted,
)
from .plan import Job, plan_jobs
from .status import batch_status

__all__ = ["BatchEnded", "BatchEvent", "BatchStarted", "BatchSummary", "Counts", "Job",
           "JobDone", "JobError", "JobEvent", "JobFailed", "JobRetried", "JobStarted",
           "batch_status", "plan_jobs", "run_batch"]
