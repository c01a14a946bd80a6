"""``painterly video --ray``: the chunks of a clip (:mod:`painterly.video.chunks`) on the actors of
a Ray cluster. Each actor keeps a VGG-19 loaded and runs one chunk's chain at a time with the
same :class:`~painterly.video.stylize.FrameStylizer` as the local frame loop. The driver decodes
the clip and sends each actor its frames one at a time; every result comes back to the driver,
which stores it in the run's work folder (the workers need no shared disk). A chunk whose actor
dies is started again from the last frame of its chain that was stored."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from painterly.cluster import (
    MAX_WORKER_DEATHS,
    actor_layout,
    connect,
    first_line,
    prepare_worker,
)
from painterly.errors import UserError
from painterly.video import reader
from painterly.video.chunks import Chunk, ChunkLedger, Task, next_chunk, plan_chunks
from painterly.video.events import FrameEvent, FrameFinished, FrameResumed
from painterly.video.options import VideoOptions
from painterly.video.plan import FramePlan
from painterly.video.stylize import FrameStylizer, Stylized
from painterly.video.work import WorkFolder

WAIT_S = 0.5
"""How long the driver waits for a result before checking whether it should stop."""


class ChunkActor:
    """Lives in a Ray worker process: one VGG-19, one chunk's chain at a time."""

    def __init__(self, threads: int | None, styles: list, size: tuple[int, int],
                 frame_options: dict, temporal_weight: float, mask: bytes | None):
        prepare_worker(threads)
        options = dict(frame_options)
        if mask is not None:  # the driver's mask file, as bytes (no shared disk)
            self._folder = tempfile.TemporaryDirectory(prefix="painterly-video-")
            options["mask"] = os.path.join(self._folder.name, "mask.png")
            Path(options["mask"]).write_bytes(mask)
        self.stylizer = FrameStylizer(styles, size, options, temporal_weight)
        self.previous: tuple[np.ndarray, np.ndarray] | None = None

    def stylize(self, frame: np.ndarray, frame_plan: FramePlan,
                seed: tuple[np.ndarray, np.ndarray] | None) -> Stylized:
        """The next frame of the chain: from ``seed`` (previous input frame, its result) when
        given, else from this actor's previous frame."""
        if seed is not None:
            self.previous = seed
        stylized = self.stylizer(frame, frame_plan, None if frame_plan.full_run
                                 else self.previous)
        self.previous = (frame, stylized.pixels)
        return stylized


def actor_threads(cores: int, size: int) -> int:
    """Torch threads of each chunk actor on a CPU: 1 up to 256 px, else up to 4. Wider actors
    than batch workers: every actor starts a chain, and more chains mean more blended seams."""
    return 1 if size <= 256 else max(1, min(cores, 4))


@dataclass
class _Running:
    task: Task
    frames: list[np.ndarray]
    """Input frames from ``task.seed`` (or ``task.first``) to ``task.end``."""
    index: int
    """The frame being stylized."""
    ref: Any


class RayChunks:
    """Runs the clip's chunks on a Ray cluster; the same interface as the local frame loop
    (``run``, ``interrupted``, ``computed``, ``losses``, ``timing``)."""

    def __init__(self, clip: reader.Clip, styles: list, size: tuple[int, int],
                 settings: VideoOptions, frame_options: dict, work: WorkFolder,
                 progress: Callable[[FrameEvent], None] | None,
                 should_stop: Callable[[], bool] | None):
        self.clip, self.size, self.settings, self.work = clip, size, settings, work
        self.progress, self.should_stop = progress, should_stop
        self.chunks = plan_chunks(clip.count, settings.chunk_frames,
                                  0 if settings.independent else settings.overlap)
        self.ledger = ChunkLedger(work, self.chunks)
        self.interrupted = False
        self.computed = 0
        self.losses: list[float] = []
        self.timing = {"flow": 0.0, "optimization": 0.0, "io": 0.0}
        self.ray = connect(settings.ray)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            os.cpu_count() or 1
        threads = settings.threads or actor_threads(cores, max(size))
        self.layout = actor_layout(self.ray, settings.workers, threads)
        mask = frame_options.get("mask")
        self._actor_args = (threads, styles, size, frame_options, settings.temporal_weight,
                            Path(mask).read_bytes() if mask else None)
        self._actor_class = self.ray.remote(ChunkActor)
        self._actors: list[Any] = []
        self._frames = _FrameSource(clip, size, self.ledger.overlap + 1)
        self._deaths_in_a_row = 0

    def _emit(self, event: FrameEvent) -> None:
        if self.progress is not None:
            self.progress(event)

    def run(self, start: float) -> None:
        del start  # no time budget with --ray
        count = self.clip.count
        for index in range(count):
            if self.work.has(index):
                self._emit(FrameResumed(frame=index, frames=count))
        pending = [c for c in self.chunks if not self._complete(c)]
        running: dict[int, _Running] = {}  # actor slot -> its task
        try:
            workers = min(self.layout.workers, max(len(pending), 1))
            self._actors = [self._new_actor() for _ in range(workers)]
            while pending or running:
                if self.should_stop is not None and self.should_stop():
                    self.interrupted = True
                    return
                for slot in range(len(self._actors)):
                    if slot in running:
                        continue
                    number = next_chunk({c.number for c in pending},
                                        {r.task.chunk.number for r in running.values()})
                    if number is None:
                        break
                    chunk = self.chunks[number]
                    self._finish(self.ledger.settle(chunk))
                    task = self.ledger.next_task(chunk)
                    if task is None:
                        pending.remove(chunk)
                        continue
                    running[slot] = self._start(slot, task)
                refs = {r.ref: slot for slot, r in running.items()}
                if not refs:
                    continue
                ready, _ = self.ray.wait(list(refs), num_returns=1, timeout=WAIT_S)
                for ref in ready:
                    slot = refs[ref]
                    if not self._advance(slot, running[slot]):
                        chunk = running.pop(slot).task.chunk
                        if self._complete(chunk):
                            pending.remove(chunk)
                            self._settle_next(chunk, running)
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            self.close()

    def _complete(self, chunk: Chunk) -> bool:
        return self.ledger.seam(chunk) is not None and self.ledger.next_task(chunk) is None

    def _settle_next(self, chunk: Chunk, running: dict[int, _Running]) -> None:
        """A chunk finished: if the next one has not started, it will continue this chain."""
        if chunk.number + 1 < len(self.chunks):
            following = self.chunks[chunk.number + 1]
            if all(r.task.chunk != following for r in running.values()):
                self._finish(self.ledger.settle(following))

    def _start(self, slot: int, task: Task) -> _Running:
        moment = time.perf_counter()
        frames = self._frames.take(task.first if task.seed is None else task.seed, task.end)
        seed = None if task.seed is None else (frames[0], self.ledger.seed_result(task))
        if task.seed is not None:
            frames = frames[1:]
        self.timing["io"] += time.perf_counter() - moment
        running = _Running(task, frames, task.first, None)
        running.ref = self._submit(slot, running, seed)
        return running

    def _submit(self, slot: int, running: _Running, seed) -> Any:
        task, index = running.task, running.index
        full_run = self.settings.independent or (index == task.first and task.seed is None)
        frame_plan = FramePlan(full_run, self.settings.first_frame_steps if full_run
                               else self.settings.frame_steps, None)
        return self._actors[slot].stylize.remote(running.frames[index - task.first],
                                                 frame_plan, seed)

    def _advance(self, slot: int, running: _Running) -> bool:
        """Store the result of the running frame and send the next; False when the task is
        over (done, or its actor died)."""
        try:
            stylized: Stylized = self.ray.get(running.ref)
            self._deaths_in_a_row = 0
        except self.ray.exceptions.RayError as error:
            if not isinstance(error, (self.ray.exceptions.RayActorError,
                                      self.ray.exceptions.WorkerCrashedError)):
                cause = getattr(error, "cause", None)
                raise UserError(str(cause) if isinstance(cause, UserError)
                                else f"a Ray worker failed: {first_line(error)}") from None
            self._replace(slot)
            return False
        for part, seconds in stylized.timing.items():
            self.timing[part] += seconds
        moment = time.perf_counter()
        finished = self.ledger.record(running.task.chunk, running.index, stylized.pixels)
        self.timing["io"] += time.perf_counter() - moment
        self.losses.append(stylized.loss)
        self._finish(finished, stylized.loss)
        running.index += 1
        if running.index >= running.task.end:
            return False
        running.ref = self._submit(slot, running, None)
        return True

    def _finish(self, frames: list[int], loss: float | None = None) -> None:
        for index in frames:
            self.computed += 1
            self._emit(FrameFinished(frame=index, frames=self.clip.count, loss=loss))

    def _new_actor(self) -> Any:
        return self._actor_class.options(**self.layout.options).remote(*self._actor_args)

    def _replace(self, slot: int) -> None:
        self._deaths_in_a_row += 1
        if self._deaths_in_a_row > MAX_WORKER_DEATHS * len(self._actors):
            raise UserError("Ray workers keep dying before finishing a frame: see the cluster's "
                            "logs (ray logs) for why")
        with contextlib.suppress(self.ray.exceptions.RayError, ValueError):
            self.ray.kill(self._actors[slot], no_restart=True)
        self._actors[slot] = self._new_actor()

    def close(self) -> None:
        for actor in self._actors:
            with contextlib.suppress(self.ray.exceptions.RayError, ValueError):
                self.ray.kill(actor, no_restart=True)
        self._actors = []


class _FrameSource:
    """The clip's frames at the output size by index range, decoded in one forward pass as
    long as ranges come in order (chunks do), keeping the last ``lookback`` frames for the next
    range's overlap; an earlier range (a retried chunk) decodes from the start again."""

    def __init__(self, clip: reader.Clip, size: tuple[int, int], lookback: int):
        self.clip, self.size = clip, size
        self.recent: deque[np.ndarray] = deque(maxlen=lookback)
        self.position = 0
        self.iterator: Iterator[np.ndarray] | None = None

    def take(self, first: int, end: int) -> list[np.ndarray]:
        if self.iterator is None or first < self.position - len(self.recent):
            self._reopen()
        frames = [f for i, f in enumerate(self.recent, self.position - len(self.recent))
                  if first <= i < end]
        while self.position < end:
            frame = reader.resized(next(self.iterator), self.size)
            if self.position >= first:
                frames.append(frame)
            self.recent.append(frame)
            self.position += 1
        return frames

    def _reopen(self) -> None:
        if self.iterator is not None:
            self.iterator.close()
        self.iterator, self.position = self.clip.frames(), 0
        self.recent.clear()
