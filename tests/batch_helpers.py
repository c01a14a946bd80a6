"""Shared pieces of the batch tests: tiny photo and painting folders, the fastest settings, and
checks that every output exists exactly once and was done exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from painterly.batch.outputs import output_key
from painterly.batch.store import DATABASE_NAME
from tests.conftest import synthetic_painting, synthetic_photo

TINY = {"size": 24, "steps": 1, "min_size": 24, "coarse_steps": 0, "device": "cpu"}
"""One evaluation at 24 px: a job takes a fraction of a second."""
TINY_ARGS = ["--size", "24", "--steps", "1", "--min-size", "24", "--coarse-steps", "0",
             "--device", "cpu"]
REPOSITORY = Path(__file__).resolve().parents[1]


def make_inputs(root: Path, photos: int, paintings: int) -> tuple[Path, Path]:
    photo_dir, style_dir = root / "photos", root / "paintings"
    photo_dir.mkdir()
    style_dir.mkdir()
    for index in range(photos):
        synthetic_photo(32, 28, seed=index).save(photo_dir / f"photo{index}.png")
    for index in range(paintings):
        synthetic_painting(28, 28, seed=100 + index).save(style_dir / f"painting{index}.png")
    return photo_dir, style_dir


def check_outputs(outdir: Path, expected: int) -> None:
    """``expected`` results, each a complete PNG tagged with its job's key; no temporary files;
    every job done by exactly one attempt."""
    db = sqlite3.connect(outdir / DATABASE_NAME)
    jobs = dict(db.execute("SELECT output, key FROM jobs WHERE state='done'"))
    assert len(jobs) == expected
    assert sorted(p.name for p in outdir.glob("*.png")) == sorted(jobs)
    assert not list(outdir.glob(".*.part"))
    for output, key in jobs.items():
        assert output_key(outdir / output) == key
    completions = dict(db.execute("SELECT output, count(*) FROM attempts WHERE outcome='done' "
                                  "GROUP BY output"))
    assert completions == dict.fromkeys(jobs, 1)
    db.close()


def batch_process(args: list[str], **kwargs) -> subprocess.Popen:
    """``python -m painterly batch ARGS`` in a fresh process (stdout piped)."""
    return subprocess.Popen([sys.executable, "-m", "painterly", "batch", *args], cwd=REPOSITORY,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPOSITORY)), **kwargs)


def kill_after(process: subprocess.Popen, done_events: int) -> int:
    """Read the process's JSON progress until ``done_events`` jobs are done, then SIGKILL it;
    returns the jobs it had done."""
    import json

    done = 0
    for line in process.stdout:
        event = json.loads(line)
        if event["event"] == "done":
            done += 1
            if done >= done_events:
                break
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    return done
