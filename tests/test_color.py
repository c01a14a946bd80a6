"""Colour control: luminance-only transfer, colour matching, post-hoc YUV swap."""

import numpy as np
import pytest
import torch

from painterly.cli import main
from painterly.io import images
from painterly.style import color
from painterly.style.transfer import transfer

from .conftest import synthetic_painting, synthetic_photo

FAST = dict(size=48, steps=8, min_size=48, coarse_steps=0)


def test_recombine_keeps_luminance_of_one_and_chroma_of_the_other():
    torch.manual_seed(0)
    content = 0.25 + 0.5 * torch.rand(1, 3, 8, 8)
    stylized = 0.4 + 0.2 * torch.rand(1, 3, 8, 8)
    out = color.recombine(stylized, content)
    assert torch.allclose(color.chroma(out), color.chroma(content), atol=1e-6)
    assert torch.allclose(color.luminance(out), color.luminance(stylized), atol=1e-6)


@pytest.mark.parametrize("mode", color.MATCH_MODES)
def test_match_gives_the_style_the_contents_colour_mean_and_covariance(mode):
    style = images.to_tensor(synthetic_painting())
    content = images.to_tensor(synthetic_photo())
    matched = color.match_colors(style, content, mode, clip=False)
    flat_m, flat_c = matched.flatten(2)[0].double(), content.flatten(2)[0].double()
    assert torch.allclose(flat_m.mean(1), flat_c.mean(1), atol=1e-4)
    assert torch.allclose(torch.cov(flat_m), torch.cov(flat_c), atol=1e-4)
    assert not torch.allclose(torch.cov(style.flatten(2)[0].double()), torch.cov(flat_c),
                              atol=1e-3)


def test_luminance_mode_prepares_grey_images_with_matched_luminance():
    content, style = synthetic_photo(), synthetic_painting()
    grey_content, (grey_style,) = color.prepare(content, [style], "luminance")
    for image in (grey_content, grey_style):
        pixels = np.asarray(image, float)
        assert np.array_equal(pixels[..., 0], pixels[..., 1])
        assert np.array_equal(pixels[..., 0], pixels[..., 2])
    y_content = color.luminance(images.to_tensor(content))
    y_style = images.to_tensor(grey_style)[:, :1]
    assert abs(y_style.mean() - y_content.mean()) < 2 / 255
    assert abs(y_style.std() - y_content.std()) < 2 / 255


def chroma_difference(image, content):
    content = content.resize(image.size)
    return (color.chroma(images.to_tensor(image)) -
            color.chroma(images.to_tensor(content))).abs()


def test_luminance_transfer_keeps_the_contents_chroma():
    content, style = synthetic_photo(48, 36), synthetic_painting()
    result = transfer(content, style, preserve_colors="luminance", **FAST)
    plain = transfer(content, style, **FAST)
    # 8-bit rounding moves chroma by at most ~1/255; clipping could move more, so check the mean
    assert chroma_difference(result.image, content).mean() < 0.01
    assert chroma_difference(plain.image, content).mean() > 0.03
    luma_change = (color.luminance(result.tensor) -
                   color.luminance(images.to_tensor(content))).abs().mean()
    assert luma_change > 0.02  # it was stylized


def test_yuv_swap_is_the_plain_result_with_the_contents_chroma():
    content, style = synthetic_photo(48, 36), synthetic_painting()
    plain = transfer(content, style, **FAST)
    swapped = transfer(content, style, preserve_colors="yuv", **FAST)
    # not zero: the recombined colours are clipped to the RGB cube
    assert chroma_difference(swapped.image, content).mean() < 0.015
    expected = color.recombine(plain.tensor, images.to_tensor(content))
    assert torch.allclose(swapped.tensor, expected, atol=1e-5)


def test_match_transfer_takes_the_contents_colours():
    content, style = synthetic_photo(), synthetic_painting()
    # long enough for the plain transfer to take on the painting's colours
    longer = {**FAST, "steps": 30}
    matched = transfer(content, style, preserve_colors="match", **longer).tensor
    plain = transfer(content, style, **longer).tensor
    target = images.to_tensor(content).mean((2, 3))
    assert (matched.mean((2, 3)) - target).abs().max() < (plain.mean((2, 3)) - target).abs().max()


def test_bad_preserve_colors_is_one_line_exit_2(capsys, tmp_path, content_file, style_file):
    code = main(["transfer", str(content_file), str(style_file), "-o", str(tmp_path / "o.png"),
                 "--preserve-colors", "lab", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--preserve-colors must be one of" in err and err.count("\n") == 1
    assert not (tmp_path / "o.png").exists()


def test_pooled_statistics_are_those_of_the_pixels_put_together():
    torch.manual_seed(1)
    a, b = torch.rand(1, 3, 6, 8), torch.rand(1, 3, 6, 8) ** 2
    mean, cov = color.mixture_statistics([color.colour_statistics(a),
                                          color.colour_statistics(b)], [1.0, 1.0])
    pooled = torch.cat([a.flatten(2)[0], b.flatten(2)[0]], 1).double()
    assert torch.allclose(mean[:, 0], pooled.mean(1), atol=1e-12)
    assert torch.allclose(cov, torch.cov(pooled, correction=0), atol=1e-12)


def test_recolour_gives_the_target_mean_and_covariance():
    torch.manual_seed(2)
    photo = 0.4 + 0.2 * torch.rand(1, 3, 16, 16)  # mild colours: nothing is clipped
    target = (torch.tensor([0.5, 0.45, 0.4]).view(3, 1),
              torch.tensor([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]]).double() * 1e-3)
    target = (target[0].double(), target[1])
    mean, cov = color.colour_statistics(color.recolour(photo, target))
    assert torch.allclose(mean, target[0], atol=1e-6)
    assert torch.allclose(cov, target[1], atol=1e-6)


def test_moved_statistics_are_those_of_the_unclipped_partial_map():
    photo = torch.rand(1, 3, 20, 30, generator=torch.Generator().manual_seed(3))
    source = color.colour_statistics(photo)
    target = (torch.tensor([[0.2], [0.3], [0.6]], dtype=torch.float64),
              torch.tensor([[9.0, 2.0, 1.0], [2.0, 5.0, 0.5], [1.0, 0.5, 4.0]],
                           dtype=torch.float64) * 1e-2)
    matrix, offset = color.statistics_transform(source, target)
    flat = photo.flatten(2)[0].double()
    for share in (0.0, 0.3, 1.0):
        moved = flat + share * (matrix @ flat + offset - flat)  # no clipping
        mean, covariance = color.moved_statistics(source, target, share)
        assert torch.allclose(mean, moved.mean(1, keepdim=True), atol=1e-9)
        assert torch.allclose(covariance, torch.cov(moved, correction=0), atol=1e-9)
    assert torch.allclose(color.moved_statistics(source, target, 1.0)[1], target[1], atol=1e-6)


def test_the_default_start_is_the_photo_in_the_paintings_palette():
    content, style = synthetic_photo(48, 36), synthetic_painting()
    still = dict(steps=1, coarse_steps=0, size=48, min_size=48, optimizer="adam",
                 learning_rate=1e-9)  # one step that does not move: the start image
    start = transfer(content, style, **still).tensor
    photo = images.to_tensor(content)
    expected = color.recolour(photo, color.colour_statistics(images.to_tensor(style)))
    assert torch.allclose(start, expected, atol=1e-5)
    assert (start - photo).abs().mean() > 0.05
    plain = transfer(content, style, init="content", **still).tensor
    assert torch.allclose(plain, photo, atol=1e-5)
    # a lighter touch keeps more of the photo's colours: none of the palette at strength 0.01
    light = transfer(content, style, strength=0.01, **still).tensor
    assert torch.allclose(light, photo, atol=1e-5)
    halfway = transfer(content, style, strength=0.1, **still).tensor
    assert torch.allclose(halfway, (photo + expected) / 2, atol=1e-5)
