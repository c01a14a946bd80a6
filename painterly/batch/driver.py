"""The batch driver: plan the jobs, bring the store up to date, and feed an executor, recording
every step in the store, so a run that is killed at any moment can be started again and finishes
the work without losing or repeating a job."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from painterly.errors import UserError
from painterly.options import resolve
from painterly.runs import StopCheck, eta, listener_of

from . import events
from .events import BatchEvent, BatchSummary, Counts
from .executor import Executor
from .local import LocalExecutor, default_layout
from .options import BatchOptions
from .outputs import output_key, part_owner, stale_parts, write_output
from .owner import Owner, is_dead
from .plan import Job, plan_jobs
from .render import Failure, job_spec
from .store import JobStore, one_line

HEARTBEAT_S = 5.0
"""How often a driver renews the leases of its running jobs."""
LEASE_S = 60.0
"""A job whose lease is this old is taken over by another driver even if its owner cannot be
checked (another host): well above the heartbeat."""

ProgressCallback = Callable[[BatchEvent], None]


def run_batch(contents: str | Sequence[str], styles: str | Sequence[str] = (), *,
              outdir: str | os.PathLike, options: dict[str, Any] | None = None,
              retries: int = 2, ray: str | None = None, workers: int | None = None,
              threads: int | None = None, on_event: ProgressCallback | None = None,
              should_stop: StopCheck | None = None,
              progress: ProgressCallback | None = None) -> BatchSummary:
    """Style every content image with every style (or run every manifest row) into ``outdir``.

    ``contents``: image files, folders, glob patterns, or CSV / JSON-lines manifests; ``styles``:
    style images (files, folders, globs, example names); ``options``: TransferOptions fields for
    all jobs. ``retries``: further attempts of a failed job (over all runs). ``ray``: ``auto`` or
    ``HOST:PORT`` of a Ray cluster (default: processes on this machine); ``workers``: processes or
    Ray actors; ``threads``: torch threads of each. ``on_event`` receives a BatchEvent after every
    change (``progress`` is its older name). ``should_stop`` returning True (asked between
    jobs) or Ctrl-C (KeyboardInterrupt) ends the run early: the summary says so, running jobs go
    back to pending. UserError for a command that cannot start (OptionError naming the field
    for a bad ``retries``, ``workers``, ... : they are :class:`BatchOptions`' fields)."""
    progress = listener_of(on_event, progress)
    settings = resolve(BatchOptions, {"retries": retries, "ray": ray, "workers": workers,
                                      "threads": threads})
    contents = [contents] if isinstance(contents, str) else list(contents)
    styles = [styles] if isinstance(styles, str) else list(styles)
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"output folder is a file: {outdir}")
    outdir.mkdir(parents=True, exist_ok=True)
    if not os.access(outdir, os.W_OK):
        raise UserError(f"output folder is not writable: {outdir}")
    store = JobStore(outdir)
    try:
        jobs = plan_jobs(contents, styles, options, hasher=store.hash_file, outdir=outdir)
        return _Driver(store, jobs,
                       max_attempts=1 + settings.retries, progress=progress,
                       should_stop=should_stop).run(
            lambda: make_executor(settings.ray, settings.workers, settings.threads,
                                  options or {}))
    finally:
        store.close()


def make_executor(ray: str | None, workers: int | None, threads: int | None,
                  options: dict[str, Any]) -> Executor:
    """Ray actors when ``ray`` names a cluster, else local processes sized to this machine
    (:func:`painterly.batch.local.default_layout`)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1
    size = int(options.get("size", 512))
    device = str(options.get("device", "auto"))
    default_processes, default_threads = default_layout(cores, size, device)
    if ray is not None:
        from .raycluster import RayExecutor

        return RayExecutor(ray, workers, threads or default_threads)
    if workers is None and threads is None:
        workers, threads = default_processes, default_threads
    elif workers is None:
        workers = max(1, cores // threads)
    elif threads is None:
        threads = max(1, cores // workers)
    return LocalExecutor(workers, threads)


class _Driver:
    def __init__(self, store: JobStore, jobs: list[Job], *, max_attempts: int,
                 progress: ProgressCallback | None, should_stop: StopCheck | None = None):
        self.store = store
        self.jobs = {job.output: job for job in jobs}
        self.max_attempts = max_attempts
        self.progress = progress
        self.should_stop = should_stop
        self.owner = str(Owner.current())
        self.started = time.monotonic()
        self.finished_now = 0
        self.done_now = 0

    def run(self, make: Callable[[], Executor]) -> BatchSummary:
        notes = self._prepare()
        queue = deque(self.store.pending())
        executor: Executor | None = None
        interrupted = False
        try:
            if queue:
                executor = make()
            self._emit(events.BatchStarted,
                       executor=executor.description if executor else "nothing to do")
            if executor is not None:
                interrupted = self._loop(executor, queue)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if executor is not None:
                executor.close()
            self.store.release(self.owner)
        counts = self._counts()
        summary = BatchSummary(self.store.outdir, counts, self.done_now,
                               [(row["output"], row["error"] or "")
                                for row in self.store.failures(planned_only=True)],
                               interrupted, time.monotonic() - self.started,
                               executor.description if executor else None, notes)
        self._emit(events.BatchEnded)
        return summary

    def _prepare(self) -> list[str]:
        """Bring the store up to date with the planned jobs; notes for the summary."""
        outdir = self.store.outdir
        _new, changed = self.store.sync(self.jobs.values())
        taken_over, completed, missing, retried = self.store.recover(
            self.max_attempts, lambda output, key: output_key(outdir / output) == key,
            lambda output: (outdir / output).is_file())
        for part in stale_parts(outdir):  # left by a killed writer
            row = self.store.job(part_owner(part))
            if row is None or row["state"] != "running" or is_dead(row["owner"]):
                part.unlink(missing_ok=True)
        notes = []
        rows = sum(len(job.rows) for job in self.jobs.values())
        if rows:
            from_rows = sum(1 for job in self.jobs.values() if job.rows)
            notes.append(f"{rows} manifest row(s): {from_rows} job(s)" + (
                " (rows asking for the same result share one job)" if from_rows < rows else ""))
        if changed:
            notes.append(f"{changed} job(s) whose inputs or settings changed are done again")
        if taken_over:
            notes.append(f"took over {taken_over} job(s) left running by a stopped driver "
                         f"({completed} had already written their result)")
        if missing:
            notes.append(f"{missing} done job(s) had lost their output file: done again")
        if retried:
            notes.append(f"retrying {retried} failed job(s)")
        return notes

    def _loop(self, executor: Executor, queue: deque[str]) -> bool:
        """Feed the executor until every job is done; True when ``should_stop`` ended it."""
        running: set[str] = set()
        last_beat = time.monotonic()
        while queue or running:
            if self.should_stop is not None and self.should_stop():
                return True
            while queue and len(running) < executor.slots:
                output = queue.popleft()
                if self.store.claim(output, self.owner, LEASE_S) is None:
                    continue  # another driver took it
                try:
                    spec = job_spec(self.jobs[output])
                except OSError as error:
                    self._failed(output, Failure(f"cannot read an input: {error}", False), queue)
                    continue
                worker = executor.submit(spec)
                self.store.set_worker(output, self.owner, worker)
                running.add(output)
                self._emit(events.JobStarted, output=output, worker=worker)
            for outcome in executor.collect(timeout=HEARTBEAT_S):
                running.discard(outcome.output)
                result = outcome.result
                if isinstance(result, Failure):
                    self._failed(outcome.output, result, queue)
                    continue
                try:
                    write_output(self.store.outdir, outcome.output, result.png)
                except OSError as error:
                    self._failed(outcome.output, Failure(f"cannot write the result: {error}",
                                                         True), queue)
                    continue
                self.finished_now += 1
                if self.store.complete(outcome.output, self.owner, result.seconds):
                    self.done_now += 1
                self._emit(events.JobDone, output=outcome.output, seconds=result.seconds)
            if time.monotonic() - last_beat >= HEARTBEAT_S:
                self.store.renew(self.owner, LEASE_S)
                last_beat = time.monotonic()

    def _failed(self, output: str, failure: Failure, queue: deque[str]) -> None:
        rows = self.jobs[output].rows
        error = failure.error if not rows or failure.error.startswith(rows[0]) else \
            f"{rows[0]}: {failure.error}"
        state = self.store.fail(output, self.owner, error, retry=failure.retry,
                                max_attempts=self.max_attempts)
        if state == "pending":
            queue.append(output)
        else:
            self.finished_now += 1
        self._emit(events.JobRetried if state == "pending" else events.JobFailed, output=output,
                   error=one_line(error))

    def _counts(self) -> Counts:
        return Counts(**self.store.counts(planned_only=True))

    def _emit(self, event: type[BatchEvent], **details: Any) -> None:
        if self.progress is None:
            return
        counts = self._counts()
        elapsed = time.monotonic() - self.started
        self.progress(event(counts=counts, **details,
                                 eta=eta(elapsed, self.finished_now,
                                         counts.pending + counts.running)))
