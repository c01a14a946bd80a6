"""Default coarse-to-fine transfer vs the classic baseline, on the same losses and weights.

Baseline: target size only, PyTorch L-BFGS without bounds from the content image, 300
evaluations, history 10 (pinned, so that it does not follow painterly's default: every earlier
measurement used 10), the network in float32, clipped when saved (what the classic tools do),
each in a fresh process so that it runs on glibc's allocator as they do (painterly tunes it for
its own runs; ``--baseline-in-process`` gives the baseline that setting too). Default:
``painterly.transfer`` with its defaults. Both saved as 8-bit PNG and scored by the same loss
code (float32) at the target size; the ratio is the baseline's wall time over the default's,
measured in the same run. "Reached" is the wall time at which the default run first held an
image whose 8-bit version scores at or below the baseline's final loss (every image of the final
rung is kept in memory and the ones around the crossing are scored after the run); the target
is met when that is at most 1/8 of the baseline's time. Also reports the work in "evaluation
equivalents" (evaluations weighted by pixels relative to the target size), which does not
depend on the machine's load.

    PYTHONPATH=. python benchmarks/speed.py [--pairs tubingen:starry_night,...] [--size 512]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from painterly.io import images
from painterly.io.figures import image_grid
from painterly.optim import optimize
from painterly.style.events import Evaluated, Event, Snapshot
from painterly.style.transfer import TransferOptions, plan, transfer

DEFAULT_PAIRS = "tubingen:starry_night,tubingen:the_scream,tubingen:great_wave"
BASELINE_HISTORY = 10


class Scorer:
    """The objective on 8-bit images at one size, with the run's weights (float32)."""

    def __init__(self, content: Image.Image, style: Image.Image, options: TransferOptions,
                 size: tuple[int, int]):
        # the run's own plan: the same targets (content, style, palette) as a run at ``size``
        the_plan = plan(content, style, dataclasses.replace(options, precision="float32",
                                                             device="cpu"))
        self.loss = the_plan.loss
        the_plan.set_targets(self.loss, the_plan.content_at(size))

    @torch.no_grad()
    def tensor(self, image: torch.Tensor):
        """Terms of ``image`` (RGB 0..1) rounded to 8 bits, as saving it would."""
        return self.loss(image.clamp(0, 1).mul(255).round().div(255))[1]

    def file(self, path: Path):
        return self.tensor(images.to_tensor(images.load_image(path)))


def score(path: Path, content: Image.Image, style: Image.Image, options: TransferOptions):
    """The objective on the saved 8-bit image, at its own size, with the run's weights."""
    return Scorer(content, style, options, images.load_image(path).size).file(path)


def equivalents(history: list[Evaluated], sizes: dict[int, int], top: int) -> float:
    """Evaluations weighted by their pixels relative to the top size."""
    return sum(sizes[event.rung] / top for event in history)


def run(content: str, style: str, options: dict, keep: list | None = None
        ) -> tuple[object, float]:
    """One transfer and its wall time; with ``keep``, every image of the final rung is appended
    to it as (seconds since the start, image)."""
    start = time.perf_counter()

    def snapshot(event: Event) -> None:
        if isinstance(event, Snapshot) and event.kind == "periodic":
            keep.append((time.perf_counter() - start, event.image.detach().cpu().clone()))

    result = transfer(content, style, on_event=snapshot if keep is not None else None,
                      save_every=1 if keep is not None else 0, **options)
    return result, time.perf_counter() - start


def reached(kept: list, scorer: Scorer, target: float, hint: int) -> float | None:
    """Wall time of the first kept image whose 8-bit score is at most ``target``, searching from
    ``hint`` (where the run's own loss crossed it) with as few scorings as the losses allow."""
    if not kept:
        return None
    below = [None] * len(kept)

    def ok(index: int) -> bool:
        if below[index] is None:
            below[index] = scorer.tensor(kept[index][1]).total <= target
        return below[index]

    index = min(max(hint, 0), len(kept) - 1)
    while not ok(index):
        index += 1
        if index == len(kept):
            return None
    while index > 0 and ok(index - 1):
        index -= 1
    return kept[index][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=DEFAULT_PAIRS,
                        help=f"content:style,... (names or paths; default {DEFAULT_PAIRS})")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--baseline-steps", type=int, default=300)
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--figures", type=Path, default=None,
                        help="also write speed_comparison.jpg (photo, default, classic, "
                             "painting per pair) and loss_curves_PAIR.png here")
    parser.add_argument("--long-baseline-steps", type=int, default=0,
                        help="also run the classic recipe this long (e.g. 1000: the best "
                             "classic result) and report its loss and time")
    parser.add_argument("--reuse-baseline", action="store_true",
                        help="reuse baseline results saved by an earlier run in --output-dir")
    parser.add_argument("--compare", action="append", default=[], metavar="KEY=VALUE,...",
                        help="also run these settings against the same baseline (repeatable), "
                             "e.g. coarse_steps=30,steps=35")
    parser.add_argument("--baseline-in-process", action="store_true",
                        help="run the baseline in this process, after painterly has tuned "
                             "glibc's allocator here (faster than the classic tools run)")
    parser.add_argument("--look-dir", type=Path, default=None,
                        help="also save each default result here as CONTENT-STYLE.png with its "
                             "time (benchmarks/look.py scores that folder as 'default')")
    parser.add_argument("--baseline-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}")
    defaults = TransferOptions(size=args.size)
    rows, tiles, titles = [], [], []
    for pair in args.pairs.split(","):
        content_name, style_name = pair.split(":")
        content = images.load_image(content_name)
        style = images.load_image(style_name)
        tag = f"{Path(content_name).stem}_{Path(style_name).stem}_{args.size}"
        cache = args.output_dir / f"{tag}_baseline.json"
        base_path = args.output_dir / f"{tag}_baseline.png"
        if args.baseline_only:
            optimize.keep_freed_host_memory = lambda: False  # painterly's own setting, not theirs
            run_baseline(content, style, args.size, args.baseline_steps, cache, base_path)
            continue
        if args.long_baseline_steps:
            long_tag = f"{tag}_baseline{args.long_baseline_steps}"
            long_cache = args.output_dir / f"{long_tag}.json"
            long_path = args.output_dir / f"{long_tag}.png"
            if not (args.reuse_baseline and long_cache.is_file()):
                run_baseline(content, style, args.size, args.long_baseline_steps, long_cache,
                             long_path)
            long_terms = score(long_path, content, style, defaults)
            long_seconds = json.loads(long_cache.read_text())["seconds"]
            print(json.dumps({"pair": f"{pair} classic {args.long_baseline_steps}",
                              "seconds": long_seconds, "loss": long_terms.total,
                              "style": long_terms.style}), flush=True)
        if not (args.reuse_baseline and cache.is_file() and base_path.is_file()):
            if args.baseline_in_process:
                run_baseline(content, style, args.size, args.baseline_steps, cache, base_path)
            else:  # a fresh process: glibc's allocator as the classic tools run on it
                subprocess.run([sys.executable, __file__, "--baseline-only", "--pairs", pair,
                                "--size", str(args.size), "--baseline-steps",
                                str(args.baseline_steps), "--output-dir", str(args.output_dir)],
                               check=True)
        baseline = json.loads(cache.read_text())
        base_terms = score(base_path, content, style, defaults)
        for label, options in [("default", {}), *((text, parse(text)) for text in args.compare)]:
            kept: list = []
            result, seconds = run(content, style, dict(size=args.size, **options), kept)
            path = args.output_dir / f"{tag}_{label.replace(',', '_').replace('=', '')}.png"
            images.save_image(result.tensor, path)
            row = _row(f"{pair} {label}", result, seconds, path, content, style, baseline,
                       base_terms, TransferOptions(size=args.size, **options), kept)
            del kept
            rows.append(row)
            print(json.dumps(row), flush=True)
            if label == "default" and args.look_dir is not None:
                _save_for_look(args.look_dir, content_name, style_name, path, result, seconds)
            if label == "default":
                tiles += [content, images.load_image(path), images.load_image(base_path), style]
                titles += ["photo",
                           f"painterly default: {seconds:.0f} s, loss {row['default_loss']:.3g}",
                           f"classic {args.baseline_steps}: {baseline['seconds']:.0f} s, loss "
                           f"{base_terms.total:.3g}", "painting"]
                if args.figures:
                    _write_curves(args.figures / f"loss_curves_{tag}.png", pair, baseline,
                                  base_terms.total, result)
    if args.baseline_only:
        return
    if args.figures:
        args.figures.mkdir(parents=True, exist_ok=True)
        figure = image_grid(tiles, titles, columns=4, tile_height=min(220, args.size))
        with images.atomic_file(args.figures / "speed_comparison.jpg") as stream:  # JPEG q85
            figure.save(stream, "JPEG", quality=85)
    print(f"load average after: {os.getloadavg()}")
    print(f"{'pair':48} {'baseline s':>10} {'loss':>9} {'default s':>9} {'loss':>9} "
          f"{'equiv':>6} {'ratio':>6} {'reached':>8}  target")
    for row in rows:
        ok = row["ratio_at_reaching"] is not None and row["ratio_at_reaching"] >= 8
        print(f"{row['pair']:48} {row['baseline_s']:10.1f} {row['baseline_loss']:9.3g} "
              f"{row['default_s']:9.1f} {row['default_loss']:9.3g} "
              f"{row['default_equivalents']:6.1f} {row['ratio']:6.1f} "
              f"{row['reached_baseline_s'] or float('nan'):8.1f}  "
              f"{'met' if ok else 'NOT met'}")


def _save_for_look(folder: Path, content: str, style: str, path: Path, result,
                   seconds: float) -> None:
    """The default result as benchmarks/look.py keeps its own runs."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{Path(content).stem}-{Path(style).stem}"
    images.save_image(images.load_image(path), folder / f"{stem}.png")
    (folder / f"{stem}.json").write_text(json.dumps(
        {"seconds": round(seconds, 2), "evaluations": result.evaluations, "options": {},
         "from": "benchmarks/speed.py"}))


def run_baseline(content: Image.Image, style: Image.Image, size: int, steps: int, cache: Path,
                 path: Path) -> None:
    """The classic recipe at ``size`` only; its image goes to ``path``, its time to ``cache``."""
    result, seconds = run(content, style, dict(
        size=size, min_size=size, steps=steps, optimizer="lbfgs-unbounded", init="content",
        history=BASELINE_HISTORY, tile_size=0, precision="float32"))
    images.save_image(result.tensor, path)
    cache.write_text(json.dumps({"seconds": seconds, "evaluations": result.evaluations,
                                 "load": os.getloadavg()[0], "curve": _curve(result)}))


def _curve(result) -> list[tuple[float, float]]:
    """(seconds, the run's own loss) after every evaluation."""
    return [(event.elapsed, event.terms.total) for event in result.history]


def _write_curves(path: Path, pair: str, baseline: dict, baseline_loss: float, result) -> None:
    """Loss against seconds for both methods, log scale, with the classic's scored loss."""
    from painterly.digits.pictures import line_chart

    def log_series(points) -> tuple[list[float], list[float]]:
        points = [(t, loss) for t, loss in points if loss > 0]
        return [t for t, _ in points], [math.log10(loss) for _, loss in points]

    series = {"classic (unbounded, float32)": log_series(baseline.get("curve", [])),
              "painterly default": log_series(_curve(result)),
              "classic's final loss (8-bit)": ([0.0, baseline["seconds"]],
                                               [math.log10(baseline_loss)] * 2)}
    names = " x ".join(Path(part).stem for part in pair.split(":"))
    chart = line_chart(series, title=f"{names}: loss against time", x_label="seconds",
                       y_label="log10 loss")
    images.save_image(chart, path)


def _row(label: str, result, seconds: float, path: Path, content: Image.Image,
         style: Image.Image, baseline: dict, base_terms, options: TransferOptions,
         kept: list) -> dict:
    """One line of the table: a run's scored loss and times against the baseline's."""
    top = result.image.size[0] * result.image.size[1]
    sizes = dict(enumerate(w * h for w, h in _ladder_sizes(content, options)))
    scorer = Scorer(content, style, options, result.image.size)
    terms = scorer.file(path)
    last_rung = max(event.rung for event in result.history)
    final_rung = [event for event in result.history if event.rung == last_rung]
    # where the run's own loss (bfloat16, unrounded pixels) crossed the baseline's: a hint
    hint = next((i for i, event in enumerate(final_rung)
                 if event.terms.total <= base_terms.total), len(final_rung) - 1)
    crossing = reached(kept, scorer, base_terms.total, hint)
    return {
        "pair": label, "baseline_s": baseline["seconds"], "baseline_loss": base_terms.total,
        "baseline_style": base_terms.style, "default_s": seconds,
        "default_loss": terms.total, "default_style": terms.style,
        "default_equivalents": equivalents(result.history, sizes, top),
        "ratio": baseline["seconds"] / seconds, "load_after": os.getloadavg()[0],
        "reached_baseline_s": crossing,
        "ratio_at_reaching": None if crossing is None else baseline["seconds"] / crossing,
    }


def parse(text: str) -> dict:
    """``key=value,...`` with numbers converted (``min_size=256,precision=float32``)."""
    options: dict = {}
    for part in text.split(","):
        key, value = part.split("=")
        for kind in (int, float, str):
            try:
                options[key] = kind(value)
                break
            except ValueError:
                continue
    return options


def _ladder_sizes(content: Image.Image, options: TransferOptions) -> list[tuple[int, int]]:
    from painterly.style.schedule import ladder

    return ladder(*content.size, options.size, options.min_size, options.scale_ratio)


if __name__ == "__main__":
    main()
