"""painterly batch on a real Ray cluster on 127.0.0.1 (started here, stopped after): a batch with
an actor killed mid-job (retried, every output once, the same pixels as the local executor), and
the 40-job batch with its driver killed by SIGKILL and resumed. Skipped when ray is missing."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
from PIL import Image

from painterly.batch import run_batch
from painterly.batch.store import JobStore
from tests.batch_helpers import (
    TINY,
    TINY_ARGS,
    batch_process,
    check_outputs,
    kill_after,
    make_inputs,
)

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def cluster():
    """A one-node Ray cluster of this test process with 2 CPUs; yields its address."""
    from painterly.cluster import runtime_env

    context = ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
                       log_to_driver=False, runtime_env=runtime_env(),
                       _node_ip_address="127.0.0.1")
    yield context.address_info["gcs_address"]
    ray.shutdown()


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_ray_batch_survives_a_killed_actor_and_matches_local_pixels(cluster, tmp_path):
    photos, paintings = make_inputs(tmp_path, photos=2, paintings=2)
    killed = []

    def kill_a_running_actor(event):
        # the first job started on an actor that is up (its pid known): kill it mid-job
        if event.kind == "started" and "pid " in (event.worker or "") and not killed:
            os.kill(int(event.worker.split("pid ")[1].split()[0]), signal.SIGKILL)
            killed.append(event.output)

    on_ray = run_batch(str(photos), str(paintings), outdir=tmp_path / "ray", options=TINY,
                       ray=cluster, workers=2, threads=1, progress=kill_a_running_actor)
    assert on_ray.ok and on_ray.done_now == 4 and "Ray actor" in on_ray.executor
    assert killed
    check_outputs(tmp_path / "ray", 4)
    store = JobStore(tmp_path / "ray")
    attempts = [(row["outcome"], row["error"]) for row in store.attempts(killed[0])]
    store.close()
    assert attempts[0][0] == "retry" and attempts[0][1].startswith("Ray worker died")
    assert attempts[1] == ("done", None)

    local = run_batch(str(photos), str(paintings), outdir=tmp_path / "local", options=TINY,
                      workers=1, threads=1)
    assert local.ok
    for path in (tmp_path / "local").glob("*.png"):
        assert np.array_equal(_pixels(path), _pixels(tmp_path / "ray" / path.name)), path.name


def test_ray_driver_killed_mid_batch_resumes_40_jobs(cluster, tmp_path):
    photos, paintings = make_inputs(tmp_path, photos=10, paintings=4)
    outdir = tmp_path / "out"
    args = [str(photos), "--style", str(paintings), "-o", str(outdir), "--ray", cluster,
            "--workers", "2", "--threads", "1", "--json-progress", *TINY_ARGS]
    assert kill_after(batch_process(args), 8) == 8
    second = batch_process(args)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["done"] == 40
    check_outputs(outdir, 40)
