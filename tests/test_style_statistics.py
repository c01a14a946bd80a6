"""The style statistic choice (--style-loss gram|meanstd) and guided (per-region) style terms."""

import pytest
import torch

from painterly.style.losses import MEANSTD_SCALE, PerceptualLoss, gram_matrix, statistic_loss


class Identity:
    """A stand-in network whose only layer ``s`` is the image itself."""

    def __call__(self, image, layers):
        return {name: image for name in layers}


def test_meanstd_loss_compares_channel_means_and_deviations():
    torch.manual_seed(0)
    style, image = torch.rand(1, 3, 6, 6) * 2, torch.rand(1, 3, 6, 6)
    loss = PerceptualLoss(Identity(), content_layer=None, style_layers=["s"], style_loss="meanstd")
    loss.set_style([style])
    value = loss(image)[1].style
    mean_i, std_i = image.mean((2, 3)), image.std((2, 3), unbiased=False)
    mean_s, std_s = style.mean((2, 3)), style.std((2, 3), unbiased=False)
    expected = MEANSTD_SCALE / 3 * ((mean_i - mean_s).pow(2).sum() + (std_i - std_s).pow(2).sum())
    assert value == pytest.approx(expected.item(), rel=1e-3)
    assert loss(style)[1].style == pytest.approx(0, abs=1e-6)


def test_meanstd_ignores_what_gram_sees():
    # same channel means and deviations, channels correlated differently: only Gram notices
    a = torch.tensor([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]]).view(1, 2, 2, 2)
    b = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]).view(1, 2, 2, 2)
    for kind, zero in (("meanstd", True), ("gram", False)):
        loss = PerceptualLoss(Identity(), content_layer=None, style_layers=["s"], style_loss=kind)
        loss.set_style([a])
        assert (loss(b)[1].style == pytest.approx(0, abs=1e-9)) is zero


def test_one_region_covering_everything_equals_the_plain_style_term():
    torch.manual_seed(1)
    style, image = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    plain = PerceptualLoss(Identity(), content_layer=None, style_layers=["s"])
    plain.set_style([style])
    guided = PerceptualLoss(Identity(), content_layer=None, style_layers=["s"])
    guided.set_regions([style], torch.ones(1, 1, 8, 8))
    assert guided(image)[1].style == pytest.approx(plain(image)[1].style, rel=1e-5)


def test_regions_match_their_own_style_only():
    torch.manual_seed(2)
    left_style, right_style = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8) + 1
    guides = torch.zeros(2, 1, 8, 8)
    guides[0, ..., :4], guides[1, ..., 4:] = 1, 1
    loss = PerceptualLoss(Identity(), content_layer=None, style_layers=["s"])
    loss.set_regions([left_style, right_style], guides)
    image = torch.cat([left_style[..., :4], right_style[..., 4:]], dim=-1)
    # an image whose halves have the right statistics scores lower than the swapped one
    swapped = torch.cat([right_style[..., :4], left_style[..., 4:]], dim=-1)
    assert loss(image)[1].style < 0.2 * loss(swapped)[1].style
    # a region without a style (None) adds nothing
    only_left = PerceptualLoss(Identity(), content_layer=None, style_layers=["s"])
    only_left.set_regions([left_style, None], guides)
    assert len(only_left.regions) == 1 and only_left.regions[0].share == pytest.approx(0.5)


def test_statistic_loss_for_gram_is_the_lecture_formula():
    torch.manual_seed(3)
    g, a = torch.rand(1, 4, 4), torch.rand(1, 4, 4)
    expected = ((g - a) ** 2).sum() / (4 * 4**2)
    assert statistic_loss((g,), (a,), "gram").item() == pytest.approx(expected.item())
    assert gram_matrix(torch.ones(1, 2, 2, 2)).shape == (1, 2, 2)
