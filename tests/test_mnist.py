"""MNIST IDX reading, validation with exact messages, the data folder, and the checked download
(against a local HTTP server serving files this test makes; nothing touches the internet)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import re
import threading
from functools import partial

import numpy as np
import pytest

from painterly.digits import mnist
from painterly.errors import UserError


def tiny_split(count: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, count, dtype=np.uint8))


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_gzipped_or_not(tmp_path, compress):
    images, labels = tiny_split()
    mnist.write_split(tmp_path, "test", images, labels, compress=compress)
    split = mnist.load_split(tmp_path, "test")
    assert np.array_equal(split.images, images) and np.array_equal(split.labels, labels)
    assert len(split) == 12 and split.images.flags.writeable


def test_header_layout_is_the_idx_format():
    data = mnist.encode_idx(np.zeros((2, 28, 28), np.uint8))
    assert data[:16] == bytes.fromhex("00000803" "00000002" "0000001c" "0000001c")
    assert len(data) == 16 + 2 * 28 * 28
    assert mnist.parse_idx(mnist.encode_idx(np.arange(6, dtype=">i4").reshape(2, 3)))[1, 2] == 5


@pytest.mark.parametrize(("data", "message"), [
    (b"\x00\x00", "too short for an IDX header (2 bytes)"),
    (b"PK\x03\x04rest", "not an IDX file (magic number 0x504b0304"),
    (bytes.fromhex("00000803") + b"\x00\x00\x00\x02", "header truncated (8 bytes, 3 dimensions "
                                                      "need 16)"),
    (mnist.encode_idx(np.zeros((3, 28, 28), np.uint8))[:-100],
     "truncated: the header promises 3x28x28 values (2352 bytes) but the file holds 2252 bytes"),
    (mnist.encode_idx(np.zeros(4, np.uint8)) + b"xx", "2 unexpected bytes after the 4 values"),
])
def test_broken_idx_data_is_named_exactly(data, message):
    with pytest.raises(UserError) as error:
        mnist.parse_idx(data, "f.idx")
    assert str(error.value).startswith("f.idx: ")
    assert message in str(error.value)


def test_truncated_gzip_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(mnist.encode_idx(tiny_split()[0]))[:300])
    with pytest.raises(UserError, match="broken or truncated gzip data"):
        mnist.read_images(path)


def test_wrong_kind_of_file_for_images_or_labels(tmp_path):
    labels = tiny_split()[1]
    (tmp_path / "a").write_bytes(mnist.encode_idx(np.zeros((2, 27, 27), np.uint8)))
    with pytest.raises(UserError, match="images are 27x27, expected 28x28"):
        mnist.read_images(tmp_path / "a")
    (tmp_path / "b").write_bytes(mnist.encode_idx(labels))
    with pytest.raises(UserError, match="unsigned bytes in 3 dimensions, found uint8 in 1"):
        mnist.read_images(tmp_path / "b")
    (tmp_path / "c").write_bytes(mnist.encode_idx(np.array([3, 12, 4], np.uint8)))
    with pytest.raises(UserError, match="label 12 at position 1 is not a digit 0-9"):
        mnist.read_labels(tmp_path / "c")


def test_mismatched_counts_and_missing_files(tmp_path):
    images, labels = tiny_split()
    mnist.write_split(tmp_path, "train", images, labels[:10])
    with pytest.raises(UserError, match=re.escape(
            "train set has 12 images in train-images-idx3-ubyte.gz but 10 labels in "
            "train-labels-idx1-ubyte.gz")):
        mnist.load_split(tmp_path, "train")
    with pytest.raises(UserError, match=re.escape("missing t10k-images-idx3-ubyte.gz")):
        mnist.load_split(tmp_path, "test")


def test_data_folder_from_option_or_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(mnist.DATA_ENV, raising=False)
    with pytest.raises(UserError, match=r"data is not given: .* or set PAINTERLY_MNIST"):
        mnist.data_directory(None)
    monkeypatch.setenv(mnist.DATA_ENV, str(tmp_path))
    assert mnist.data_directory(None) == tmp_path
    monkeypatch.setenv(mnist.DATA_ENV, str(tmp_path / "unused"))
    assert mnist.data_directory(str(tmp_path)) == tmp_path  # --data wins over the variable
    with pytest.raises(UserError, match="MNIST folder not found"):
        mnist.data_directory(tmp_path / "nowhere")


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server with the four files; yields (url, checksums, served folder)."""
    served = tmp_path / "served"
    served.mkdir()
    checksums = {}
    for split, seed in (("train", 1), ("test", 2)):
        image_path, label_path = mnist.write_split(served, split, *tiny_split(8, seed))
        for path in (image_path, label_path):
            checksums[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", checksums, served
    server.shutdown()
    server.server_close()


def test_download_verifies_checksums(tmp_path, mirror):
    url, checksums, _ = mirror
    seen = []
    paths = mnist.download(tmp_path / "data", url, checksums,
                           progress=lambda name, index, total: seen.append((name, total)))
    assert [path.name for path in paths] == list(checksums)
    assert seen[0] == ("train-images-idx3-ubyte.gz", 4)
    assert len(mnist.load_split(tmp_path / "data", "train")) == 8


def test_corrupt_download_leaves_no_file(tmp_path, mirror):
    url, checksums, served = mirror
    (served / "t10k-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    with pytest.raises(UserError, match=re.escape(
            "download of t10k-labels-idx1-ubyte.gz is corrupt: sha256 ")):
        mnist.download(tmp_path / "data", url, checksums)
    assert not (tmp_path / "data" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "data").glob(".*part"))


def test_missing_file_on_the_mirror(tmp_path, mirror):
    url, checksums, served = mirror
    (served / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(UserError, match="HTTP 404"):
        mnist.download(tmp_path / "data", url, checksums)


def test_default_checksums_are_the_canonical_md5s():
    assert mnist.MD5_SUMS["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert len(mnist.MD5_SUMS) == 4
