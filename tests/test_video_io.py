"""Reading and writing real video files: every input kind, selections, streaming, audio, atomic
output, and one-line errors for bad input."""

from __future__ import annotations

import tracemalloc
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from painterly.errors import UserError
from painterly.video.reader import Selection, open_clip, parse_frame_range
from painterly.video.synthetic import SyntheticClip
from painterly.video.writer import AudioSpan, check_output, write_video

CLIP = SyntheticClip(width=64, height=48)


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm", ".gif"])
def test_every_input_format_yields_its_frames(tmp_path, suffix):
    path = CLIP.write(tmp_path / f"clip{suffix}", 10, fps=10)
    clip = open_clip(path)
    frames = list(clip.frames())
    assert clip.count == len(frames) == 10
    assert clip.size == (64, 48) and frames[0].shape == (48, 64, 3)
    originals = list(CLIP.frames(10))
    tolerance = 20 if suffix == ".gif" else 10  # 4:2:0 chroma at 64x48; GIF: 256 colours
    assert all(_difference(a, b) < tolerance for a, b in zip(frames, originals, strict=True))
    assert _difference(frames[0], originals[9]) > 2 * _difference(frames[9], originals[9])


def test_a_folder_and_a_glob_of_frames_are_read_in_natural_order(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    originals = list(CLIP.frames(12))
    for index, pixels in enumerate(originals):
        Image.fromarray(pixels).save(folder / f"f{index}.png")
    (folder / "notes.txt").write_text("ignored")
    for source in (folder, str(folder / "f*.png")):
        clip = open_clip(source)
        frames = list(clip.frames())
        assert clip.count == 12 and clip.fps == 24 and not clip.audio
        assert all(np.array_equal(a, b) for a, b in zip(frames, originals, strict=True))


def test_selections_pick_the_frames_asked_for(tmp_path):
    path = CLIP.write(tmp_path / "clip.mp4", 24, fps=12)
    all_frames = list(open_clip(path).frames())
    part = open_clip(path, Selection(start=0.5, duration=1.0))
    assert part.count == 12 and part.start_time == pytest.approx(0.5)
    assert part.end_time == pytest.approx(1.5)
    assert all(np.array_equal(a, b) for a, b in zip(part.frames(), all_frames[6:18],
                                                    strict=True))
    ranged = open_clip(path, Selection(frames=parse_frame_range("3:7")))
    assert all(np.array_equal(a, b) for a, b in zip(ranged.frames(), all_frames[3:7],
                                                    strict=True))
    faster = list(open_clip(path, Selection(fps=24)).frames())
    assert len(faster) == 48
    assert np.array_equal(faster[10], all_frames[5]) and np.array_equal(faster[11],
                                                                         all_frames[5])
    slower = list(open_clip(path, Selection(fps=4)).frames())
    assert len(slower) == 8 and np.array_equal(slower[1], all_frames[3])


def test_frames_are_streamed_memory_does_not_grow_with_length(tmp_path):
    short = CLIP.write(tmp_path / "short.mp4", 12, fps=12)
    long = CLIP.write(tmp_path / "long.mp4", 96, fps=12)
    peaks = []
    for path in (short, long):
        clip = open_clip(path)
        tracemalloc.start()
        for _ in clip.frames():
            pass
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0] + 64 * 48 * 3 * 4


def test_bad_inputs_are_one_line_errors(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video at all")
    (tmp_path / "empty.mp4").write_bytes(b"")
    Image.new("RGB", (8, 8)).save(tmp_path / "still.png")
    cases = {"notes.mp4": "not a video file", "empty.mp4": "empty file",
             "missing.mp4": "not found", "still.png": "still image"}
    for name, message in cases.items():
        with pytest.raises(UserError, match=message) as caught:
            open_clip(tmp_path / name)
        assert "\n" not in str(caught.value)


def test_a_video_whose_data_cannot_be_decoded_is_refused(tmp_path):
    path = CLIP.write(tmp_path / "clip.mkv", 10)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    data[600:] = rng.integers(0, 256, len(data) - 600, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"not a video file|cannot decode"):
        open_clip(path)


def test_a_frame_folder_with_mixed_sizes_or_no_images_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no image files"):
        open_clip(tmp_path / "empty")
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.new("RGB", (32, 24)).save(folder / "a.png")
    Image.new("RGB", (30, 24)).save(folder / "b.png")
    with pytest.raises(UserError, match=r"differ in size: a\.png is 32x24, b\.png is 30x24"):
        open_clip(folder)


def test_a_selection_past_the_end_has_no_frames(tmp_path):
    path = CLIP.write(tmp_path / "clip.mp4", 6, fps=12)
    with pytest.raises(UserError, match="no frames"):
        open_clip(path, Selection(start=5.0))


def _lying_avi(path, frames: int):
    """An .avi whose header declares 50 fps and 2 * frames - 1 frames but whose frames are 0.04 s
    apart (25 fps): the muxer fills every other index entry with an empty chunk."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=50)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index, pixels in enumerate(CLIP.frames(frames)):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = 2 * index, Fraction(1, 50)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_a_header_that_lies_about_count_and_rate_is_not_trusted(tmp_path):
    path = _lying_avi(tmp_path / "lies.avi", 10)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.frames, stream.average_rate) == (19, 50)  # what the header says
    clip = open_clip(path)
    assert (clip.count, clip.fps) == (10, 25)
    assert clip.end_time == pytest.approx(0.4)
    assert len(list(clip.frames())) == 10
    half = open_clip(path, Selection(duration=0.2))
    assert (half.count, half.fps) == (5, 25)


def _decoded(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.parametrize(("suffix", "codec"), [(".mp4", "h264"), (".webm", "vp9"),
                                               (".gif", "gif"), (".mov", "h264")])
def test_written_videos_hold_the_frames(tmp_path, suffix, codec):
    frames = list(SyntheticClip(width=63, height=47).frames(8))
    path = write_video(iter(frames), tmp_path / f"out{suffix}", Fraction(12))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == codec
        if codec == "h264":
            assert stream.codec_context.pix_fmt == "yuv420p"  # what browsers play
            assert (stream.width, stream.height) == (62, 46)  # 4:2:0 needs even sizes
    if suffix == ".mp4":  # index first: a browser starts playing before the download ends
        data = path.read_bytes()
        assert 0 < data.find(b"moov") < data.find(b"mdat")
    decoded = _decoded(path)
    assert len(decoded) == 8
    for got, sent in zip(decoded, frames, strict=True):
        assert _difference(got, sent[:got.shape[0], :got.shape[1]]) < 20
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_a_folder_output_gets_png_frames(tmp_path):
    frames = list(CLIP.frames(3))
    out = write_video(iter(frames), tmp_path / "frames", Fraction(12))
    assert sorted(p.name for p in out.iterdir()) == [f"frame_00000{i}.png" for i in range(3)]
    assert np.array_equal(np.asarray(Image.open(out / "frame_000002.png")), frames[2])


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_audio_is_copied_for_the_selected_span(tmp_path, suffix):
    source = CLIP.write(tmp_path / "in.mkv", 24, fps=12, audio=True)
    clip = open_clip(source, Selection(start=0.5, duration=1.0))
    span = AudioSpan(clip.source, clip.start_time, clip.end_time)
    path = write_video(clip.frames(), tmp_path / f"out{suffix}", clip.fps, audio=span)
    with av.open(str(path)) as container:
        assert container.streams.audio
        samples = np.concatenate([f.to_ndarray().reshape(-1)
                                  for f in container.decode(audio=0)])
    seconds = len(samples) / 48000
    assert seconds == pytest.approx(1.0, abs=0.1)
    assert np.sqrt(np.mean(samples[4800:-4800] ** 2)) == pytest.approx(0.3 / np.sqrt(2),
                                                                        rel=0.1)


def test_unknown_output_formats_fail_before_writing(tmp_path):
    with pytest.raises(UserError, match=r"cannot write '\.avi'"):
        check_output(tmp_path / "out.avi")
    with pytest.raises(UserError, match="does not exist"):
        check_output(tmp_path / "missing" / "out.mp4")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.png").write_bytes(b"")
    with pytest.raises(UserError, match="new or empty"):
        check_output(tmp_path / "full")


def test_an_interrupted_write_leaves_nothing_behind(tmp_path):
    def frames():
        yield from CLIP.frames(3)
        raise KeyboardInterrupt

    (tmp_path / "out.mp4").write_bytes(b"previous")
    for name in ("out.mp4", "out.gif", "frames"):
        with pytest.raises(KeyboardInterrupt):
            write_video(frames(), tmp_path / name, Fraction(12))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
    assert (tmp_path / "out.mp4").read_bytes() == b"previous"
