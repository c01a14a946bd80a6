"""Several styles, per-style scale and the option names of the controls, from the CLI."""

import pytest

from painterly.cli import main
from painterly.style.transfer import transfer

from .conftest import synthetic_painting, synthetic_photo


def run(capsys, tmp_path, content_file, style_file, *options, styles=2):
    output = tmp_path / "o.png"
    code = main(["transfer", str(content_file), *[str(style_file)] * styles, "-o", str(output),
                 "--size", "32", "--min-size", "32", "--coarse-steps", "0", "--steps", "2",
                 "--quiet", *options])
    return code, capsys.readouterr(), output


def test_two_styles_blend_and_scale_per_style(capsys, tmp_path, content_file, style_file):
    code, captured, output = run(capsys, tmp_path, content_file, style_file, "--style-blend",
                                 "0.7,0.3", "--style-scale", "0.5,1.5", "--style-layer-weights",
                                 "inverse-channels", "--style-loss", "meanstd")
    assert code == 0 and output.exists() and "wrote" in captured.out


@pytest.mark.parametrize("options, message", [
    (["--style-blend", "1,2,3"], "--style-blend has 3 weights for 2 style images"),
    (["--style-blend", "0,0"], "--style-blend needs weights with a positive sum"),
    (["--style-scale", "0.5,1,2"], "--style-scale has 3 values for 2 style images"),
    (["--style-scale", "100"], "--style-scale must be between"),
    (["--style-layer-weights", "1,2"], "--style-layer-weights has 2 values for 5 style layers"),
    (["--layer-weights", "loud"], "--style-layer-weights must be one of equal, inverse-channels"),
])
def test_bad_control_values_give_one_line_and_exit_2(capsys, tmp_path, content_file,
                                                     style_file, options, message):
    code, captured, output = run(capsys, tmp_path, content_file, style_file, *options)
    assert code == 2 and message in captured.err and captured.err.count("\n") == 1
    assert not output.exists()


@pytest.mark.parametrize("options", [["--style-loss", "wasserstein"], ["--preset", "picasso"]])
def test_unknown_choices_are_one_line_and_exit_2(capsys, tmp_path, content_file, style_file,
                                                 options):
    code, captured, _ = run(capsys, tmp_path, content_file, style_file, *options)
    assert code == 2 and captured.err.count("\n") == 1
    assert f"{options[0]} must be one of" in captured.err


def test_style_scale_per_style_changes_only_that_styles_target():
    content, style = synthetic_photo(), synthetic_painting()
    options = dict(size=48, min_size=48, steps=4, coarse_steps=0, style_blend=(1.0, 0.0))
    same = transfer(content, [style, style], style_scale=(1.0, 1.0), **options)
    second_scaled = transfer(content, [style, style], style_scale=(1.0, 0.4), **options)
    first_scaled = transfer(content, [style, style], style_scale=(0.4, 1.0), **options)
    # the second style has weight 0: scaling it changes nothing, scaling the first does
    assert same.image.tobytes() == second_scaled.image.tobytes()
    assert same.image.tobytes() != first_scaled.image.tobytes()
