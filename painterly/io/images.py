"""Image files in and out: safe loading to RGB, tensors, resizing, atomic saving.

Everything that touches an image file goes through here, so every command gets the same checks and
the same one-line errors (:class:`~painterly.errors.UserError`).
"""

from __future__ import annotations

import io
import math
import os
import struct
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from painterly.errors import UserError
from painterly.examples import example_names, example_path
from painterly.io.files import InputFiles, atomic_file, check_name, file_problem

ImageSource = str | os.PathLike | Image.Image
"""A path, the name of a built-in example (``"tubingen"``), or a PIL image."""

MAX_INPUT_PIXELS = 100_000_000
"""Inputs whose header claims more pixels than this are refused before decoding (bomb guard)."""

OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}
"""Output format by file extension."""

BACKGROUND = (255, 255, 255)
"""Transparent pixels are composited over white."""


def resolve_source(source: str | os.PathLike) -> Path:
    """The file behind ``source``: an existing path, or a built-in example's name."""
    path = Path(source)
    if not path.exists() and str(source) in example_names():
        return example_path(str(source))
    return path


def load_image(source: ImageSource, *, what: str = "image",
               max_pixels: int = MAX_INPUT_PIXELS) -> Image.Image:
    """Load an image as 8-bit sRGB ``RGB``: EXIF orientation applied, alpha composited over white,
    grayscale / palette / CMYK / 16-bit converted, an embedded ICC profile converted to sRGB.

    ``what`` names the input in error messages ("content image", "style image", ...); a file
    whose header claims more than ``max_pixels`` pixels is refused before it is decoded.
    """
    if isinstance(source, Image.Image):
        return _normalize(source)
    path = resolve_source(source)
    if not path.exists():
        names = ", ".join(example_names())
        hint = f" (built-in examples: {names})" if "/" not in str(source) else ""
        raise UserError(f"{what} not found: {source}{hint}")
    problem = file_problem(path)
    if problem is not None:
        raise UserError(f"{what} {problem}: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes on odd files: not the user's concern
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            width, height = image.size
            if width * height > max_pixels:
                raise UserError(
                    f"{what} claims {width}x{height} pixels, more than the limit of "
                    f"{max_pixels / 1_000_000:g} megapixels: {path}"
                )
            image.load()
            return _normalize(image)
    except UserError:
        raise
    except UnidentifiedImageError:
        raise UserError(f"{what} is not an image file Pillow can read: {path}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"{what} claims more pixels than the limit of "
                        f"{max_pixels / 1_000_000:g} megapixels: {path}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise UserError(f"{what} is damaged or truncated ({error}): {path}") from None
    except (TypeError, IndexError, KeyError, ArithmeticError, struct.error) as error:
        # Pillow's decoders trip over some malformed headers (a TIFF strip offset stored as a
        # float: TypeError): the file is damaged, not the program
        raise UserError(f"{what} is damaged ({type(error).__name__} while decoding): "
                        f"{path}") from None


def _normalize(image: Image.Image) -> Image.Image:
    """Bring any decoded PIL image to 8-bit sRGB RGB."""
    image = ImageOps.exif_transpose(image)
    image = _to_srgb(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if values.max(initial=0) > 255:
            values = values / 257.0
        image = Image.fromarray(np.clip(values.round(), 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels with an embedded ICC profile to sRGB (no-op without a profile)."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower():
            return image
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                         outputMode=mode)
    except (ImportError, OSError, ValueError, ImageCms.PyCMSError):
        return image  # an unreadable profile: use the pixels as they are


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB image -> float tensor of shape (1, 3, H, W) with values in 0..1."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_image(tensor: torch.Tensor) -> Image.Image:
    """Float tensor (1, 3, H, W) or (3, H, W) in 0..1 -> 8-bit PIL RGB image (values clipped)."""
    pixels = tensor.detach().float().cpu().squeeze(0).clamp(0, 1).mul(255).round()
    return Image.fromarray(pixels.to(torch.uint8).permute(1, 2, 0).numpy(), "RGB")


def fit_long_side(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) scaled so that the longer side is ``long_side`` px, aspect kept."""
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def smallest_long_side(width: int, height: int, min_side: int) -> int:
    """The smallest long side at which an image of ``width`` x ``height`` keeps its short side at
    least ``min_side`` px (a very wide banner needs a large one)."""
    needed = max(min_side, math.ceil(min_side * max(width, height) / min(width, height)))
    while min(fit_long_side(width, height, needed)) < min_side:
        needed += 1
    return needed


def resize_long_side(image: Image.Image, long_side: int) -> Image.Image:
    """Resize (Lanczos) so that the longer side is ``long_side`` pixels."""
    size = fit_long_side(*image.size, long_side)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def resize_tensor(tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize an image batch to ``(height, width)``: bicubic, antialiased when shrinking."""
    if tuple(tensor.shape[-2:]) == tuple(size):
        return tensor
    return F.interpolate(tensor, size=size, mode="bicubic", align_corners=False,
                         antialias=True).clamp(0, 1)


def check_output_path(path: str | os.PathLike,
                      inputs: Iterable[ImageSource | None] = ()) -> Path:
    """Fail early (before any long work) if ``path`` cannot be written as an image, or if it is
    one of ``inputs`` (the result would replace a photo)."""
    check_name(path)
    path = Path(path)
    input_files(inputs).check(path)
    if path.suffix.lower() not in OUTPUT_FORMATS:
        raise UserError(
            f"cannot tell the output format from '{path.name}': use one of "
            f"{', '.join(sorted(OUTPUT_FORMATS))}"
        )
    if path.is_dir():
        raise UserError(f"output path is a directory: {path}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise UserError(f"output folder is not writable: {parent}")
    return path


def input_files(sources: Iterable[ImageSource | None]) -> InputFiles:
    """The output guard over ``sources`` (paths or built-in example names; images in memory and
    None are no files)."""
    return InputFiles(resolve_source(source) for source in sources
                      if isinstance(source, str | os.PathLike))


def save_image(image: Image.Image | torch.Tensor, path: str | os.PathLike) -> Path:
    """Write an image atomically (temporary file, then rename): an existing file is only ever
    replaced by a complete new one. Format by extension; JPEG at quality 95 without chroma
    subsampling; TIFF from a tensor keeps 16 bits per channel."""
    path = check_output_path(path)
    fmt = OUTPUT_FORMATS[path.suffix.lower()]
    with atomic_file(path) as stream:
        if fmt == "TIFF" and isinstance(image, torch.Tensor):
            stream.write(tiff16_bytes(image))
        else:
            pil = to_image(image) if isinstance(image, torch.Tensor) else image
            options = {"quality": 95, "subsampling": 0} if fmt == "JPEG" else {}
            pil.save(stream, format=fmt, **options)
    return path


def tiff16_bytes(tensor: torch.Tensor) -> bytes:
    """An uncompressed baseline TIFF, RGB, 16 bits per channel, from a (1, 3, H, W) 0..1 tensor."""
    pixels = tensor.detach().float().cpu().squeeze(0).clamp(0, 1).mul(65535).round()
    data = pixels.to(torch.int32).permute(1, 2, 0).numpy().astype("<u2").tobytes()
    height, width = pixels.shape[-2:]
    entries = [  # tag, type (3 SHORT, 4 LONG), count, value
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 3, None), (259, 3, 1, 1),
        (262, 3, 1, 2), (273, 4, 1, None), (277, 3, 1, 3), (278, 4, 1, height),
        (279, 4, 1, len(data)), (284, 3, 1, 1),
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = ifd_offset + ifd_size
    data_offset = bits_offset + 6
    out = bytearray(b"II*\x00" + ifd_offset.to_bytes(4, "little"))
    out += len(entries).to_bytes(2, "little")
    for tag, kind, count, value in entries:
        if tag == 258:
            value = bits_offset
        elif tag == 273:
            value = data_offset
        out += tag.to_bytes(2, "little") + kind.to_bytes(2, "little") + count.to_bytes(4, "little")
        if kind == 3 and count == 1:
            out += value.to_bytes(2, "little") + b"\x00\x00"
        else:
            out += value.to_bytes(4, "little")
    out += (0).to_bytes(4, "little")
    out += (16).to_bytes(2, "little") * 3
    out += data
    return bytes(out)
