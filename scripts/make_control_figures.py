"""Make the figures of the artistic controls (docs/controls.md): docs/images/control_*.png.

Every result is one call of painterly.transfer on the built-in examples at 256 px, with a modest
number of steps so that the whole set runs in CPU minutes. Results are cached in
build/control_figures/ (delete it, or pass --fresh, to recompute).

    PYTHONPATH=. python scripts/make_control_figures.py [--only colors,mask] [--fresh]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from painterly.io import images
from painterly.io.figures import image_grid
from painterly.style import color
from painterly.style.transfer import transfer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
CACHE = ROOT / "build" / "control_figures"
SIZE = 256
MAX_BYTES = 390_000
BASE = dict(size=SIZE, min_size=128, coarse_steps=20, steps=10, seed=0)
"""Coarse to fine 128 -> 181 -> 256 px: 20 + 20 + 10 evaluations (the CPU is shared)."""
PRESET_STEPS = 25
"""The single-scale presets get 25 evaluations at 256 px (about the time of BASE)."""


CACHED_ONLY = False
"""With --cached-only, results not computed yet are left out of the figures."""


def run(name: str, content, styles, **options) -> Image.Image | None:
    """One transfer, cached by name."""
    path = CACHE / f"{name}.png"
    if path.exists():
        return Image.open(path).convert("RGB")
    if CACHED_ONLY:
        return None
    start = time.perf_counter()
    result = transfer(content, styles, **{**BASE, **options})
    images.save_image(result.tensor, path)
    print(f"{name}: {result.evaluations} evaluations, {time.perf_counter() - start:.0f} s",
          file=sys.stderr, flush=True)
    return result.image


def example(name: str, size: int = SIZE) -> Image.Image:
    return images.resize_long_side(images.load_image(name), size)


def grid(tiles: list, titles: list[str], **options) -> Image.Image:
    """image_grid without the tiles that are None (not computed, with --cached-only)."""
    kept = [(tile, title) for tile, title in zip(tiles, titles, strict=True) if tile is not None]
    return image_grid([t for t, _ in kept], [t for _, t in kept], **options)


def save(figure: Image.Image, name: str) -> None:
    """Write the figure; over MAX_BYTES, as a 256-colour PNG instead."""
    path = OUT / f"control_{name}.png"
    images.save_image(figure, path)
    if path.stat().st_size > MAX_BYTES:
        images.save_image(figure.quantize(256, method=Image.Quantize.MEDIANCUT,
                                          dither=Image.Dither.FLOYDSTEINBERG), path)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)", flush=True)


def make_mask() -> Image.Image:
    """A mask at the content's size: the sky (upper 42 %) black, the lower left grey, the lower
    right white."""
    width, height = example("tubingen").size
    pixels = np.full((height, width, 3), 255, np.uint8)
    pixels[int(height * 0.42):, : width // 2] = 128
    pixels[: int(height * 0.42)] = 0
    return Image.fromarray(pixels, "RGB")


def colors_figure() -> None:
    plain = run("plain", "tubingen", "starry_night")
    luminance = run("luminance", "tubingen", "starry_night", preserve_colors="luminance")
    match = run("match", "tubingen", "starry_night", preserve_colors="match")
    yuv = images.to_image(color.finish(images.to_tensor(plain), example("tubingen"), "yuv"))
    recoloured = images.to_image(color.match_colors(images.to_tensor(example("starry_night")),
                                                    images.to_tensor(example("tubingen"))))
    save(grid([example("tubingen"), example("starry_night"), recoloured, plain, luminance,
                     match, yuv],
                    ["content", "style", "style, recoloured (match)", "plain",
                     "--preserve-colors luminance", "--preserve-colors match",
                     "--preserve-colors yuv"],
                    columns=4, tile_height=180, heading="Colour control"), "colors")


def blend_figure() -> None:
    starry = run("plain", "tubingen", "starry_night")
    mixed = run("blend", "tubingen", ["starry_night", "the_scream"], style_blend=(0.7, 0.3))
    save(grid([example("starry_night"), example("the_scream"), starry, mixed],
                    ["style 1: starry_night", "style 2: the_scream", "starry_night only",
                     "--style-blend 0.7,0.3"], tile_height=180,
                    heading="Several styles: painterly transfer tubingen starry_night the_scream"),
         "blend")


def scale_figure() -> None:
    tiles = [run(f"scale{scale}", "tubingen", "starry_night", style_scale=scale)
             if scale != 1 else run("plain", "tubingen", "starry_night")
             for scale in (0.5, 1.0, 2.0)]
    save(grid(tiles, ["--style-scale 0.5", "--style-scale 1", "--style-scale 2"],
                    tile_height=180, heading="Style scale: size of the style image relative "
                    "to the content"), "scale")


def mask_figure() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    mask = make_mask()
    mask.save(CACHE / "mask_input.png")
    result = run("mask_result", "tubingen", ["starry_night", "none", "the_scream"],
                 mask=str(CACHE / "mask_input.png"))
    save(grid([example("tubingen"), mask, result],
                    ["content", "mask: black, grey, white",
                     "starry_night none the_scream"], tile_height=180,
                    heading="Regions: --mask, one style per colour (darkest first)"), "mask")


def layers_figure() -> None:
    plain = run("plain", "tubingen", "starry_night")
    inverse = run("inverse", "tubingen", "starry_night", layer_weights="inverse-channels")
    meanstd = run("meanstd", "tubingen", "starry_night", style_loss="meanstd")
    save(grid([plain, inverse, meanstd],
                    ["gram, equal layer weights", "gram, inverse-channels", "--style-loss meanstd"],
                    tile_height=180,
                    heading="Style layer weights and style statistic (starry_night)"), "layers")


def presets_figure() -> None:
    tiles = [run("plain", "tubingen", "starry_night"),
             run("gatys", "tubingen", "starry_night", preset="gatys", size=SIZE,
                 steps=PRESET_STEPS, min_size=8192),
             run("johnson", "tubingen", "starry_night", preset="johnson", size=SIZE,
                 steps=PRESET_STEPS, min_size=8192)]
    save(grid(tiles, ["painterly (default)", f"gatys, {PRESET_STEPS} evaluations",
                            f"johnson, {PRESET_STEPS} evaluations"], tile_height=180,
                    heading="Presets at 256 px (starry_night)"), "presets")


FIGURES = {"colors": colors_figure, "mask": mask_figure, "blend": blend_figure,
           "layers": layers_figure, "presets": presets_figure, "scale": scale_figure}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(FIGURES),
                        help=f"comma-separated figures (default all: {','.join(FIGURES)})")
    parser.add_argument("--fresh", action="store_true", help="ignore cached results")
    parser.add_argument("--cached-only", action="store_true",
                        help="make the figures from the results computed so far")
    args = parser.parse_args()
    global CACHED_ONLY
    CACHED_ONLY = args.cached_only
    CACHE.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for path in CACHE.glob("*.png"):
            path.unlink()
    for name in args.only.split(","):
        FIGURES[name.strip()]()


if __name__ == "__main__":
    main()
