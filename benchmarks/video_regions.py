"""New regions of a video against the rest of the frame, on a synthesized clip of known motion.

The clip is the one benchmarks/video.py synthesizes (a camera pan and zoom over a built-in photo, a
striped disc crossing it; the pan scaled to move as much of the frame as at 256 px). The true
motion gives, for every pixel of every frame, how many frames ago its content came into view and
whether from behind the disc (uncovered) or at a border (entered). Per frame it prints, for the
uncovered and the entered pixels in view for 3 frames or more, the mean |grad L*| (stroke
contrast), mean chroma and mean L* against the pixels in view since the first frame, and the
share of the frame where new pixels are flat (a trail: 9x9 mean contrast below half the rest's);
the summary adds the moving disc itself.
The last ``--independent`` frames are also stylized with ``--independent`` (the same measures,
which show what the content alone does to them, and the warping error of both runs over those
frames, so flicker is compared on one span).

    PYTHONPATH=. python benchmarks/video_regions.py [--size 256] [--frames 48]
        [--first-frame-steps 150] [--frame-steps 20] [--independent 8] [--set name=value ...]
        [--figures DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from painterly.video.metrics import region_statistics, warping_errors
from painterly.video.reader import open_clip

sys.path.insert(0, str(Path(__file__).parent))
from video import cpu_seconds, run_mode, synthetic_clip

SETTLED = 3
"""Frames after which a new region should look like the rest."""


REGIONS = ("uncovered", "entered", "new", "disc")


def measure(outputs: list[np.ndarray], ages: list[tuple[np.ndarray, np.ndarray]],
            first: int = 0) -> list[dict]:
    """Region statistics of each output frame (frame index ``first`` + i): the pixels the disc
    uncovered and those that entered at a border, each in view for ``SETTLED`` frames or more,
    all new pixels, and the moving disc, against the pixels in view since the first frame."""
    rows = []
    for index, (image, (age, uncovered)) in enumerate(
            zip(outputs, ages[first:first + len(outputs)], strict=True), start=first):
        rest, settled = age == -1, age >= SETTLED
        masks = {"uncovered": settled & uncovered, "entered": settled & ~uncovered,
                 "new": age >= 0, "disc": age == -2}
        rows.append({"frame": index, **{name: region_statistics(image, mask, rest)
                                        for name, mask in masks.items()}})
    return rows


def table(rows: list[dict], every: int) -> str:
    lines = ["| frame | new area % | flat new area % | uncovered: contrast / rest, chroma / rest, "
             "L* - rest | entered: contrast / rest, chroma / rest, L* - rest |", "|" + "---|" * 5]
    for row in rows:
        if (row["frame"] % every and row is not rows[-1]) or not row["new"]["area"]:
            continue
        parts = [f"{row[n]['contrast_ratio']:.2f}, {row[n]['chroma_ratio']:.2f}, "
                 f"{row[n]['lightness'] - row[n]['lightness_rest']:+.1f}"
                 for n in ("uncovered", "entered")]
        lines.append(f"| {row['frame']} | {100 * row['new']['area']:.1f} | "
                     f"{100 * row['new']['flat_area']:.1f} | {parts[0]} | {parts[1]} |")
    return "\n".join(lines)


def summary(rows: list[dict], last: int) -> dict:
    """Means over the ``last`` frames."""
    tail = rows[-last:]
    result = {}
    for region in REGIONS:
        for field in ("contrast_ratio", "chroma_ratio", "flat_area"):
            result[f"{region} {field}"] = float(np.nanmean([r[region][field] for r in tail]))
        result[f"{region} lightness_difference"] = float(np.nanmean(
            [r[region]["lightness"] - r[region]["lightness_rest"] for r in tail]))
    return result


def frames_of(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.iterdir())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--first-frame-steps", type=int, default=150)
    parser.add_argument("--frame-steps", type=int, default=20)
    parser.add_argument("--independent", type=int, default=8,
                        help="stylize the last N frames independently too (0: not)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a further video option for the consistent run (number or text)")
    parser.add_argument("--every", type=int, default=4, help="table rows: every Nth frame")
    parser.add_argument("--figures", type=Path, help="keep the frames and a strip here")
    parser.add_argument("--json")
    args = parser.parse_args()
    settings = {"size": args.size, "first_frame_steps": args.first_frame_steps,
                "frame_steps": args.frame_steps}
    for item in args.set:
        name, value = item.split("=", 1)
        settings[name] = json.loads(value) if value[:1].isdigit() or value in (
            "true", "false") else value
    clip = synthetic_clip(args.size)
    scale = args.size / 256  # the 256 px clip's motion relative to the frame, at every size
    clip = dataclasses.replace(clip, pan=(clip.pan[0] * scale, clip.pan[1] * scale))
    ages = list(clip.ages(args.frames))
    results = {"settings": settings}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = clip.write(folder / "clip.mp4", args.frames, fps=24)
        inputs = list(open_clip(source).frames())
        cpu, wall = cpu_seconds(), time.perf_counter()
        run = run_mode(source, args.style, folder / "consistent", folder / "work", settings)
        print(f"consistent: {run['wall']:.0f} s wall, {run['cpu']:.0f} s CPU for "
              f"{args.frames} frames; settings {settings}", flush=True)
        outputs = frames_of(folder / "consistent")
        rows = measure(outputs, ages)
        print(table(rows, args.every))
        window = args.independent or 8  # the summary's frames: the independent span
        results["consistent"] = {"rows": rows, "summary": summary(rows, window),
                                 "warp": float(np.mean(warping_errors(inputs, outputs))),
                                 "seconds": run["result"].seconds,
                                 "timing": run["result"].timing}
        first = args.frames - (args.independent or 4)
        span = f"{first}:{args.frames}"
        results["consistent"]["warp_span"] = float(np.mean(warping_errors(
            inputs[first:], outputs[first:])))
        if args.independent:
            independent = run_mode(source, args.style, folder / "independent", folder / "work",
                                   {**settings, "independent": True, "frames": span})
            alone = frames_of(folder / "independent")
            lone_rows = measure(alone, ages, first)
            results["independent"] = {"rows": lone_rows, "summary": summary(lone_rows, window),
                                      "warp": float(np.mean(warping_errors(inputs[first:],
                                                                           alone)))}
            del independent
        print(f"\nmeans over the last {window} frames | consistent | independent |\n|---|---|---|")
        lone = results.get("independent", {}).get("summary", {})
        for key, value in results["consistent"]["summary"].items():
            print(f"| {key} | {value:.3f} | {lone.get(key, float('nan')):.3f} |")
        print(f"warping error over frames {span}: consistent "
              f"{results['consistent']['warp_span']:.2f}, independent "
              f"{results.get('independent', {}).get('warp', float('nan')):.2f}")
        print(f"warping error, whole clip (consistent): {results['consistent']['warp']:.2f}; "
              f"{cpu_seconds() - cpu:.0f} s CPU, {time.perf_counter() - wall:.0f} s wall in all")
        if args.figures:
            kept = args.figures / "frames"
            kept.mkdir(parents=True, exist_ok=True)
            for index, image in enumerate(outputs):
                Image.fromarray(image).save(kept / f"{index:03d}.png")
            for name in ("independent",):
                if (folder / name).exists():
                    for index, image in enumerate(frames_of(folder / name)):
                        Image.fromarray(image).save(
                            kept / f"{name}-{args.frames - args.independent + index:03d}.png")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
