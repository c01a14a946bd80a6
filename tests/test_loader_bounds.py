"""Loaders bounded by what their input declares and what the run needs: an MNIST .gz is read
as a stream and never inflated past what its IDX header promises; images too thin for the
network are refused in one line; style images are cropped and reduced to what the run needs."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from painterly.digits import mnist
from painterly.errors import UserError
from painterly.options import OptionError


def gzip_bomb(header: bytes, inflated: int) -> bytes:
    """A gzip file of ``header`` followed by zeros, ``inflated`` bytes in all."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(header)]
    zeros = bytes(1 << 20)
    for _ in range((inflated - len(header)) // len(zeros)):
        parts.append(compressor.compress(zeros))
    parts.append(compressor.flush())
    return b"".join(parts)


def test_a_gzip_bomb_is_never_inflated_past_its_header(tmp_path):
    header = mnist.encode_idx(np.zeros((60_000, 28, 28), np.uint8))[:16]
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip_bomb(header, 256 << 20))  # 256 MB of zeros in 250 kB
    assert path.stat().st_size < 300_000
    tracemalloc.start()
    with pytest.raises(UserError, match="unexpected bytes after the 60000x28x28 values"):
        mnist.read_images(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 * 60_000 * 28 * 28 + (4 << 20)  # the declared 47 MB (and its copy), no more


def test_a_header_declaring_too_much_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "big.gz"
    header = bytes.fromhex("00000803") + (4_000_000_000).to_bytes(4, "big") + \
        (28).to_bytes(4, "big") * 2
    path.write_bytes(gzip.compress(header + bytes(1000)))
    with pytest.raises(UserError, match=r"4000000000x28x28 values .* more than the limit"):
        mnist.read_idx(path)


def test_plain_and_gzipped_idx_read_the_same(tmp_path):
    data = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    (tmp_path / "a").write_bytes(mnist.encode_idx(data))
    (tmp_path / "a.gz").write_bytes(gzip.compress(mnist.encode_idx(data)))
    assert np.array_equal(mnist.read_images(tmp_path / "a"), data)
    assert np.array_equal(mnist.read_images(tmp_path / "a.gz"), data)
    (tmp_path / "b.gz").write_bytes(gzip.compress(mnist.encode_idx(data))[:-20])
    with pytest.raises(UserError, match="broken or truncated gzip data"):
        mnist.read_images(tmp_path / "b.gz")


# images sized for the network: banners, strips, huge styles --------------------------------------
def test_a_banner_too_thin_at_the_size_asked_is_refused_naming_the_size_that_works(tmp_path,
                                                                                   capsys):
    from painterly import transfer
    from painterly.cli import main

    Image.new("RGB", (3000, 150), (200, 100, 40)).save(tmp_path / "banner.png")
    with pytest.raises(OptionError, match=r"3000x150 content image 256x13.* use 320 or more") \
            as refused:
        transfer(tmp_path / "banner.png", "starry_night", size=256, steps=1)
    assert refused.value.field == "size"
    assert main(["transfer", str(tmp_path / "banner.png"), "starry_night", "--size", "64",
                 "-o", str(tmp_path / "out.png"), "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("painterly: error: --size 64 would make")


def test_pool5_needs_twice_the_side_and_is_refused_before_the_network_sees_a_thinner_image():
    from painterly import transfer
    from painterly.nets.vgg import min_side

    assert min_side(("relu4_2", "relu1_1", "relu5_1")) == 16
    assert min_side(("pool5",)) == 32 and min_side(("relu4_2", "pool4")) == 16
    # tubingen at 32 px is 32x24: enough for relu5_1, not for pool5
    with pytest.raises(OptionError, match=r"32x24, thinner than the 32 px.* use 43 or more") \
            as refused:
        transfer("tubingen", "starry_night", size=32, min_size=32, steps=1, coarse_steps=0,
                 content_layer="pool5")
    assert refused.value.field == "size"
    result = transfer("tubingen", "starry_night", size=43, min_size=16, steps=1, coarse_steps=1,
                      style_layers=("relu1_1", "pool5"))
    assert min(result.image.size) >= 32


def test_a_banner_just_thick_enough_runs_its_ladder_without_thin_rungs(tmp_path):
    from painterly import transfer
    from painterly.style import schedule

    assert all(min(size) >= 16 for size in schedule.ladder(400, 20, 320, 64)[:-1])
    Image.new("RGB", (400, 20), (200, 100, 40)).save(tmp_path / "banner.png")
    result = transfer(tmp_path / "banner.png", "starry_night", size=320, steps=1,
                      coarse_steps=1, min_size=64)
    assert result.image.size == (320, 16)


def test_a_strip_style_is_cropped_and_a_huge_style_reduced_before_the_network():
    from painterly.style.transfer import _bounded_style, _style_size

    strip = _bounded_style(Image.new("RGB", (1, 10_000)), 64, 1.0)
    assert strip.size == (1, 8)
    width, height = _style_size(strip, (64, 64), 1.0)
    assert width * height <= 16 * 128  # was 16 x 160000
    assert _bounded_style(Image.new("RGB", (4000, 3000)), 64, 1.0).size == (64, 48)
    assert _bounded_style(Image.new("RGB", (1024, 640)), 512, 1.0).size == (1024, 640)


def test_a_strip_style_keeps_a_small_run_small(tmp_path):
    from painterly import transfer

    Image.new("RGB", (1, 10_000), (20, 40, 200)).save(tmp_path / "strip.png")
    result = transfer("tubingen", tmp_path / "strip.png", size=32, steps=2, min_size=32)
    assert result.image.size == (32, 24)
