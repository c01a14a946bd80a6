"""Optical flow, warping and the consistency masks against motion that is known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from painterly.video import flow
from painterly.video.synthetic import SyntheticClip


def test_warping_a_linear_ramp_by_any_flow_is_exact():
    # bilinear sampling reproduces an affine image exactly, so the warp can be checked to float
    # precision for arbitrary sub-pixel flow
    height, width = 40, 60
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = np.stack([0.01 * x + 0.02 * y, 0.5 - 0.005 * x, 0.03 * y], axis=-1)
    rng = np.random.default_rng(0)
    motion = rng.uniform(-3, 3, (height, width, 2)).astype(np.float32)
    source_x, source_y = x + motion[..., 0], y + motion[..., 1]
    inside = (source_x >= 0) & (source_x <= width - 1) & (source_y >= 0) & \
        (source_y <= height - 1)
    expected = np.stack([0.01 * source_x + 0.02 * source_y, 0.5 - 0.005 * source_x,
                         0.03 * source_y], axis=-1)
    warped = flow.warp(ramp, motion)
    assert np.abs(warped - expected)[inside].max() < 2e-3  # cv2.remap's 1/32 px grid


def test_warping_by_a_whole_pixel_shift_moves_every_pixel_exactly():
    rng = np.random.default_rng(1)
    image = rng.random((30, 40, 3), dtype=np.float32)
    shift = np.zeros((30, 40, 2), np.float32)
    shift[..., 0], shift[..., 1] = 3, -2  # out[y, x] = image[y - 2, x + 3]
    warped = flow.warp(image, shift)
    np.testing.assert_array_equal(warped[2:, :-3], image[:-2, 3:])


@pytest.mark.parametrize("sharp", [False, True])
def test_a_whole_pixel_shift_is_exact_with_either_sampling(sharp):
    rng = np.random.default_rng(2)
    image = rng.random((30, 40, 3), dtype=np.float32)
    shift = np.zeros((30, 40, 2), np.float32)
    shift[..., 0], shift[..., 1] = -1, 2
    warped = flow.warp(image, shift, sharp=sharp)
    np.testing.assert_allclose(warped[:-2, 1:], image[2:, :-1], atol=1e-5)


def test_sharp_warping_keeps_fine_texture_that_bilinear_sampling_blurs():
    # a stylized frame's strokes are pixel-level texture; a half-pixel bilinear shift averages
    # neighbours and removes most of it, Lanczos keeps most of it
    rng = np.random.default_rng(3)
    texture = rng.random((48, 64, 3), dtype=np.float32)
    half = np.full((48, 64, 2), 0.5, np.float32)

    def detail(image):
        inner = image[4:-4, 4:-4]
        return np.abs(np.diff(inner, axis=1)).mean() + np.abs(np.diff(inner, axis=0)).mean()

    blurred = detail(flow.warp(texture, half))
    kept = detail(flow.warp(texture, half, sharp=True))
    assert blurred < 0.6 * detail(texture)
    assert kept > 1.3 * blurred


def test_the_true_flow_of_a_synthetic_clip_warps_one_frame_onto_the_next():
    clip = SyntheticClip()
    frames = [f.astype(np.float32) for f in clip.frames(3)]
    for t in (1, 2):
        visible = ~clip.disoccluded(t)
        warped = flow.warp(frames[t - 1], clip.backward_flow(t))
        error = np.abs(warped - frames[t]).mean(-1)
        unwarped = np.abs(frames[t - 1] - frames[t]).mean(-1)
        assert error[visible].mean() < 4  # grey levels: resampling of the photo only
        assert unwarped[visible].mean() > 4 * error[visible].mean()


@pytest.mark.parametrize("shift", [(2.0, 0.0), (1.5, -0.75)])
def test_dis_recovers_a_known_translation(shift):
    # the camera sees 0.75 photo px per frame px: panning by 0.75 s photo px moves the view by
    # s frame px, so what frame 1 shows at p, frame 0 showed at p + s
    clip = SyntheticClip(width=128, height=96, pan=(0.75 * shift[0], 0.75 * shift[1]),
                         zoom=1.0, velocity=(0.0, 0.0), radius=0.0)
    np.testing.assert_allclose(clip.backward_flow(1), np.broadcast_to(shift, (96, 128, 2)),
                               atol=1e-4)
    first, second = clip.frames(2)
    estimated = flow.estimate_flow(second, first)
    interior = estimated[8:-8, 8:-8]
    assert np.median(interior[..., 0]) == pytest.approx(shift[0], abs=0.1)
    assert np.median(interior[..., 1]) == pytest.approx(shift[1], abs=0.1)
    error = np.linalg.norm(interior - np.array(shift), axis=-1)
    assert np.mean(error < 0.25) > 0.9


def test_the_consistency_check_marks_the_band_the_moving_disc_uncovers():
    clip = SyntheticClip(width=128, height=96)
    frames = list(clip.frames(4))
    t = 3
    motion = flow.motion(frames[t - 1], frames[t])
    truth = clip.disoccluded(t)
    unreliable = motion.reliable == 0
    assert truth.sum() > 50
    assert unreliable[truth].mean() > 0.9  # the uncovered background is caught
    assert unreliable[~truth].mean() < 0.1  # and most of the rest is trusted
    # where it is trusted, the warped previous frame matches this one
    warped = motion.warp(frames[t - 1].astype(np.float32))
    error = np.abs(warped - frames[t]).mean(-1)
    assert error[~unreliable].mean() < 4
    assert error[truth].mean() > 5 * error[~unreliable].mean()


def test_motion_boundaries_follow_a_step_in_the_flow():
    field = np.zeros((20, 30, 2), np.float32)
    field[:, 15:, 0] = 4.0
    edges = flow.motion_boundaries(field)
    assert edges[:, 14:16].all()
    assert not edges[:, :13].any() and not edges[:, 17:].any()


def test_a_consistent_pair_of_flows_marks_nothing_but_pixels_from_outside():
    backward = np.zeros((20, 30, 2), np.float32)
    backward[..., 0] = -2.0  # everything moved 2 px right: the left 2 columns came from outside
    forward = -backward
    occluded = flow.occluded(backward, forward)
    assert occluded[:, :2].all()
    assert not occluded[:, 2:].any()


def test_the_ages_of_a_synthetic_clip_follow_its_motion():
    clip = SyntheticClip(width=128, height=96)
    ages = list(clip.ages(6))
    assert (ages[0][0] < 0).all()  # frame 0: everything in view from the start
    for t in range(1, 6):
        age, uncovered = ages[t]
        on_disc = clip._disc_alpha(t) > 0
        assert ((age == 0) == (clip.disoccluded(t) & ~on_disc)).all()
        assert ((age == -2) == on_disc).all()
        assert (age[uncovered] >= 0).all() and uncovered.any()
    # a pixel that came into view at frame 1 is one frame older at frame 2, where the true flow
    # carries it (away from the disc and the borders)
    age, _ = ages[2]
    flow_now = clip.backward_flow(2)
    y, x = np.nonzero(age == 1)
    sy = (y + flow_now[y, x, 1]).round().astype(int)
    sx = (x + flow_now[y, x, 0]).round().astype(int)
    assert (ages[1][0][sy, sx] == 0).mean() > 0.9


def test_a_blank_wall_that_did_not_change_keeps_its_pixels():
    # a static camera: a noisy blank wall, a dark square moving 4 px to the right. On the wall
    # the two flows guess differently (any motion matches a blank wall), which the consistency
    # check alone took for disocclusion: most of the wall was repainted every frame
    rng = np.random.default_rng(0)

    def frame(left: int) -> np.ndarray:
        pixels = np.full((96, 160, 3), 200.0) + rng.normal(0, 1.5, (96, 160, 3))
        pixels[30:60, left:left + 30] = (40, 60, 90)
        return np.clip(pixels, 0, 255).round().astype(np.uint8)

    before, after = frame(40), frame(44)
    motion = flow.motion(before, after)
    wall = np.ones((96, 160), bool)
    wall[22:68, 32:82] = False
    backward, forward = flow.estimate_flow(after, before), flow.estimate_flow(before, after)
    consistent = ~(flow.occluded(backward, forward) | flow.motion_boundaries(backward))
    assert consistent[wall].mean() < 0.5  # the check alone
    assert motion.reliable[wall].mean() == 1.0
    assert np.all(motion.backward[wall & ~consistent] == 0)  # kept where it was
    # what the square uncovered changed: the rule does not make it reliable
    uncovered = np.zeros((96, 160), bool)
    uncovered[30:60, 40:44] = True
    np.testing.assert_array_equal(motion.reliable[uncovered] == 1, consistent[uncovered])
