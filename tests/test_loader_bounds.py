"""Loaders bounded by what their input declares: an MNIST .gz is read as a stream and never
inflated past what its IDX header promises."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

import numpy as np
import pytest

from painterly.digits import mnist
from painterly.errors import UserError


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
    started = time.perf_counter()
    with pytest.raises(UserError, match="unexpected bytes after the 60000x28x28 values"):
        mnist.read_images(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 * 60_000 * 28 * 28 + (4 << 20)  # the declared 47 MB (and its copy), no more
    assert time.perf_counter() - started < 5


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
