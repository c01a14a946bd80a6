"""Presets: settings filled in only where not given, and weight conversions that reproduce the
objectives of Gatys' notebook and jcjohnson/neural-style exactly."""

import pytest
import torch

from painterly.cli import build_parser
from painterly.cli.options import options_from_args
from painterly.errors import UserError
from painterly.nets.vgg import DEFAULT_STYLE_LAYERS, load_vgg19
from painterly.style.losses import PerceptualLoss, gram_matrix, total_variation
from painterly.style.options import TransferOptions
from painterly.style.presets import PRESETS, apply_preset

torch.manual_seed(0)
CONTENT, STYLE, IMAGE = (torch.rand(1, 3, 40, 48) for _ in range(3))


def preset_loss(name):
    options = TransferOptions(**apply_preset({"preset": name}))
    loss = PerceptualLoss(load_vgg19(), content_layer=options.content_layer,
                          style_layers=options.style_layers,
                          content_weight=options.content_weight,
                          style_weight=options.style_weight, tv_weight=options.tv_weight,
                          layer_weights=options.layer_weights)
    loss.set_content(CONTENT)
    loss.set_style([STYLE])
    return options, loss(IMAGE)[1]


def reference_features():
    vgg = load_vgg19()
    layers = ["relu4_2", *DEFAULT_STYLE_LAYERS]
    return vgg(CONTENT, layers), vgg(STYLE, layers), vgg(IMAGE, layers)


def test_gatys_preset_is_the_notebooks_objective():
    content, style, image = reference_features()
    notebook_content = (image["relu4_2"] - content["relu4_2"]).pow(2).mean()
    notebook_style = 0.0
    for name in DEFAULT_STYLE_LAYERS:
        n, m = image[name].shape[1], image[name][0, 0].numel()
        diff = (gram_matrix(image[name]) - gram_matrix(style[name])) / m
        notebook_style += 1e3 / n**2 * diff.pow(2).mean()
    options, terms = preset_loss("gatys")
    assert options.content_weight * terms.content == pytest.approx(
        notebook_content.item(), rel=1e-4)
    assert options.style_weight * terms.style == pytest.approx(
        notebook_style.item(), rel=1e-4)


def test_johnson_preset_is_neural_styles_objective():
    content, style, image = reference_features()
    jcj_content = 5 * (image["relu4_2"] - content["relu4_2"]).pow(2).mean()
    jcj_style = 0.0
    for name in DEFAULT_STYLE_LAYERS:
        n, m = image[name].shape[1], image[name][0, 0].numel()
        diff = (gram_matrix(image[name]) - gram_matrix(style[name])) / (n * m)
        jcj_style += 100 * diff.pow(2).mean()
    jcj_tv = 1e-3 * 0.5 * total_variation(IMAGE * 255)
    factor = 1.0  # the presets keep the tools' own scale
    options, terms = preset_loss("johnson")
    assert options.content_weight * terms.content == pytest.approx(
        factor * jcj_content.item(), rel=1e-4)
    assert options.style_weight * terms.style == pytest.approx(factor * jcj_style.item(),
                                                                rel=1e-4)
    assert options.tv_weight * terms.tv == pytest.approx(factor * jcj_tv.item(), rel=1e-3)
    assert (options.init, options.optimizer, options.steps) == ("noise", "lbfgs", 1000)


def test_a_preset_fills_only_what_was_not_given():
    options = apply_preset({"preset": "gatys", "steps": 20})
    assert options["steps"] == 20 and options["layer_weights"] == "inverse-channels"
    assert apply_preset({"preset": "painterly"}) == {"preset": "painterly"}
    with pytest.raises(UserError, match=r"preset must be one of .*got 'picasso'"):
        apply_preset({"preset": "picasso"})


def test_cli_options_given_by_the_user_beat_the_preset():
    args = build_parser().parse_args(["transfer", "c.png", "s.png", "-o", "o.png", "--preset",
                                      "johnson", "--steps", "7", "--style-weight", "1000"])
    options = options_from_args(args, TransferOptions)
    resolved = TransferOptions(**apply_preset(options))
    assert (resolved.steps, resolved.style_weight) == (7, 1000)  # given: 1000 is also the default
    assert resolved.tv_weight == PRESETS["johnson"].options["tv_weight"]
    assert resolved.init == "noise" and resolved.size == TransferOptions().size


def test_every_preset_is_valid_and_documented():
    for preset in PRESETS.values():
        TransferOptions(**apply_preset({"preset": preset.name})).validated()
        assert preset.summary and preset.source
