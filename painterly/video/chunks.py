"""A long clip in chunks that different workers stylize at once, and the seams between them.

Chunk k owns frames ``[start, end)``. Its run is a temporal chain like ``painterly video``'s: a
full run on its first frame, then each frame from the previous result warped by the flow. When a
chunk is started, the seam before it is settled once and recorded in the work folder:

* ``seeded``: the previous chunk has already finished its last frame, so this chunk continues
  that chain (its first frame starts from the previous chunk's last result): no seam at all, the
  same frames as one uninterrupted run. A single worker always gets this.
* ``blend``: the previous chunk is still running, so this chunk starts ``overlap`` frames early
  (a warm-up: a full run on frame ``start - overlap``, then the chain) and, over those frames, the
  two chains are cross-faded, the later one's weight rising linearly from ``1/(overlap+1)`` to
  ``overlap/(overlap+1)``; from ``start`` on the frames are the later chain's own.

So that either is possible, a chunk's last ``overlap`` frames (its tail) are first stored as
``lead`` candidates and the warm-up frames of the next chunk as ``warm`` candidates; a finished
frame is written once both of a blended frame exist, or when the seam turns out seeded. Everything
lives in the work folder, so an interrupted run, or a chunk whose worker died, resumes from the
last stored frame of its chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from painterly.video.work import WorkFolder

LEAD, WARM = "lead", "warm"
SEEDED, BLEND = "seeded", "blend"


@dataclass(frozen=True)
class Chunk:
    number: int
    start: int
    """First frame it owns."""
    end: int
    """One past its last frame."""
    warm_start: int
    """First frame it computes when it cannot continue the previous chunk (``start -
    overlap``; ``start`` for the first chunk)."""
    tail_start: int
    """First frame of its tail (``end - overlap``; ``end`` for the last chunk)."""


def plan_chunks(count: int, chunk_frames: int, overlap: int) -> list[Chunk]:
    """Chunks of ``chunk_frames`` frames (the last one shorter) covering ``count`` frames."""
    if not 0 <= overlap < chunk_frames:
        raise ValueError("the overlap must be at least 0 and less than the chunk's frames")
    starts = list(range(0, count, chunk_frames))
    return [Chunk(number, start, min(start + chunk_frames, count),
                  max(0, start - overlap) if number else start,
                  min(start + chunk_frames, count) - (overlap if number < len(starts) - 1
                                                      else 0))
            for number, start in enumerate(starts)]


def next_chunk(pending: set[int], running: set[int]) -> int | None:
    """Which chunk a free worker takes, given the chunks not complete (``pending``, running ones
    included) and those running: one that can continue a finished chain (its predecessor is
    complete: a seeded seam) if any, else the middle of the longest row of waiting chunks, so
    the chain before it can continue into the first half (seams are few: about one per worker,
    not one per chunk)."""
    waiting = sorted(pending - running)
    for number in waiting:
        if number - 1 not in pending:
            return number
    rows: list[list[int]] = []
    for number in waiting:
        if rows and rows[-1][-1] == number - 1:
            rows[-1].append(number)
        else:
            rows.append([number])
    longest = max(rows, key=len, default=None)
    return None if longest is None else longest[len(longest) // 2]


@dataclass(frozen=True)
class Task:
    """Frames ``[first, end)`` of a chunk's chain, to run in order on one worker."""

    chunk: Chunk
    first: int
    end: int
    seed: int | None
    """The frame whose stored result the chain continues from (None: a full run on
    ``first``)."""


class ChunkLedger:
    """Which frames of which chunk's chain are stored, the seams' modes, and the finished frames
    that follow from them, all in a :class:`WorkFolder`."""

    def __init__(self, work: WorkFolder, chunks: list[Chunk]):
        self.work, self.chunks = work, chunks
        self.overlap = max((c.start - c.warm_start for c in chunks), default=0)

    def seam(self, chunk: Chunk) -> str | None:
        """How ``chunk`` joins the previous one (None: not decided yet; the first chunk:
        seeded)."""
        if chunk.number == 0:
            return SEEDED
        return self.work.note(f"seam-{chunk.start:06d}")

    def settle(self, chunk: Chunk) -> list[int]:
        """Decide the seam before ``chunk`` unless it is decided (``chunk`` is about to start,
        or the previous chunk just finished): seeded when the previous chunk's chain has its
        last frame, else blend. A decision, once recorded, stands. Returns the frames it
        finished (a seeded seam makes the previous chunk's tail final)."""
        if self.seam(chunk) is not None:
            return []
        previous = self.chunks[chunk.number - 1]
        seeded = self._has(previous, previous.end - 1)
        finished = []
        if seeded:
            for index in range(previous.tail_start, previous.end):
                self.work.save(index, self.work.load(index, LEAD))
                finished.append(index)
        self.work.write_note(f"seam-{chunk.start:06d}", SEEDED if seeded else BLEND)
        return finished

    def next_task(self, chunk: Chunk) -> Task | None:
        """The rest of ``chunk``'s chain (None when it is complete); its seam must be
        settled."""
        seeded = self.seam(chunk) == SEEDED
        begin = chunk.start if seeded else chunk.warm_start
        first = next((i for i in range(begin, chunk.end) if not self._has(chunk, i)), None)
        if first is None:
            return None
        continues = first > begin or (seeded and chunk.number > 0)
        return Task(chunk, first, chunk.end, first - 1 if continues else None)

    def seed_result(self, task: Task) -> np.ndarray:
        """The stored result that ``task``'s chain continues from."""
        if task.seed < task.chunk.start and self.seam(task.chunk) == SEEDED:
            return self.work.load(task.seed)  # the previous chunk's last frame
        return self.work.load(task.seed, self._variant(task.chunk, task.seed))

    def record(self, chunk: Chunk, index: int, pixels: np.ndarray) -> list[int]:
        """Store ``chunk``'s result for frame ``index``; returns the frames this finished."""
        variant = self._variant(chunk, index)
        self.work.save(index, pixels, variant)
        if variant is None:
            return [index]
        later = chunk if variant == WARM else self.chunks[chunk.number + 1]
        if self.seam(later) != BLEND or not (self.work.has(index, LEAD)
                                             and self.work.has(index, WARM)):
            return []
        weight = (index - later.warm_start + 1) / (later.start - later.warm_start + 1)
        lead = self.work.load(index, LEAD).astype(np.float32)
        warm = self.work.load(index, WARM).astype(np.float32)
        self.work.save(index, np.round((1 - weight) * lead + weight * warm).astype(np.uint8))
        return [index]

    def _variant(self, chunk: Chunk, index: int) -> str | None:
        if index < chunk.start:
            return WARM
        if index >= chunk.tail_start:
            return LEAD
        return None

    def _has(self, chunk: Chunk, index: int) -> bool:
        return self.work.has(index, self._variant(chunk, index))
