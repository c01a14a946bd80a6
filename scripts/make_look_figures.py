"""The pictures of docs/look.md and the README: one pair at five strengths, and photo | painterly
default | classic reference | painting for several pairs.

    PYTHONPATH=. python scripts/make_look_figures.py strength [--size 384]
    PYTHONPATH=. python scripts/make_look_figures.py compare --reference gatys
    PYTHONPATH=. python scripts/make_look_figures.py compare --reference classic300 \
        --reference-title "classic: 300 evaluations, clipped"
    PYTHONPATH=. python scripts/make_look_figures.py sizes --configs before,after

``strength`` runs the transfers itself; ``compare`` takes the results that benchmarks/look.py
saved (benchmarks/out/look/CONFIG/PAIR.png), ``sizes`` those of benchmarks/sizes.py
(benchmarks/out/sizes/CONFIG/PAIR-SIZE.png). Only the Tübingen photo and public-domain paintings
go into the figures (see ../shared/images/ATTRIBUTION.md for the others' licences).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import painterly
from painterly.io import images
from painterly.io.figures import image_grid

DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"
LOOK = Path(__file__).resolve().parents[1] / "benchmarks" / "out" / "look"
STRENGTHS = (0.01, 0.1, 0.3, 1.0, 3.0)
COMPARED = ("starry_night", "the_scream", "great_wave", "composition_vii")
PAIR_NAMES = {"shipwreck_of_the_minotaur": "shipwreck"}


def _save_jpeg(figure, path: Path) -> None:
    with images.atomic_file(path) as stream:
        figure.save(stream, "JPEG", quality=88)
    print(path)


def strength_strip(size: int, style: str) -> None:
    tiles, titles = [], []
    for strength in STRENGTHS:
        result = painterly.transfer("tubingen", style, size=size, strength=strength)
        tiles.append(result.image)
        titles.append(f"--strength {strength:g}" + (" (default)" if strength == 1 else ""))
    _save_jpeg(image_grid(tiles, titles, tile_height=min(size * 3 // 4, 240)),
               DOCS / "strength_strip.jpg")


SPEED = Path(__file__).resolve().parents[1] / "benchmarks" / "out" / "speed"


def comparison(reference: str, reference_title: str) -> None:
    """Photo | default | reference | painting for the pairs of COMPARED that have both results;
    ``reference`` is a configuration of benchmarks/look.py, or ``classic300``: the baseline
    images that benchmarks/speed.py saved."""
    tiles, titles = [], []
    for style in COMPARED:
        pair = f"tubingen-{PAIR_NAMES.get(style, style)}"
        default = LOOK / "default" / f"tubingen-{style}.png"
        default = default if default.exists() else LOOK / "default" / f"{pair}.png"
        other = SPEED / f"tubingen_{style}_512_baseline.png" if reference == "classic300" \
            else LOOK / reference / f"{pair}.png"
        if not (default.exists() and other.exists()):
            continue
        tiles += [images.load_image("tubingen"), images.load_image(default),
                  images.load_image(other), images.load_image(style)]
        titles += ["photo", "painterly default", reference_title, style.replace("_", " ")]
    _save_jpeg(image_grid(tiles, titles, columns=4, tile_height=200), DOCS / "look_comparison.jpg")


SIZES = Path(__file__).resolve().parents[1] / "benchmarks" / "out" / "sizes"
SIZE_STRIP = "128,256,384,512,1024"


def size_strips(configs: list[str], pair: str, sizes: list[int]) -> None:
    """One row per configuration: ``pair`` at each of ``sizes``, all shown at the same
    height (a configuration without a result at some size borrows another's, e.g. at 512 px and
    above, where they agree)."""
    tiles, titles = [], []
    for config in configs:
        for size in sizes:
            path = next((SIZES / c / f"{pair}-{size}.png" for c in (config, *configs)
                         if (SIZES / c / f"{pair}-{size}.png").exists()), None)
            if path is None:
                raise SystemExit(f"no {size} px result of {pair}: run benchmarks/sizes.py")
            tiles.append(images.load_image(path))
            titles.append(f"{config}: {size} px")
    _save_jpeg(image_grid(tiles, titles, columns=len(sizes), tile_height=192),
               DOCS / "look_sizes.jpg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["strength", "compare", "sizes"])
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--style", default="the_scream")
    parser.add_argument("--reference", default="gatys",
                        help="the configuration of benchmarks/look.py to compare with, or "
                             "classic300 (benchmarks/speed.py's baselines)")
    parser.add_argument("--reference-title", default="classic: --preset gatys, 500 evaluations")
    parser.add_argument("--configs", default="before,after",
                        help="sizes: the configurations of benchmarks/sizes.py, one row each")
    parser.add_argument("--pair", default="tubingen-starry_night", help="sizes: the pair shown")
    parser.add_argument("--sizes", default=SIZE_STRIP, help="sizes: the sizes shown")
    args = parser.parse_args()
    if args.what == "strength":
        strength_strip(args.size, args.style)
    elif args.what == "sizes":
        size_strips(args.configs.split(","), args.pair, [int(v) for v in args.sizes.split(",")])
    else:
        comparison(args.reference, args.reference_title)


if __name__ == "__main__":
    main()
