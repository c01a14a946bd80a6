"""The lecture's building blocks: pooling kinds, maxout, activations, output-size arithmetic."""

from __future__ import annotations

import pytest
import torch

from painterly.nets.layers import (
    ACTIVATIONS,
    Maxout,
    Pool2d,
    activation,
    activation_pieces,
    output_size,
    pool2d,
    same_padding,
)


def test_pooling_kinds_on_a_known_window():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert pool2d(x, "max").item() == 4.0
    assert pool2d(x, "avg").item() == 2.5
    assert pool2d(x, "l2").item() == pytest.approx(30 ** 0.5)
    assert Pool2d("l2")(x).item() == pytest.approx(30 ** 0.5)
    with pytest.raises(ValueError, match="unknown pooling 'median'"):
        Pool2d("median")


def test_leaky_relu_has_the_lectures_slope():
    layer = activation("leaky_relu")
    x = torch.tensor([-2.0, 0.0, 3.0])
    assert torch.equal(layer(x), torch.tensor([-0.2, 0.0, 3.0]))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_named_activations_match_torch(name):
    x = torch.linspace(-3, 3, 13)
    expected = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name](x)
    assert torch.allclose(activation(name)(x), expected)


def test_maxout_takes_the_largest_of_each_group_of_pieces():
    x = torch.tensor([[1.0, 5.0, -2.0, -7.0]])  # two groups of two linear pieces
    assert torch.equal(Maxout(2)(x), torch.tensor([[5.0, -2.0]]))
    maps = torch.randn(2, 6, 3, 3)
    out = Maxout(3)(maps)
    assert out.shape == (2, 2, 3, 3)
    assert torch.equal(out[:, 1], maps[:, 3:6].amax(1))
    assert activation_pieces("maxout") == 2 and activation_pieces("relu") == 1
    with pytest.raises(ValueError, match="divisible by 2"):
        Maxout(2)(torch.zeros(1, 3))


def test_unknown_activation_lists_the_choices():
    with pytest.raises(ValueError, match="choose from " + ", ".join(ACTIVATIONS)):
        activation("swish")


def test_output_size_follows_the_lecture():
    assert output_size(32, 5) == 28  # six 5x5 filters on 32x32x3 -> 28x28x6
    assert output_size(7, 3, stride=2) == 3
    assert output_size(28, 5, padding=2) == 28
    assert output_size(28, 2, stride=2) == 14
    assert output_size(227, 11, stride=4) == 55  # AlexNet's first layer
    assert same_padding(5) == 2


def test_output_size_refuses_hyperparameters_that_do_not_fit():
    with pytest.raises(ValueError, match=r"\(7 - 3 \+ 2\*0\)/3 \+ 1 = 2.33333 is not a whole"):
        output_size(7, 3, stride=3)
    with pytest.raises(ValueError, match="does not fit"):
        output_size(4, 5)
    with pytest.raises(ValueError, match="odd kernel"):
        same_padding(4)
