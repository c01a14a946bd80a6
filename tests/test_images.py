import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from painterly.errors import UserError
from painterly.io import images


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        images.load_image(tmp_path / "nope.jpg", what="content image")


def test_directory(tmp_path):
    with pytest.raises(UserError, match="is a directory"):
        images.load_image(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(UserError, match="empty file"):
        images.load_image(path)


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n")
    with pytest.raises(UserError, match="not an image"):
        images.load_image(path)


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="damaged or truncated"):
        images.load_image(path)


def huge_png(path, width, height):
    """A valid small PNG whose header claims width x height pixels."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def test_header_claiming_enormous_dimensions(tmp_path):
    path = tmp_path / "bomb.png"
    huge_png(path, 100_000, 100_000)
    with pytest.raises(UserError, match="megapixels"):
        images.load_image(path)


def test_builtin_example_by_name():
    image = images.load_image("tubingen")
    assert image.size == (1024, 768) and image.mode == "RGB"


def test_exif_rotation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    image = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    image.save(path, exif=exif)
    assert images.load_image(path).size == (20, 40)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK"])
def test_unusual_modes_become_rgb(tmp_path, mode):
    path = tmp_path / f"image_{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
    Image.new("RGB", (16, 8), (30, 120, 200)).convert(mode).save(path)
    loaded = images.load_image(path)
    assert loaded.mode == "RGB" and loaded.size == (16, 8)


def test_cmyk_jpeg_keeps_its_colour(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=100)  # pure red
    red, green, blue = images.load_image(path).getpixel((8, 8))
    assert red > 200 and green < 60 and blue < 60


def test_rgba_is_composited_over_white(tmp_path):
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(path)
    assert images.load_image(path).getpixel((0, 0)) == (255, 255, 255)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    values = np.full((8, 8), 32768, dtype=np.uint16)
    Image.fromarray(values).save(path)
    assert images.load_image(path).getpixel((0, 0)) == (128, 128, 128)


def test_tensor_round_trip():
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (5, 7, 3), np.uint8))
    tensor = images.to_tensor(image)
    assert tensor.shape == (1, 3, 5, 7)
    assert np.array_equal(np.asarray(images.to_image(tensor)), np.asarray(image))


def test_save_is_atomic_and_by_extension(tmp_path):
    tensor = torch.rand(1, 3, 6, 9)
    for name, fmt in (("a.png", "PNG"), ("b.jpg", "JPEG"), ("c.tif", "TIFF")):
        path = images.save_image(tensor, tmp_path / name)
        with Image.open(path) as saved:
            assert saved.format == fmt and saved.size == (9, 6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.jpg", "c.tif"]


def test_16_bit_tiff_keeps_precision(tmp_path):
    tensor = torch.full((1, 3, 2, 3), 0.5)
    path = images.save_image(tensor, tmp_path / "deep.tiff")
    with Image.open(path) as saved:
        saved.load()
        assert saved.size == (3, 2)
    data = path.read_bytes()
    assert int.from_bytes(data[-2:], "little") == 32768  # 0.5 * 65535, rounded


def test_failed_save_leaves_existing_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    path.write_bytes(b"old result")

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError):
        images.save_image(Image.new("RGB", (4, 4)), path)
    assert path.read_bytes() == b"old result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@pytest.mark.parametrize("name, message", [("out.gif", "output format"),
                                           ("missing/out.png", "does not exist")])
def test_bad_output_paths(tmp_path, name, message):
    with pytest.raises(UserError, match=message):
        images.check_output_path(tmp_path / name)
