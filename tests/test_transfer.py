import math

import numpy as np
import pytest
import torch

from painterly.errors import UserError
from painterly.io import images
from painterly.nets.vgg import DEFAULT_STYLE_LAYERS, load_vgg19
from painterly.options import OptionError
from painterly.style.events import Evaluated, RungFinished, Snapshot
from painterly.style.losses import PerceptualLoss
from painterly.style.schedule import ladder
from painterly.style.transfer import transfer

from .conftest import synthetic_painting, synthetic_photo

FAST = dict(size=64, steps=25, min_size=64, coarse_steps=0)


def score(image, content, style, size=(64, 48)):
    """The objective recomputed on a saved 8-bit image (as the project reports it)."""
    loss = PerceptualLoss(load_vgg19(), content_layer="relu4_2", style_layers=DEFAULT_STYLE_LAYERS,
                          style_weight=1e3)
    loss.set_content(images.to_tensor(content.resize(size)))
    loss.set_style([images.to_tensor(style)])
    return loss(images.to_tensor(image))[1]


def test_transfer_lowers_the_loss_and_changes_the_image():
    content, style = synthetic_photo(), synthetic_painting()
    result = transfer(content, style, **FAST)
    assert result.image.size == (64, 48) and result.evaluations == 25
    before = score(content, content, style)
    after = score(result.image, content, style)
    assert after.total < 0.3 * before.total
    assert after.style < 0.1 * before.style
    assert result.terms.style < 0.1 * result.content_style_loss  # as the project reports it
    difference = np.abs(np.asarray(result.image, float) - np.asarray(content, float)).mean()
    assert difference > 5  # mean change of over 5 grey levels


def test_same_seed_gives_identical_pixels():
    content, style = synthetic_photo(), synthetic_painting()
    a = transfer(content, style, init="noise", seed=3, **FAST)
    b = transfer(content, style, init="noise", seed=3, **FAST)
    c = transfer(content, style, init="noise", seed=4, **FAST)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.image.tobytes() != c.image.tobytes()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs-unbounded"])
def test_other_optimizers_lower_the_loss(optimizer):
    content, style = synthetic_photo(), synthetic_painting()
    # the objective of the classic tools (no small-size falloff: at 64 px the default's is mostly
    # its pixel terms, which 25 unbounded steps lower less than half)
    result = transfer(content, style, optimizer=optimizer, learning_rate=0.05, reference_size=0,
                      **FAST)
    first = result.history[0].terms.total
    assert result.terms.total < 0.5 * first


def test_bounded_lbfgs_keeps_pixels_in_range():
    result = transfer(synthetic_photo(), synthetic_painting(), init="noise", **FAST)
    assert result.tensor.min() >= 0 and result.tensor.max() <= 1


def test_lbfgs_b_takes_exactly_the_steps_asked_for_on_the_images_device():
    from painterly.optim import optimize

    seen = []
    evaluate = optimize._Tracker.evaluate

    def spy(self, image):
        result = evaluate(self, image)  # raises once the steps are spent
        seen.append((image.dtype, image.device.type, float(image.min()), float(image.max())))
        return result

    options = dict(FAST, steps=12, device="cpu", precision="float32")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimize._Tracker, "evaluate", spy)
        result = transfer(synthetic_photo(), synthetic_painting(), **options)
    assert result.evaluations == len(seen) == 12
    assert all(dtype == torch.float32 and device == "cpu" and low >= 0 and high <= 1
               for dtype, device, low, high in seen)


def test_lbfgs_b_runs_with_one_blas_thread_on_the_cpu(monkeypatch):
    from threadpoolctl import threadpool_info

    from painterly.optim import optimize

    seen = []
    evaluate = optimize._Tracker.evaluate

    def spy(self, image):
        seen.append({info["num_threads"] for info in threadpool_info()
                     if info["user_api"] == "blas"})
        return evaluate(self, image)

    monkeypatch.setattr(optimize._Tracker, "evaluate", spy)
    transfer(synthetic_photo(), synthetic_painting(), **dict(FAST, steps=3, device="cpu"))
    assert seen and all(threads == {1} for threads in seen)  # SciPy always brings a BLAS


def test_coarse_to_fine_ladder_and_progress_events():
    assert ladder(1024, 768, 512, 128) == [(128, 96), (256, 192), (512, 384)]  # ratio 2
    assert ladder(1024, 768, 512, 128, math.sqrt(2)) == [(128, 96), (181, 136), (256, 192),
                                                         (362, 272), (512, 384)]
    assert ladder(1024, 768, 100, 128) == [(100, 75)]
    assert ladder(1024, 768, 400, 256) == [(400, 300)]  # 200 px would be below the smallest
    events, snapshots = [], []
    result = transfer(synthetic_photo(), synthetic_painting(), size=64, min_size=32, steps=4,
                      coarse_steps=3, scale_ratio=math.sqrt(2), on_event=events.append)
    evaluated = [e for e in events if isinstance(e, Evaluated)]
    snapshots = [e for e in events if isinstance(e, Snapshot)]
    assert [e.rung for e in evaluated] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    assert evaluated[-1].done == evaluated[-1].total == 10 == result.evaluations
    assert evaluated[-1].eta == pytest.approx(0, abs=1e-6)
    assert [(s.kind, s.rung) for s in snapshots] == [("rung", 0), ("rung", 1), ("final", 2)]
    assert snapshots[0].image.shape == (1, 3, 24, 32)
    assert [(e.rung, e.evaluations) for e in events if isinstance(e, RungFinished)] == [
        (0, 3), (1, 3), (2, 4)]
    assert result.history == evaluated


def test_stop_request_returns_best_image_so_far():
    calls = []
    result = transfer(synthetic_photo(), synthetic_painting(), should_stop=lambda: len(calls) > 4,
                      on_event=calls.append, **FAST)
    assert result.evaluations == 5 and result.image.size == (64, 48)


def test_interrupt_keeps_the_best_image():
    def interrupt(event):
        if isinstance(event, Evaluated) and event.done == 5:
            raise KeyboardInterrupt

    result = transfer(synthetic_photo(), synthetic_painting(), on_event=interrupt, **FAST)
    assert result.interrupted and result.evaluations == 5
    assert result.image.size == (64, 48)


def test_several_styles_blend():
    result = transfer(synthetic_photo(), [synthetic_painting(), synthetic_photo(seed=5)],
                      style_blend=(0.7, 0.3), **FAST)
    assert result.image.size == (64, 48)
    with pytest.raises(UserError, match="style_blend has 2 weights for 1 style images"):
        transfer(synthetic_photo(), [synthetic_painting()], style_blend=(0.5, 0.5), **FAST)


@pytest.mark.parametrize("options, message", [
    ({"size": -5}, "size must be between"), ({"size": 10**6}, "size must be between"),
    ({"steps": 0}, "steps must be at least 1"),
    ({"content_layer": "conv9_1"}, "content_layer must be one of conv1_1"),
    ({"style_weight": float("nan")}, "style_weight must be a finite number"),
    ({"layer_weights": (1.0, 2.0)}, "layer_weights has 2 values for 5 style layers"),
])
def test_bad_options_are_user_errors_that_name_the_field(options, message):
    with pytest.raises(OptionError, match=message) as caught:
        transfer(synthetic_photo(), synthetic_painting(), **{**FAST, **options})
    assert caught.value.field == next(iter(options))


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="stepz"):
        transfer(synthetic_photo(), synthetic_painting(), stepz=3)


def test_noise_init_is_white_noise_from_the_seed():
    torch.manual_seed(123)  # must not matter: the seed option decides
    a = transfer(synthetic_photo(), synthetic_painting(), init="noise", seed=1, size=32,
                 min_size=32, steps=1)
    assert a.image.size == (32, 24)
