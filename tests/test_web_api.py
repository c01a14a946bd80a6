"""The HTTP API of ``painterly serve`` through an in-process client: uploads and their limits,
runs (progress events, cancel, queue, result), persistence, and that no request reaches a file
outside the data folder."""

from __future__ import annotations

import io
import json
import time
import warnings

import pytest
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # starlette >= 1.x suggests httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from painterly.web.runs import FINAL_STATES
from tests.conftest import synthetic_painting, synthetic_photo

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
TINY = {"size": 32, "steps": 3, "min_size": 32, "coarse_steps": 0}
LONG = {"size": 32, "steps": 5000, "min_size": 32}


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def client(make_client):
    return make_client()


def upload(client: TestClient, data: bytes, name: str = "photo.png"):
    return client.post(f"/api/uploads?name={name}", content=data,
                       headers={"Content-Type": "application/octet-stream"})


def start(client: TestClient, content="tubingen", styles=("starry_night",), options=None):
    return client.post("/api/runs", json={"content": content, "styles": list(styles),
                                          "options": TINY if options is None else options})


def events(client: TestClient, run_id: str) -> list[dict]:
    """All state events of a run until it finishes (the stream ends then)."""
    found = []
    with client.stream("GET", f"/api/runs/{run_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line[len("data: "):]))
    return found


def wait_for(client: TestClient, run_id: str, condition, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if condition(run):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached the condition: {run}")


def test_upload_keeps_a_normalized_image_with_a_preview(client):
    response = upload(client, png_bytes(synthetic_photo(64, 48)), "my photo.png")
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["width"], body["height"]) == ("my photo.png", 64, 48)
    preview = client.get(body["preview"])
    assert preview.status_code == 200
    assert Image.open(io.BytesIO(preview.content)).size == (64, 48)
    assert [u["id"] for u in client.get("/api/uploads").json()] == [body["id"]]
    assert client.delete(f"/api/uploads/{body['id']}").status_code == 204
    assert client.get("/api/uploads").json() == []


@pytest.mark.parametrize(("data", "message"), [
    (b"just some text, not a picture", "bad.png is not an image file Pillow can read"),
    (png_bytes(synthetic_photo())[:200], "bad.png is damaged or truncated"),
    (b"", "bad.png is an empty file"),
])
def test_bad_uploads_get_one_clear_line_without_server_paths(client, tmp_path, data, message):
    response = upload(client, data, "bad.png")
    assert response.status_code == 400
    text = response.json()["error"]
    assert text.startswith(message)
    assert str(tmp_path) not in text and "original.bin" not in text
    assert client.get("/api/uploads").json() == []


def test_decompression_bomb_is_refused(client):
    bomb = Image.new("1", (12_000, 9_000))  # 108 megapixels, a few kB as PNG
    response = upload(client, png_bytes(bomb), "bomb.png")
    assert response.status_code == 400
    assert "megapixels" in response.json()["error"]


def test_oversized_and_too_many_uploads_are_refused(make_client):
    client = make_client(max_upload_bytes=4000, max_uploads=2)
    small = png_bytes(synthetic_photo(16, 16))
    big = png_bytes(Image.effect_noise((64, 64), 60).convert("RGB"))
    assert len(big) > 4000 > len(small)
    response = upload(client, big)
    assert response.status_code == 413
    assert "upload limit" in response.json()["error"]
    assert upload(client, small).status_code == 201
    assert upload(client, small).status_code == 201
    third = upload(client, small)
    assert third.status_code == 429
    assert "limit" in third.json()["error"]


def test_form_posts_and_foreign_origins_are_refused(client):
    data = png_bytes(synthetic_photo())
    form = client.post("/api/uploads", content=data, headers={"Content-Type": "text/plain"})
    assert form.status_code == 415
    foreign = client.post("/api/uploads", content=data, headers={
        "Content-Type": "image/png", "Origin": "http://evil.example"})
    assert foreign.status_code == 403
    same = client.post("/api/uploads", content=data, headers={
        "Content-Type": "image/png", "Origin": "http://testserver"})
    assert same.status_code == 201


def test_run_streams_progress_and_gives_a_png(client, tmp_path):
    photo = upload(client, png_bytes(synthetic_photo(48, 36))).json()
    painting = upload(client, png_bytes(synthetic_painting(40, 40)), "style.png").json()
    response = start(client, photo["id"], [painting["id"]])
    assert response.status_code == 201
    run = response.json()
    assert run["state"] in ("queued", "running")
    assert run["names"] == {photo["id"]: "photo.png", painting["id"]: "style.png"}

    seen = events(client, run["id"])
    assert seen[-1]["state"] == "done"
    steps = [event["progress"]["done"] for event in seen if event["progress"]]
    assert steps == sorted(steps) and steps[-1] == 3
    last = seen[-1]
    assert last["progress"]["total"] == 3 and last["progress"]["loss"] > 0
    assert last["progress"]["eta"] is not None
    assert last["image_version"] >= 1
    assert last["result"]["evaluations"] == 3
    assert (last["result"]["width"], last["result"]["height"]) == (32, 24)

    result = client.get(last["download"])
    assert result.status_code == 200
    assert result.headers["content-type"] == "image/png"
    assert f'filename="painterly-{run["id"]}.png"' in result.headers["content-disposition"]
    assert Image.open(io.BytesIO(result.content)).size == (32, 24)
    assert client.get(last["image"]).status_code == 200
    stored = json.loads((tmp_path / "data" / "runs" / run["id"] / "run.json").read_text())
    assert stored["state"] == "done" and stored["options"] == TINY


def test_runs_survive_a_restart_of_the_server(make_client, tmp_path):
    first = make_client()
    run = start(first, options=TINY).json()
    assert events(first, run["id"])[-1]["state"] == "done"
    unfinished = tmp_path / "data" / "runs" / "0123456789abcdef"
    unfinished.mkdir()
    (unfinished / "run.json").write_text(json.dumps(
        {"id": unfinished.name, "content": "tubingen", "styles": ["starry_night"],
         "options": {}, "created": 1.0, "state": "running"}))
    second = make_client()
    listing = {item["id"]: item for item in second.get("/api/runs").json()}
    assert listing[run["id"]]["state"] == "done"
    assert second.get(listing[run["id"]]["download"]).status_code == 200
    assert listing[unfinished.name]["state"] == "interrupted"
    assert listing[unfinished.name]["kind"] == "transfer"  # run.json of before kinds existed
    assert "server stopped" in listing[unfinished.name]["error"]


def test_cancel_stops_a_run_and_keeps_the_best_image(client):
    run = start(client, options=LONG).json()
    wait_for(client, run["id"], lambda r: r["progress"] and r["progress"]["done"] >= 2)
    response = client.post(f"/api/runs/{run['id']}/cancel")
    assert response.status_code == 200
    final = wait_for(client, run["id"], lambda r: r["state"] in FINAL_STATES, timeout=20)
    assert final["state"] == "cancelled"
    assert final["result"]["evaluations"] < 5000
    assert client.get(final["download"]).status_code == 200


def test_queue_positions_and_limit(make_client):
    client = make_client(max_concurrent=1, max_queued=1)
    first = start(client, options=LONG).json()
    wait_for(client, first["id"], lambda r: r["state"] == "running")
    second = start(client, options=TINY).json()
    assert (second["state"], second["queue_position"]) == ("queued", 1)
    full = start(client, options=TINY)
    assert full.status_code == 429
    assert "waiting" in full.json()["error"]
    client.post(f"/api/runs/{first['id']}/cancel")
    seen = events(client, second["id"])
    assert seen[-1]["state"] == "done"
    assert wait_for(client, first["id"], lambda r: r["state"] in FINAL_STATES)["state"] == \
        "cancelled"


def test_two_runs_started_at_once_both_finish(make_client):
    """Like two browser tabs: one runs, the other waits its turn; both finish."""
    client = make_client(max_concurrent=1)
    a = start(client).json()
    b = start(client, styles=["the_scream"]).json()
    assert b["state"] == "queued" and b["queue_position"] in (1, 2)
    assert events(client, a["id"])[-1]["state"] == "done"
    assert events(client, b["id"])[-1]["state"] == "done"
    assert len(client.get("/api/runs").json()) == 2


def test_a_waiting_run_can_be_cancelled(make_client):
    client = make_client(max_concurrent=1)
    first = start(client, options=LONG).json()
    wait_for(client, first["id"], lambda r: r["state"] == "running")
    second = start(client).json()
    cancelled = client.post(f"/api/runs/{second['id']}/cancel").json()
    assert cancelled["state"] == "cancelled" and cancelled["queue_position"] is None
    assert cancelled["result"] is None
    client.post(f"/api/runs/{first['id']}/cancel")


@pytest.mark.parametrize(("body", "message"), [
    ({"content": "tubingen", "styles": ["starry_night"], "options": {"size": 5}},
     "size must be between 16"),
    ({"content": "tubingen", "styles": ["starry_night"], "options": {"colour": 1}},
     "unknown option(s): colour"),
    ({"content": "tubingen", "styles": ["starry_night"], "options": {"weights": "/etc/passwd"}},
     "unknown option(s): weights"),
    ({"content": "tubingen", "styles": ["starry_night"], "options": {"init": "photo.png"}},
     "init must be one of palette, content, noise"),
    ({"content": "tubingen", "styles": ["starry_night"], "options": {"steps": "many"}},
     "steps must be a whole number, got 'many'"),
    ({"content": "tubingen", "styles": ["starry_night"],
      "options": {"content_layer": "../../etc/passwd"}}, "file paths are not accepted"),
    ({"content": "../../etc/passwd", "styles": ["starry_night"]}, "no such image"),
    ({"content": "tubingen", "styles": []}, "styles: give a list"),
    ({"content": "tubingen", "styles": ["starry_night"],
      "options": {"style_layers": ["relu9_9"]}}, "style_layers has unknown value(s) relu9_9"),
])
def test_bad_run_requests_get_one_clear_line(client, body, message):
    response = client.post("/api/runs", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert client.get("/api/runs").json() == []


def reconstruct(client: TestClient, kind: str, image: str = "tubingen", **options):
    return client.post("/api/runs", json={"kind": kind, "content": image,
                                          "options": {"size": 32, "steps": 3} | options})


def test_content_reconstruction_streams_progress_and_gives_its_figure(client, tmp_path):
    photo = upload(client, png_bytes(synthetic_photo(48, 36))).json()
    response = reconstruct(client, "reconstruct-content", photo["id"],
                           layers=["relu1_2", "relu3_2"])
    assert response.status_code == 201
    run = response.json()
    assert (run["kind"], run["content"], run["styles"]) == ("reconstruct-content", photo["id"], [])

    seen = events(client, run["id"])
    final = seen[-1]
    assert final["state"] == "done"
    progress = [event["progress"] for event in seen if event["progress"]]
    done = [p["done"] for p in progress]
    assert done == sorted(done) and done[-1] == 6 and progress[-1]["total"] == 6
    for p in progress:  # the event stream samples the state: these are some of the steps
        first = p["done"] <= 3
        assert (p["part"], p["parts"], p["layers"]) == \
            ((1, 2, "relu1_2") if first else (2, 2, "relu3_2")), p
    parts = final["result"]["reconstructions"]
    assert [part["layers"] for part in parts] == [["relu1_2"], ["relu3_2"]]
    assert all(part["evaluations"] == 3 and part["loss"] < part["start_loss"] for part in parts)
    assert parts[0]["psnr"] > 5
    assert final["result"]["evaluations"] == 6
    assert final["image_version"] == 7  # the image after each evaluation, then the figure

    figure = client.get(final["download"])
    assert figure.status_code == 200 and figure.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(figure.content)) as picture:
        assert picture.format == "PNG"
        # the original and two reconstructions at 32x24, side by side, titled
        assert picture.width >= 3 * 32 and picture.height > 24
        assert (picture.width, picture.height) == (final["result"]["width"],
                                                   final["result"]["height"])
    stored = json.loads((tmp_path / "data" / "runs" / run["id"] / "run.json").read_text())
    assert stored["kind"] == "reconstruct-content"
    assert stored["options"] == {"layers": ["relu1_2", "relu3_2"], "size": 32, "steps": 3}


def test_cumulative_style_reconstruction_is_in_the_gallery(client):
    run = reconstruct(client, "reconstruct-style", "starry_night", steps=4,
                      layers=["relu1_1", "relu2_1"], cumulative=True).json()
    final = events(client, run["id"])[-1]
    assert final["state"] == "done"
    parts = final["result"]["reconstructions"]
    assert [part["layers"] for part in parts] == [["relu1_1"], ["relu1_1", "relu2_1"]]
    assert all(part["loss_reduction"] > 1 for part in parts), parts
    assert final["progress"]["layers"] == "relu1_1+relu2_1"
    with Image.open(io.BytesIO(client.get(final["download"]).content)) as picture:
        assert picture.format == "PNG" and picture.width >= 3 * 32
    listed = {item["id"]: item for item in client.get("/api/runs").json()}
    assert listed[run["id"]]["kind"] == "reconstruct-style"
    assert listed[run["id"]]["download"] == final["download"]


def test_a_reconstruction_can_be_cancelled(client):
    run = reconstruct(client, "reconstruct-style", layer="relu2_1", steps=5000).json()
    wait_for(client, run["id"], lambda r: r["progress"] and r["progress"]["done"] >= 2)
    client.post(f"/api/runs/{run['id']}/cancel")
    final = wait_for(client, run["id"], lambda r: r["state"] in FINAL_STATES, timeout=20)
    assert final["state"] == "cancelled"
    assert final["result"]["evaluations"] < 5000
    assert client.get(final["download"]).status_code == 200


def test_a_bad_option_names_its_form_field(client):
    response = client.post("/api/runs", json={"content": "tubingen", "styles": ["starry_night"],
                                              "options": {"strength": 0.001}})
    assert response.status_code == 400
    assert response.json() == {"error": "strength must be between 0.01 and 100, got 0.001",
                               "field": "strength"}


def test_a_size_too_small_for_pool5_is_refused_at_submission(client):
    response = client.post("/api/runs", json={
        "content": "tubingen", "styles": ["starry_night"],
        "options": {"size": 32, "min_size": 32, "steps": 1, "content_layer": "pool5"}})
    assert response.status_code == 400
    assert response.json()["field"] == "size"
    assert "thinner than the 32 px" in response.json()["error"]


@pytest.mark.parametrize(("kind", "extra", "message"), [
    ("reconstruct-content", {"options": {"layers": ["relu1_2", "relu9_9"]}},
     "unknown VGG-19 layer 'relu9_9'; valid layers: conv1_1"),
    ("reconstruct-style", {"options": {"layer": "conv6_1"}}, "unknown VGG-19 layer 'conv6_1'"),
    ("reconstruct-content", {"options": {"layer": "relu1_1", "layers": ["relu2_1"]}},
     "give layer or layers, not both"),
    ("reconstruct-content", {"options": {"layers": "relu1_1"}}, "layers must be a list"),
    ("reconstruct-content", {"options": {"size": 4096}}, "size must be at most 2048"),
    ("reconstruct-style", {"options": {"steps": 6000}}, "steps must be at most 5000"),
    ("reconstruct-content", {"options": {"size": 8}}, "size must be between 16"),
    ("reconstruct-content", {"options": {"cumulative": True}},
     "unknown option(s) of a reconstruction: cumulative"),
    ("reconstruct-style", {"options": {"weights": "/etc/passwd"}},
     "unknown option(s) of a reconstruction: weights"),
    ("reconstruct-style", {"options": {"layers": ["relu1_1"] * 9}}, "at most 8 layers"),
    ("reconstruct-style", {"styles": ["starry_night"]}, "takes one image, as content"),
    ("dream", {}, "kind: choose from transfer, reconstruct-content, reconstruct-style"),
])
def test_bad_reconstruction_requests_get_one_clear_line(client, kind, extra, message):
    response = client.post("/api/runs", json={"kind": kind, "content": "tubingen"} | extra)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert "\n" not in response.json()["error"]
    assert client.get("/api/runs").json() == []


@pytest.mark.parametrize("path", [
    "/api/runs/..%2F..%2F..%2Fetc%2Fpasswd/result.png",
    "/api/runs/../../../../etc/passwd",
    "/api/runs/%2e%2e/%2e%2e/pyproject.toml/result.png",
    "/api/uploads/..%2F..%2Fpyproject.toml/preview.png",
    "/api/uploads/0123456789abcdef/preview.png",
    "/static/../../../pyproject.toml",
    "/static/..%2F..%2F..%2Fpyproject.toml",
    "/api/examples/..%2F__init__.py/preview.png",
])
def test_no_file_outside_the_data_folder_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"root:" not in response.content and b"[project]" not in response.content


def test_options_come_from_transfer_options(client):
    from painterly.style.options import TransferOptions

    options = client.get("/api/options").json()
    fields = {field["name"]: field for field in options["fields"]}
    assert fields["steps"]["default"] == TransferOptions().steps
    assert fields["style_weight"]["default"] == TransferOptions().style_weight
    assert fields["optimizer"]["choices"] == ["lbfgs", "adam", "lbfgs-unbounded"]
    assert fields["layer_weights"]["kind"] == "text"
    assert fields["style_layers"]["kind"] == "list"
    assert fields["layer_weights"]["kinds"] == ["text", "numbers"]
    assert (fields["strength"]["control"], fields["strength"]["min"]) == ("slider", 0.01)
    assert "weights" not in fields and "device" not in fields
    assert options["limits"]["max_concurrent"] == 1


def test_openapi_describes_every_api_route(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    routes = {route.path for route in client.app.routes
              if getattr(route, "path", "").startswith("/api/")}
    assert routes == set(spec["paths"])
    page = client.get("/docs")
    assert page.status_code == 200 and "/static/docs.js" in page.text


def test_page_and_its_assets_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("/static/app.js", "/static/style.css", "/static/docs.js"):
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert "https://" not in response.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_feature_maps_and_filters(client):
    photo = upload(client, png_bytes(synthetic_photo(64, 48))).json()
    maps = client.get(f"/api/experiments/features.png?image={photo['id']}&layer=relu1_1&count=8")
    assert maps.status_code == 200 and maps.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(maps.content)).width > 200
    filters = client.get("/api/experiments/filters.png?layer=conv1_1&count=64")
    assert filters.status_code == 200
    bad_layer = client.get("/api/experiments/features.png?image=tubingen&layer=conv9_1")
    assert bad_layer.status_code == 400 and "valid layers" in bad_layer.json()["error"]
    not_conv = client.get("/api/experiments/filters.png?layer=pool1")
    assert not_conv.status_code == 400 and "has no filters" in not_conv.json()["error"]


def test_stopping_the_server_interrupts_a_run_and_keeps_its_image(make_client, tmp_path):
    client = make_client()
    run = start(client, options=LONG).json()
    wait_for(client, run["id"], lambda r: r["progress"] is not None)
    client.__exit__(None, None, None)  # the server stops (as on Ctrl-C)
    stored = json.loads((tmp_path / "data" / "runs" / run["id"] / "run.json").read_text())
    assert stored["state"] == "interrupted" and "best image" in stored["error"]
    assert (tmp_path / "data" / "runs" / run["id"] / "result.png").is_file()


def test_serve_command_line_errors():
    from painterly.cli import main
    from painterly.cli.serve import local_host_names

    assert main(["serve", "--port", "70000"]) == 2
    assert "localhost" in local_host_names("127.0.0.1")
    assert local_host_names("0.0.0.0") is None
