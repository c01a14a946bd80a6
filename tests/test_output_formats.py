"""Output formats by extension (PNG, JPEG 95 without chroma subsampling, 16-bit TIFF) and sRGB
conversion of inputs with an ICC profile, end to end through the CLI."""

import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from painterly.cli import main
from painterly.io import images


def swapped_primaries_profile() -> bytes:
    """An RGB ICC profile whose red and green primaries are swapped (and not named sRGB)."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = int.from_bytes(data[128:132], "big")
    entries = {bytes(data[132 + 12 * i:136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, green = entries[b"rXYZ"], entries[b"gXYZ"]
    data[red + 4:red + 12], data[green + 4:green + 12] = (data[green + 4:green + 12],
                                                          data[red + 4:red + 12])
    name = "sRGB".encode("utf-16-be")
    at = data.index(name)
    data[at:at + len(name)] = "swap".encode("utf-16-be")
    return bytes(data)


def test_icc_profiled_input_is_converted_to_srgb(tmp_path):
    path = tmp_path / "tagged.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(path, icc_profile=swapped_primaries_profile())
    red, green, _ = images.load_image(path).getpixel((4, 4))
    assert green > 150 and red < 80  # the file's "red" channel is the green primary


def read_tiff16(path):
    """Pixels of painterly's uncompressed 16-bit RGB TIFF, via its strip offset."""
    data = path.read_bytes()
    count = int.from_bytes(data[8:10], "little")
    tags = {int.from_bytes(data[10 + 12 * i:12 + 12 * i], "little"):
            int.from_bytes(data[18 + 12 * i:22 + 12 * i], "little") for i in range(count)}
    width, height, offset = tags[256], tags[257], tags[273]
    return np.frombuffer(data[offset:offset + width * height * 6], "<u2").reshape(height, width,
                                                                                  3)


@pytest.mark.parametrize("name", ["out.png", "out.jpg", "out.tif"])
def test_cli_writes_the_format_of_the_extension(capsys, tmp_path, content_file, style_file,
                                                name):
    output = tmp_path / name
    code = main(["transfer", str(content_file), str(style_file), "-o", str(output), "--size",
                 "32", "--min-size", "32", "--coarse-steps", "0", "--steps", "6", "--quiet"])
    assert code == 0
    with Image.open(output) as image:
        assert image.size == (32, 24)
        if name.endswith(".jpg"):
            assert image.format == "JPEG"
            assert JpegImagePlugin.get_sampling(image) == 0  # 4:4:4, no chroma subsampling
            assert image.quantization[0][0] <= 3  # quality 95 tables
        elif name.endswith(".tif"):
            assert image.format == "TIFF"
    if name.endswith(".tif"):
        pixels = read_tiff16(output)
        assert pixels.shape == (24, 32, 3)
        assert len(np.unique(pixels % 257)) > 1  # real 16-bit values, not 8-bit scaled
