import pytest

from painterly.cli import main
from painterly.errors import UserError
from painterly.style import memory
from painterly.style.transfer import TransferOptions, transfer

from .conftest import synthetic_painting, synthetic_photo

GB = 2**30


def test_small_images_run_whole_and_large_ones_in_tiles():
    small = memory.plan(512, 384, method="lbfgs", history=20, limit=4 * GB)
    assert small.tile is None and small.history == 20 and small.estimate < 4 * GB
    large = memory.plan(4096, 3072, method="lbfgs", history=20, limit=12 * GB)
    assert large.tile is not None and large.estimate <= 12 * GB
    tight = memory.plan(4096, 3072, method="lbfgs", history=20, limit=8 * GB)
    assert tight.tile is not None and tight.history < 20 and tight.estimate <= 8 * GB
    assert memory.plan(512, 384, method="lbfgs", history=20, tile=0).tile is None
    assert memory.plan(512, 384, method="lbfgs", history=20, tile=256).tile == 256


def test_the_default_history_shortens_in_steps_before_the_image_is_tiled():
    default = TransferOptions.history
    assert memory.plan(1024, 768, method="lbfgs", history=default, limit=12 * GB).history == 100
    # 2048 px at 12 GB: 100 and 50 steps do not fit, 20 does, still on the whole image
    shortened = memory.plan(2048, 1536, method="lbfgs", history=default, limit=12 * GB)
    assert (shortened.tile, shortened.history) == (None, 20)
    assert memory.peak_bytes(2048, 1536, "lbfgs", 50, None) > 12 * GB >= shortened.estimate


def test_estimate_grows_with_pixels_and_history():
    one = memory.peak_bytes(1024, 768, "lbfgs", 20, None)
    assert memory.peak_bytes(2048, 1536, "lbfgs", 20, None) > 3 * one
    assert memory.peak_bytes(1024, 768, "lbfgs", 5, None) < one
    assert memory.peak_bytes(4096, 3072, "lbfgs", 5, 512) < memory.peak_bytes(
        4096, 3072, "lbfgs", 5, None) / 3


def test_a_size_that_cannot_fit_is_refused_with_a_suggestion():
    with pytest.raises(UserError, match=r"size is too large here: .* needs about .* GB .* try \d+"):
        memory.plan(8192, 6144, method="lbfgs", history=20, limit=2 * GB)
    with pytest.raises(UserError, match="size is too large"):
        transfer(synthetic_photo(), synthetic_painting(), size=8000, max_memory=1.0)


def test_cli_refuses_in_one_line_without_output(capsys, tmp_path, content_file, style_file):
    output = tmp_path / "big.png"
    code = main(["transfer", str(content_file), str(style_file), "-o", str(output),
                 "--size", "8000", "--max-memory", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--size" in err
    assert not output.exists()
