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
