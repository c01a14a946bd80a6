"""Regions: masks, guided statistics, routing styles to regions, unstylized regions."""

import numpy as np
import pytest
import torch
from PIL import Image

from painterly.cli import main
from painterly.errors import UserError
from painterly.io import images
from painterly.style import guides
from painterly.style.losses import gram_matrix, mean_std, weighted_gram
from painterly.style.transfer import transfer

from .conftest import synthetic_photo


def split_mask(width, height, colours=((0, 0, 0), (255, 255, 255))):
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = colours[0]
    pixels[:, width // 2:] = colours[1]
    return Image.fromarray(pixels, "RGB")


def solid_painting(rgb, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:48, 0:48]
    stripes = (((x + y) // 3) % 2)[..., None]
    pixels = np.array(rgb) * (0.6 + 0.4 * stripes) + rng.normal(0, 10, (48, 48, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def test_mask_colours_are_ordered_darkest_first_and_resized(tmp_path):
    path = tmp_path / "mask.png"
    split_mask(40, 20, ((255, 255, 0), (0, 0, 128))).save(path)
    regions = guides.load_mask(path, 2, (64, 32))  # another size: resized
    assert regions.colours == [(0, 0, 128), (255, 255, 0)]
    assert regions.labels.shape == (32, 64)
    assert (regions.labels[:, :32] == 1).all() and (regions.labels[:, 32:] == 0).all()
    soft = regions.guides((16, 8))
    assert soft.shape == (2, 1, 8, 16)
    assert torch.allclose(soft.sum(0), torch.ones(1, 8, 16), atol=1e-5)


def test_blurred_edges_join_the_nearest_colour(tmp_path):
    path = tmp_path / "mask.jpg"
    split_mask(64, 64).save(path, quality=60)  # JPEG ringing: many rare colours
    regions = guides.load_mask(path, 2, (64, 64))
    assert regions.colours[0][0] < 20 and regions.colours[1][0] > 235
    assert (regions.labels[:, :30] == 0).all() and (regions.labels[:, 34:] == 1).all()


def test_more_colours_than_styles_names_the_colours(tmp_path):
    path = tmp_path / "mask.png"
    mask = split_mask(30, 30)
    mask.paste((255, 0, 0), (0, 0, 10, 30))
    mask.save(path)
    with pytest.raises(UserError, match=r"3 colours \(#000000, #ff0000, #ffffff\) but 2 styles"):
        guides.load_mask(path, 2, (30, 30))


def test_guided_statistics_cover_only_the_region():
    torch.manual_seed(0)
    features = torch.rand(1, 4, 6, 8)
    assert torch.allclose(weighted_gram(features), gram_matrix(features) / 48)
    guide = torch.zeros(1, 1, 6, 8)
    guide[..., :3] = 1
    left = features[..., :3]
    assert torch.allclose(weighted_gram(features, guide), gram_matrix(left) / 18, atol=1e-6)
    mean, std = mean_std(features, guide)
    assert torch.allclose(mean, left.mean((2, 3)), atol=1e-6)
    assert torch.allclose(std, left.std((2, 3), unbiased=False), atol=1e-4)


def test_layer_guides_are_downsampled_and_eroded():
    guide = torch.zeros(1, 1, 32, 32)
    guide[..., :16] = 1
    small = guides.layer_guide(guide, (8, 8))
    assert small.shape == (1, 1, 8, 8)
    assert small[..., 3].sum() == 0 and small[..., 2].sum() == 8  # edge column eroded
    assert guides.layer_guide(guide, (8, 8), erode=False)[..., 3].sum() == 8
    tiny = torch.zeros(1, 1, 32, 32)
    tiny[..., 12:20, 12:20] = 1
    assert guides.layer_guide(tiny, (2, 2)).sum() > 0  # too small to erode: kept


def redness(tensor):
    return (tensor[:, 0] - tensor[:, 2]).mean().item()


def test_mask_routes_each_style_to_its_region(tmp_path):
    mask = tmp_path / "mask.png"
    split_mask(64, 48).save(mask)
    red, blue = solid_painting((230, 40, 30), 1), solid_painting((30, 60, 230), 2)
    content = Image.new("RGB", (64, 48), (128, 128, 128))
    # texture synthesis (no content term, noise init): each half takes its own style's colours
    result = transfer(content, [red, blue], mask=str(mask), size=64, min_size=64, steps=20,
                      coarse_steps=0, content_weight=0, init="noise").tensor
    left, right = result[..., :24], result[..., 40:]
    assert redness(left) > 0.05 and redness(right) < -0.05


def test_none_keeps_a_region_unstylized(tmp_path):
    mask = tmp_path / "mask.png"
    split_mask(64, 48).save(mask)
    content = synthetic_photo()
    red = solid_painting((230, 40, 30), 1)
    result = transfer(content, ["none", red], mask=str(mask), size=64, min_size=64, steps=10,
                      coarse_steps=0, style_weight=1e4).tensor
    original = images.to_tensor(content)
    kept = (result - original)[..., :30].abs().max()
    styled = (result - original)[..., 36:].abs().mean()
    assert kept < 1e-6 and styled > 0.05


@pytest.mark.parametrize("styles, extra, message", [
    (["S", "none"], [], "--mask is needed by style 'none'"),
    (["S", "S", "S"], ["--mask", "M"], "2 colours (#000000, #ffffff) but 3 styles"),
    (["S", "S"], ["--mask", "M", "--style-blend", "1,1"], "--style-blend cannot be used"),
    (["S"], ["--mask", "missing.png"], "mask not found"),
])
def test_bad_masks_give_one_line_and_exit_2(capsys, tmp_path, content_file, style_file, styles,
                                            extra, message):
    mask = tmp_path / "m.png"
    split_mask(20, 20).save(mask)
    argv = ["transfer", str(content_file),
            *[str(style_file) if s == "S" else s for s in styles],
            "-o", str(tmp_path / "o.png"), "--steps", "1", "--size", "32", "--quiet",
            *[str(mask) if a == "M" else str(tmp_path / a) if a.endswith(".png") else a
              for a in extra]]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "o.png").exists()
