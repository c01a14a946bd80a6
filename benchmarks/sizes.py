"""The same look at every size: each size's result against the 512 px result seen at that size.

    python benchmarks/sizes.py run [--configs default] [--pairs a,b] [--sizes 128,...,1024]
    python benchmarks/sizes.py score [--configs default] [--sizes ...] > table.md

``run`` stylizes every pair at every size with every configuration (kept in
benchmarks/out/sizes/CONFIG/PAIR-SIZE.png, so an interrupted run continues). ``score`` compares
each result with the same configuration's 512 px result: below 512 px, the 512 px result
downscaled (Lanczos) to that size; above, the result downscaled to 512 px. Both images are scored
at the smaller size with benchmarks/look_measures.py: content distance to the photo (relu4_2),
sliced-Wasserstein style distance to the painting and the CIELAB colour distance (L* on the 8-bit
scale, per channel). Targets: content and style within 1.15x of the reference's, colour within
1.15x + 0.5. Needs ../shared/images (see its ATTRIBUTION.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from PIL import Image

import painterly
from painterly.io import images

sys.path.insert(0, str(Path(__file__).parent))
from look import chosen, image_path
from look_measures import Scorer, colour_channels

OUT = Path(__file__).resolve().parent / "out" / "sizes"
REFERENCE = 512

PAIRS = {  # name: (photo, painting, what the pair tests)
    "tubingen-starry_night": ("tubingen", "starry_night", "town; swirling strokes"),
    "brad_pitt-picasso": ("brad_pitt", "picasso_self_portrait_1907", "portrait; flat colour"),
    "hoovertowernight-udnie": ("hoovertowernight", "udnie", "night; abstract"),
    "dancing-the_scream": ("dancing", "the_scream", "close-up; flowing bands"),
    "golden_gate-woman_with_a_hat": ("golden_gate", "woman_with_a_hat", "landscape; flat colour"),
    "chicago-great_wave": ("chicago", "great_wave", "architecture; woodcut lines"),
    "schultenhof_garden-shipwreck": ("schultenhof_garden", "shipwreck_of_the_minotaur",
                                     "garden; fine texture"),
    "tubingen-composition_vii": ("tubingen", "composition_vii", "town; abstract"),
}
SMALL = (128, 192, 256, 384)
LARGE = (1024, 2048)
CONFIGS: dict[str, dict] = {"default": {}}
TARGET = 1.15
COLOUR_SLACK = 0.5


def result_file(config: str, pair: str, size: int) -> Path:
    return OUT / config / f"{pair}-{size}.png"


def run(pairs: list[str], configs: list[str], sizes: list[int], extra: dict[str, dict]) -> None:
    for config in configs:
        options = {**CONFIGS.get(config, {}), **extra.get(config, {})}
        (OUT / config).mkdir(parents=True, exist_ok=True)
        for pair in pairs:
            for size in sizes:
                target = result_file(config, pair, size)
                if target.exists():
                    continue
                photo, painting, _ = PAIRS[pair]
                print(f"{config} {pair} {size} px ...", file=sys.stderr, flush=True)
                start = time.perf_counter()
                result = painterly.transfer(image_path(photo, "content"),
                                            image_path(painting, "style"), size=size, **options)
                seconds = time.perf_counter() - start
                painterly.save_image(result.image, target)
                target.with_suffix(".json").write_text(json.dumps(
                    {"seconds": round(seconds, 2), "evaluations": result.evaluations,
                     "options": options}))
                print(f"  {seconds:.1f} s", file=sys.stderr)


def _fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)


def measures(scorer: Scorer, image: Image.Image) -> dict[str, float]:
    """Content, style and colour (with its L*, a*, b* parts) of ``image`` at the scorer's size."""
    image = image.convert("RGB")
    lightness, a, b = colour_channels(images.resize_long_side(image, scorer.size),
                                      scorer.painting)
    return {"content": scorer.content_distance(image), "style": scorer.style_distance(image),
            "colour": (lightness + a + b) / 3, "L": lightness, "a": a, "b": b}


def score_pair(pair: str, config: str, sizes: list[int], reference_config: str | None = None
               ) -> list[dict]:
    """One row per size: the result's measures, its reference's (the 512 px result of
    ``reference_config``, by default ``config``'s own), and the ratios."""
    photo, painting, _ = PAIRS[pair]
    reference_png = result_file(reference_config or config, pair, REFERENCE)
    if not reference_png.exists():
        return []
    reference = painterly.load_image(reference_png)
    photo_image = painterly.load_image(image_path(photo, "content"))
    painting_image = painterly.load_image(image_path(painting, "style"))
    rows = []
    for size in sizes:
        png = result_file(config, pair, size)
        if size == REFERENCE or not png.exists():
            continue
        result = painterly.load_image(png)
        scorer = Scorer(painting_image, photo_image, min(size, REFERENCE))
        if size < REFERENCE:
            mine, theirs = result, _fit(reference, result.size)
        else:
            mine, theirs = _fit(result, reference.size), reference
        m, r = measures(scorer, mine), measures(scorer, theirs)
        rows.append({"pair": pair, "size": size, "result": m, "reference": r,
                     "content": m["content"] / r["content"], "style": m["style"] / r["style"],
                     "colour_limit": TARGET * r["colour"] + COLOUR_SLACK})
    return rows


def verdict(row: dict) -> bool:
    return (row["content"] <= TARGET and row["style"] <= TARGET
            and row["result"]["colour"] <= row["colour_limit"])


def print_table(rows: list[dict]) -> None:
    print("| pair | size | content ratio | style ratio | colour (limit) | L* / a* / b* "
          "(reference's) | within target |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        m, r = row["result"], row["reference"]
        print(f"| {row['pair']} | {row['size']} | {row['content']:.2f} | {row['style']:.2f} | "
              f"{m['colour']:.2f} ({row['colour_limit']:.2f}) | {m['L']:.1f} / {m['a']:.1f} / "
              f"{m['b']:.1f} ({r['L']:.1f} / {r['a']:.1f} / {r['b']:.1f}) | "
              f"{'yes' if verdict(row) else '**no**'} |")
    met = sum(verdict(row) for row in rows)
    print(f"\n{met} of {len(rows)} within target.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["run", "score"])
    parser.add_argument("--pairs", default=",".join(PAIRS))
    parser.add_argument("--configs", default="default")
    parser.add_argument("--sizes", default=",".join(map(str, (*SMALL, REFERENCE, *LARGE))))
    parser.add_argument("--config", action="append", default=[], metavar="NAME=JSON",
                        help="an extra configuration: transfer options as JSON")
    parser.add_argument("--reference", help="score against this configuration's 512 px "
                                             "results (default: each configuration's own)")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    args = parser.parse_args()
    pairs, configs, extra = chosen(parser, args, PAIRS, CONFIGS)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.what == "run":
        run(pairs, configs, sizes, extra)
        return
    rows = []
    for config in configs:
        print(f"\n**{config}**\n")
        config_rows = [row for pair in pairs
                       for row in score_pair(pair, config, sizes, args.reference)]
        print_table(config_rows)
        rows += [{"config": config, **row} for row in config_rows]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
