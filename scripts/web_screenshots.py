"""Make the pictures of the web page (docs/web.md): a real run of the built-in Tübingen photo in the
style of The Starry Night at a small size, then the feature maps and filters of the experiments
section, a content reconstruction figure of the photo made on the page, and the video section
after a synthesized clip (a camera pan across Tübingen, a disc moving against it) was stylized.

Needs Chromium (Debian: apt-get install chromium) and Playwright for Python (pip, no browser
download). Run from the repository root:

    python scripts/web_screenshots.py [--size 256] [--steps 100] [--coarse-steps 100]
        [--reconstruction-size 128] [--reconstruction-steps 100] [--video-size 256]
        [--video-frames 12] [--parts page,lab,reconstruction,video]

``--data-dir DIR`` keeps the run; given again, the page re-attaches to that finished run (as after
a reload) instead of computing it anew (and likewise to the reconstruction).
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from PIL import Image
from playwright.sync_api import sync_playwright

from painterly.video.synthetic import SyntheticClip
from painterly.web import create_app

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
WIDTH = 1100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def save_png(data: bytes, path: Path, width: int = 900) -> None:
    """Scale a screenshot to ``width`` px and save it as an optimized PNG (README-sized)."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)),
                             Image.Resampling.LANCZOS)
    image.save(path, optimize=True)
    print(f"wrote {path} ({image.width}x{image.height}, {path.stat().st_size // 1024} KB)")


def finished_run(data_dir: Path, size: int, kind: str = "transfer",
                 styles: tuple[str, ...] = ("starry_night",)) -> str | None:
    """The id of a finished run of Tübingen (with these styles) of this kind and size in
    ``data_dir``, if any."""
    for path in sorted((data_dir / "runs").glob("*/run.json")):
        run = json.loads(path.read_text())
        if (run["state"], run.get("kind", "transfer"), run["content"], run["styles"],
                run["options"].get("size")) == ("done", kind, "tubingen", list(styles), size):
            return run["id"]
    return None


def show_finished(page, earlier: str | None, start: str, status: str, what: str) -> None:
    """Show a finished run on the page: an earlier one from the gallery, or press ``start`` and
    wait for it (printing how long it took)."""
    if earlier:
        page.click(f".card[data-run='{earlier}']")
    else:
        started = time.monotonic()
        page.click(start)
    page.wait_for_selector(f"{status}[data-state=done]")
    if not earlier:
        print(f"{what} finished in {time.monotonic() - started:.0f} s: "
              f"{page.text_content(status)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=None, help="(default: the page's)")
    parser.add_argument("--coarse-steps", type=int, default=None, help="(default: the page's)")
    parser.add_argument("--reconstruction-size", type=int, default=128)
    parser.add_argument("--reconstruction-steps", type=int, default=100)
    parser.add_argument("--video-size", type=int, default=256)
    parser.add_argument("--video-frames", type=int, default=12,
                        help="frames of the synthesized clip (at 12 fps)")
    parser.add_argument("--parts", default="page,lab,reconstruction,video",
                        help="which pictures to make (comma-separated)")
    parser.add_argument("--output-dir", type=Path, default=Path("docs/images"))
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data folder of the server (default: a new temporary one)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    args.output_dir.mkdir(parents=True, exist_ok=True)

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="painterly-web-"))
    app = create_app(data_dir)
    earlier = finished_run(data_dir, args.size)
    earlier_reconstruction = finished_run(data_dir, args.reconstruction_size,
                                          "reconstruct-content", ())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.set_default_timeout(30 * 60 * 1000)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("body[data-ready=true]")
        page.select_option("#content-example", "tubingen")
        page.select_option("#style-example", "starry_night")
        if "video" in parts:
            video_section(page, data_dir, args)
        if parts & {"page", "lab", "reconstruction"}:
            other_sections(page, earlier, earlier_reconstruction, parts, args)
        browser.close()
    server.should_exit = True


def video_section(page, data_dir: Path, args: argparse.Namespace) -> None:
    """Stylize a synthesized clip in the video section (or show an earlier such run)."""
    earlier = None
    for path in sorted((data_dir / "runs").glob("*/run.json")):
        run = json.loads(path.read_text())
        if (run["state"], run.get("kind"), run["options"].get("size")) == \
                ("done", "video", args.video_size):
            earlier = run["id"]
    if not earlier:
        clip = SyntheticClip(width=320, height=180).write(
            data_dir / "tubingen-pan.mp4", args.video_frames, fps=12)
        page.set_input_files("#video-file", str(clip))
        page.wait_for_selector("#video-thumbs .thumb:not(.pending)")
        page.fill("#video-opt-size", str(args.video_size))
    show_finished(page, earlier, "#video-start", "#video-status", "video")
    page.wait_for_function("() => document.getElementById('video-frame').complete")
    page.evaluate("() => { const v = document.getElementById('video-result'); v.pause(); "
                  "v.currentTime = v.duration / 2; }")
    time.sleep(0.5)
    save_png(page.locator("#video").screenshot(), args.output_dir / "web_video.png")


def other_sections(page, earlier: str | None, earlier_reconstruction: str | None, parts: set,
                   args: argparse.Namespace) -> None:
    """The picture run (the page without its video section), the lab and the reconstruction."""
    if "page" in parts:
        page.fill("#opt-size", str(args.size))
        if args.steps is not None:
            page.fill("#opt-steps", str(args.steps))
        if args.coarse_steps is not None:
            page.click("#advanced summary")
            page.fill("#opt-coarse_steps", str(args.coarse_steps))
        show_finished(page, earlier, "#start", "#run-status", "run")
        page.wait_for_function("() => document.getElementById('run-image').complete")
        if page.locator("#advanced").get_attribute("open") is not None:
            page.click("#advanced summary")
        hide_video = "() => document.getElementById('video').classList.toggle('hidden')"
        page.evaluate(hide_video)  # it has a picture of its own
        bottom = page.evaluate("() => document.getElementById('gallery-panel')"
                               ".getBoundingClientRect().bottom + window.scrollY")
        shot = Image.open(io.BytesIO(page.screenshot(full_page=True)))
        page.evaluate(hide_video)
        buffer = io.BytesIO()
        shot.crop((0, 0, shot.width, min(shot.height, round(bottom) + 12))).save(buffer, "PNG")
        save_png(buffer.getvalue(), args.output_dir / "web_page.png")

    if "lab" in parts:
        page.select_option("#feature-layer", "relu2_1")
        page.click("#show-features")
        page.wait_for_function("() => document.getElementById('features-image').naturalWidth > 0")
        page.select_option("#filter-layer", "conv1_1")
        page.click("#show-filters")
        page.wait_for_function("() => document.getElementById('filters-image').naturalWidth > 0")
        hide = "() => document.getElementById('reconstructions').classList.toggle('hidden')"
        page.evaluate(hide)  # feature maps and filters only: the reconstruction is the next
        save_png(page.locator("#lab").screenshot(), args.output_dir / "web_lab.png")
        page.evaluate(hide)

    if "reconstruction" in parts:
        if not earlier_reconstruction:
            page.select_option("#recon-kind", "reconstruct-content")
            page.fill("#recon-size", str(args.reconstruction_size))
            page.fill("#recon-steps", str(args.reconstruction_steps))
        show_finished(page, earlier_reconstruction, "#recon-start", "#recon-status",
                      "reconstruction")
        page.wait_for_function("() => document.getElementById('recon-image').complete")
        save_png(page.locator("#reconstructions").screenshot(),
                 args.output_dir / "web_reconstruction.png")


if __name__ == "__main__":
    main()
