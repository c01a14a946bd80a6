import pytest
import torch

from painterly.nets.vgg import DEFAULT_STYLE_LAYERS, load_vgg19
from painterly.style.color import colour_moments
from painterly.style.losses import PerceptualLoss
from painterly.style.tiling import TiledLoss, grid, layer_stride, receptive_radius
from painterly.style.transfer import transfer

from .conftest import synthetic_painting, synthetic_photo


def test_receptive_field_and_strides_of_vgg19():
    assert receptive_radius("relu5_1") == 78  # receptive field 156 px
    assert receptive_radius("relu1_1") == 2
    assert layer_stride("relu4_2") == 8 and layer_stride("relu5_1") == 16


@pytest.mark.parametrize("height, width, tile", [(150, 200, 32), (97, 61, 48), (16, 16, 64)])
def test_tile_cores_partition_the_image(height, width, tile):
    covered = torch.zeros(height, width, dtype=torch.int)
    for t in grid(height, width, tile, 80):
        covered[t.y0:t.y1, t.x0:t.x1] += 1
        assert t.wy0 <= t.y0 < t.y1 <= t.wy1 and t.wx0 <= t.x0 < t.x1 <= t.wx1
        assert t.y0 % 16 == 0 and t.x0 % 16 == 0 and t.wy0 % 16 == 0 and t.wx0 % 16 == 0
    assert bool((covered == 1).all())


def _losses(style_loss: str = "gram"):
    def make():
        return PerceptualLoss(load_vgg19(), content_layer="relu4_2",
                              style_layers=DEFAULT_STYLE_LAYERS, style_weight=1e3, tv_weight=0.1,
                              palette_weight=1e6, style_loss=style_loss)

    generator = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 150, 200, generator=generator)
    style = torch.rand(1, 3, 120, 170, generator=generator)
    full, tiled = make(), TiledLoss(make(), 32)
    for loss in (full, tiled):
        loss.set_content(content)
        loss.set_style([style])
        (loss.loss if isinstance(loss, TiledLoss) else loss).set_palette(
            *colour_moments(style))
    return full, tiled, torch.rand(1, 3, 150, 200, generator=generator)


def _terms_and_gradients(losses, image):
    """Each loss's terms and its gradient with respect to ``image``."""
    values, gradients = [], []
    for loss in losses:
        x = image.clone().requires_grad_(True)
        value, terms = loss(x)
        (gradient,) = torch.autograd.grad(value, x)
        values.append(terms)
        gradients.append(gradient)
    return values, gradients


def test_tiled_evaluation_equals_the_whole_image_one():
    full, tiled, image = _losses()
    assert len(tiled.tiles(image)) > 20
    # the same features computed window by window: equal to float32 rounding (oneDNN may pick
    # other kernels for other input sizes)
    scale = float(full.content_target.abs().max())
    torch.testing.assert_close(tiled.loss.content_target, full.content_target, rtol=0,
                               atol=1e-5 * scale)
    for name in DEFAULT_STYLE_LAYERS:
        whole = full.style_targets[name]
        torch.testing.assert_close(tiled.loss.style_targets[name], whole, rtol=1e-5,
                                   atol=1e-5 * float(whole.abs().max()))
    values, gradients = _terms_and_gradients((full, tiled), image)
    assert values[1].total == pytest.approx(values[0].total, rel=1e-5)
    assert values[1].style == pytest.approx(values[0].style, rel=1e-5)
    assert values[1].content == pytest.approx(values[0].content, rel=1e-5)
    assert values[0].palette > 0 and values[1].palette == pytest.approx(values[0].palette)
    scale = gradients[0].abs().max()
    assert (gradients[1] - gradients[0]).abs().max() < 1e-5 * scale  # no seams anywhere


def test_transfer_with_tiles_matches_the_untiled_run():
    content, style = synthetic_photo(96, 72), synthetic_painting()
    plain = transfer(content, style, size=96, min_size=96, steps=8, coarse_steps=0, tile_size=0,
                     precision="float32", device="cpu")
    tiled = transfer(content, style, size=96, min_size=96, steps=8, coarse_steps=0, tile_size=64,
                     precision="float32", device="cpu")
    assert tiled.image.size == (96, 72)
    # 8 L-BFGS steps amplify rounding differences (measured up to 0.4% on another CPU); the
    # gradients themselves agree to 1e-5 (test above)
    assert tiled.terms.total == pytest.approx(plain.terms.total, rel=1e-2)


def test_tiled_meanstd_equals_the_whole_image_one():
    full, tiled, image = _losses("meanstd")
    for name in DEFAULT_STYLE_LAYERS:
        for mine, whole in zip(tiled.loss.style_targets[name], full.style_targets[name],
                               strict=True):
            torch.testing.assert_close(mine, whole, rtol=1e-4, atol=1e-5)
    values, gradients = _terms_and_gradients((full, tiled), image)
    assert values[1].style == pytest.approx(values[0].style, rel=1e-4)
    assert values[1].total == pytest.approx(values[0].total, rel=1e-4)
    assert tiled.style_value(image) == pytest.approx(full.style_value(image), rel=1e-4)
    scale = gradients[0].abs().max()
    assert (gradients[1] - gradients[0]).abs().max() < 1e-4 * scale
