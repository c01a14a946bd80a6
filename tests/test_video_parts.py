"""The temporal loss, the painted start of new regions, the per-frame plan and the work folder of a
video run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from painterly.video.fill import painted_fill
from painterly.video.metrics import stroke_contrast
from painterly.video.plan import frame_plan
from painterly.video.temporal import TEMPORAL_UNIT, TemporalLoss
from painterly.video.work import WorkFolder, run_key


def test_the_temporal_loss_is_the_reliability_weighted_mean_square_difference():
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(1, 3, 8, 10, generator=generator)
    image = torch.rand(1, 3, 8, 10, generator=generator)
    reliability = (torch.rand(1, 1, 8, 10, generator=generator) > 0.3).float()
    loss = TemporalLoss(target, reliability, weight=2.0)
    expected = 2.0 * TEMPORAL_UNIT * float((reliability * (image - target) ** 2).sum()) / (
        3 * 8 * 10)
    assert float(loss(image)) == pytest.approx(expected, rel=1e-5)
    # unreliable pixels are free: changing them changes nothing
    moved = image.clone()
    moved[..., reliability[0, 0] == 0] += 0.5
    assert float(loss(moved)) == pytest.approx(float(loss(image)), rel=1e-5)
    # and its gradient pulls the reliable pixels towards the target
    pixels = image.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(loss(pixels), pixels)
    step = pixels.detach() - 1e-3 / TEMPORAL_UNIT * gradient
    assert float(loss(step)) < float(loss(image))
    assert float(loss(target)) == 0.0


def test_new_regions_start_with_the_paintings_colours_and_strokes():
    # a "painting" of a smooth photo: its colours a linear map of the photo's, plus strokes; a
    # band at the right edge and a hole are new (unreliable): their start must carry both
    y, x = np.mgrid[0:72, 0:128].astype(np.float32)
    photo = np.stack([x / 128, y / 72, 0.5 + 0 * x], axis=-1)
    strokes = 0.15 * np.sin(x * 1.3 + y * 0.7)[..., None]
    painting = np.clip(0.2 + 0.6 * photo[..., [1, 2, 0]] + strokes, 0, 1).astype(np.float32)
    reliable = np.ones((72, 128), np.float32)
    reliable[:, 116:] = 0
    reliable[30:40, 50:60] = 0
    new = reliable == 0
    start = painted_fill((photo * 255).round().astype(np.uint8), painting, reliable)
    as_image = (start * 255).round().astype(np.uint8)
    contrast = stroke_contrast(as_image)
    rest = contrast[4:-4, 4:110].mean()
    assert contrast[new].mean() > 0.7 * rest
    smooth = np.clip(0.2 + 0.6 * photo[..., [1, 2, 0]], 0, 1)
    assert np.abs(start - smooth)[new].mean() < 0.1  # the painting's colours, not the photo's
    assert np.abs(photo - smooth)[new].mean() > 0.2
    np.testing.assert_array_equal(start[~new], np.clip(start[~new], 0, 1))
    assert painted_fill(as_image, painting, np.zeros((72, 128), np.float32)) is None


def test_a_video_budget_is_shared_by_evaluations_and_replanned_from_the_time_left():
    first = frame_plan(0, 11, first_frame_steps=70, frame_steps=14, independent=False,
                       seconds_left=210.0)
    assert first.full_run and first.steps == 70
    assert first.seconds == pytest.approx(210 * 70 / (70 + 10 * 14))
    later = frame_plan(1, 11, first_frame_steps=70, frame_steps=14, independent=False,
                       seconds_left=100.0)
    assert not later.full_run and later.seconds == pytest.approx(10.0)
    last = frame_plan(10, 11, first_frame_steps=70, frame_steps=14, independent=False,
                      seconds_left=7.0)
    assert last.seconds == pytest.approx(7.0)
    alone = frame_plan(5, 11, first_frame_steps=70, frame_steps=14, independent=True,
                       seconds_left=60.0)
    assert alone.full_run and alone.seconds == pytest.approx(10.0)
    assert frame_plan(3, 11, first_frame_steps=70, frame_steps=14, independent=False,
                      seconds_left=None).seconds is None


def test_the_work_folder_keeps_finished_frames_by_index(tmp_path):
    key = run_key({"input": "abc", "options": {"size": 64}})
    assert key == run_key({"options": {"size": 64}, "input": "abc"})
    assert key != run_key({"input": "abc", "options": {"size": 65}})
    work = WorkFolder(tmp_path, key, {"input": "abc"})
    frames = [np.full((4, 6, 3), value, np.uint8) for value in (10, 20, 30)]
    work.save(0, frames[0])
    work.save(1, frames[1])
    work.save(3, frames[2])
    assert work.finished() == 2  # frame 2 is missing: only 0 and 1 count
    again = WorkFolder(tmp_path, key)
    assert again.has(1) and np.array_equal(again.load(1), frames[1])
    assert [f[0, 0, 0] for f in again.frames(2)] == [10, 20]
    assert not any(p.name.endswith(".part") for p in work.path.iterdir())
    again.remove()
    assert not work.path.exists()


def test_painterly_video_is_callable_and_still_a_package():
    import painterly
    from painterly.video import flow as flow_module

    assert callable(painterly.video)
    assert painterly.video.flow is flow_module
    with pytest.raises(TypeError, match="steps"):
        painterly.video("in.mp4", "starry_night", "out.mp4", steps=5)


def _two_frames_and_a_stylizer(**options):
    from painterly.io import images
    from painterly.video.stylize import FrameStylizer
    from painterly.video.synthetic import SyntheticClip

    frames = list(SyntheticClip(width=64, height=48, radius=8).frames(3))
    style = images.load_image("starry_night")
    return frames, FrameStylizer([style], (64, 48), {"size": 64, "min_size": 64, **options},
                                 1.0)


def test_later_frames_reuse_the_style_targets_and_keep_their_pixels(monkeypatch):
    from painterly.style.losses import PerceptualLoss
    from painterly.video.plan import FramePlan

    frames, stylizer = _two_frames_and_a_stylizer()
    computed = []
    real_targets = PerceptualLoss._targets

    def counted(self, *args, **kwargs):
        computed.append(1)
        return real_targets(self, *args, **kwargs)

    monkeypatch.setattr(PerceptualLoss, "_targets", counted)
    first = stylizer(frames[0], FramePlan(True, 6, None))
    second = stylizer(frames[1], FramePlan(False, 4, None), (frames[0], first.pixels))
    third = stylizer(frames[2], FramePlan(False, 4, None), (frames[1], second.pixels))
    assert len(computed) == 1  # once for the clip, not once per frame
    # a stylizer that computes them anew (a resumed run) makes the same pixels
    _, fresh = _two_frames_and_a_stylizer()
    again = fresh(frames[2], FramePlan(False, 4, None), (frames[1], second.pixels))
    assert len(computed) == 2
    np.testing.assert_array_equal(again.pixels, third.pixels)
    # styles recoloured to each frame have targets of their own
    _, matching = _two_frames_and_a_stylizer(preserve_colors="match")
    first = matching(frames[0], FramePlan(True, 2, None))
    matching(frames[1], FramePlan(False, 2, None), (frames[0], first.pixels))
    assert len(computed) == 4


def test_a_later_frame_improves_from_its_first_step(monkeypatch):
    # its start is the warped previous result, close to its own result: the first trial step
    # must not overshoot (the step of a start far from the result doubles the objective)
    from painterly.style.events import Evaluated
    from painterly.video import stylize
    from painterly.video.plan import FramePlan

    frames, stylizer = _two_frames_and_a_stylizer()
    first = stylizer(frames[0], FramePlan(True, 100, None))  # (close to converged)

    def losses_of_the_next_frame() -> list[float]:
        seen = []
        stylizer(frames[1], FramePlan(False, 3, None), (frames[0], first.pixels),
                 on_event=lambda e: isinstance(e, Evaluated) and seen.append(e.terms.total))
        return seen

    close = losses_of_the_next_frame()
    assert close[1] < close[0] and close[2] < close[0]
    monkeypatch.setattr(stylize, "LATER_FRAME_FIRST_STEP", 0.1)
    far = losses_of_the_next_frame()
    assert far[1] > close[1]
