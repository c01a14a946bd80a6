"""A video run through the web page's HTTP API, timed: upload a synthesized clip (a camera pan
across the Tübingen photo with a disc moving against it), stylize it with the page's defaults,
and report when the first frame arrived, the seconds per frame (flow, optimization, I/O) and the
whole run. The server runs in this process (the same app as ``painterly serve``), so the CPU
seconds of this process during the run are the run's own: on a machine busy with other work the
wall-clock times grow, the CPU seconds do not.

    python benchmarks/web_video.py [--width 256] [--height 144] [--frames 24] [--fps 12]
        [--style starry_night] [--option frame_steps=20 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

from painterly.video.synthetic import SyntheticClip
from painterly.web import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=144)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--fps", type=int, default=12)
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=JSON",
                        help="a video option besides the page's suggested ones, e.g. "
                             "frame_steps=10")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = SyntheticClip(width=args.width, height=args.height).write(
            Path(folder) / "clip.mp4", args.frames, fps=args.fps)
        with TestClient(create_app(Path(folder) / "data", snapshot_seconds=1.0)) as client:
            report(client, clip.read_bytes(), args)


def report(client: TestClient, data: bytes, args: argparse.Namespace) -> None:
    options = client.get("/api/options").json()["video"]["suggested"]
    for item in args.option:
        name, _, value = item.partition("=")
        options[name] = json.loads(value)
    moment = time.perf_counter()
    upload = client.post("/api/uploads?kind=video&name=clip.mp4", content=data,
                         headers={"Content-Type": "video/mp4"})
    upload.raise_for_status()
    upload_seconds = time.perf_counter() - moment
    started, cpu_started = time.perf_counter(), time.process_time()
    run = client.post("/api/runs", json={"kind": "video", "content": upload.json()["id"],
                                         "styles": [args.style], "options": options})
    run.raise_for_status()
    first_frame = None
    while True:
        state = client.get(f"/api/runs/{run.json()['id']}").json()
        if first_frame is None and state["image_version"] >= 1:
            first_frame = time.perf_counter() - started
        if state["state"] not in ("queued", "running"):
            break
        time.sleep(0.25)
    cpu = time.process_time() - cpu_started
    if state["state"] != "done":
        raise SystemExit(f"the run ended {state['state']}: {state['error']}")
    result = state["result"]
    timing = result["timing"]
    frames = result["frames"]
    print(f"clip: {args.width}x{args.height}, {args.frames} frames at {args.fps} fps; "
          f"options {json.dumps(options)}")
    print("| measure | seconds |")
    print("|---|---:|")
    rows = [("upload (checked, preview)", upload_seconds),
            ("first frame shown after the start", first_frame),
            ("whole run (network load, frames, encoding)", result["seconds"]),
            ("per frame: flow", timing["flow"] / frames),
            ("per frame: optimization", timing["optimization"] / frames),
            ("per frame: I/O", timing["io"] / frames),
            ("per later frame (after the first was shown)",
             (result["seconds"] - first_frame) / max(1, frames - 1))]
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} |")
    print(f"CPU seconds of the run: {cpu:.0f} ({cpu / frames:.1f} a frame) on "
          f"{os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
