"""Inputs that once crashed a loader (found by tests/test_fuzz.py or benchmarks/fuzz.py), kept
as they were found: each must now be refused with one clean line."""

from __future__ import annotations

import contextlib
import gzip
import io
import pickle
import warnings

import pytest
import torch

from painterly.errors import UserError
from tests.fuzz_targets import TARGETS


def weights_file(state) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "message"), [
    (b"", "weights file"),  # torch's EOFError has no message: IndexError on its first line
    (weights_file({"features.0.weight": 1, "features.0.bias": 2}), "not a VGG-19 state dict"),
    (weights_file({1: torch.zeros(1)}), "not a VGG-19 state dict"),  # a key that is no text
    (pickle.dumps({"a": 1}, protocol=4), "a pickle of Python objects"),  # torch warned 3 lines
])
def test_weights_files_that_crashed(data, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserError, match=message) as raised:
            TARGETS["weights"].run(data)
    assert "\n" not in str(raised.value) and "weights_only" not in str(raised.value)


def tiff_with_a_float_strip_offset() -> bytes:
    """Found by benchmarks/fuzz.py --loader image: StripOffsets stored as FLOAT (type 11)."""
    import struct

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (1, 2, 3)).save(buffer, "TIFF")
    data = bytearray(buffer.getvalue())
    directory = struct.unpack("<I", data[4:8])[0]
    for index in range(struct.unpack("<H", data[directory:directory + 2])[0]):
        at = directory + 2 + 12 * index
        if struct.unpack("<H", data[at:at + 2])[0] == 273:
            data[at + 2:at + 4] = struct.pack("<H", 11)
    return bytes(data)


@pytest.mark.parametrize("target", ["image", "mask", "init"])
def test_an_image_pillow_trips_over_is_refused_as_damaged(target):
    with pytest.raises(UserError, match="is damaged"):
        TARGETS[target].run(tiff_with_a_float_strip_offset())


def test_an_idx_header_with_a_zero_and_huge_dimensions_is_refused():
    """Found by benchmarks/fuzz.py --plain --loader idx: 0 x 2^30 x ... values are no data, but
    numpy refused the shape (ValueError: array is too big)."""
    import struct

    header = bytes([0, 0, 0x08, 4]) + struct.pack(">4I", 0, 2**30, 2**30, 2**30)
    for data in (header, gzip.compress(header, mtime=0)):
        with pytest.raises(UserError, match="the header declares 0x1073741824"):
            TARGETS["idx"].run(data)
    with pytest.raises(UserError, match="the header declares"):
        TARGETS["idx"].run(CRASHED_IDX)


CRASHED_IDX = bytes.fromhex("00000e09000000033ff00000000000003ff000000000eb5f296e0ddf32fb00003ff0"
                            "0000000000c8")


def test_a_clip_whose_codec_ffmpeg_does_not_know_is_refused():
    """Found by benchmarks/fuzz.py --loader clip: an MP4 whose sample entry names an unknown
    codec has no codec context, and the message read a field PyAV does not have
    (AttributeError)."""
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from painterly.video.synthetic import SyntheticClip

    with TemporaryDirectory() as folder:
        data = SyntheticClip(width=16, height=12).write(Path(folder) / "seed.mp4", 2,
                                                         fps=8).read_bytes()
    entry = data.index(b"avc1", data.index(b"stsd"))
    with pytest.raises(UserError, match="codec is unknown to this FFmpeg build"):
        TARGETS["clip"].run(data[:entry] + b"zzzz" + data[entry + 4:])


def test_a_cut_animated_gif_is_refused_as_a_clip():
    """Found by benchmarks/fuzz.py --loader clip: Pillow's frame count of a GIF cut inside its
    second frame raises IndexError, which escaped the still-image check (on the command line,
    and as an HTTP 500 for a web upload)."""
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from painterly.video.synthetic import SyntheticClip

    with TemporaryDirectory() as folder:
        data = SyntheticClip(width=16, height=12).write(Path(folder) / "seed.gif", 2,
                                                         fps=8).read_bytes()
    for cut in range(len(data) * 3 // 4, len(data), 7):
        with contextlib.suppress(UserError):
            TARGETS["clip"].run(data[:cut])


WEBM_FRAME_FFMPEG_CANNOT_CONVERT = (  # zlib, then base64: 846 bytes as found
    "eNqTcr2/eL5TWyOj03cg/tTI4vS5kcOpqaU8NSnXqb2Ryam1kUkiuCGdkQEEmEUFfWeX7PLd3R28ukXUc2Va8JrG"
    "hRCeWMi6bCDvhu/uHiBPKORwevCaJkZpCFcmeDdQsonp/xuIOQyRDLQCIFdt0rq+sZnfycG3odcnsSzNzEjPEIgM"
    "jMMdUfkunR0O+Q5gbSDn71sHdZ3p9UbG4qMdjfJr8gOKwh/PaWRQ2jqnuTQvpaORoa01LD4swLK5kVH5cXMLe3Gk"
    "w4O2DY0Cuxp5QH6+UVy8IPlAQ/qJWa6L2139nP1dXINc2lFtLS7elHygOxlhfvqJha6LO1xCgxxDPP39XNonGxhY"
    "gZGekakBBDDIO28rdWx83siw2NGgkYGhocmz2ekAwweGbQwWKjISfAwMBgkMDAL7//89ZHNhvcbMhgd3i9YesZ/8"
    "yeN5q+fsItP783bqxj5dJ+Rt11Ody5Mwo41j09akAMUd3lwPSxel6E26VWNcWmjV77f5d5P28Tl6tle/ih+LcJPc"
    "uv5b8wL3jvm8B+6F6J3P7+GaVlgml9o9s2LhMraud7y3Uk792xv8rDrm+Db34O0/Aw4903gtvsLsNAtDc/yv0q2d"
    "Hn8ua4fNfD1rmwrjnz3Sn4XiNm7Y////f3uHy/7KDv8fPz2Qltd8kzXWq/5wzk+n//rdUmH6glYCV1I3tle8Xzbv"
    "jmpqh5fUUank+ifm8b1tHe/////H4HzOS4zR8dvWo+v5rBL3/1t+Z53n1YolCyL+d5VPcUx4ejX5cLHfkjevDNYy"
    "eJ258qewf/vp5wuO7XO4vcHwfwbD4pONDLUMbQwOk+YwuAFTswIDQ+EnNqY1exWPFy2/0q967cfB2l8OZ8Kd2ufn"
    "8t+e8mWHX93iS3qyEx2VWbnSPadxXk79GJK7VfjL3yMOoBQ9cXf/5kaG7V3AnPOxibHiQyMzAMdWSo8="
)


def test_a_frame_ffmpeg_cannot_convert_is_refused():
    """Found by benchmarks/fuzz.py --loader clip after 45,677 inputs: a mutated WebM whose
    frame decodes but cannot be converted to RGB (av.error.OSError from the reformatter) escaped
    as an internal error while the frames were read."""
    import base64
    import zlib

    data = zlib.decompress(base64.b64decode(WEBM_FRAME_FFMPEG_CANNOT_CONVERT))
    with pytest.raises(UserError, match="cannot convert to RGB"):
        TARGETS["clip"].run(data)
