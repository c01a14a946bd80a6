"""Options are declared once: the command line, the web form, the API's validation and
docs/cli.md all come from the declarations."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest
import torch
from PIL import Image

from painterly import OptionError, TransferOptions, transfer
from painterly.cli import build_parser, main
from painterly.cli.docs import cli_markdown
from painterly.cli.options import add_option_fields, options_from_args
from painterly.digits.training import TrainOptions
from painterly.lecture.experiments import ReconstructionOptions
from painterly.options import fields_of, option
from painterly.web.options import option_fields, parse_options

from .conftest import synthetic_painting, synthetic_photo

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
TINY = {"size": 32, "steps": 3, "min_size": 32}


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


@pytest.mark.parametrize(("command", "options_class"), [
    ("transfer", TransferOptions), ("grid", TransferOptions),
    ("reconstruct-content", ReconstructionOptions),
    ("reconstruct-style", ReconstructionOptions)])
def test_every_field_has_a_flag_and_every_web_field_a_form_control(command, options_class):
    flags = _flags(_subparser(command))
    form = {entry["name"]: entry for entry in option_fields(options_class)}
    for item in fields_of(options_class):
        assert item.flag in flags, item.name
        assert item.spec.help
        if item.spec.web:
            assert form[item.name]["control"] in ("select", "number", "text", "checkbox",
                                                  "slider"), item.name
        else:  # files or hardware of the server
            assert item.name in {"weights", "weights_layout", "device", "mask"}


def test_training_options_are_flags_of_digits_train():
    digits = _subparser("digits")
    train = next(a for a in digits._actions
                 if isinstance(a, argparse._SubParsersAction)).choices["train"]
    flags = _flags(train)
    assert all(item.flag in flags for item in fields_of(TrainOptions))


def test_a_newly_declared_field_appears_in_the_cli_the_web_form_and_the_docs():
    @dataclasses.dataclass
    class WithSparkle(TransferOptions):
        sparkle: float = option(0.5, "glitter on top", low=0, high=1, main=True)

    parser = argparse.ArgumentParser(prog="painterly")
    commands = parser.add_subparsers(dest="command")
    add_option_fields(commands.add_parser("transfer"), WithSparkle)
    args = parser.parse_args(["transfer", "--sparkle", "0.25"])
    assert options_from_args(args, WithSparkle) == {"sparkle": 0.25}
    assert parser.parse_args(["transfer"]).__dict__ == {"command": "transfer"}  # nothing given
    entry = next(e for e in option_fields(WithSparkle) if e["name"] == "sparkle")
    assert (entry["label"], entry["section"], entry["min"], entry["max"]) == (
        "Sparkle", "main", 0, 1)
    assert "| `--sparkle SPARKLE` | glitter on top [0..1] (default 0.5) |" in cli_markdown(parser)
    with pytest.raises(OptionError, match="sparkle must be between 0 and 1, got 2"):
        WithSparkle(sparkle=2.0).validated()


def test_docs_cli_md_is_generated_from_the_parser():
    assert DOCS.read_text(encoding="utf-8") == cli_markdown(), \
        "docs/cli.md is stale: run python -m painterly.cli.docs > docs/cli.md"


def test_errors_name_the_field_and_each_face_words_it_its_way(capsys):
    with pytest.raises(OptionError) as caught:
        TransferOptions(style_weight=-1.0).validated()
    assert caught.value.field == "style_weight" and "--" not in str(caught.value)
    assert main(["transfer", "c.png", "s.png", "-o", "o.png", "--style-weight", "-1"]) == 2
    assert "painterly: error: --style-weight must be at least 0, got -1" in capsys.readouterr().err
    assert main(["transfer", "c.png", "s.png", "-o", "o.png", "--style-layers",
                 "relu1_1,relu2_1", "--layer-weights", "1"]) == 2
    assert "--style-layer-weights has 1 values for 2 style layers" in capsys.readouterr().err
    with pytest.raises(OptionError) as caught:
        parse_options({"strength": 1000})
    assert caught.value.field == "strength"


@pytest.mark.parametrize(("values", "message"), [
    ({"size": 8}, "size must be between 16 and 8192"),
    ({"min_size": 4}, "min_size must be at least 16, got 4"),
    ({"steps": 2.5}, "steps must be a whole number"),
    ({"scale_ratio": float("nan")}, "scale_ratio must be a finite number"),
    ({"style_scale": (0.5, 9.0)}, "style_scale must be between 0.05 and 8, got 9"),
    ({"style_layers": ()}, "style_layers needs at least 1 value"),
    ({"style_layers": ("relu9_9",)}, "style_layers has unknown value"),
    ({"optimizer": "sgd"}, "optimizer must be one of lbfgs, adam, lbfgs-unbounded"),
    ({"tile_size": 10}, "tile_size must be 0 or at least 64"),
    ({"max_memory": 0}, "max_memory must be above 0 and at most 1e\\+06, got 0"),
    ({"max_memory": 1e300}, "max_memory must be above 0 and at most"),  # once an overflow
    ({"style_blend": (0.0, 0.0)}, "style_blend needs weights with a positive sum"),
])
def test_the_validator_derived_from_the_declarations(values, message):
    with pytest.raises(OptionError, match=message):
        TransferOptions(**values).validated()
    TransferOptions(tile_size=0, init="some/photo.png").validated()  # 0 and paths are fine


def test_strength_multiplies_the_style_weight_and_one_changes_nothing():
    content, style = synthetic_photo(32, 24), synthetic_painting(32, 32)
    doubled = transfer(content, style, style_weight=2 * TransferOptions().style_weight,
                       **TINY).tensor
    assert torch.equal(transfer(content, style, strength=2.0, **TINY).tensor, doubled)
    assert torch.equal(transfer(content, style, strength=1.0, **TINY).tensor,
                       transfer(content, style, **TINY).tensor)
    assert not torch.equal(transfer(content, style, **TINY).tensor, doubled)


def test_init_image_and_extra_loss_hooks():
    content, style = synthetic_photo(32, 24), synthetic_painting(32, 32)
    gray = torch.full((1, 3, 12, 16), 0.5)  # another size: resized to the rung's
    started = transfer(content, style, init_image=gray, **TINY)
    assert started.tensor.shape == (1, 3, 24, 32)
    assert not torch.equal(started.tensor, transfer(content, style, **TINY).tensor)

    def towards_gray(pixels: torch.Tensor) -> torch.Tensor:
        assert pixels.shape == (1, 3, 24, 32) and pixels.requires_grad
        return 1e13 * (pixels - 0.5).pow(2).mean()

    pulled = transfer(content, style, extra_loss=towards_gray, **TINY)
    plain = transfer(content, style, **TINY)
    assert pulled.terms.extra > 0 and plain.terms.extra == 0
    weights = TransferOptions()
    assert pulled.terms.total == pytest.approx(
        pulled.terms.content + weights.style_weight * pulled.terms.style
        + weights.tv_weight * pulled.terms.tv + weights.palette_weight * pulled.terms.palette
        + pulled.terms.extra, rel=1e-4)
    assert (pulled.tensor - 0.5).abs().mean() < (plain.tensor - 0.5).abs().mean()


def test_a_run_that_needs_tiles_refuses_a_mask_and_says_why(tmp_path):
    mask = tmp_path / "mask.png"
    Image.new("RGB", (64, 48), "white").save(mask)
    with pytest.raises(OptionError, match="tiles cannot be used with a mask"):
        transfer(synthetic_photo(), synthetic_painting(), size=128, tile_size=64,
                 mask=str(mask), steps=1)


def test_a_whole_number_beyond_64_bits_is_refused_naming_the_field():
    for seed in (-1e300, 2**63, -(2**63)):
        with pytest.raises(OptionError) as refused:
            TransferOptions(seed=seed).validated()
        assert refused.value.field == "seed"
    TransferOptions(seed=2**63 - 1).validated()
