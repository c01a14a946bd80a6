"""Put a classic-baseline result and painterly's default result side by side, with titles.

benchmarks/speed.py writes these figures itself (``--figures docs/images``); this script rebuilds
one from saved results, e.g. from benchmarks/tune_schedule.py outputs:

    PYTHONPATH=. python scripts/speed_figure.py BASELINE.png DEFAULT.png \\
        --titles "classic: 300 evaluations" "painterly default" -o docs/images/speed_x.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from painterly import images
from painterly.figures import image_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("default", type=Path)
    parser.add_argument("--titles", nargs=2, default=("classic baseline", "painterly default"))
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--height", type=int, default=384)
    args = parser.parse_args()
    figure = image_grid([images.load_image(args.baseline), images.load_image(args.default)],
                        list(args.titles), tile_height=args.height)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    figure.save(args.output, optimize=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
