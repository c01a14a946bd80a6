"""The web page in a real headless Chromium (Debian's ``chromium``, driven by Playwright):
upload two small images, start a tiny run, watch the progress, download the PNG; a corrupt upload
gets a clear message; two tabs run at once and both finish, one re-attached after a reload.

Skipped where Chromium or Playwright is missing, unless PAINTERLY_BROWSER_TESTS=required (as in
CI, whose .ci/run installs Chromium first). A screenshot goes to test-artifacts/web_page.png."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import synthetic_painting, synthetic_photo

CHROMIUM = os.environ.get("PAINTERLY_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
REQUIRED = os.environ.get("PAINTERLY_BROWSER_TESTS") == "required"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
TIMEOUT_MS = 90_000


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        return f"{error.name} is not installed"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


missing = _missing()
if missing and REQUIRED:
    raise RuntimeError(f"browser tests are required here but {missing}")
pytestmark = pytest.mark.skipif(missing is not None, reason=missing or "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``painterly serve`` on a free local port, in a thread of this process."""
    import uvicorn

    from painterly.web import create_app

    app = create_app(tmp_path_factory.mktemp("web-data"), max_concurrent=1,
                     snapshot_seconds=0.5, allowed_hosts=["127.0.0.1", "localhost"])
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=1)
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 1100}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server)
    tab.wait_for_selector("body[data-ready=true]")
    yield tab
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _tiny_settings(tab, steps: int = 3) -> None:
    tab.fill("#opt-size", "32")
    tab.fill("#opt-steps", str(steps))
    tab.click("#advanced summary")
    tab.fill("#opt-min_size", "32")
    tab.fill("#opt-coarse_steps", "0")


def _wait_until_done(tab) -> None:
    """Until the run is done, failing at once with the page's message if it could not start."""
    tab.wait_for_function("""() => document.querySelector('#run-status[data-state=done]') ||
        document.getElementById('start-message').textContent !== ''""")
    assert tab.text_content("#start-message") == ""
    tab.wait_for_selector("#run-status[data-state=done]")


def _record_statuses(tab) -> None:
    tab.evaluate("""() => {
        window.statuses = [];
        new MutationObserver(() => window.statuses.push(
            document.getElementById('run-status').textContent))
          .observe(document.getElementById('run-status'), {childList: true, subtree: true,
                                                           characterData: true});
    }""")


def test_upload_run_watch_and_download(page, tmp_path):
    content, style = tmp_path / "photo.png", tmp_path / "painting.png"
    synthetic_photo(48, 36).save(content)
    synthetic_painting(40, 40).save(style)
    page.set_input_files("#content-file", str(content))
    page.set_input_files("#style-file", str(style))
    page.wait_for_selector("#content-thumbs .thumb:not(.pending) img[src^='/api/uploads/']")
    page.wait_for_selector("#style-thumbs .thumb:not(.pending) img[src^='/api/uploads/']")
    _tiny_settings(page, steps=120)  # long enough (seconds) for live updates on an idle machine
    _record_statuses(page)
    page.click("#start")
    _wait_until_done(page)
    statuses = page.evaluate("window.statuses")
    running = [text for text in statuses if text.startswith("Running:")]
    assert running, statuses  # at least one live update between start and done
    for text in running:
        assert re.fullmatch(r"Running: step \d+/120, \d+/120 overall, loss [0-9.e+]+, "
                            r"ETA \d+:\d\d", text), text
    assert re.match(r"Done: 32×24, \d+ evaluations", page.text_content("#run-status"))
    assert page.get_attribute("#run-progress", "value") == page.get_attribute("#run-progress",
                                                                                "max")
    page.wait_for_function("() => document.getElementById('run-image').naturalWidth === 32")
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "download.png"
    info.value.save_as(saved)
    with Image.open(saved) as result:
        assert (result.format, result.size) == ("PNG", (32, 24))
    assert page.locator("#gallery .card").count() >= 1
    assert "steps 120" in page.text_content("#gallery .card.selected .settings")
    page.fill("#opt-size", "64")
    page.fill("#opt-steps", "7")
    page.click("#content-thumbs .thumb button")  # remove the content image
    page.click("#gallery .card.selected button.use")  # the run's images and settings return
    assert (page.input_value("#opt-size"), page.input_value("#opt-steps"),
            page.input_value("#opt-min_size")) == ("32", "120", "32")
    assert page.locator("#content-thumbs .thumb span").all_text_contents() == ["photo.png"]
    assert page.locator("#style-thumbs .thumb span").all_text_contents() == ["painting.png"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web_page.png"), full_page=True)


def test_corrupt_upload_shows_a_clear_message(page, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    page.set_input_files("#content-file", str(broken))
    page.wait_for_function("() => document.getElementById('content-message').textContent !== ''")
    message = page.text_content("#content-message")
    assert message.startswith("broken.jpg is damaged or truncated") or message.startswith(
        "broken.jpg is not an image file"), message
    assert page.locator("#content-thumbs .thumb").count() == 0
    page.click("#start")
    assert page.text_content("#start-message") == "Choose a content image first."


def test_two_tabs_run_at_once_and_both_finish(page, browser, server):
    second = page.context.new_page()
    second.set_default_timeout(TIMEOUT_MS)
    second.goto(server)
    second.wait_for_selector("body[data-ready=true]")
    for tab, style, steps in ((page, "starry_night", 10), (second, "the_scream", 3)):
        tab.select_option("#content-example", "tubingen")
        tab.select_option("#style-example", style)
        _tiny_settings(tab, steps)
    page.click("#start")
    page.wait_for_selector("#run-status[data-state=running]")
    _record_statuses(second)
    second.click("#start")
    second.wait_for_selector("#run-status[data-state]")
    assert "Waiting in the queue: position 1." in second.evaluate("window.statuses")
    second.reload()  # re-attaches to its run from the address (#run=...)
    second.wait_for_selector("body[data-ready=true]")
    for tab in (page, second):
        _wait_until_done(tab)
        assert tab.is_visible("#download")
    assert page.url.split("#run=")[1] != second.url.split("#run=")[1]
    second.close()


def test_api_documentation_page_lists_the_endpoints(page, server):
    page.goto(f"{server}/docs")
    page.wait_for_selector("#endpoints h2")
    headings = page.locator("#endpoints h2").all_text_contents()
    assert "POST /api/uploads" in headings and "GET /api/runs/{run_id}/events" in headings


def test_reconstruction_from_the_page_shows_its_figure(page, tmp_path):
    page.select_option("#content-example", "tubingen")
    page.select_option("#recon-kind", "reconstruct-content")
    assert page.input_value("#recon-layers") == "relu1_2,relu2_2,relu3_2,relu4_2,relu5_2"
    page.fill("#recon-layers", "relu1_2, relu3_2")
    page.fill("#recon-size", "32")
    page.fill("#recon-steps", "4")
    page.click("#recon-start")
    page.wait_for_function("""() => document.querySelector('#recon-status[data-state=done]') ||
        document.getElementById('recon-message').textContent !== ''""")
    assert page.text_content("#recon-message") == ""
    status = page.text_content("#recon-status")
    assert re.match(r"Done: figure of 2, \d+×\d+, 8 evaluations", status), status
    # the figure: the original and two reconstructions of 32x21 px, side by side, titled
    page.wait_for_function("() => document.getElementById('recon-image').naturalWidth >= 96")
    assert page.get_attribute("#run-status", "data-state") is None  # the transfer panel is idle
    with page.expect_download() as info:
        page.click("#recon-download")
    saved = tmp_path / "figure.png"
    info.value.save_as(saved)
    with Image.open(saved) as figure:
        assert figure.format == "PNG" and figure.width >= 96
    card = page.locator("#gallery .card.selected[data-kind=reconstruct-content]")
    assert "layers relu1_2,relu3_2" in card.locator(".settings").text_content()
    page.fill("#recon-steps", "99")
    page.select_option("#recon-kind", "reconstruct-style")
    card.locator("button.use").click()  # its settings back into the form
    assert page.input_value("#recon-kind") == "reconstruct-content"
    assert (page.input_value("#recon-layers"), page.input_value("#recon-steps")) == (
        "relu1_2,relu3_2", "4")


def test_video_from_the_page_shows_frames_and_the_mp4(page, tmp_path):
    import av

    from painterly.video.synthetic import SyntheticClip

    clip = SyntheticClip(width=48, height=32, radius=6.0).write(tmp_path / "clip.mp4", 4, fps=8)
    page.select_option("#style-example", "starry_night")
    page.set_input_files("#video-file", str(clip))
    page.wait_for_selector("#video-thumbs .thumb:not(.pending) img[src^='/api/uploads/']")
    assert page.text_content("#video-clip-facts") == "clip.mp4: 4 frames, 48×32, 0.5 s at 8 fps"
    assert page.locator("#video-style-thumbs .thumb").count() == 1
    page.fill("#video-opt-size", "48")
    page.fill("#video-opt-frame_steps", "2")
    page.click("#video-advanced summary")
    page.fill("#video-opt-first_frame_steps", "3")
    page.fill("#video-opt-min_size", "48")
    page.click("#video-start")
    page.wait_for_function("""() => document.getElementById('video-frame').naturalWidth > 0 ||
        document.getElementById('video-message').textContent !== ''""")
    assert page.text_content("#video-message") == ""
    assert page.get_attribute("#video-frame", "src").startswith("/api/runs/")  # a frame arrived
    page.wait_for_selector("#video-status[data-state=done]")
    assert re.match(r"Done: 4 frames, 48×32, in [0-9.]+ s\.", page.text_content("#video-status"))
    assert page.is_visible("#video-result") and page.is_visible("#video-download")
    with page.expect_download() as info:
        page.click("#video-download")
    saved = tmp_path / "download.mp4"
    info.value.save_as(saved)
    with av.open(str(saved)) as container:
        assert len(list(container.decode(video=0))) == 4
    card = page.locator("#gallery .card.selected[data-kind=video]")
    assert card.count() == 1 and "frame steps 2" in card.locator(".settings").text_content()
    page.fill("#video-opt-frame_steps", "7")
    page.click("#video-thumbs .thumb button")  # remove the clip
    card.locator("button.use").click()  # the run's clip and settings return
    assert page.input_value("#video-opt-frame_steps") == "2"
    page.wait_for_function("""() => document.getElementById('video-clip-facts').textContent
        .startsWith('clip.mp4: 4 frames')""")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#video").screenshot(path=str(ARTIFACTS / "web_video.png"))
