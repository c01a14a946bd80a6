"""painterly batch: planning, manifests, the SQLite job store's state machine, a batch with a bad
image, a local worker killed mid-job, and the driver killed with SIGKILL mid-batch and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from painterly.batch import batch_status, plan_jobs, run_batch
from painterly.batch.manifest import read_manifest
from painterly.batch.outputs import encode_png, write_output
from painterly.batch.store import JobStore
from painterly.cli import main
from painterly.errors import UserError
from tests.batch_helpers import (
    TINY,
    TINY_ARGS,
    batch_process,
    check_outputs,
    kill_after,
    make_inputs,
)
from tests.conftest import synthetic_photo


@pytest.fixture
def inputs(tmp_path):
    return make_inputs(tmp_path, photos=3, paintings=2)


def test_every_content_style_pair_is_a_job_with_a_stable_name(inputs, tmp_path):
    photos, paintings = inputs
    jobs = plan_jobs([str(photos)], [str(paintings)], TINY)
    assert sorted(job.output for job in jobs) == sorted(
        f"photo{p}--painting{s}.png" for p in range(3) for s in range(2))
    again = plan_jobs([str(photos / "*.png")], [str(paintings)], TINY)
    assert {j.output: j.key for j in again} == {j.output: j.key for j in jobs}
    # the same stem in two folders: both kept, told apart by a hash suffix, stable across runs
    other = tmp_path / "other"
    other.mkdir()
    synthetic_photo(seed=9).save(other / "photo0.png")
    names = [j.output for j in plan_jobs([str(photos / "photo0.png"), str(other / "photo0.png")],
                                         [str(paintings / "painting0.png")], TINY)]
    assert len(set(names)) == 2 and all(n.startswith("photo0--painting0-") for n in names)
    assert names == [j.output for j in plan_jobs(
        [str(photos / "photo0.png"), str(other / "photo0.png")],
        [str(paintings / "painting0.png")], TINY)]


def test_key_follows_content_and_settings_not_paths(inputs, tmp_path):
    photos, paintings = inputs
    key = plan_jobs([str(photos / "photo0.png")], [str(paintings / "painting0.png")], TINY)[0].key
    moved = tmp_path / "moved.png"
    moved.write_bytes((photos / "photo0.png").read_bytes())
    same = plan_jobs([str(moved)], [str(paintings / "painting0.png")], TINY)[0]
    assert same.key == key
    assert plan_jobs([str(moved)], [str(paintings / "painting0.png")],
                     TINY | {"steps": 2})[0].key != key
    synthetic_photo(seed=5).save(moved)
    assert plan_jobs([str(moved)], [str(paintings / "painting0.png")], TINY)[0].key != key


def test_command_errors_stop_before_any_work(inputs, tmp_path, capsys):
    photos, paintings = inputs
    with pytest.raises(UserError, match="no files match"):
        plan_jobs([str(tmp_path / "nothing*.jpg")], [str(paintings)], TINY)
    with pytest.raises(UserError, match="styles needs one or more style images"):
        plan_jobs([str(photos)], [], TINY)
    assert main(["batch", str(photos), "-o", str(tmp_path / "out")]) == 2
    assert "error: --style needs one or more style images" in capsys.readouterr().err
    with pytest.raises(UserError, match="size"):
        plan_jobs([str(photos)], [str(paintings)], {"size": 4})


def test_manifest_csv_and_json_lines(inputs, tmp_path):
    _photos, paintings = inputs
    csv = tmp_path / "jobs.csv"
    csv.write_text("content,style,style-weight,output,style_scale\n"
                   "photos/photo0.png,paintings/painting0.png;paintings/painting1.png,1e4,,\n"
                   "photos/photo1.png,,,mine.png,\"0.5,1\"\n"
                   "photos/photo2.png,paintings/painting0.png,heavy,,\n")
    rows = read_manifest(csv)
    assert rows[0].styles == (str(paintings / "painting0.png"), str(paintings / "painting1.png"))
    assert rows[0].options == {"style_weight": 1e4}
    assert rows[1].output == "mine.png" and rows[1].options == {"style_scale": (0.5, 1.0)}
    assert rows[2].problem == "jobs.csv:4: style_weight must be a number, got 'heavy'"
    jobs = {job.output: job for job in plan_jobs([str(csv)], [str(paintings / "painting1.png")],
                                                 TINY)}
    assert set(jobs) == {"photo0--painting0+painting1.png", "mine.png",
                         "photo2--painting0.png"}
    assert jobs["mine.png"].styles == (str(paintings / "painting1.png"),)  # --style as default
    assert jobs["mine.png"].problem == "jobs.csv:3: style_scale has 2 values for 1 style images"
    assert jobs["photo0--painting0+painting1.png"].options["size"] == 24
    assert jobs["photo2--painting0.png"].problem is not None

    jsonl = tmp_path / "jobs.jsonl"
    jsonl.write_text(json.dumps({"content": "photos/photo0.png", "styles": ["starry_night"],
                                 "steps": 3}) + "\n\nnot json\n")
    rows = read_manifest(jsonl)
    assert rows[0].styles == ("starry_night",) and rows[0].options == {"steps": 3}
    assert "not JSON" in rows[1].problem
    bad = tmp_path / "bad.csv"
    bad.write_text("content,colour\nx.png,red\n")
    with pytest.raises(UserError, match="unknown column"):
        read_manifest(bad)


def test_store_state_machine(inputs, tmp_path):
    photos, paintings = inputs
    outdir = tmp_path / "out"
    outdir.mkdir()
    store = JobStore(outdir)
    jobs = plan_jobs([str(photos)], [str(paintings / "painting0.png")], TINY,
                     hasher=store.hash_file)
    assert store.sync(jobs) == (3, 0)
    assert store.sync(jobs) == (0, 0)
    a, b, c = (job.output for job in jobs)
    me, other = "host:1:1:me", "host:2:2:other"

    assert store.claim(a, me, 60) == 1
    assert store.claim(a, other, 60) is None  # one owner at a time
    assert store.fail(a, other, "not mine", retry=True, max_attempts=2) is None
    assert store.fail(a, me, "flaky\nworker", retry=True, max_attempts=2) == "pending"
    assert store.job(a)["error"] == "flaky worker"
    assert store.claim(a, me, 60) == 2
    assert store.fail(a, me, "again", retry=True, max_attempts=2) == "failed"
    assert store.claim(a, me, 60) is None

    assert store.claim(b, me, 60) == 1
    assert not store.complete(b, other, 1.0)
    assert store.complete(b, me, 1.0)
    assert store.claim(b, me, 60) is None  # done is final

    assert store.claim(c, me, 60) == 1
    assert store.release(me) == 1  # an interrupted run: pending, the attempt not counted
    assert store.job(c)["state"] == "pending" and store.job(c)["attempts"] == 0
    assert store.counts() == {"pending": 1, "running": 0, "done": 1, "failed": 1}

    # a driver that died holding c: its job goes back to pending at once (its pid is gone)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    import socket

    assert store.claim(c, f"{socket.gethostname()}:{dead}::x", 60) == 1
    taken = store.recover(3, lambda output, key: False, lambda output: True)
    assert taken == (1, 0, 0, 1)  # c taken over; a (failed, 2 < 3 attempts) retried
    assert store.job(c)["state"] == "pending" and store.job(c)["attempts"] == 0
    assert store.job(a)["state"] == "pending"
    # a live driver's job with an expired lease is taken over too
    assert store.claim(c, me, -1) == 1
    assert store.recover(3, lambda output, key: True, lambda output: True)[:2] == (1, 1)
    assert store.job(c)["state"] == "done"  # its output was complete: not done again
    # a done job whose output is gone is done again
    assert store.recover(3, lambda o, k: True, lambda output: output != b)[2] == 1
    assert store.job(b)["state"] == "pending"
    # new settings: the job starts over
    changed = plan_jobs([str(photos)], [str(paintings / "painting0.png")], TINY | {"seed": 1},
                        hasher=store.hash_file)
    assert store.sync(changed) == (0, 3)
    assert {row["state"] for row in store.jobs()} == {"pending"}
    store.close()


def test_outputs_are_written_whole(tmp_path):
    data = encode_png(synthetic_photo(), "k" * 64)
    path = write_output(tmp_path, "a.png", data)
    assert path.read_bytes() == data and not list(tmp_path.glob(".*.part"))


def test_bad_item_recorded_batch_goes_on_exit_code(inputs, tmp_path, capsys):
    photos, paintings = inputs
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    outdir = tmp_path / "out"
    args = ["batch", str(photos), "--style", str(paintings / "painting0.png"), "-o", str(outdir),
            "--workers", "1", "--threads", "1", "--quiet", "--retries", "1", *TINY_ARGS]
    assert main(args) == 3
    out = capsys.readouterr().out
    assert "3 of 4 jobs done" in out
    assert "failed: broken--painting0.png: content image is not an image file" in out
    check_outputs(outdir, 3)
    # again: the done jobs are skipped, the failed one tried once more (--retries 1), then not
    assert main(args) == 3
    assert "0 by this run" in capsys.readouterr().out
    assert main(args) == 3
    status = batch_status(outdir)
    assert status.failures[0][:2] == ("broken--painting0.png", 2)
    assert main(["batch", "status", str(outdir)]) == 3
    assert "broken--painting0.png (2 attempts): content image is not an image" in \
        capsys.readouterr().out


def test_killed_worker_is_replaced_and_its_job_retried(inputs, tmp_path):
    photos, paintings = inputs
    outdir = tmp_path / "out"
    victims = []

    def kill_third_job(event):
        if event.kind == "started" and event.counts.done + event.counts.failed >= 1 \
                and not victims:
            pid = int(event.worker.split("pid ")[1].rstrip(")"))
            os.kill(pid, signal.SIGKILL)
            victims.append(event.output)

    summary = run_batch(str(photos), str(paintings), outdir=outdir, options=TINY, workers=2,
                        threads=1, progress=kill_third_job)
    assert summary.ok and summary.done_now == 6
    check_outputs(outdir, 6)
    store = JobStore(outdir)
    outcomes = [(row["outcome"], row["error"]) for row in store.attempts(victims[0])]
    assert outcomes[0][0] == "retry" and "worker process died (killed by signal 9" in \
        outcomes[0][1]
    assert outcomes[1] == ("done", None)
    store.close()


def test_driver_killed_mid_batch_resumes_without_losing_or_repeating(tmp_path):
    """The issue's check: 10 photos x 4 paintings, killed with SIGKILL, run again: 40 outputs,
    each done once, a clean status."""
    photos, paintings = make_inputs(tmp_path, photos=10, paintings=4)
    outdir = tmp_path / "out"
    args = [str(photos), "--style", str(paintings), "-o", str(outdir), "--workers", "2",
            "--threads", "1", "--json-progress", *TINY_ARGS]
    first = batch_process(args)
    done_before_kill = kill_after(first, 8)
    assert done_before_kill == 8
    time.sleep(0.5)
    store = JobStore(outdir)
    counts = store.counts()
    store.close()
    assert counts["done"] >= 8 and counts["done"] < 40  # killed mid-batch
    second = batch_process(args)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["done"] == 40
    assert "took over" in err or counts["running"] == 0
    check_outputs(outdir, 40)
    assert main(["batch", "status", str(outdir)]) == 0


def test_the_default_layout_is_a_process_per_core_capped_by_memory():
    from painterly.batch.local import default_layout

    gib = 2**30
    assert default_layout(2, 512, "cpu", available=24 * gib) == (2, 1)
    assert default_layout(16, 64, "cpu", available=64 * gib) == (16, 1)
    # a 512 px run is estimated at 1.9 GiB (L-BFGS history 100): 80% of 5 GiB holds two of
    # them, which share the 16 cores; 80% of 4 GiB holds one
    assert default_layout(16, 512, "cpu", available=5 * gib) == (2, 8)
    assert default_layout(16, 512, "cpu", available=4 * gib) == (1, 16)
    assert default_layout(4, 4096, "cpu", available=1 * gib) == (1, 4)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_rows_differing_only_in_bad_values_are_each_reported(tmp_path, capsys, suffix):
    """No row is dropped: rows that differ only in a bad value are each a reported problem with
    its line (the planner used to merge the alike ones first), the summary counts the rows."""
    synthetic_photo(300, 40).save(tmp_path / "wide.png")
    sizes = ['32', '"abc"', 'NaN', '"-inf"'] if suffix == ".jsonl" else \
        ["32", "abc", "nan", "-inf", "1e999"]
    manifest = tmp_path / f"rows{suffix}"
    if suffix == ".jsonl":
        manifest.write_text("".join(f'{{"content": "wide.png", "style": "starry_night", '
                                    f'"size": {size}}}\n' for size in sizes))
    else:
        manifest.write_text("content,style,size\n" + "".join(
            f"wide.png,starry_night,{size}\n" for size in sizes))
    first = 1 if suffix == ".jsonl" else 2
    assert main(["batch", str(manifest), "-o", str(tmp_path / "out"), "--quiet",
                 *TINY_ARGS]) == 3
    out = capsys.readouterr().out
    assert f"0 of {len(sizes)} jobs done" in out
    assert f"{len(sizes)} manifest row(s): {len(sizes)} job(s)" in out
    for line in range(first, first + len(sizes)):
        assert f": {manifest.name}:{line}: " in out, out


def test_a_row_whose_file_is_missing_is_reported_with_its_line(tmp_path):
    """Found by the batch property test: a missing mask was reported without the row's line."""
    synthetic_photo(32, 24).save(tmp_path / "photo.png")
    manifest = tmp_path / "rows.csv"
    manifest.write_text("content,style,mask\nphoto.png,starry_night,missing.png\n")
    [job] = plan_jobs([str(manifest)], outdir=tmp_path / "out")
    assert job.problem.startswith("rows.csv:2: mask image not found")


def test_a_default_output_name_too_long_is_a_row_problem_before_any_work(tmp_path):
    styles = []
    for index in range(5):
        styles.append(tmp_path / f"{'painting' * 8}{index}.png")
        synthetic_photo(16, 16).save(styles[-1])
    synthetic_photo(32, 24).save(tmp_path / f"{'photo' * 12}.png")
    manifest = tmp_path / "rows.jsonl"
    manifest.write_text(json.dumps({"content": f"{'photo' * 12}.png",
                                    "styles": [path.name for path in styles]}) + "\n")
    [job] = plan_jobs([str(manifest)], outdir=tmp_path / "out")
    assert job.problem.startswith("rows.jsonl:1: the file name is") and "more than 240" in \
        job.problem


def test_a_weights_file_travels_with_the_job_to_any_worker(inputs, tmp_path, monkeypatch):
    """Options declared ``names_file`` (here --weights) are hashed into the job's key and sent
    as bytes, so a worker without the driver's disk (a Ray actor elsewhere) reads its own
    copy."""
    from painterly.batch import render

    photos, paintings = inputs
    weights = tmp_path / "vgg19-caffe.pth"
    weights.write_bytes(b"not really weights")
    job = plan_jobs([str(photos)], [str(paintings)], {**TINY, "weights": str(weights)})[0]
    assert job.files()["weights"] == str(weights) and job.inputs["weights"]
    assert json.loads(job.settings)["weights"] == "file"
    spec = render.job_spec(job).without_data()
    spec = spec.with_data([render.resolve_source(name).read_bytes()
                           for name, _ in spec.files.values()])
    weights.unlink()  # the worker's side: the driver's file is not there
    seen = {}

    def fake_transfer(content, styles, **options):
        seen["weights"] = options["weights"]
        seen["bytes"] = Path(options["weights"]).read_bytes()
        raise UserError(f"stop at {options['weights']}")

    monkeypatch.setattr(render, "transfer", fake_transfer)
    failure = render.render(spec)
    assert seen["bytes"] == b"not really weights" and seen["weights"] != str(weights)
    assert seen["weights"].endswith("vgg19-caffe.pth")  # the layout is still guessed from it
    assert failure.error == f"stop at {weights}"  # messages name the user's file
