"""The web face under damage and hostility: a data folder with damaged or foreign records still
starts and lists (the records moved aside, one log line each), queued runs survive a restart,
JSON is strict both ways, state-changing routes take only their content types, and no message
shows a server path."""

from __future__ import annotations

import json
import logging
import math
import warnings

import pytest
from PIL import Image

pytest.importorskip("starlette")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from painterly.web import create_app
from painterly.web.runs import Run
from tests.conftest import synthetic_photo
from tests.test_web_api import LONG, TINY, png_bytes, start, upload, wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

RUN_ID, OTHER_ID = "0123456789abcdef", "fedcba9876543210"


def good_run(run_id: str = RUN_ID, **changes) -> dict:
    record = {"id": run_id, "kind": "transfer", "content": "tubingen", "styles": ["starry_night"],
              "names": {}, "options": dict(TINY), "created": 1.0, "state": "done",
              "progress": None, "error": None, "result": None, "started": 1.0,
              "finished": 2.0, "image_version": 0, "version": 3}
    return record | changes


DAMAGED_RUNS = {
    "truncated": lambda: json.dumps(good_run())[:60],
    "wrong shape": lambda: json.dumps([good_run()]),
    "wrong-typed field": lambda: json.dumps(good_run(created="yesterday")),
    "styles not a list": lambda: json.dumps(good_run(styles="starry_night")),
    "NaN": lambda: json.dumps(good_run(created=float("nan"))),
    "unknown kind": lambda: json.dumps(good_run(kind="paint-by-numbers")),
    "unknown state": lambda: json.dumps(good_run(state="exploded")),
    "another id": lambda: json.dumps(good_run(OTHER_ID)),
    "not UTF-8": lambda: b"\xff\xfe{}",
    "deeply nested": lambda: "[" * 100_000 + "]" * 100_000,
    "huge integer": lambda: json.dumps(good_run(version=0)).replace(": 0", ": " + "9" * 400),
}


def client_for(tmp_path, **settings) -> TestClient:
    settings.setdefault("snapshot_seconds", 0.0)
    return TestClient(create_app(tmp_path / "data", **settings))


@pytest.mark.parametrize("damage", sorted(DAMAGED_RUNS))
def test_a_damaged_run_record_is_moved_aside_and_the_server_starts(tmp_path, caplog, damage):
    runs = tmp_path / "data" / "runs"
    (runs / RUN_ID).mkdir(parents=True)
    content = DAMAGED_RUNS[damage]()
    (runs / RUN_ID / "run.json").write_bytes(content if isinstance(content, bytes)
                                             else content.encode())
    good = runs / "00000000000000aa"
    good.mkdir()
    (good / "run.json").write_text(json.dumps(good_run("00000000000000aa")))
    with caplog.at_level(logging.WARNING, "painterly.web"), client_for(tmp_path) as client:
        listing = client.get("/api/runs")
        assert listing.status_code == 200
        assert [run["id"] for run in listing.json()] == ["00000000000000aa"]
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and f"runs/{RUN_ID}" in lines[0] and "damaged" in lines[0]
    assert (tmp_path / "data" / "damaged" / f"runs-{RUN_ID}" / "run.json").is_file()
    assert not (runs / RUN_ID).exists()


def test_foreign_entries_and_damaged_uploads_are_moved_aside(tmp_path, caplog):
    data = tmp_path / "data"
    (data / "runs").mkdir(parents=True)
    (data / "runs" / "notes.txt").write_text("mine")
    (data / "runs" / RUN_ID).mkdir()  # no run.json at all
    with client_for(tmp_path) as client:
        good = upload(client, png_bytes(synthetic_photo(16, 16))).json()["id"]
        typed = upload(client, png_bytes(synthetic_photo(16, 16))).json()["id"]
        imageless = upload(client, png_bytes(synthetic_photo(16, 16))).json()["id"]
    record = data / "uploads" / typed / "upload.json"
    record.write_text(json.dumps(json.loads(record.read_text()) | {"width": "wide"}))
    (data / "uploads" / imageless / "image.png").unlink()
    with caplog.at_level(logging.WARNING, "painterly.web"), client_for(tmp_path) as client:
        assert [u["id"] for u in client.get("/api/uploads").json()] == [good]
        assert client.get("/api/runs").json() == []
    moved = sorted(path.name for path in (data / "damaged").iterdir())
    assert moved == sorted(["runs-notes.txt", f"runs-{RUN_ID}", f"uploads-{typed}",
                            f"uploads-{imageless}"])
    assert len(caplog.records) == 4


def test_a_record_damaged_while_serving_never_breaks_the_upload_listing(tmp_path):
    with client_for(tmp_path) as client:
        kept = upload(client, png_bytes(synthetic_photo(16, 16))).json()["id"]
        broken = upload(client, png_bytes(synthetic_photo(16, 16))).json()["id"]
        (tmp_path / "data" / "uploads" / broken / "upload.json").write_text('{"id": 1}')
        response = client.get("/api/uploads")
        assert response.status_code == 200
        assert [u["id"] for u in response.json()] == [kept]


def test_queued_runs_are_queued_again_after_a_restart(tmp_path):
    with client_for(tmp_path) as client:
        long_run = start(client, options=LONG).json()["id"]
        waiting = start(client).json()["id"]
        wait_for(client, long_run, lambda run: run["state"] == "running")
        assert client.get(f"/api/runs/{waiting}").json()["state"] == "queued"
    with client_for(tmp_path) as client:
        assert client.get(f"/api/runs/{long_run}").json()["state"] == "interrupted"
        done = wait_for(client, waiting, lambda run: run["state"] in ("done", "failed"))
        assert done["state"] == "done" and done["error"] is None


def test_a_queued_run_whose_image_is_gone_fails_with_a_clear_line_after_a_restart(tmp_path):
    with client_for(tmp_path) as client:
        photo = upload(client, png_bytes(synthetic_photo(16, 16))).json()["id"]
        long_run = start(client, options=LONG).json()["id"]
        waiting = start(client, content=photo).json()["id"]
        wait_for(client, long_run, lambda run: run["state"] == "running")
        assert client.delete(f"/api/uploads/{photo}").status_code == 204
    with client_for(tmp_path) as client:
        run = client.get(f"/api/runs/{waiting}").json()
        assert run["state"] == "failed"
        assert "no such image" in run["error"] and str(tmp_path) not in run["error"]


@pytest.mark.parametrize("body", [
    '{"content": "tubingen", "styles": ["starry_night"], "options": {"style_weight": NaN}}',
    '{"content": "tubingen", "styles": ["starry_night"], "options": {"style_weight": 1e999}}',
    '{"content": "tubingen", "styles": ["starry_night"], "options": {"layer_weights": '
    '[Infinity, 1, 1, 1, 1]}}',
    '{"content": "tubingen", "styles": ["starry_night"], "options": {"seed": ' + "9" * 400 + "}}",
    "[" * 30_000 + "]" * 30_000,
    '{"a": ' * 40 + "1" + "}" * 40,
    '{"content": "tubingen"',
    "\udcff",
])
def test_json_that_is_not_strict_is_refused_with_400_and_nothing_is_saved(tmp_path, body):
    with client_for(tmp_path) as client:
        response = client.post("/api/runs", content=body.encode("utf-8", "surrogateescape"),
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["error"].startswith("the request body is not accepted")
        listing = client.get("/api/runs")
        assert listing.status_code == 200 and listing.json() == []


@pytest.mark.parametrize(("field", "value"), [("style_scale", [1.0, 1.0]),
                                               ("style_blend", [1.0, 2.0])])
def test_lists_that_do_not_fit_the_number_of_styles_are_refused_before_queueing(
        tmp_path, field, value):
    with client_for(tmp_path) as client:
        response = client.post("/api/runs", json={"content": "tubingen",
                                                  "styles": ["starry_night"],
                                                  "options": {field: value}})
        assert response.status_code == 400 and response.json()["field"] == field
        assert client.get("/api/runs").json() == []


def test_a_memory_limit_no_run_fits_is_refused_before_queueing(tmp_path):
    with client_for(tmp_path) as client:
        response = client.post("/api/runs", json={"content": "tubingen",
                                                  "styles": ["starry_night"],
                                                  "options": {"size": 32, "max_memory": 0.5}})
        assert response.status_code == 400 and response.json()["field"] == "max_memory"
        assert "0.5 GB is too little" in response.json()["error"]
        assert client.get("/api/runs").json() == []


def test_a_large_json_body_is_refused_with_413(tmp_path):
    with client_for(tmp_path) as client:
        response = client.post("/api/runs", content=b'{"content": "' + b"x" * 100_000 + b'"}',
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 413


@pytest.mark.parametrize(("route", "content_type"), [
    ("/api/runs", "text/plain"), ("/api/runs", "application/x-www-form-urlencoded"),
    ("/api/runs", "multipart/form-data; boundary=x"), ("/api/runs", None),
    ("/api/runs", "application/xml"), ("/api/uploads", "text/plain"), ("/api/uploads", None),
    ("/api/uploads", "application/json"), (f"/api/runs/{RUN_ID}/cancel", "text/plain"),
    (f"/api/runs/{RUN_ID}/cancel", "application/x-www-form-urlencoded"),
])
def test_state_changing_routes_take_only_their_content_types(tmp_path, route, content_type):
    body = json.dumps({"content": "tubingen", "styles": ["starry_night"], "options": TINY})
    headers = {} if content_type is None else {"Content-Type": content_type}
    with client_for(tmp_path) as client:
        response = client.post(route, content=body.encode(), headers=headers)
        assert response.status_code == 415
        assert client.get("/api/runs").json() == [] and client.get("/api/uploads").json() == []


def test_cancel_takes_an_empty_post_or_json(tmp_path):
    with client_for(tmp_path) as client:
        run = start(client, options=LONG).json()["id"]
        assert client.post(f"/api/runs/{run}/cancel").status_code == 200
        assert client.post(f"/api/runs/{run}/cancel", json={}).status_code == 200
        wait_for(client, run, lambda r: r["state"] == "cancelled")


def test_an_upload_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    with client_for(tmp_path, max_upload_pixels=1_000_000) as client:
        response = upload(client, png_bytes(Image.new("1", (2000, 1000))), "wide.png")
        assert response.status_code == 400
        message = response.json()["error"]
        assert "2000x1000" in message and "1 megapixels" in message
        assert upload(client, png_bytes(Image.new("1", (1000, 1000)))).status_code == 201


def test_a_run_on_a_damaged_upload_names_the_upload_not_the_server_path(tmp_path):
    with client_for(tmp_path) as client:
        photo = upload(client, png_bytes(synthetic_photo(16, 16)), "holiday.png").json()["id"]
        (tmp_path / "data" / "uploads" / photo / "image.png").write_bytes(b"\x89PNG garbage")
        run = wait_for(client, start(client, content=photo).json()["id"],
                       lambda r: r["state"] in ("done", "failed"))
        assert run["state"] == "failed"
        assert "'holiday.png'" in run["error"] and str(tmp_path) not in run["error"]


def test_runs_are_stored_and_shown_as_strict_json_even_with_a_nan_loss():
    run = Run(RUN_ID, "tubingen", ["starry_night"], {}, 1.0,
              progress={"loss": math.nan, "eta": math.inf, "step": 3},
              result={"losses": [1.0, -math.inf]})
    stored = json.loads(json.dumps(run.stored(), allow_nan=False))
    assert stored["progress"] == {"loss": None, "eta": None, "step": 3}
    assert stored["result"]["losses"] == [1.0, None]
    assert Run.from_record(stored, RUN_ID).progress["step"] == 3
    with pytest.raises(ValueError):
        json.dumps({"loss": math.nan}, allow_nan=False)


def test_serve_on_a_busy_port_is_one_line_and_exit_2_before_serving(tmp_path, capsys):
    import socket

    from painterly.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--data-dir", str(tmp_path / "d")]) == 2
    out, err = capsys.readouterr()
    assert "serving" not in out
    assert err.count("\n") == 1 and f"127.0.0.1:{port}" in err and "in use" in err
    assert not (tmp_path / "d").exists()


def test_links_in_run_and_upload_folders_are_moved_aside_and_never_served(tmp_path, caplog):
    data = tmp_path / "data"
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web")
    with client_for(tmp_path) as client:
        photo = upload(client, png_bytes(synthetic_photo(16, 16))).json()["id"]
    run = data / "runs" / RUN_ID
    run.mkdir()
    (run / "run.json").write_text(json.dumps(good_run()))
    (run / "result.png").symlink_to(secret)
    (data / "uploads" / photo / "notes.txt").symlink_to(secret)
    with caplog.at_level(logging.WARNING, "painterly.web"), client_for(tmp_path) as client:
        assert [item["id"] for item in client.get("/api/runs").json()] == [RUN_ID]
        assert client.get(f"/api/runs/{RUN_ID}/result.png").status_code == 404
        assert [item["id"] for item in client.get("/api/uploads").json()] == [photo]
        (run / "current.png").symlink_to(secret)  # planted while serving: not served either
        assert client.get(f"/api/runs/{RUN_ID}/current.png").status_code == 404
    moved = sorted(path.name for path in (data / "damaged").iterdir())
    assert moved == sorted([f"{photo}-notes.txt", f"{RUN_ID}-result.png"])
    assert secret.read_text() == "not for the web"


@pytest.mark.parametrize("entry", ["runs", "uploads", "video-work", "damaged"])
def test_a_file_where_a_folder_belongs_is_moved_aside_and_the_server_starts(tmp_path, entry):
    data = tmp_path / "data"
    data.mkdir()
    (data / entry).write_text("a file, not a folder")
    with client_for(tmp_path) as client:
        assert client.get("/api/runs").json() == []
        assert upload(client, png_bytes(synthetic_photo(16, 16))).status_code == 201
    assert not (data / entry).is_file()
    kept = [path for path in data.rglob("*") if path.is_file() and path.suffix != ".png"
            and path.read_text(errors="replace") == "a file, not a folder"]
    assert len(kept) == 1  # moved aside, not deleted
