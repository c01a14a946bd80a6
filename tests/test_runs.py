"""The run contract every product shares: one ETA rule and one name for the listener."""

from __future__ import annotations

import pytest

from painterly.batch import JobDone, run_batch
from painterly.runs import eta, listener_of
from tests.batch_helpers import TINY, check_outputs, make_inputs


def test_eta_is_the_rate_so_far_times_what_is_left():
    assert eta(10.0, 4, 6) == pytest.approx(15.0)
    assert eta(10.0, 0, 6) is None
    assert eta(10.0, 1, 6, at_least=2) is None
    assert eta(3.0, 2, 0, at_least=2) == 0.0


def test_the_listener_is_on_event_or_its_older_name():
    def one(event):
        return None

    assert listener_of(one, None) is one and listener_of(None, one) is one
    assert listener_of(None, None) is None
    with pytest.raises(TypeError, match="not both"):
        listener_of(one, one)


def test_should_stop_ends_a_batch_as_ctrl_c_does_and_a_rerun_finishes_it(tmp_path):
    photos, paintings = make_inputs(tmp_path, photos=2, paintings=2)
    outdir = tmp_path / "out"
    events = []
    stopped = run_batch(str(photos), str(paintings), outdir=outdir, options=TINY, workers=1,
                        threads=1, on_event=events.append,
                        should_stop=lambda: any(isinstance(e, JobDone) for e in events))
    assert stopped.interrupted and stopped.done_now == 1
    rest = run_batch(str(photos), str(paintings), outdir=outdir, options=TINY, workers=1,
                     threads=1)
    assert rest.ok and rest.done_now == 3 and not rest.interrupted
    check_outputs(outdir, 4)


def test_a_batch_event_is_one_type_per_kind_and_keeps_its_json_line():
    from painterly.batch import BatchStarted, Counts
    from painterly.batch.events import EVENT_KINDS

    done = JobDone(counts=Counts(done=1, pending=2), output="a--b.png", seconds=0.41234, eta=2.0)
    assert done.as_dict() == {"event": "done", "done": 1, "failed": 0, "running": 0,
                              "pending": 2, "total": 3, "output": "a--b.png", "seconds": 0.412,
                              "eta": 2.0}
    assert BatchStarted(counts=Counts(), executor="2 processes").as_dict()["executor"] == \
        "2 processes"
    assert EVENT_KINDS == ("start", "started", "done", "retry", "failed", "end")
