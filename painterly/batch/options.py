"""The settings of a batch besides the transfer options of its jobs, declared once (the command
line's flags come from here, see :mod:`painterly.options`); where the work happens is
:class:`painterly.cluster.WorkerOptions`' declaration, shared with the video."""

from __future__ import annotations

from dataclasses import dataclass

from painterly.cluster import WorkerOptions
from painterly.options import option, same_as

MAX_RETRIES = 1000
"""Most further attempts of a failed job (the store counts attempts in a 64-bit integer)."""


@dataclass
class BatchOptions:
    """How a batch runs; every job's own settings are :class:`TransferOptions` fields."""

    retries: int = option(2, "further attempts of a failed job, over all runs", low=0,
                          high=MAX_RETRIES, metavar="N")
    ray: str | None = same_as(WorkerOptions, "ray")
    workers: int | None = same_as(WorkerOptions, "workers")
    threads: int | None = same_as(WorkerOptions, "threads")
