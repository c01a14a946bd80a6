"""Where a video's later frame spends its time, at several sizes.

Runs ``painterly.video`` on a clip (the synthesized pan, zoom and moving disc of
benchmarks/video.py, written as an H.264 file, or ``--input``) and profiles it with cProfile from
the moment the first frame is finished to the end of encoding, so every later frame's work is
counted: decoding and resizing, optical flow, the start (warp, reliability, painted fill), the
transfer's set-up (plan, targets, finishing), the evaluations (network forward and backward),
the optimizer's own work, storing frames, and encoding. Prints seconds per later frame for each
part, and the frame's total as *evaluations' worth*: its seconds over the seconds of one
evaluation at that size, measured in the same run (so the number holds on a loaded machine).
The float32 matrix-multiply rate, also measured in the same run, is printed beside it.

    PYTHONPATH=. python benchmarks/video_speed.py --sizes 320,640,1280 --frames 6
    PYTHONPATH=. python benchmarks/video_speed.py --sizes 640 --frame-steps 20   # the old default

Run it against another checkout (``PYTHONPATH=/path/to/checkout``) for a before/after table.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

import painterly
from painterly.video.events import FrameEvaluated, FrameEvent, FrameFinished

sys.path.insert(0, str(Path(__file__).parent))
from gflops import matmul_gflops
from video import synthetic_clip

PARTS = {  # part: (module file suffix, function name), cumulative time in cProfile
    "decode": ("video/reader.py", "_select"),
    "resize": ("video/reader.py", "resized"),
    "flow": ("video/flow.py", "motion"),
    "start": ("video/stylize.py", "temporal_start"),
    "transfer": ("style/transfer.py", "transfer"),
    "optimize": ("optim/optimize.py", "optimize_pixels"),
    "evaluations": ("optim/optimize.py", "evaluate"),
    "store": ("video/work.py", "save"),
    "encode": ("video/writer.py", "write_video"),
}
SHOWN = ("decode", "resize", "flow", "start", "set-up", "evaluations", "optimizer", "store",
         "encode")


def cumulative(stats: pstats.Stats) -> dict[str, tuple[float, int]]:
    """(cumulative seconds, calls) of each of :data:`PARTS` in the profile."""
    found = {}
    for (file, _, name), (_, calls, _, seconds, _) in stats.stats.items():
        for part, (suffix, function) in PARTS.items():
            if name == function and file.endswith(suffix):
                total, count = found.get(part, (0.0, 0))
                found[part] = (total + seconds, count + calls)
    return found


def profile(clip: Path, size: int, frames: int, options: dict) -> dict:
    """Seconds per later frame of each part, evaluations per frame and one evaluation's
    seconds, from one run of ``frames`` frames."""
    profiler = cProfile.Profile()
    started = {"at": None}
    evaluations = 0

    def progress(event: FrameEvent) -> None:
        nonlocal evaluations
        if isinstance(event, FrameFinished) and event.frame == 0 and started["at"] is None:
            started["at"] = time.perf_counter()
            profiler.enable()
        elif isinstance(event, FrameEvaluated) and event.frame > 0:
            evaluations += 1

    with tempfile.TemporaryDirectory() as folder:
        painterly.video(str(clip), "starry_night", str(Path(folder) / "out.mp4"), size=size,
                        frames=f"0:{frames}", work_dir=folder, on_event=progress, **options)
    profiler.disable()
    wall = time.perf_counter() - started["at"]
    parts = cumulative(pstats.Stats(profiler))
    later = frames - 1
    seconds = {name: value / later for name, (value, _) in parts.items()}
    parts_out = {
        "decode": seconds.get("decode", 0.0), "resize": seconds.get("resize", 0.0),
        "flow": seconds["flow"], "start": seconds["start"],
        "set-up": seconds["transfer"] - seconds["optimize"],
        "evaluations": seconds["evaluations"],
        "optimizer": seconds["optimize"] - seconds["evaluations"],
        "store": seconds.get("store", 0.0), "encode": seconds.get("encode", 0.0)}
    one = parts["evaluations"][0] / evaluations  # (the call that ends a frame costs nothing)
    return {"parts": parts_out, "frame": wall / later, "evaluation": one,
            "evaluations_per_frame": evaluations / later, "worth": wall / later / one}


def rate() -> str:
    return ", ".join(f"{how} {value:.0f} GFLOP/s" for how, value in matmul_gflops().items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="320,640,1280", help="frame widths (16:9 clips)")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--input", help="a clip to use instead of the synthesized one")
    parser.add_argument("--frame-steps", type=int, help="evaluations per later frame")
    parser.add_argument("--first-frame-steps", type=int, default=10,
                        help="the first frame's evaluations (not profiled; kept short)")
    parser.add_argument("--label", default="", help="a name for this run in the table")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    options = {"first_frame_steps": args.first_frame_steps, "coarse_steps": 5}
    if args.frame_steps is not None:
        options["frame_steps"] = args.frame_steps
    print(f"float32 matrix multiply: {rate()}", flush=True)
    print(f"\n| run | size | {' | '.join(SHOWN)} | s per later frame | evaluations | "
          "one evaluation (s) | evaluations' worth |")
    print("|---" * (len(SHOWN) + 6) + "|")
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for width in (int(s) for s in args.sizes.split(",")):
            clip = Path(args.input) if args.input else synthetic_clip(width).write(
                Path(folder) / f"clip-{width}.mp4", args.frames, fps=24)
            row = profile(clip, width, args.frames, options)
            rows[width] = row
            cells = " | ".join(f"{row['parts'][part]:.2f}" for part in SHOWN)
            print(f"| {args.label} | {width} | {cells} | {row['frame']:.2f} | "
                  f"{row['evaluations_per_frame']:.1f} | {row['evaluation']:.2f} | "
                  f"{row['worth']:.1f} |", flush=True)
    print(f"\nfloat32 matrix multiply after: {rate()}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
