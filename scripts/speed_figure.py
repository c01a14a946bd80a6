"""Classic-baseline results beside painterly's default results, one row per image pair, with
titles, as one JPEG (the PNGs of three pairs came to 2.7 MB).

benchmarks/speed.py writes this figure itself (``--figures docs/images``); this script rebuilds
it from the images a run saved in its output folder:

    PYTHONPATH=. python scripts/speed_figure.py -o docs/images/speed_comparison.jpg \\
        --row OUT/a_baseline.png OUT/a_default.png "classic: 309 s" "painterly: 34 s" \\
        --row OUT/b_baseline.png OUT/b_default.png "classic: 265 s" "painterly: 34 s"
"""

from __future__ import annotations

import argparse
from pathlib import Path

from painterly.io import images
from painterly.io.figures import image_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--row", nargs=4, action="append", required=True,
                        metavar=("BASELINE", "DEFAULT", "BASELINE_TITLE", "DEFAULT_TITLE"))
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--height", type=int, default=300)
    args = parser.parse_args()
    tiles = [images.load_image(path) for row in args.row for path in row[:2]]
    titles = [title for row in args.row for title in row[2:]]
    figure = image_grid(tiles, titles, columns=2, tile_height=args.height)
    with images.atomic_file(args.output) as stream:  # a figure: JPEG q85 keeps it small
        figure.save(stream, "JPEG", quality=85)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
