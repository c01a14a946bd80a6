"""``painterly video`` as a user runs it: a real process, real files, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av

from painterly.video.synthetic import SyntheticClip
from tests.conftest import synthetic_painting

ROOT = Path(__file__).resolve().parents[1]
CLIP = SyntheticClip(width=48, height=32, radius=6.0)
FAST = ["--size", "48", "--min-size", "48", "--first-frame-steps", "3", "--frame-steps", "2",
        "--quiet"]


def painterly(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "painterly", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def run(*args: str) -> subprocess.CompletedProcess:
    process = painterly(*args)
    out, err = process.communicate(timeout=600)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def test_the_command_writes_a_video(tmp_path):
    source = CLIP.write(tmp_path / "in.mp4", 3, fps=8, audio=True)
    synthetic_painting(48, 48).save(tmp_path / "style.png")
    done = run("video", source, tmp_path / "style.png", "-o", tmp_path / "out.webm",
               "--work-dir", tmp_path / "work", *FAST)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "3 frames" in done.stdout
    with av.open(str(tmp_path / "out.webm")) as container:
        assert container.streams.audio and container.streams.video
        assert sum(1 for _ in container.decode(video=0)) == 3


def test_bad_input_is_one_line_and_exit_code_2_with_nothing_written(tmp_path):
    (tmp_path / "notes.mp4").write_text("hello")
    source = CLIP.write(tmp_path / "in.mp4", 2, fps=8)
    cases = [
        (["video", tmp_path / "notes.mp4", "starry_night", "-o", tmp_path / "o.mp4"],
         "not a video file"),
        (["video", source, "starry_night", "-o", tmp_path / "o.avi"], "cannot write '.avi'"),
        (["video", source, "starry_night", "-o", tmp_path / "o.mp4", "--temporal-weight", "-1"],
         "--temporal-weight must be"),
        (["video", source, "starry_night", "-o", tmp_path / "o.mp4", "--frames", "9:3"],
         "--frames must be"),
        (["video", tmp_path / "nothing", "starry_night", "-o", tmp_path / "o.mp4"],
         "not found"),
    ]
    for args, message in cases:
        done = run(*args, "--work-dir", tmp_path / "work")
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "notes.mp4"]


def test_sigterm_keeps_finished_frames_and_the_same_command_resumes(tmp_path):
    source = CLIP.write(tmp_path / "in.mp4", 8, fps=8)
    args = ["video", source, "starry_night", "-o", tmp_path / "out.mp4", "--work-dir",
            tmp_path / "work", *FAST]
    process = painterly(*args)
    deadline = time.monotonic() + 600
    while not list((tmp_path / "work").glob("*/000001.png")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert "interrupted" in out and "run the same command again" in out
    assert not (tmp_path / "out.mp4").exists()
    kept = len(list((tmp_path / "work").glob("*/0*.png")))
    assert 2 <= kept < 8
    done = run(*args)
    assert done.returncode == 0, done.stderr
    assert f"{8 - kept} computed now" in done.stdout
    assert not list((tmp_path / "work").glob("*/*.png"))  # removed after the output
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 8
