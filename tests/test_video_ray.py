"""painterly video --ray on a real Ray cluster on 127.0.0.1 (started here, stopped after), with
tiny frames: chunks on two actors give every frame once, in order; one actor gives exactly the
local run's pixels (every seam continues the previous chain); an interrupted run and a killed
actor resume from the stored frames. Skipped when ray is missing."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from painterly.errors import UserError
from painterly.video.chunks import BLEND, SEEDED
from painterly.video.events import FrameFinished
from painterly.video.run import video
from painterly.video.synthetic import SyntheticClip
from painterly.video.work import WorkFolder
from tests.conftest import synthetic_painting

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

CLIP = SyntheticClip(width=48, height=32, radius=6.0)
FAST = {"size": 48, "first_frame_steps": 4, "frame_steps": 2, "min_size": 48, "reference_size": 0}
"""Tiny and few steps; without the small-size falloff of the deep style layers, whose frames at
48 px would differ too little from their neighbours for the order checks below."""
CHUNKS = {"chunk_frames": 3, "overlap": 1, "threads": 1, "keep_frames": True}


@pytest.fixture(scope="module")
def cluster():
    """A one-node Ray cluster of this test process with 2 CPUs; yields its address."""
    from painterly.cluster import runtime_env

    # Ray starts workers 15 steps nicer than itself: on a busy machine they would barely run
    os.environ.setdefault("RAY_worker_niceness", "0")
    for attempt in range(3):  # Ray gives its node 30 s to start: too few on a loaded machine
        try:
            context = ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
                               log_to_driver=False, runtime_env=runtime_env(),
                               _node_ip_address="127.0.0.1")
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    yield context.address_info["gcs_address"]
    ray.shutdown()


@pytest.fixture
def style(tmp_path):
    path = tmp_path / "style.png"
    synthetic_painting(48, 48).save(path)
    return path


def _frames(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p)) for p in sorted(folder.iterdir())]


def _seams(result) -> list[str]:
    notes = sorted((result.work_folder / "notes").iterdir())
    return [path.read_text() for path in notes]


def test_chunks_on_two_actors_give_every_frame_once_in_order(cluster, tmp_path, style,
                                                             one_thread):
    source = CLIP.write(tmp_path / "in.mp4", 7, fps=8)
    local = video(source, style, tmp_path / "local", work_dir=tmp_path / "work", **FAST)
    finished = []
    result = video(source, style, tmp_path / "ray", work_dir=tmp_path / "work", ray=cluster,
                   workers=2, **CHUNKS, **FAST,
                   on_event=lambda e: isinstance(e, FrameFinished) and finished.append(e.frame))
    assert not result.interrupted and result.frames == result.total_frames == 7
    assert sorted(finished) == list(range(7)) and result.computed == 7
    assert len(result.losses) == 7 + _seams(result).count(BLEND)  # + each blend's warm-up
    assert result.work_folder != local.work_folder
    assert BLEND in _seams(result)  # chunk 1 started beside chunk 0, so their seam is blended
    ours, theirs = _frames(tmp_path / "ray"), _frames(tmp_path / "local")
    assert len(ours) == len(theirs) == 7
    # in order: each frame is nearest to the local run's frame of the same index
    for index, frame in enumerate(ours):
        distances = [np.abs(frame.astype(float) - other).mean() for other in theirs]
        assert int(np.argmin(distances)) == index, distances


def test_one_actor_continues_every_chain_and_matches_the_local_run(cluster, tmp_path, style,
                                                                   one_thread):
    source = CLIP.write(tmp_path / "in.mp4", 5, fps=8)
    video(source, style, tmp_path / "local", work_dir=tmp_path / "work", **FAST)
    result = video(source, style, tmp_path / "ray", work_dir=tmp_path / "work", ray=cluster,
                   workers=1, **CHUNKS, **FAST)
    assert _seams(result) == [SEEDED]
    for ours, theirs in zip(_frames(tmp_path / "ray"), _frames(tmp_path / "local"),
                            strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_an_interrupted_ray_run_resumes_without_recomputing(cluster, tmp_path, style):
    source = CLIP.write(tmp_path / "in.mp4", 6, fps=8)
    done = []

    def stop_after_two():
        return len(done) >= 2

    common = {"work_dir": tmp_path / "work", "ray": cluster, "workers": 2, **CHUNKS, **FAST}
    first = video(source, style, tmp_path / "out", should_stop=stop_after_two,
                  on_event=lambda e: isinstance(e, FrameFinished) and done.append(e.frame),
                  **common)
    assert first.interrupted and first.output is None and 2 <= first.computed < 6
    assert not (tmp_path / "out").exists()  # nothing half-written
    second = video(source, style, tmp_path / "out", **common)
    assert not second.interrupted and second.frames == 6
    assert first.computed + second.computed == 6  # nothing lost, nothing done twice
    assert len(_frames(tmp_path / "out")) == 6


def _descendants(pid: int) -> dict[int, str]:
    """Processes below ``pid`` (this test's own Ray cluster), by pid: their command lines."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1]
                                               .split()[1])
                commands[int(entry.name)] = (entry / "cmdline").read_bytes().decode(
                    errors="replace")
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = commands.get(child, "")
                frontier.append(child)
    return found


def test_a_killed_actor_s_chunk_is_retried_from_its_stored_frames(cluster, tmp_path, style):
    source = CLIP.write(tmp_path / "in.mp4", 6, fps=8)
    killed = []

    def kill_an_actor(event):
        if isinstance(event, FrameFinished) and not killed:
            actors = [pid for pid, command in _descendants(os.getpid()).items()
                      if "ChunkActor" in command]
            os.kill(actors[0], signal.SIGKILL)
            killed.append(actors[0])

    result = video(source, style, tmp_path / "out", work_dir=tmp_path / "work", ray=cluster,
                   workers=2, progress=kill_an_actor, **CHUNKS, **FAST)
    assert killed and not result.interrupted
    assert result.frames == 6 and len(_frames(tmp_path / "out")) == 6
    assert result.computed == 6
    assert len(result.losses) == 6 + _seams(result).count(BLEND)  # no frame stylized twice
    assert len(list(WorkFolder(tmp_path / "work", result.work_folder.name).path.glob(
        "0*.png"))) == 6


def test_a_bad_ray_address_is_one_line_and_exit_2(tmp_path, style):
    import subprocess
    import sys

    source = CLIP.write(tmp_path / "in.mp4", 2, fps=8)
    for address in ("127.0.0.1:1", "no-port"):
        process = subprocess.run(
            [sys.executable, "-m", "painterly", "video", str(source), str(style), "-o",
             str(tmp_path / "out.mp4"), "--ray", address, "--work-dir", str(tmp_path / "w")],
            capture_output=True, text=True, timeout=120)
        assert process.returncode == 2, process.stderr
        assert len(process.stderr.strip().splitlines()) == 1, process.stderr
        assert "--ray" in process.stderr or "Ray cluster" in process.stderr
    assert not (tmp_path / "out.mp4").exists()
    with pytest.raises(UserError, match="overlap"):
        video(source, style, tmp_path / "x.mp4", ray="auto", chunk_frames=4, overlap=4)
