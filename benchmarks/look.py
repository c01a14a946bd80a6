"""The default look against the classic recipes on many photo × painting pairs.

    python benchmarks/look.py run [--configs default,gatys,johnson] [--pairs a,b] [--size 512]
    python benchmarks/look.py score [--configs ...] > table.md

``run`` stylizes every pair with every configuration (results are kept in benchmarks/out/look/,
so an interrupted run continues where it stopped); ``score`` measures every saved result with
benchmarks/look_measures.py: colour and style distance to the painting, content distance to the
photo, roughness, time. The classic references are the presets run as the classic tools run
them: ``gatys`` (500 evaluations at one scale) and ``johnson`` (1000, noise start, TV).
Needs ../shared/images (the photos and paintings; see its ATTRIBUTION.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from PIL import Image

import painterly
from painterly.io import images
from painterly.style import color

sys.path.insert(0, str(Path(__file__).parent))
from look_measures import Scorer

IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "images"
OUT = Path(__file__).resolve().parent / "out" / "look"

PAIRS = {  # name: (photo, painting, what the pair tests)
    "tubingen-starry_night": ("tubingen", "starry_night", "benchmark; swirling strokes"),
    "tubingen-the_scream": ("tubingen", "the_scream", "benchmark; flowing bands"),
    "tubingen-great_wave": ("tubingen", "great_wave", "benchmark; woodcut lines"),
    "tubingen-composition_vii": ("tubingen", "composition_vii", "town; abstract"),
    "tubingen-shipwreck": ("tubingen", "shipwreck_of_the_minotaur", "town; fine texture"),
    "tubingen-seated_nude": ("tubingen", "seated_nude", "town; cubist, near monochrome"),
    "golden_gate-escher": ("golden_gate", "escher_sphere", "landscape; monochrome drawing"),
    "golden_gate-kahlo": ("golden_gate", "frida_kahlo", "landscape; portrait painting"),
    "golden_gate-woman_with_a_hat": ("golden_gate", "woman_with_a_hat", "landscape; flat colour"),
    "brad_pitt-picasso": ("brad_pitt", "picasso_self_portrait_1907", "portrait; flat colour"),
    "hoovertowernight-udnie": ("hoovertowernight", "udnie", "night photo; abstract"),
}

CONFIGS: dict[str, dict] = {
    "default": {},
    "gatys": {"preset": "gatys"},
    "johnson": {"preset": "johnson"},
}

PUBLISHED = IMAGES / "reference_outputs"
PUBLISHED_OUTPUTS = {  # the classic tools' published results for a pair (their own settings)
    "tubingen-starry_night": "tubingen_starry",
    "tubingen-the_scream": "tubingen_scream",
    "tubingen-composition_vii": "tubingen_composition_vii",
    "tubingen-shipwreck": "tubingen_shipwreck",
    "tubingen-seated_nude": "tubingen_seated_nude",
    "golden_gate-escher": "golden_gate_escher",
    "golden_gate-kahlo": "golden_gate_kahlo",
    "golden_gate-woman_with_a_hat": "golden_gate_matisse",
    "brad_pitt-picasso": "pitt_picasso_content_5_style_10",
}
TOOLS = {"neural-style-pt": "neural_style_pt", "neural-style": "jcjohnson_neural_style"}


def published(pair: str) -> dict[str, Path]:
    """The classic tools' published outputs for ``pair`` that are present."""
    stem = PUBLISHED_OUTPUTS.get(pair)
    if stem is None:
        return {}
    found = {}
    for tool, folder in TOOLS.items():
        name = stem.replace("style_10", "style_100") if tool == "neural-style-pt" else stem
        if (PUBLISHED / folder / f"{name}.png").exists():
            found[tool] = PUBLISHED / folder / f"{name}.png"
    return found


def image_path(name: str, kind: str) -> Path:
    matches = sorted((IMAGES / kind).glob(name + ".*"))
    if not matches:
        raise SystemExit(f"no {kind} image '{name}' in {IMAGES / kind}")
    return matches[0]


def result_file(config: str, pair: str) -> Path:
    """Where ``config``'s result for ``pair`` is (benchmarks/speed.py --look-dir names it
    PHOTO-PAINTING.png)."""
    photo, painting, _ = PAIRS[pair]
    own = OUT / config / f"{pair}.png"
    other = OUT / config / f"{photo}-{painting}.png"
    return other if other.exists() and not own.exists() else own


def run(pairs: list[str], configs: list[str], size: int, extra: dict[str, dict]) -> None:
    for config in configs:
        options = {**CONFIGS.get(config, {}), **extra.get(config, {})}
        folder = OUT / config
        folder.mkdir(parents=True, exist_ok=True)
        for pair in pairs:
            target = folder / f"{pair}.png"
            if result_file(config, pair).exists():
                continue
            photo, painting, _ = PAIRS[pair]
            print(f"{config} {pair} ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            result = painterly.transfer(image_path(photo, "content"),
                                        image_path(painting, "style"), size=size,
                                        **options)
            seconds = time.perf_counter() - start
            painterly.save_image(result.image, target)
            meta = {"seconds": round(seconds, 2), "evaluations": result.evaluations,
                    "options": options}
            (folder / f"{pair}.json").write_text(json.dumps(meta))
            print(f"  {seconds:.1f} s, {result.evaluations} evaluations", file=sys.stderr)


def score(pairs: list[str], configs: list[str], size: int, recoloured: bool = False) -> dict:
    """Each pair's rows: the photo, the published results, each config's result (and with
    ``recoloured``, each result recoloured to the painting's colour statistics afterwards)."""
    table: dict[str, dict] = {}
    for pair in pairs:
        photo, painting, _ = PAIRS[pair]
        scorer = Scorer(painterly.load_image(image_path(painting, "style")),
                        painterly.load_image(image_path(photo, "content")), size)
        rows = {"photo": scorer.score(painterly.load_image(image_path(photo, "content")))}
        for label, path in published(pair).items():
            rows[label] = scorer.score(painterly.load_image(path))
        for config in configs:
            png = result_file(config, pair)
            if png.exists():
                rows[config] = scorer.score(painterly.load_image(png))
                meta = json.loads(png.with_suffix(".json").read_text())
                rows[config]["seconds"] = meta["seconds"]
                if recoloured:
                    rows[f"{config} recoloured"] = scorer.score(recolour_to(
                        painterly.load_image(png), scorer.painting))
        table[pair] = rows
    return table


def recolour_to(result: Image.Image, painting: Image.Image) -> Image.Image:
    """``result`` with its colours mapped to ``painting``'s colour mean and covariance."""
    target = color.colour_statistics(images.to_tensor(painting))
    return images.to_image(color.recolour(images.to_tensor(result), target))


CLASSIC = ("neural-style-pt", "neural-style", "gatys", "johnson")
"""The rows a default result is held against: the better of them (+10%) is the target."""
TITLES = {"default": "**painterly default**", "gatys": "`--preset gatys` (500 evaluations)",
          "johnson": "`--preset johnson` (1000 evaluations)"}


def verdict(rows: dict, measure: str) -> str:
    """Whether the default is within +10% of the best classic reference on ``measure``."""
    references = [rows[label][measure] for label in CLASSIC if label in rows]
    if "default" not in rows or not references:
        return "–"
    best = min(references)
    return f"{'yes' if rows['default'][measure] <= 1.1 * best else 'no'} ({best:.3g})"


def print_table(table: dict) -> None:
    print("| pair | result | colour | style | content (×1e3) | rough | time | default within "
          "+10% of the best classic: colour / style (best) |")
    print("|---|---|---|---|---|---|---|---|")
    for pair, rows in table.items():
        for label, s in rows.items():
            seconds = f"{s['seconds']:.0f} s" if "seconds" in s else ""
            check = f"{verdict(rows, 'colour')} / {verdict(rows, 'style')}" \
                if label == "default" else ""
            print(f"| {pair} | {TITLES.get(label, label)} | {s['colour']:.1f} | "
                  f"{s['style']:.0f} | {s['content'] / 1e3:.0f} | {s['roughness']:.1f} | "
                  f"{seconds} | {check} |")


def chosen(parser: argparse.ArgumentParser, args: argparse.Namespace, known_pairs: Mapping,
           known_configs: Mapping) -> tuple[list[str], list[str], dict[str, dict]]:
    """The pairs and configurations ``args`` name (``--pairs``, ``--configs``) and the extra
    configurations (``--config NAME=JSON``); a usage error for an unknown pair, or for an unknown
    configuration to ``run``."""
    extra = {name: json.loads(text) for name, _, text in
             (item.partition("=") for item in args.config)}
    pairs, configs = args.pairs.split(","), args.configs.split(",")
    unknown = [pair for pair in pairs if pair not in known_pairs]
    if unknown:
        parser.error(f"unknown pair {', '.join(unknown)}; the pairs are "
                     f"{', '.join(known_pairs)}")
    unknown = [config for config in configs if config not in known_configs
               and config not in extra]
    if args.what == "run" and unknown:
        parser.error(f"unknown configuration {', '.join(unknown)}; "
                     "give it with --config NAME=JSON")
    return pairs, configs, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["run", "score"])
    parser.add_argument("--pairs", default=",".join(PAIRS))
    parser.add_argument("--configs", default="default,gatys,johnson")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--config", action="append", default=[], metavar="NAME=JSON",
                        help="an extra configuration: transfer options as JSON")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    parser.add_argument("--recoloured", action="store_true",
                        help="also score each result recoloured to the painting's colours")
    args = parser.parse_args()
    pairs, configs, extra = chosen(parser, args, PAIRS, CONFIGS)
    if args.what == "run":
        run(pairs, configs, args.size, extra)
    else:
        table = score(pairs, configs, args.size, args.recoloured)
        print_table(table)
        if args.json:
            args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
