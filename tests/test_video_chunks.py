"""Chunks of a clip and their seams, without Ray: the plan, which chunk a free worker takes, and
the ledger's seeded and blended seams on a real work folder (frames of constant colour stand in
for stylized ones, so the cross-fade's weights can be read off the pixels)."""

from __future__ import annotations

import numpy as np
import pytest

from painterly.video.chunks import (
    BLEND,
    SEEDED,
    ChunkLedger,
    Task,
    next_chunk,
    plan_chunks,
)
from painterly.video.work import WorkFolder


def test_chunks_cover_the_clip_once_with_their_overlaps():
    chunks = plan_chunks(10, 4, 2)
    assert [(c.start, c.end) for c in chunks] == [(0, 4), (4, 8), (8, 10)]
    assert [c.warm_start for c in chunks] == [0, 2, 6]
    assert [c.tail_start for c in chunks] == [2, 6, 10]
    with pytest.raises(ValueError):
        plan_chunks(10, 4, 4)


def test_a_free_worker_continues_a_finished_chain_else_splits_the_longest_row():
    assert next_chunk({0, 1, 2, 3}, set()) == 0
    assert next_chunk({0, 1, 2, 3}, {0}) == 2  # the middle of 1..3: 0's chain continues to 1
    assert next_chunk({1, 3}, {3}) == 1  # chunk 0 is done: 1 continues it
    assert next_chunk({2, 3, 4, 5, 6}, {2}) == 5
    assert next_chunk({4}, {4}) is None


def _flat(value: int) -> np.ndarray:
    return np.full((2, 2, 3), value, np.uint8)


def _run(ledger: ChunkLedger, task: Task, value: int) -> list[int]:
    finished = []
    for index in range(task.first, task.end):
        finished += ledger.record(task.chunk, index, _flat(value))
    return finished


def test_a_seam_after_a_finished_chunk_continues_its_chain(tmp_path):
    chunks = plan_chunks(8, 4, 2)
    ledger = ChunkLedger(WorkFolder(tmp_path, "run"), chunks)
    first = ledger.next_task(chunks[0])
    assert (first.first, first.end, first.seed) == (0, 4, None)
    assert _run(ledger, first, 10) == [0, 1]  # its tail waits for the seam's decision
    assert ledger.settle(chunks[1]) == [2, 3]
    second = ledger.next_task(chunks[1])
    assert ledger.seam(chunks[1]) == SEEDED
    assert (second.first, second.seed) == (4, 3)
    assert ledger.seed_result(second)[0, 0, 0] == 10
    assert _run(ledger, second, 50) == [4, 5, 6, 7]
    assert ledger.next_task(chunks[1]) is None and ledger.work.finished() == 8


def test_a_seam_beside_a_running_chunk_is_cross_faded_over_the_overlap(tmp_path):
    chunks = plan_chunks(10, 5, 3)
    ledger = ChunkLedger(WorkFolder(tmp_path, "run"), chunks)
    first = ledger.next_task(chunks[0])
    ledger.settle(chunks[1])  # chunk 0 has not finished: the seam is blended
    assert ledger.seam(chunks[1]) == BLEND
    second = ledger.next_task(chunks[1])
    assert (second.first, second.end, second.seed) == (2, 10, None)  # warm-up from frame 2
    assert _run(ledger, second, 200) == [5, 6, 7, 8, 9]
    assert _run(ledger, first, 40) == [0, 1, 2, 3, 4]
    pixels = [ledger.work.load(i)[0, 0, 0] for i in range(10)]
    # frames 2, 3, 4: 40 -> 200 with weights 1/4, 2/4, 3/4
    assert pixels == [40, 40, 80, 120, 160, 200, 200, 200, 200, 200]


def test_an_interrupted_chain_resumes_from_its_last_stored_frame(tmp_path):
    chunks = plan_chunks(10, 5, 3)
    ledger = ChunkLedger(WorkFolder(tmp_path, "run"), chunks)
    ledger.settle(chunks[1])
    second = ledger.next_task(chunks[1])
    for index in (2, 3, 4, 5):  # a warm-up and owned frames, then the worker died
        ledger.record(chunks[1], index, _flat(index))
    again = ChunkLedger(WorkFolder(tmp_path, "run"), chunks).next_task(chunks[1])
    assert (again.first, again.seed) == (6, 5) and second.first == 2
    assert ledger.seed_result(again)[0, 0, 0] == 5
