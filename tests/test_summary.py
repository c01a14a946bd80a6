"""Architecture summaries reproduce the lecture's counts."""

from __future__ import annotations

import pytest

from painterly.cli import main
from painterly.errors import UserError
from painterly.lecture.summary import summarize, summary_of
from painterly.nets.digitnet import DigitNet, DigitNetConfig


@pytest.mark.parametrize(("spec", "neurons", "weights", "biases"),
                         [("fc:3-4-2", 6, 20, 6), ("fc:3-4-4-1", 9, 32, 9)])
def test_fully_connected_counts_match_the_lecture(spec, neurons, weights, biases):
    summary = summary_of(spec)
    assert (summary.neurons, summary.weights, summary.biases) == (neurons, weights, biases)


def test_six_5x5_filters_on_32x32x3_give_28x28x6():
    summary = summary_of("conv:32x32x3:6x5x5")
    row = summary.row("conv")
    assert row.volume == "28x28x6"
    assert (row.weights, row.biases, row.neurons) == (6 * 5 * 5 * 3, 6, 28 * 28 * 6)
    assert summary_of("conv:32x32x3:6x5x5:s1:p2").row("conv").volume == "32x32x6"


def test_digit_net_summary_matches_its_parameters():
    model = DigitNet()
    summary = summarize(model, (1, 28, 28))
    assert summary.parameters == sum(p.numel() for p in model.parameters())
    assert summary.row("pool1").volume == "14x14x6"
    assert summary.row("pool2").volume == "7x7x12"
    assert summary.row("classifier").weights == 7 * 7 * 12 * 10
    valid = summarize(DigitNet(DigitNetConfig(padding=(0, 0))), (1, 28, 28))
    assert valid.row("conv1").volume == "24x24x6" and valid.row("pool2").volume == "4x4x12"


def test_maxout_digit_net_doubles_the_convolutions_but_keeps_the_maps():
    summary = summarize(DigitNet(DigitNetConfig(activation="maxout")), (1, 28, 28))
    assert summary.row("conv1").volume == "28x28x12"
    assert summary.row("act1").volume == "28x28x6"
    assert summary.row("classifier").weights == 7 * 7 * 12 * 10


def test_vgg19_counts_without_loading_weights():
    summary = summary_of("vgg19")
    assert summary.parameters == 20_024_384  # the convolutional part of VGG-19
    assert summary.row("pool5").volume == "7x7x512"
    assert summary.row("conv1_1").neurons == 224 * 224 * 64


def test_cli_prints_the_table_and_rejects_unknown_models(capsys):
    assert main(["summary", "fc:3-4-2"]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split()[1:] == ["6", "20", "6"]
    assert main(["summary", "resnet50"]) == 2
    assert "unknown model 'resnet50'" in capsys.readouterr().err
    with pytest.raises(UserError, match="not a whole number"):
        summary_of("conv:32x32x3:6x5x5:s2")
