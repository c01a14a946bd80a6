"""The lecture's experiments on tiny images: the properties the lecture states, figure files, and
the commands' errors."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from painterly.cli import main
from painterly.errors import UserError
from painterly.lecture import experiments
from painterly.style.events import Evaluated, PartStarted
from tests.conftest import synthetic_photo


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def content_series():
    """Content reconstructions of a small photo from the lecture's five depths."""
    events: list = []
    layers = ["conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2"]
    results = experiments.reconstruct_content(synthetic_photo(48, 36), layers, size=48, steps=60,
                                              on_event=events.append)
    return results, events


def test_content_from_conv1_2_comes_back_almost_exactly(content_series):
    results, _ = content_series
    assert results[0].layers == ("conv1_2",)
    start = experiments.white_noise(results[0].original, seed=0, amplitude=0.2)
    assert experiments.psnr(start, results[0].original) < 15
    assert results[0].psnr > 25, results[0].psnr


def test_content_reconstructions_lose_detail_with_depth(content_series):
    results, _ = content_series
    values = [result.psnr for result in results]
    assert values == sorted(values, reverse=True), values
    assert values[0] - values[-1] > 10, values


def test_progress_counts_the_whole_series(content_series):
    results, everything = content_series
    events = [event for event in everything if isinstance(event, Evaluated)]
    parts = [event for event in everything if isinstance(event, PartStarted)]
    assert [(p.part, p.parts, p.label) for p in parts] == [
        (1, 5, "conv1_2"), (2, 5, "conv2_2"), (3, 5, "conv3_2"), (4, 5, "conv4_2"),
        (5, 5, "conv5_2")]
    assert len(events) == sum(result.evaluations for result in results) == 5 * 60
    assert [event.done for event in events] == list(range(1, 301))
    assert {event.total for event in events} == {300}
    assert events[-1].eta == pytest.approx(0, abs=1e-9)


def test_texture_synthesis_lowers_the_gram_loss_by_orders_of_magnitude():
    layers = ["relu1_1", "relu2_1", "relu3_1"]
    results = experiments.reconstruct_style_cumulative(synthetic_photo(40, 40, seed=3), layers,
                                                       size=40, steps=120)
    assert [r.layers for r in results] == [("relu1_1",), ("relu1_1", "relu2_1"),
                                            ("relu1_1", "relu2_1", "relu3_1")]
    for result in results:
        assert set(result.terms.per_layer) == set(result.layers)
        assert result.loss_reduction > 100, (result.layers, result.loss_reduction)
        for layer in result.layers:  # every chosen layer, not just the sum
            assert result.terms.per_layer[layer] < result.start_terms.per_layer[layer] / 15


def test_style_reconstruction_does_not_copy_the_image():
    """Gram matrices keep no arrangement: the texture must not be the original."""
    result = experiments.reconstruct_style(synthetic_photo(40, 40, seed=3), ["relu1_1"],
                                           size=40, steps=40)
    assert result.loss_reduction > 100
    assert result.psnr < 20


def test_reconstruction_figure_has_a_tile_per_layer(content_series):
    results, _ = content_series
    figure = experiments.reconstruction_figure(results[:2], heading="test")
    assert figure.mode == "RGB"
    assert figure.width >= 3 * 48 and figure.height > 36 + 16  # original + 2 tiles, titles


def test_same_seed_same_reconstruction():
    # on the CPU: a GPU's convolutions are not bit-for-bit reproducible
    images = [experiments.reconstruct_content(synthetic_photo(32, 32), "relu2_2", size=32,
                                              steps=5, seed=4, device="cpu").tensor
              for _ in range(2)]
    other = experiments.reconstruct_content(synthetic_photo(32, 32), "relu2_2", size=32,
                                            steps=5, seed=5, device="cpu").tensor
    assert torch.equal(images[0], images[1])
    assert not torch.equal(images[0], other)


def test_feature_maps_shape_and_choice():
    maps = experiments.feature_maps(synthetic_photo(64, 48), "relu2_1", size=64)
    assert maps.shape == (128, 24, 32)
    assert bool((maps >= 0).all())
    assert experiments.parse_indices("0-3,10", 128) == [0, 1, 2, 3, 10]
    assert experiments.parse_indices(None, 128) == list(range(64))
    assert experiments.parse_indices("all", 20) == list(range(20))
    for bad in ("5-200", "x", "-1"):
        with pytest.raises(UserError):
            experiments.parse_indices(bad, 128)


def test_filters_of_the_first_layer_are_64_colour_patches():
    figure = experiments.filter_figure("conv1_1", tile_size=30)
    assert figure.mode == "RGB"
    # 8 columns of 30-px patches, 8 rows with titles
    assert 8 * 30 < figure.width < 8 * 30 + 9 * 10
    assert figure.height > 8 * 30
    deeper = experiments.filter_figure("relu2_1", filters="0-3", channel=5, tile_size=30)
    assert deeper.width < 4 * 30 + 5 * 10 and deeper.height < figure.height
    with pytest.raises(UserError, match="channel"):
        experiments.filter_figure("conv2_1", channel=64)


def test_features_and_filters_commands_write_figures(capsys, tmp_path, content_file):
    output = tmp_path / "maps.png"
    code, out, _ = run(capsys, "features", content_file, "--layer", "conv1_1", "--maps", "0-7",
                       "--size", 32, "--output", output)
    assert code == 0 and f"wrote {output}" in out
    figure = Image.open(output)
    assert figure.mode == "L" and figure.width > 8 * 96  # 8 maps in a row, 96 px high each
    output = tmp_path / "filters.png"
    code, out, _ = run(capsys, "filters", "--output", output)
    assert code == 0 and f"wrote {output}" in out and Image.open(output).mode == "RGB"


def test_reconstruct_commands_write_the_result_and_the_grid(capsys, tmp_path, content_file):
    output, grid = tmp_path / "out.png", tmp_path / "grid.png"
    code, out, _ = run(capsys, "reconstruct-content", content_file, "--layers",
                       "conv1_2,relu2_2", "--size", 32, "--steps", 3, "--output", output,
                       "--grid", grid, "--quiet")
    assert code == 0
    assert "conv1_2: PSNR" in out and "relu2_2: PSNR" in out
    assert f"wrote {output}" in out and f"wrote {grid}" in out
    assert Image.open(output).size == (32, 24)
    assert Image.open(grid).width > 3 * 32
    code, out, _ = run(capsys, "reconstruct-style", content_file, "--cumulative",
                       "conv1_1,conv2_1", "--size", 32, "--steps", 3, "--grid", grid, "--quiet")
    assert code == 0 and "conv1_1+conv2_1: Gram loss" in out and f"wrote {grid}" in out


def test_grid_command_transfers_into_each_style(capsys, tmp_path, content_file, style_file):
    output = tmp_path / "grid.png"
    code, out, _ = run(capsys, "grid", content_file, "--styles", style_file, style_file,
                       "--size", 32, "--steps", 2, "--min-size", 32, "--coarse-steps", 0,
                       "--output", output, "--quiet")
    assert code == 0 and f"wrote {output} (2 transfers" in out
    assert Image.open(output).width > 3 * 32
    code, out, _ = run(capsys, "grid", content_file, "--styles", style_file, "--sweep",
                       "style-weight=1e2,1e4", "--size", 32, "--steps", 2, "--min-size", 32,
                       "--coarse-steps", 0, "--output", output, "--quiet")
    assert code == 0 and "2 transfers" in out


@pytest.mark.parametrize("argv, message", [
    (["reconstruct-content", "missing.jpg", "-o", "{out}"], "image not found"),
    (["reconstruct-content", "{content}", "--layer", "conv9_9", "-o", "{out}"],
     "unknown VGG-19 layer 'conv9_9'"),
    (["reconstruct-content", "{content}"], "--output FILE and/or --grid"),
    (["reconstruct-style", "{content}", "--layers", "relu1_1,nope", "-o", "{out}"], "'nope'"),
    (["reconstruct-style", "{content}", "--cumulative", "relu1_1", "--layers", "relu1_1",
      "-o", "{out}"], "not both"),
    (["reconstruct-style", "{content}", "-o", "{dir}/out.gif"], "output format"),
    (["features", "{bad}", "-o", "{out}"], "not an image file"),
    (["features", "{content}", "--layer", "conv1_1", "--maps", "60-70", "-o", "{out}"],
     "between 0 and 63"),
    (["filters", "--layer", "pool2", "-o", "{out}"], "has no filters"),
    (["grid", "{content}", "--styles", "{bad}", "-o", "{out}"], "style image"),
    (["grid", "{content}", "--styles", "{content}", "--sweep", "alpha=1,2", "-o", "{out}"],
     "--sweep"),
])
def test_errors_are_one_line_with_exit_2_and_no_output(capsys, tmp_path, content_file, argv,
                                                        message):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    out = tmp_path / "out.png"
    values = {"content": content_file, "bad": bad, "out": out, "dir": tmp_path}
    quiet = ["--quiet"] if argv[0] in ("reconstruct-content", "reconstruct-style", "grid") else []
    code, _, err = run(capsys, *[a.format(**values) for a in argv], *quiet)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("painterly") and message in err, err
    assert not out.exists()
