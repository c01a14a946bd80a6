"""The video frame loop end to end on real (tiny) files: output with audio, resuming after an
interruption without recomputing, and the work folder."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from painterly.errors import UserError
from painterly.video.events import FrameEvaluated, FrameFinished
from painterly.video.run import video
from painterly.video.synthetic import SyntheticClip
from tests.conftest import synthetic_painting

CLIP = SyntheticClip(width=48, height=32, radius=6.0)
FAST = {"size": 48, "first_frame_steps": 4, "frame_steps": 2, "min_size": 48}


@pytest.fixture
def style(tmp_path):
    path = tmp_path / "style.png"
    synthetic_painting(48, 48).save(path)
    return path


def _frames(folder):
    return [np.asarray(Image.open(p)) for p in sorted(folder.iterdir())]


def test_a_clip_becomes_a_stylized_video_with_its_audio(tmp_path, style):
    source = CLIP.write(tmp_path / "in.mkv", 4, fps=8, audio=True)
    events = []
    result = video(source, style, tmp_path / "out.mp4", work_dir=tmp_path / "work",
                   progress=events.append, **FAST)
    assert result.output == tmp_path / "out.mp4" and not result.interrupted
    assert result.frames == result.computed == result.total_frames == 4
    with av.open(str(result.output)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 4 and frames[0].shape == (32, 48, 3)
    assert [e.frame for e in events if isinstance(e, FrameFinished)] == [0, 1, 2, 3]
    assert any(isinstance(e, FrameEvaluated) for e in events)
    assert not result.work_folder.exists()  # removed once the output is written
    assert set(result.timing) == {"flow", "optimization", "io"}


def test_an_interrupted_run_resumes_without_recomputing(tmp_path, style):
    source = CLIP.write(tmp_path / "in.mp4", 5, fps=8)
    whole = video(source, style, tmp_path / "whole", work_dir=tmp_path / "work-a", **FAST)
    assert whole.computed == 5

    def stop_at_frame_three(event):
        if event.frame == 3 and isinstance(event, FrameEvaluated):
            raise KeyboardInterrupt

    common = {"work_dir": tmp_path / "work-b", **FAST}
    first = video(source, style, tmp_path / "resumed", progress=stop_at_frame_three, **common)
    assert first.interrupted and first.output is None and first.frames == 3
    assert not (tmp_path / "resumed").exists()  # nothing half-written
    second = video(source, style, tmp_path / "resumed", **common)
    assert second.computed == 2 and second.frames == 5 and not second.interrupted
    # resuming from the stored frames gives exactly what one uninterrupted run gives
    for a, b in zip(_frames(tmp_path / "whole"), _frames(tmp_path / "resumed"), strict=True):
        np.testing.assert_array_equal(a, b)


def test_partial_output_on_request_and_nothing_recomputed_on_a_rerun(tmp_path, style):
    source = CLIP.write(tmp_path / "in.mp4", 3, fps=8)
    stop = {"count": 0}

    def should_stop():
        return stop["count"] >= 1

    def count(event):
        stop["count"] += isinstance(event, FrameFinished)

    common = {"work_dir": tmp_path / "work", "keep_frames": True, **FAST}
    result = video(source, style, tmp_path / "part", progress=count, should_stop=should_stop,
                   partial=True, **common)
    assert result.interrupted and result.frames == 1
    assert len(list((tmp_path / "part").iterdir())) == 1
    done = video(source, style, tmp_path / "all", **common)
    assert done.computed == 2 and done.work_folder.exists()  # kept on request
    again = video(source, style, tmp_path / "again", **common)
    assert again.computed == 0 and again.frames == 3


def test_settings_that_change_pixels_get_their_own_work_folder(tmp_path, style):
    source = CLIP.write(tmp_path / "in.mp4", 2, fps=8)
    common = {"work_dir": tmp_path / "work", "keep_frames": True, **FAST}
    a = video(source, style, tmp_path / "a", **common)
    b = video(source, style, tmp_path / "b", **{**common, "temporal_weight": 3.0})
    c = video(source, style, tmp_path / "c.gif", **common)  # output format: same frames
    assert a.work_folder != b.work_folder and b.computed == 2
    assert c.work_folder == a.work_folder and c.computed == 0


def test_bad_arguments_fail_before_any_work(tmp_path, style):
    source = CLIP.write(tmp_path / "in.mp4", 2, fps=8)
    with pytest.raises(UserError, match=r"cannot write '\.avi'"):
        video(source, style, tmp_path / "out.avi", work_dir=tmp_path / "work")
    with pytest.raises(UserError, match="temporal"):
        video(source, style, tmp_path / "out.mp4", temporal_weight=-1.0)
    with pytest.raises(UserError, match="frames"):
        video(source, style, tmp_path / "out.mp4", frames="5:2")
    with pytest.raises(TypeError, match="steps"):
        video(source, style, tmp_path / "out.mp4", steps=3)
    assert not (tmp_path / "work").exists()
