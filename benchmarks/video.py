"""painterly video against its flicker baseline (--independent) on the same clip.

Prints a table: the temporal warping error (mean |O_t - warp(O_t-1)| over the pixels that the
input's flow marks reliable, 0..255 scale), the style loss of each frame against the painting
(painterly's style loss, frames read back through one loader, mean over frames), and seconds per
frame split into flow, optimization and I/O, as wall time and as CPU time of the process (on a
shared machine the CPU time is the stable number: wall ≈ CPU / 2 on the idle 2-core machine).
The clip is synthesized (a camera pan and zoom over a built-in photo with a disc crossing it) or
given with --input. ``--sweep`` runs the consistent mode for several temporal weights / frame
steps; ``--memory`` measures the peak RSS of a short clip and a 6x longer one, each in a fresh
process. ``--ray 1,2`` runs the clip in chunks on a local Ray cluster (started here, one torch
thread per actor) with each number of actors and each ``--overlap``, and compares the warping
error across the chunk seams (the transitions from the first cross-faded frame to the seam's
first frame) with the error inside the chunks, and the wall times (speed-up against the first
row; one actor gives the local run's pixels).

    PYTHONPATH=. python benchmarks/video.py [--size 640] [--frames 24] [--style starry_night]
        [--frame-steps N] [--first-frame-steps N] [--temporal-weight W] [--input PATH]
        (with --input, --frames takes the clip's first N frames; --figures adds a contact sheet of
        frames 0, N/3, 2N/3 and N-1, input and every run)
        [--sweep temporal_weight=0,1,10] [--memory SECONDS] [--figures DIR]
        [--ray 1,2 --chunk-frames 8 --overlap 0,4]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from painterly.io import images
from painterly.nets.vgg import load_vgg19
from painterly.style.losses import PerceptualLoss
from painterly.style.transfer import TransferOptions, _style_size, _tensor
from painterly.video.metrics import warping_errors
from painterly.video.reader import open_clip, resized
from painterly.video.run import _working_size, video
from painterly.video.synthetic import SyntheticClip

sys.path.insert(0, str(Path(__file__).parent))
from look_measures import Scorer


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def style_losses(frames: list[Path], style: str, size: tuple[int, int]) -> list[float]:
    """Style term of each frame file against ``style`` (the default options' layers and
    weights, float32, the style image at the frame's scale)."""
    options = TransferOptions()
    loss = PerceptualLoss(load_vgg19(), content_layer=None, style_layers=options.style_layers,
                          layer_weights=options.layer_weights)
    style_image = images.load_image(style)
    loss.set_style([_tensor(style_image, _style_size(style_image, size, 1.0), "cpu")])
    values = []
    with torch.no_grad():
        for path in frames:
            values.append(loss(images.to_tensor(images.load_image(path)))[1].style)
    return values


def run_mode(source: Path, style: str, out: Path, work: Path, settings: dict) -> dict:
    cpu, wall = cpu_seconds(), time.perf_counter()
    result = video(source, style, out, work_dir=work, **settings)
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    frames = sorted(out.iterdir())
    return {"result": result, "cpu": cpu, "wall": wall, "frames": frames}


def score_table(source: Path, style: str, size: tuple[int, int], runs: str) -> str:
    """Warping error and style distance of frames kept by earlier runs, measured alike."""
    lines = ["| run | frames | warping error | style distance (mean) | later frames |",
             "|---|---|---|---|---|"]
    for name, _, folder in (item.partition("=") for item in runs.split(",")):
        files = sorted(Path(folder).glob("*.png"))
        errors, distances = frame_measures(source, style, size, files)
        lines.append(f"| {name} | {len(files)} | {np.mean(errors):.2f} | "
                     f"{np.mean(distances):.1f} | {np.mean(distances[1:]):.1f} |")
    return "\n".join(lines)


def input_frames(source: Path, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """The first ``count`` frames of the clip at the output size."""
    return [resized(f, size) for f in islice(open_clip(source).frames(), count)]


def frame_measures(source: Path, style: str, size: tuple[int, int],
                   files: list[Path]) -> tuple[list[float], list[float]]:
    """The warping error of each transition and the style distance of each frame of a run's
    frame files against the clip they were made from."""
    outputs = [np.asarray(Image.open(p).convert("RGB")) for p in files]
    inputs = input_frames(source, size, len(outputs))
    scorer = Scorer(images.load_image(style), Image.fromarray(inputs[0]), max(size))
    return (warping_errors(inputs, outputs),
            [scorer.style_distance(Image.fromarray(o)) for o in outputs])


def evaluate(source: Path, style: str, run: dict, size: tuple[int, int]) -> dict:
    errors, distances = frame_measures(source, style, size, run["frames"])
    losses = style_losses(run["frames"], style, size)
    result = run["result"]
    n = result.computed
    return {"warp": float(np.mean(errors)), "style": float(np.mean(losses)),
            "style_later": float(np.mean(losses[1:])),
            "distance": float(np.mean(distances)), "distance_later": float(np.mean(distances[1:])),
            "wall_per_frame": run["wall"] / n, "cpu_per_frame": run["cpu"] / n,
            **{f"{k}_per_frame": v / n for k, v in result.timing.items()}}


def synthetic_clip(size: int) -> SyntheticClip:
    """The benchmark's synthesized clip at ``size`` px wide (16:9)."""
    width, height = size, round(size * 9 / 16) // 2 * 2
    return SyntheticClip(width=width, height=height, pan=(1.2, 0.3), zoom=1.003,
                         velocity=(width / 160, height / 300), radius=height / 6)


def make_clip(args, folder: Path) -> Path:
    if args.input:
        return Path(args.input)
    return synthetic_clip(args.size).write(folder / "clip.mp4", args.frames, fps=24, audio=True)


def table(rows: list[tuple[str, dict]]) -> str:
    lines = ["| run | warping error | style loss (mean) | later frames | style distance (mean) "
             "| later frames | s/frame wall | s/frame CPU | flow | optimization | I/O |",
             "|" + "---|" * 11]
    for name, r in rows:
        lines.append(f"| {name} | {r['warp']:.2f} | {r['style']:.4g} | {r['style_later']:.4g} "
                     f"| {r['distance']:.1f} | {r['distance_later']:.1f} "
                     f"| {r['wall_per_frame']:.2f} | {r['cpu_per_frame']:.2f} | "
                     f"{r['flow_per_frame']:.3f} | {r['optimization_per_frame']:.2f} | "
                     f"{r['io_per_frame']:.3f} |")
    return "\n".join(lines)


def figures(runs: dict[str, list[Path]], folder: Path, first: int = 0, count: int = 8,
            seconds: float = 4.0, fps: float = 12.0) -> None:
    """A contact sheet of ``count`` consecutive frames per mode (one row each) and an animated
    GIF of the modes side by side, into ``folder``."""
    from painterly.io.figures import image_grid

    folder.mkdir(parents=True, exist_ok=True)
    tiles, titles = [], []
    for name, frames in runs.items():
        for index in range(first, min(first + count, len(frames))):
            tiles.append(Image.open(frames[index]).convert("RGB"))
            titles.append(f"{name} {index}")
    sheet = image_grid(tiles, titles, columns=count, font_size=12)
    with images.atomic_file(folder / "video_contact_sheet.jpg") as stream:
        sheet.save(stream, "JPEG", quality=85)
    length = min(len(frames) for frames in runs.values())
    pictures = []
    for index in range(min(length, round(seconds * fps))):
        pictures.append(image_grid([Image.open(frames[index]).convert("RGB")
                                    for frames in runs.values()], list(runs), font_size=12))
    with images.atomic_file(folder / "video_side_by_side.gif") as stream:
        pictures[0].save(stream, "GIF", save_all=True, append_images=pictures[1:],
                         duration=round(1000 / fps), loop=0)


def contact_sheet(source: Path, size: tuple[int, int], runs: dict[str, list[Path]],
                  path: Path) -> None:
    """Frames 0, N/3, 2N/3 and N-1 (columns) of the input and of each run (rows)."""
    from painterly.io.figures import image_grid

    count = min(len(frames) for frames in runs.values())
    chosen = sorted({0, count // 3, 2 * count // 3, count - 1})
    inputs = input_frames(source, size, count)
    tiles, titles = [], []
    for name, frames in {"input": None, **runs}.items():
        for index in chosen:
            tiles.append(Image.fromarray(inputs[index]) if frames is None
                         else Image.open(frames[index]).convert("RGB"))
            titles.append(f"{name} {index}")
    sheet = image_grid(tiles, titles, columns=len(chosen), font_size=12)
    path.parent.mkdir(parents=True, exist_ok=True)
    with images.atomic_file(path) as stream:
        sheet.save(stream, "JPEG", quality=85)


def memory(seconds: float, folder: Path) -> str:
    """Peak RSS of a whole run (decode, flow, stylize, encode) for a clip and one 6x longer,
    at 640x360 input, 2 frames per second, 48 px, one evaluation per frame: what grows with
    the length is the pipeline's memory, not the optimizer's."""
    lines = ["| clip | frames | peak RSS |", "|---|---|---|"]
    for length in (seconds, 6 * seconds):
        clip = SyntheticClip(width=640, height=360).write(folder / f"m{length}.mp4",
                                                          round(24 * length), fps=24,
                                                          audio=True)
        code = ("import resource, sys; from painterly.video.run import video; "
                f"r = video({str(clip)!r}, 'starry_night', {str(folder / f'm{length}-out.mp4')!r},"
                f" size=48, fps=2, first_frame_steps=1, frame_steps=1, min_size=48, "
                f"work_dir={str(folder / 'work')!r}); "
                "print(r.frames, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split()
        lines.append(f"| {length:g} s at 640x360 | {output[0]} | {int(output[1]) / 1024:.0f} MiB |")
    return "\n".join(lines)


def ray_table(args, source: Path, size: tuple[int, int], settings: dict,
              folder: Path) -> str:
    """Chunked runs on a local Ray cluster: seams against the inside of chunks, wall time."""
    import ray

    from painterly.batch.raycluster import runtime_env
    from painterly.video.chunks import BLEND

    counts = [int(n) for n in args.ray.split(",")]
    overlaps = [int(n) for n in args.overlap.split(",")]
    torch.set_num_threads(1)  # as each actor
    inputs = [resized(f, size) for f in open_clip(source).frames()]

    def measure(out: Path, **extra) -> tuple[list[float], float, object]:
        wall = time.perf_counter()
        result = video(source, args.style, out, work_dir=folder / f"work-{out.name}",
                       keep_frames=True,
                       **settings, **extra)
        wall = time.perf_counter() - wall
        outputs = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(out.iterdir())]
        return warping_errors(inputs, outputs), wall, result

    lines = ["| run | seams | warping error inside chunks | at seams (mean / max) | "
             "seams / inside | wall s | speed-up |", "|" + "---|" * 7]
    first_wall = None
    for attempt in range(3):  # Ray gives its node 30 s to start: too few on a loaded machine
        try:
            context = ray.init(num_cpus=max(counts), include_dashboard=False,
                               logging_level="ERROR", log_to_driver=False,
                               runtime_env=runtime_env(), _node_ip_address="127.0.0.1")
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    try:
        for workers in counts:
            for overlap in overlaps if workers > 1 else overlaps[-1:]:  # 1: no seams to blend
                errors, wall, result = measure(
                    folder / f"ray-{workers}-{overlap}", ray=context.address_info["gcs_address"],
                    workers=workers, threads=1, chunk_frames=args.chunk_frames, overlap=overlap)
                modes = {int(p.name.split("-")[1]): p.read_text()
                         for p in (result.work_folder / "notes").glob("seam-*")}
                blended = [start for start, mode in modes.items() if mode == BLEND]
                boundary = {t for s in blended for t in range(s - overlap, s + 1)}
                inside = [e for t, e in enumerate(errors, 1) if t not in boundary]
                at = [errors[t - 1] for t in sorted(boundary)]
                at_mean, at_max = (np.mean(at), np.max(at)) if at else (np.nan, np.nan)
                first_wall = first_wall or wall
                modes = f"{len(blended)} blended, {len(modes) - len(blended)} seeded"
                lines.append(f"| Ray, {workers} actor{'s' if workers > 1 else ''}, overlap "
                             f"{overlap} | {modes} | {np.mean(inside):.2f} | "
                             f"{at_mean:.2f} / {at_max:.2f} | {at_mean / np.mean(inside):.2f} | "
                             f"{wall:.0f} | {first_wall / wall:.2f} |")
                print(lines[-1], flush=True)
    finally:
        ray.shutdown()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=640)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--input")
    parser.add_argument("--frame-steps", type=int)
    parser.add_argument("--first-frame-steps", type=int)
    parser.add_argument("--temporal-weight", type=float)
    parser.add_argument("--sweep", help="name=v1,v2,...: consistent runs only, one per value")
    parser.add_argument("--no-independent", action="store_true")
    parser.add_argument("--memory", type=float, help="also measure peak RSS: clip seconds")
    parser.add_argument("--json", help="write the numbers here too")
    parser.add_argument("--figures", type=Path, help="also write a contact sheet of 8 frames "
                        "per mode and a side-by-side GIF here")
    parser.add_argument("--score", help="NAME=FOLDER,...: score frames kept by earlier runs "
                        "(--figures DIR/frames/MODE) with this code's measures, run nothing")
    parser.add_argument("--ray", help="numbers of Ray actors, e.g. 1,2: chunked runs only")
    parser.add_argument("--chunk-frames", type=int, default=8)
    parser.add_argument("--overlap", default="4", help="overlaps to try, e.g. 0,4")
    args = parser.parse_args()
    settings = {"size": args.size}
    if args.input:
        settings["frames"] = f"0:{args.frames}"
    for name in ("frame_steps", "first_frame_steps", "temporal_weight"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = make_clip(args, folder)
        clip = open_clip(source)
        size = _working_size(clip.size, args.size)
        print(f"clip: {clip.count} frames of {clip.size[0]}x{clip.size[1]}, output {size[0]}x"
              f"{size[1]}, style {args.style}, settings {settings}", flush=True)
        if args.ray:
            print(ray_table(args, source, size, settings, folder))
            return
        if args.score:
            print(score_table(source, args.style, size, args.score))
            return
        runs = []
        frames: dict[str, list[Path]] = {}
        if args.sweep:
            name, values = args.sweep.split("=")
            for value in values.split(","):
                typed = float(value) if name == "temporal_weight" else int(value)
                out = folder / f"sweep-{value.replace('.', '_')}"
                run = run_mode(source, args.style, out, folder / "work",
                               {**settings, name: typed})
                runs.append((f"{name}={value}", evaluate(source, args.style, run, size)))
                print(table(runs[-1:]), flush=True)
        else:
            run = run_mode(source, args.style, folder / "consistent", folder / "work", settings)
            frames["consistent"] = run["frames"]
            runs.append(("consistent", evaluate(source, args.style, run, size)))
            print(table(runs), flush=True)
        if not args.no_independent:
            run = run_mode(source, args.style, folder / "independent", folder / "work",
                           {**settings, "independent": True})
            frames["independent"] = run["frames"]
            runs.append(("independent", evaluate(source, args.style, run, size)))
        print(table(runs))
        if not args.no_independent and not args.sweep:
            consistent, independent = runs[0][1], runs[-1][1]
            print(f"\nwarping error: {independent['warp'] / consistent['warp']:.1f}x lower; "
                  f"style loss {100 * (consistent['style'] / independent['style'] - 1):+.1f}%, "
                  "style distance "
                  f"{100 * (consistent['distance'] / independent['distance'] - 1):+.1f}% "
                  "against independent frames")
        if args.figures:
            for name, files in frames.items():
                kept = args.figures / "frames" / name
                kept.mkdir(parents=True, exist_ok=True)
                for file in files:
                    (kept / file.name).write_bytes(file.read_bytes())
        if args.figures and frames:
            contact_sheet(source, size, frames, args.figures / "contact_sheet.jpg")
        if args.figures and len(frames) == 2:
            figures({"independent": frames["independent"], "consistent": frames["consistent"]},
                    args.figures)
        if args.memory:
            print()
            print(memory(args.memory, folder))
        if args.json:
            Path(args.json).write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
