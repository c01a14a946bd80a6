import math

import pytest
import torch

from painterly.nets.vgg import load_vgg19
from painterly.style.color import colour_moments
from painterly.style.losses import (
    COMPOSITION_FALLOFF,
    REFERENCE_PIXELS,
    PerceptualLoss,
    content_loss,
    gram_matrix,
    palette_loss,
    size_factors,
    style_layer_loss,
    style_layer_weights,
    total_variation,
)


def test_gram_matrix_is_f_times_f_transposed():
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]]).view(1, 3, 1, 2)
    expected = torch.tensor([[5.0, 11.0, -2.0], [11.0, 25.0, -4.0], [-2.0, -4.0, 1.0]])
    assert torch.equal(gram_matrix(features)[0], expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("cropped", [False, True])
def test_gram_matrix_and_its_gradient_in_every_layout_and_format(dtype, layout, cropped):
    """``cropped``: a window of a larger feature map (tiles use those), dense in neither
    layout."""
    generator = torch.Generator().manual_seed(0)
    reference = torch.rand(2, 5, 6, 7, generator=generator).to(dtype).double()
    features = reference.to(dtype).contiguous(memory_format=layout).requires_grad_(True)
    if cropped:
        larger = torch.zeros(2, 5, 9, 11, dtype=dtype).contiguous(memory_format=layout)
        larger[:, :, 2:8, 3:10] = reference.to(dtype)
        larger.requires_grad_(True)
        features = larger[:, :, 2:8, 3:10]
    weights = torch.rand(2, 5, 5, generator=generator, dtype=torch.float64)
    gram = gram_matrix(features)
    assert gram.dtype == torch.float32 and gram.shape == (2, 5, 5)
    flat = reference.flatten(2)
    expected = flat @ flat.mT
    tolerance = 1e-6 if dtype == torch.float32 else 1e-2  # bfloat16 rounds G to 8 bits
    assert torch.allclose(gram.double(), expected, rtol=tolerance)
    (gradient,) = torch.autograd.grad((gram.double() * weights).sum(), features)
    reference.requires_grad_(True)
    r = reference.flatten(2)
    (expected_gradient,) = torch.autograd.grad(((r @ r.mT) * weights).sum(), reference)
    assert gradient.dtype == dtype and gradient.shape == features.shape
    assert torch.allclose(gradient.double(), expected_gradient, rtol=tolerance, atol=tolerance)


def test_content_loss_is_half_sum_of_squares():
    f = torch.tensor([1.0, 2.0, 3.0])
    p = torch.tensor([1.0, 0.0, 6.0])
    assert content_loss(f, p).item() == pytest.approx(0.5 * (0 + 4 + 9))


def test_style_layer_loss_matches_the_lecture_formula():
    g = torch.tensor([[2.0, 1.0], [1.0, 3.0]])
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    n, m = 2, 5
    expected = (1 + 1 + 1 + 4) / (4 * n**2 * m**2)
    assert style_layer_loss(g, a, n, m).item() == pytest.approx(expected)


def test_total_variation_counts_squared_neighbour_differences():
    image = torch.tensor([[0.0, 1.0], [1.0, 3.0]]).view(1, 1, 2, 2)
    # horizontal: (1-0)^2 + (3-1)^2 = 5, vertical: (1-0)^2 + (3-1)^2 = 5
    assert total_variation(image).item() == pytest.approx(10.0)


def test_palette_loss_compares_colour_mean_and_covariance():
    # two pixels per channel: red (0, 1), green (0.5, 0.5), blue (1, 1)
    image = torch.tensor([[0.0, 1.0], [0.5, 0.5], [1.0, 1.0]]).view(1, 3, 1, 2)
    mean, covariance = colour_moments(image)
    torch.testing.assert_close(mean, torch.tensor([[0.5], [0.5], [1.0]]))
    torch.testing.assert_close(covariance, torch.diag(torch.tensor([0.25, 0.0, 0.0])))
    assert palette_loss(image, (mean, covariance)).item() == 0
    # mean off by 0.1 in red, red's variance off by 0.05: 0.1^2 + 0.05^2
    target = (mean + torch.tensor([[0.1], [0.0], [0.0]]),
              covariance + torch.diag(torch.tensor([0.05, 0.0, 0.0])))
    assert palette_loss(image, target).item() == pytest.approx(0.01 + 0.0025)
    # the same colours at another size: the same loss
    larger = image.repeat(1, 1, 3, 4)
    assert palette_loss(larger, target).item() == pytest.approx(0.01 + 0.0025)


def test_perceptual_loss_adds_the_weighted_palette_term_once_it_has_a_target():
    image = torch.rand(1, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    loss = PerceptualLoss(FakeNet(), content_layer=None, style_layers=[], palette_weight=7.0)
    assert loss(image)[0].item() == 0  # no target yet: no term
    target = (torch.full((3, 1), 0.5), torch.eye(3) * 0.01)
    loss.set_palette(*target)
    total, terms = loss(image)
    assert terms.palette == pytest.approx(palette_loss(image, target).item())
    assert total.item() == pytest.approx(7.0 * terms.palette)


def test_layer_weight_schemes():
    layers = ["a", "b"]
    channels = {"a": 64, "b": 128}
    assert style_layer_weights(layers, "equal", channels) == {"a": 0.5, "b": 0.5}
    weights = style_layer_weights(layers, "inverse-channels", channels)
    assert weights["a"] / weights["b"] == pytest.approx(4.0)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert style_layer_weights(layers, [2.0, 3.0], channels) == {"a": 2.0, "b": 3.0}
    with pytest.raises(ValueError):
        style_layer_weights(layers, [1.0], channels)


class FakeNet:
    """Returns the image itself as every 'layer', so the loss can be checked by hand."""

    def __call__(self, image, layers):
        return {name: image for name in layers}


def test_perceptual_loss_combines_terms_with_weights():
    torch.manual_seed(0)
    content = torch.rand(1, 3, 4, 5)
    style = torch.rand(1, 3, 4, 5)
    loss = PerceptualLoss(FakeNet(), content_layer="c", style_layers=["s"],
                          content_weight=2.0, style_weight=3.0)
    loss.set_content(content)
    loss.set_style([style])
    image = torch.rand(1, 3, 4, 5)
    total, terms = loss(image)
    size_factor = REFERENCE_PIXELS / 20
    expected_content = 0.5 * ((image - content) ** 2).sum().item() * size_factor
    g = gram_matrix(image)[0]
    a = gram_matrix(style)[0]
    expected_style = ((g - a) ** 2).sum().item() / (4 * 3**2 * 20**2)
    assert terms.content == pytest.approx(expected_content, rel=1e-5)
    assert terms.style == pytest.approx(expected_style, rel=1e-4)
    assert total.item() == pytest.approx(2 * expected_content + 3 * expected_style, rel=1e-4)


def test_blended_style_target_is_the_weighted_mean_of_grams():
    a, b = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    loss = PerceptualLoss(FakeNet(), content_layer=None, style_layers=["s"])
    loss.set_style([a, b], blend=[3.0, 1.0])
    expected = (0.75 * gram_matrix(a) + 0.25 * gram_matrix(b)) / 16
    assert torch.allclose(loss.style_targets["s"], expected)
    assert math.isclose(loss.layer_weights["s"], 1.0)


def test_below_the_reference_size_only_the_layers_that_see_the_paintings_shapes_weigh_less():
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    assert size_factors(layers, 512, 512) == dict.fromkeys(layers, 1.0)
    assert size_factors(layers, 2048, 512) == dict.fromkeys(layers, 1.0)
    assert size_factors(layers, 128, None) == dict.fromkeys(layers, 1.0)
    half = size_factors(layers, 256, 512)
    assert [half[name] for name in layers[:3]] == [1.0, 1.0, 1.0]
    assert half["relu4_1"] == half["relu5_1"] == 0.5**COMPOSITION_FALLOFF


def test_the_loss_weighs_the_composition_layers_by_the_style_images_size():
    vgg = load_vgg19()
    layers = ["relu1_1", "relu4_1"]
    weights = {}
    for side in (512, 128):
        loss = PerceptualLoss(vgg, content_layer=None, style_layers=layers,
                              layer_weights="equal", reference_size=512)
        loss.set_style([torch.rand(1, 3, side * 3 // 4, side)])
        weights[side] = loss.layer_weights
    assert weights[512] == {"relu1_1": 0.5, "relu4_1": 0.5}
    assert weights[128] == {"relu1_1": 0.5, "relu4_1": 0.5 * 0.25**COMPOSITION_FALLOFF}
