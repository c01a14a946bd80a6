"""Regenerate the figures of the lecture's experiments into docs/images/.

    PYTHONPATH=. python scripts/make_figures.py                  # all figures, 256 px
    PYTHONPATH=. python scripts/make_figures.py --only content   # one of them

Each figure goes through the same Python API as the ``painterly`` commands. The script prints the
numbers docs/lecture.md quotes (PSNR per layer, Gram-loss reduction per layer set) and the time of
each figure with the load average, so a run documents itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from painterly.io import images
from painterly.lecture import experiments

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "images"
FIGURES = ("filters", "features", "content", "style", "grid")
PAINTINGS = ("starry_night", "the_scream")


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def content_figure(args) -> None:
    results = experiments.reconstruct_content("tubingen", experiments.CONTENT_LAYERS,
                                              size=args.size, steps=args.steps,
                                              device=args.device)
    for result in results:
        print(f"  {result.layers[0]}: PSNR {result.psnr:.1f} dB, content loss "
              f"/{result.loss_reduction:.2g}, {result.seconds:.0f} s")
    width, height = results[0].image.size
    heading = (f"Content reconstructions of Tubingen from white noise, {width}x{height}, "
               f"{args.steps} L-BFGS steps each")
    images.save_image(experiments.reconstruction_figure(results, heading=heading),
                      OUTPUT / "content-reconstructions.png")


def style_figure(args) -> None:
    for painting in args.paintings:
        results = experiments.reconstruct_style_cumulative(painting, experiments.STYLE_LAYERS,
                                                           size=args.size, steps=args.steps,
                                                           device=args.device)
        for result in results:
            print(f"  {painting} {'+'.join(result.layers)}: Gram loss "
                  f"{result.start_terms.total:.3g} -> {result.terms.total:.3g} "
                  f"(/{result.loss_reduction:.2g}), {result.seconds:.0f} s")
        heading = (f"Style reconstructions of {painting.replace('_', ' ')} from white noise, "
                   f"{args.steps} L-BFGS steps each")
        images.save_image(experiments.reconstruction_figure(results, heading=heading),
                          OUTPUT / f"style-reconstructions-{painting.replace('_', '-')}.png")


def features_figure(args) -> None:
    images.save_image(experiments.feature_map_figure("tubingen", "conv1_1", maps="0-31",
                                                     size=args.size),
                      OUTPUT / "feature-maps-conv1_1.png")


def filters_figure(args) -> None:
    images.save_image(experiments.filter_figure("conv1_1"), OUTPUT / "filters-conv1_1.png")


def grid_figure(args) -> None:
    result = experiments.result_grid("tubingen", args.paintings, size=args.size,
                                     min_size=min(128, args.size), device=args.device)
    images.save_image(result.figure, OUTPUT / "result-grid.png")


MAKERS = {"filters": filters_figure, "features": features_figure, "content": content_figure,
          "style": style_figure, "grid": grid_figure}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=list(FIGURES))
    parser.add_argument("--paintings", nargs="+", default=list(PAINTINGS),
                        help=f"for the style and result figures (default {' '.join(PAINTINGS)})")
    parser.add_argument("--size", type=int, default=256, help="long side (default 256)")
    parser.add_argument("--steps", type=int, default=200,
                        help="L-BFGS evaluations per reconstruction (default 200)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    args = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        print(f"{name}: load average before {load()}", flush=True)
        start = time.perf_counter()
        MAKERS[name](args)
        print(f"{name}: {time.perf_counter() - start:.0f} s, load average after {load()}",
              flush=True)
    for path in sorted(OUTPUT.glob("*.png")):
        print(f"{path.relative_to(OUTPUT.parent.parent)}: {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
