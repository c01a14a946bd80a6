"""The web face's video runs over HTTP, on real (tiny) video files: a clip is uploaded with its
caps checked, stylized on the run queue by ``painterly.video`` with progress over frames and each
finished frame shown, cancelled with its finished frames kept (and resumed by the same settings),
re-queued after a restart, and downloaded as an .mp4 that PyAV decodes."""

from __future__ import annotations

import io
import json
import warnings

import av
import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from painterly.video.synthetic import SyntheticClip
from painterly.web.runs import FINAL_STATES
from tests.conftest import synthetic_photo
from tests.test_web_api import events, png_bytes, upload, wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

CLIP = SyntheticClip(width=48, height=32, radius=6.0)
FRAMES, FPS = 4, 8
TINY_VIDEO = {"size": 48, "min_size": 48, "first_frame_steps": 3, "frame_steps": 2}


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    return CLIP.write(tmp_path_factory.mktemp("clip") / "clip.mp4", FRAMES, fps=FPS).read_bytes()


def upload_clip(client: TestClient, data: bytes, name: str = "clip.mp4",
                content_type: str = "video/mp4"):
    return client.post(f"/api/uploads?kind=video&name={name}", content=data,
                       headers={"Content-Type": content_type})


def start_video(client: TestClient, clip_id: str, options: dict | None = None,
                styles=("starry_night",)):
    return client.post("/api/runs", json={"kind": "video", "content": clip_id,
                                          "styles": list(styles),
                                          "options": TINY_VIDEO if options is None else options})


def decoded_frames(data: bytes) -> list:
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_a_clip_is_stylized_frame_by_frame_and_downloads_as_mp4(make_client, clip_bytes,
                                                                tmp_path):
    client = make_client()
    response = upload_clip(client, clip_bytes)
    assert response.status_code == 201
    clip = response.json()
    assert (clip["kind"], clip["frames"], clip["fps"], clip["width"], clip["height"]) == \
        ("video", FRAMES, FPS, 48, 32)
    assert client.get(clip["preview"]).status_code == 200

    run = start_video(client, clip["id"]).json()
    assert (run["kind"], run["content"]) == ("video", clip["id"])
    seen = events(client, run["id"])
    final = seen[-1]
    assert final["state"] == "done", final
    progress = [event["progress"] for event in seen if event["progress"]]
    assert all(p["frames"] == p["total"] == FRAMES for p in progress)
    done = [p["done"] for p in progress]
    assert done == sorted(done) and done[-1] == FRAMES
    assert all(p["eta"] is None or p["eta"] >= 0 for p in progress)
    assert final["image_version"] == FRAMES  # each finished frame became the live image
    assert (final["result"]["frames"], final["result"]["computed"]) == (FRAMES, FRAMES)
    assert (final["result"]["width"], final["result"]["height"]) == (48, 32)

    download = client.get(final["download"])
    assert download.status_code == 200 and download.headers["content-type"] == "video/mp4"
    assert f'filename="painterly-{run["id"]}.mp4"' in download.headers["content-disposition"]
    frames = decoded_frames(download.content)
    assert len(frames) == FRAMES and frames[0].shape == (32, 48, 3)
    assert client.get(final["image"]).headers["content-type"] == "image/png"
    stored = json.loads((tmp_path / "data" / "runs" / run["id"] / "run.json").read_text())
    assert (stored["kind"], stored["state"], stored["options"]) == ("video", "done", TINY_VIDEO)
    assert not any((tmp_path / "data" / "video-work").iterdir())  # frames removed once encoded


def test_clip_uploads_are_checked(make_client, clip_bytes):
    client = make_client(max_video_bytes=len(clip_bytes) + 100, max_video_seconds=0.4)
    as_text = upload_clip(client, clip_bytes, content_type="text/plain")
    assert as_text.status_code == 415 and "video/mp4" in as_text.json()["error"]
    as_image = upload_clip(client, clip_bytes, content_type="image/png")
    assert as_image.status_code == 415
    too_big = upload_clip(client, clip_bytes + bytes(200))
    assert too_big.status_code == 413 and "upload limit" in too_big.json()["error"]
    too_long = upload_clip(client, clip_bytes)  # 0.5 s, the limit 0.4 s
    assert too_long.status_code == 400
    assert too_long.json()["error"].startswith("clip.mp4 is longer than the limit of 0.4 s")
    still = upload_clip(client, png_bytes(synthetic_photo(32, 24)), "still.png",
                        "application/octet-stream")
    assert still.status_code == 400 and "still.png is a still image" in still.json()["error"]
    garbage = upload_clip(client, b"not a video at all" * 50, "junk.mp4")
    assert garbage.status_code == 400
    assert garbage.json()["error"].startswith("junk.mp4 is not a video file of a kind the web")
    playlist = b"#EXTM3U\n#EXTINF:1,\nfile:///etc/hostname\n#EXT-X-ENDLIST\n"
    assert upload_clip(client, playlist, "list.m3u8").status_code == 400  # FFmpeg never sees it
    damaged = upload_clip(client, clip_bytes[:300], "cut.mp4")  # an MP4 header, then nothing
    assert damaged.status_code == 400
    message = damaged.json()["error"]
    assert "cut.mp4" in message and "clip.video" not in message and "/" not in message
    assert upload(client, clip_bytes, "clip.mp4").status_code == 400  # as an image: not one
    assert client.get("/api/uploads").json() == []


def test_video_runs_are_checked_when_submitted(make_client, clip_bytes):
    client = make_client(max_video_frames=10)
    clip = upload_clip(client, clip_bytes).json()
    photo = upload(client, png_bytes(synthetic_photo(32, 24))).json()
    cases = [
        (start_video(client, clip["id"], {"steps": 3}), "unknown option(s) of a video: steps",
         None),
        (start_video(client, clip["id"], {"frame_steps": 9000}), "frame_steps must be at most",
         "frame_steps"),
        (start_video(client, clip["id"], {"start": 2.0}), "leaves no frames", "start"),
        (start_video(client, clip["id"], {"duration": 1e-9}), "leaves no frames", "duration"),
        (start_video(client, clip["id"], {"fps": 1e-300}), "fps must be", "fps"),
        (start_video(client, clip["id"], {"fps": 24}), "gives about 12 frames, more than the "
         "10 of a video run", "duration"),
        (start_video(client, photo["id"]), "no such video clip", None),
        (start_video(client, clip["id"], styles=[clip["id"]]), "is a video clip, not an image",
         None),
        (client.post("/api/runs", json={"content": clip["id"], "styles": ["starry_night"]}),
         "is a video clip, not an image", None),
    ]
    for response, message, field in cases:
        assert response.status_code == 400
        assert message in response.json()["error"], response.json()
        if field:
            assert response.json()["field"] == field
    assert client.get("/api/runs").json() == []


def test_cancel_keeps_the_finished_frames_and_the_same_settings_resume(make_client,
                                                                       clip_bytes):
    client = make_client()
    clip = upload_clip(client, clip_bytes).json()
    slow = TINY_VIDEO | {"frame_steps": 5000}
    run = start_video(client, clip["id"], slow).json()
    wait_for(client, run["id"], lambda r: r["image_version"] >= 1, timeout=120)
    client.post(f"/api/runs/{run['id']}/cancel")
    final = wait_for(client, run["id"], lambda r: r["state"] in FINAL_STATES, timeout=60)
    assert final["state"] == "cancelled"
    kept = final["result"]["frames"]
    assert 1 <= kept < FRAMES
    assert len(decoded_frames(client.get(final["download"]).content)) == kept

    again = start_video(client, clip["id"], slow | {"frame_steps": 5000}).json()
    wait_for(client, again["id"], lambda r: r["progress"] and r["progress"]["done"] >= kept,
             timeout=120)
    client.post(f"/api/runs/{again['id']}/cancel")
    second = wait_for(client, again["id"], lambda r: r["state"] in FINAL_STATES, timeout=60)
    assert second["result"]["frames"] >= kept
    assert second["result"]["computed"] == second["result"]["frames"] - kept  # none redone


def test_a_queued_video_run_is_queued_again_after_a_restart(make_client, clip_bytes, tmp_path):
    first = make_client()
    clip = upload_clip(first, clip_bytes).json()
    run_id = "0123456789abcdef"
    folder = tmp_path / "data" / "runs" / run_id
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps(
        {"id": run_id, "kind": "video", "content": clip["id"], "styles": ["starry_night"],
         "options": TINY_VIDEO, "created": 1.0, "state": "queued"}))
    second = make_client()
    final = events(second, run_id)[-1]
    assert final["state"] == "done" and final["result"]["frames"] == FRAMES
    assert len(decoded_frames(second.get(final["download"]).content)) == FRAMES


@pytest.mark.parametrize("suffix", [".webm", ".mkv", ".mov", ".gif"])
def test_clips_of_every_container_the_page_names_are_taken(make_client, tmp_path, suffix):
    data = CLIP.write(tmp_path / f"clip{suffix}", 3, fps=FPS).read_bytes()
    response = upload_clip(make_client(), data, f"clip{suffix}", "application/octet-stream")
    assert response.status_code == 201, response.json()
    assert (response.json()["frames"], response.json()["width"]) == (3, 48)


def test_a_gif_cut_inside_a_frame_is_a_400_not_a_500(make_client, tmp_path):
    """Found by the clip fuzz target: Pillow's frame count raised IndexError (an HTTP 500)."""
    client = make_client()
    data = SyntheticClip(width=16, height=12).write(tmp_path / "seed.gif", 2, fps=8).read_bytes()
    for cut in range(len(data) * 3 // 4, len(data), 3):
        response = upload_clip(client, data[:cut], "cut.gif")
        assert response.status_code in (201, 400), (cut, response.text)
