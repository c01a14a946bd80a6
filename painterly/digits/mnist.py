"""MNIST handwritten digits: reading and validating IDX files (gzipped or not), finding the data
directory (``--data DIR`` or the ``PAINTERLY_MNIST`` environment variable) and an optional
download from a configurable mirror with checksum verification."""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import struct
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from painterly.errors import UserError
from painterly.options import OptionError

DATA_ENV = "PAINTERLY_MNIST"
"""Environment variable naming the folder with the four MNIST files."""
MIRROR_ENV = "PAINTERLY_MNIST_MIRROR"
"""Environment variable overriding :data:`DEFAULT_MIRROR`."""
DEFAULT_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"

IMAGE_SIZE = 28
CLASSES = 10

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""Split -> (image file, label file), names without the ``.gz`` suffix."""

MD5_SUMS = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
"""md5 of the canonical gzipped files, checked after a download."""

IDX_TYPES = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
"""IDX type code (third magic byte) -> element type (big-endian)."""

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Split:
    """One part of MNIST: ``images`` (N, 28, 28) uint8 (0 = background) and ``labels`` (N,)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


MAX_IDX_BYTES = 256 * 1024 * 1024
"""Largest IDX data accepted (MNIST's training images are 47 MB): a header declaring more is
refused before anything is decompressed."""
CHUNK = 1 << 20


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes: magic (0, 0, type, dims), one big-endian uint32 per dimension, then the
    elements. Raises UserError naming exactly what is wrong."""
    return _read_idx(io.BytesIO(data), name, len(data))


def _read_idx(stream: BinaryIO, name: str, total: int | None,
              max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read IDX data from ``stream``, never more than the header declares plus one byte (so a
    decompression bomb is never inflated); ``total`` is the stream's length where known."""
    head = _read_exactly(stream, 4)
    if len(head) < 4:
        raise UserError(f"{name}: too short for an IDX header ({len(head)} bytes)")
    zero1, zero2, type_code, dims = head
    if zero1 or zero2 or type_code not in IDX_TYPES or dims == 0:
        raise UserError(f"{name}: not an IDX file (magic number 0x{head.hex()}; "
                        "expected 0x0000TTDD with a type code TT and a dimension count DD)")
    header_size = 4 + 4 * dims
    dimensions = _read_exactly(stream, 4 * dims)
    if len(dimensions) < 4 * dims:
        raise UserError(f"{name}: header truncated ({4 + len(dimensions)} bytes, {dims} "
                        f"dimensions need {header_size})")
    shape = struct.unpack(f">{dims}I", dimensions)
    dtype = IDX_TYPES[type_code]
    shown = "x".join(map(str, shape))
    expected = math.prod(shape) * dtype.itemsize
    # a zero dimension makes the data empty, but numpy still refuses shapes whose other
    # dimensions overflow an array's size: bound those too
    if max(expected, math.prod(max(d, 1) for d in shape) * dtype.itemsize) > max_bytes:
        raise UserError(f"{name}: the header declares {shown} values ({expected} bytes), more "
                        f"than the limit of {max_bytes // (1024 * 1024)} MB")
    buffer = bytearray(expected)
    view, got = memoryview(buffer), 0
    while got < expected:
        count = stream.readinto(view[got:got + CHUNK])
        if not count:
            break
        got += count
    if got < expected:
        held = got if total is None else total - header_size
        raise UserError(f"{name}: truncated: the header promises {shown} values ({expected} "
                        f"bytes) but the file holds {held} bytes of data")
    if stream.read(1):
        extra = "" if total is None else f"{total - header_size - expected} "
        raise UserError(f"{name}: {extra}unexpected bytes after the {shown} values the header "
                        "promises")
    return np.frombuffer(buffer, dtype).reshape(shape).copy()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes (fewer only at the end of the stream)."""
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of ``array`` (the inverse of :func:`parse_idx`)."""
    array = np.asarray(array)
    codes = {dtype: code for code, dtype in IDX_TYPES.items()}
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if dtype not in codes:
        raise ValueError(f"IDX cannot store {array.dtype}")
    header = bytes([0, 0, codes[dtype], array.ndim]) + struct.pack(f">{array.ndim}I",
                                                                    *array.shape)
    return header + array.astype(dtype).tobytes()


def write_split(directory: str | Path, split: str, images: np.ndarray, labels: np.ndarray,
                compress: bool = True) -> tuple[Path, Path]:
    """Write images and labels as the two IDX files of ``split`` (gzipped if ``compress``)."""
    directory = Path(directory)
    paths = []
    for name, array in zip(SPLIT_FILES[split], (images, labels), strict=True):
        data = encode_idx(np.asarray(array, np.uint8))
        path = directory / (f"{name}.gz" if compress else name)
        _write_atomically(gzip.compress(data, mtime=0) if compress else data, path)
        paths.append(path)
    return paths[0], paths[1]


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not, recognized by its magic bytes) into an array of the
    shape its header gives. Read as a stream: memory and decompression are bounded by what the
    header declares (at most :data:`MAX_IDX_BYTES`)."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            if file.read(2) != GZIP_MAGIC:
                file.seek(0)
                return _read_idx(file, str(path), os.fstat(file.fileno()).st_size)
            file.seek(0)
            try:
                with gzip.GzipFile(fileobj=file) as stream:
                    return _read_idx(stream, str(path), None)
            except (EOFError, zlib.error, gzip.BadGzipFile) as error:
                raise UserError(f"{path}: broken or truncated gzip data "
                                f"({error or type(error).__name__})") from None
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder, not an IDX file") from None
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}") from None


def read_images(path: str | Path) -> np.ndarray:
    """An IDX image file: (N, 28, 28) uint8."""
    array = read_idx(path)
    if array.dtype != np.uint8 or array.ndim != 3:
        raise UserError(f"{path}: not an MNIST image file (expected unsigned bytes in 3 "
                        f"dimensions, found {array.dtype} in {array.ndim})")
    if array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise UserError(f"{path}: images are {array.shape[1]}x{array.shape[2]}, expected "
                        f"{IMAGE_SIZE}x{IMAGE_SIZE}")
    return array


def read_labels(path: str | Path) -> np.ndarray:
    """An IDX label file: (N,) uint8 with values 0-9."""
    array = read_idx(path)
    if array.dtype != np.uint8 or array.ndim != 1:
        raise UserError(f"{path}: not an MNIST label file (expected unsigned bytes in 1 "
                        f"dimension, found {array.dtype} in {array.ndim})")
    if array.size and int(array.max()) >= CLASSES:
        position = int(np.argmax(array >= CLASSES))
        raise UserError(f"{path}: label {int(array[position])} at position {position} is not a "
                        "digit 0-9")
    return array


def find_file(directory: Path, name: str) -> Path:
    """``directory/name`` or ``directory/name.gz``, whichever exists."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise UserError(f"{directory}: missing {name}.gz (or {name}); get the four MNIST files with "
                    "'painterly digits download --data DIR'")


def data_files(data: str | Path | None = None) -> list[Path]:
    """The MNIST files present in the folder (plain or ``.gz``)."""
    directory = data_directory(data)
    names = [name for pair in SPLIT_FILES.values() for name in pair]
    return [path for name in names for path in (directory / name, directory / f"{name}.gz")
            if path.is_file()]


def data_directory(data: str | Path | None = None) -> Path:
    """The MNIST folder: ``data`` if given, else ``$PAINTERLY_MNIST``."""
    chosen = data if data else os.environ.get(DATA_ENV)
    if not chosen:
        raise OptionError("data", f"is not given: where are the MNIST files? give their folder "
                                  f"or set {DATA_ENV}")
    directory = Path(chosen).expanduser()
    if not directory.is_dir():
        raise UserError(f"MNIST folder not found: {directory}")
    return directory


def load_split(data: str | Path | None, split: str) -> Split:
    """Read and cross-check one split ("train" or "test") from the MNIST folder."""
    if split not in SPLIT_FILES:
        raise ValueError(f"unknown split '{split}': choose from {', '.join(SPLIT_FILES)}")
    directory = data_directory(data)
    image_name, label_name = SPLIT_FILES[split]
    image_path = find_file(directory, image_name)
    label_path = find_file(directory, label_name)
    images, labels = read_images(image_path), read_labels(label_path)
    if len(images) != len(labels):
        raise UserError(f"{directory}: {split} set has {len(images)} images in "
                        f"{image_path.name} but {len(labels)} labels in {label_path.name}")
    if len(images) == 0:
        raise UserError(f"{image_path}: holds no images")
    return Split(images, labels)


def _verify(data: bytes, name: str, checksums: dict[str, str]) -> None:
    expected = checksums.get(name)
    if expected is None:
        return
    algorithm = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(expected))
    if algorithm is None:
        raise ValueError(f"checksum for {name} is neither md5, sha1 nor sha256: {expected}")
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected.lower():
        raise UserError(f"download of {name} is corrupt: {algorithm} {actual}, expected "
                        f"{expected}")


def _write_atomically(data: bytes, path: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def download(directory: str | Path, mirror: str | None = None,
             checksums: dict[str, str] | None = None, timeout: float = 60,
             progress: Callable[[str, int, int], None] | None = None) -> list[Path]:
    """Fetch the four gzipped MNIST files into ``directory`` (files already there and valid are
    kept) from ``mirror`` (default ``$PAINTERLY_MNIST_MIRROR`` or :data:`DEFAULT_MIRROR`),
    checking each against ``checksums`` (md5, sha1 or sha256 hex; default :data:`MD5_SUMS`).
    ``progress(name, index, total)`` is called before each file. Returns the paths."""
    directory = Path(directory).expanduser()
    mirror = mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR
    if not mirror.endswith("/"):
        mirror += "/"
    checksums = MD5_SUMS if checksums is None else checksums
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create {directory}: {error.strerror or error}") from None
    names = [f"{name}.gz" for pair in SPLIT_FILES.values() for name in pair]
    paths = []
    for index, name in enumerate(names):
        if progress:
            progress(name, index, len(names))
        path = directory / name
        paths.append(path)
        if path.is_file():
            try:
                _verify(path.read_bytes(), name, checksums)
                continue
            except UserError:
                pass  # a broken earlier download: fetch it again
        url = mirror + name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except urllib.error.HTTPError as error:
            raise UserError(f"cannot download {url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise UserError(f"cannot download {url}: {reason}") from None
        _verify(data, name, checksums)
        _write_atomically(data, path)
    return paths
