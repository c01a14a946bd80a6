"""Labelled figures made of images: grids with titles, for the experiments and the docs."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)


def font(size: int = 16) -> ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` px (no font files, no network)."""
    return ImageFont.load_default(size=size)


def image_grid(tiles: Sequence[Image.Image], titles: Sequence[str] | None = None, *,
               columns: int | None = None, tile_height: int | None = None,
               heading: str | None = None, gap: int = 8, font_size: int = 16) -> Image.Image:
    """Tiles side by side (``columns`` per row), each scaled to ``tile_height`` (default: the
    tallest) with its title above it, and an optional heading over the whole figure."""
    if not tiles:
        raise ValueError("no images to put in a grid")
    titles = list(titles) if titles is not None else [""] * len(tiles)
    columns = columns or len(tiles)
    height = tile_height or max(tile.height for tile in tiles)
    scaled = [tile.convert("RGB").resize((max(1, round(tile.width * height / tile.height)),
                                          height), Image.Resampling.LANCZOS)
              if tile.height != height else tile.convert("RGB") for tile in tiles]
    cell_width = max(tile.width for tile in scaled)
    label_font = font(font_size)
    label_height = font_size + 8 if any(titles) else 0
    heading_height = font_size + 16 if heading else 0
    rows = -(-len(scaled) // columns)
    width = columns * cell_width + (columns + 1) * gap
    total_height = heading_height + rows * (height + label_height) + (rows + 1) * gap
    figure = Image.new("RGB", (width, total_height), BACKGROUND)
    draw = ImageDraw.Draw(figure)
    if heading:
        draw.text((width / 2, gap + font_size / 2 + 4), heading, fill=INK, font=font(font_size + 2),
                  anchor="mm")
    for index, (tile, title) in enumerate(zip(scaled, titles, strict=True)):
        row, column = divmod(index, columns)
        left = gap + column * (cell_width + gap) + (cell_width - tile.width) // 2
        top = heading_height + gap + row * (height + label_height + gap)
        if title:
            draw.text((left + tile.width / 2, top + label_height / 2), title, fill=INK,
                      font=label_font, anchor="mm")
        figure.paste(tile, (left, top + label_height))
    return figure


def with_inset(image: Image.Image, inset: Image.Image, *, fraction: float = 0.3,
               border: int = 2) -> Image.Image:
    """``image`` with a small copy of ``inset`` (e.g. the painting a result was styled after) in
    its bottom-right corner, framed in white, its long side ``fraction`` of the image's short
    side."""
    result = image.convert("RGB").copy()
    side = max(8, round(min(result.size) * fraction))
    scale = side / max(inset.size)
    small = inset.convert("RGB").resize((max(1, round(inset.width * scale)),
                                         max(1, round(inset.height * scale))),
                                        Image.Resampling.LANCZOS)
    left = result.width - small.width - border
    top = result.height - small.height - border
    ImageDraw.Draw(result).rectangle((left - border, top - border, result.width, result.height),
                                     fill=BACKGROUND)
    result.paste(small, (left, top))
    return result
