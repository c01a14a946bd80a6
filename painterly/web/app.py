"""The ASGI app of ``painterly serve``: a JSON/PNG HTTP API (described at ``/openapi.json``) and a
plain HTML/JS page that uses it, all served from this package (no CDN)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from painterly.errors import UserError
from painterly.examples import CONTENT_EXAMPLES, STYLE_EXAMPLES, example_names
from painterly.io import jsonio
from painterly.lecture.experiments import CONTENT_LAYERS, STYLE_LAYERS, ReconstructionOptions
from painterly.nets.vgg import CONV_NAMES, LAYER_NAMES
from painterly.options import OptionError
from painterly.web import lab
from painterly.web.openapi import openapi_spec
from painterly.web.options import (
    MAX_RECONSTRUCTIONS,
    MAX_WEB_FRAMES,
    MAX_WEB_SIZE,
    MAX_WEB_STEPS,
    RECONSTRUCTION_SUGGESTED,
    SUGGESTED,
    VIDEO_SUGGESTED,
    option_fields,
    video_fields,
)
from painterly.web.runs import FINAL_STATES, QueueFull, RunManager
from painterly.web.storage import DataFolder, UploadLimitReached, own_file, preview_of_example

STATIC = Path(__file__).with_name("static")
SAFELISTED_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
"""Content types a foreign page may send without a CORS preflight: refused everywhere."""
IMAGE_TYPES = ("application/octet-stream",)
"""Content types of an upload besides ``image/*``."""
VIDEO_TYPES = ("application/octet-stream", "image/gif")
"""Content types of a video upload besides ``video/*`` (an animated GIF is a clip too)."""
MAX_JSON_BYTES = 64 * 1024
"""Largest JSON request body."""
EVENT_INTERVAL = 0.3
"""Seconds between checks of a run's state in the event stream."""
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'",
}


def error(message: str, status: int = 400, field: str | None = None) -> JSONResponse:
    """An error response: one line for the user, and the form field it is about (if any)."""
    body = {"error": message} if field is None else {"error": message, "field": field}
    return JSONResponse(body, status_code=status)


class RequestRefused(Exception):
    """A request body this server does not take: answered with ``status`` and one line."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, *, optional: bool = False):
    """The request's JSON body, parsed strictly (:mod:`painterly.io.jsonio`): 415 unless sent
    as ``application/json`` (``optional``: or no body and no content type at all), 413 when
    larger than :data:`MAX_JSON_BYTES`, 400 for anything but strict JSON within the limits."""
    kind = content_type(request)
    if optional and not kind:
        body = await _read_body(request, MAX_JSON_BYTES)
        if not body:
            return None
    if kind != "application/json":
        raise RequestRefused("send JSON, with the content type application/json", 415)
    body = await _read_body(request, MAX_JSON_BYTES)
    try:
        return jsonio.loads(body)
    except jsonio.BadJSON as problem:
        raise RequestRefused(f"the request body is not accepted: {problem}") from None


async def _read_body(request: Request, cap: int, what: str = "the request body") -> bytes:
    """The body, refused with 413 as soon as it passes ``cap`` bytes."""
    declared = request.headers.get("content-length")
    too_large = f"{what} is larger than the {'upload ' if 'file' in what else ''}limit of " \
                f"{_human(cap)}"
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise RequestRefused(too_large, 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise RequestRefused(too_large, 413)
    return bytes(body)


def _human(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} kB"


def png(image: Image.Image) -> Response:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Response(buffer.getvalue(), media_type="image/png",
                    headers={"Cache-Control": "no-store"})


class SecurityMiddleware:
    """Security headers on every response; requests that change something must come from this
    server's own page (an ``Origin`` header, when present, must name this host)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1")
                   for key, value in scope["headers"]}
        origin = headers.get("origin")
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and origin is not None and \
                urlsplit(origin).netloc != headers.get("host"):
            response = error("cross-origin requests are not accepted", 403)
            await response(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (key.lower().encode(), value.encode()) for key, value in
                    SECURITY_HEADERS.items()]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(data_dir: str | os.PathLike, *, max_concurrent: int = 1, max_queued: int = 8,
               max_upload_bytes: int | None = None, max_uploads: int | None = None,
               max_upload_pixels: int | None = None, max_video_bytes: int | None = None,
               max_video_seconds: float | None = None,
               max_video_frames: int = MAX_WEB_FRAMES, allowed_hosts: list[str] | None = None,
               snapshot_seconds: float = 2.0) -> Starlette:
    """The app, with its data folder at ``data_dir`` (created if missing)."""
    limits = {key: value for key, value in (("max_upload_bytes", max_upload_bytes),
                                            ("max_uploads", max_uploads),
                                            ("max_upload_pixels", max_upload_pixels),
                                            ("max_video_bytes", max_video_bytes),
                                            ("max_video_seconds", max_video_seconds))
              if value is not None}
    folder = DataFolder(data_dir, **limits)
    manager = RunManager(folder, max_concurrent=max_concurrent, max_queued=max_queued,
                         snapshot_seconds=snapshot_seconds, max_video_frames=max_video_frames)

    def find_run(request: Request):
        return manager.get(request.path_params["run_id"])

    # the page and its documentation
    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def docs(request: Request) -> Response:
        return FileResponse(STATIC / "docs.html")

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_spec())

    # settings and examples
    async def options(request: Request) -> Response:
        return JSONResponse({
            "fields": option_fields(), "suggested": SUGGESTED,
            "limits": {"max_size": MAX_WEB_SIZE, "max_steps": MAX_WEB_STEPS,
                       "max_upload_bytes": folder.max_upload_bytes,
                       "max_uploads": folder.max_uploads, "max_queued": manager.max_queued,
                       "max_concurrent": manager.max_concurrent},
            "layers": list(LAYER_NAMES), "conv_layers": list(CONV_NAMES),
            "reconstruction": {"fields": option_fields(ReconstructionOptions),
                               "suggested": RECONSTRUCTION_SUGGESTED,
                               "content_layers": list(CONTENT_LAYERS),
                               "style_layers": list(STYLE_LAYERS),
                               "max_layers": MAX_RECONSTRUCTIONS},
            "video": {"fields": option_fields(fields=video_fields()),
                      "suggested": VIDEO_SUGGESTED,
                      "limits": {"max_upload_bytes": folder.max_video_bytes,
                                 "max_seconds": folder.max_video_seconds,
                                 "max_frames": manager.max_video_frames}}})

    async def examples(request: Request) -> Response:
        return JSONResponse([
            {"name": name, "kind": "content" if name in CONTENT_EXAMPLES else "style",
             "preview": f"/api/examples/{name}/preview.png"}
            for name in (*CONTENT_EXAMPLES, *STYLE_EXAMPLES)])

    async def example_preview(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in example_names():
            return error("no such example", 404)
        return png(await run_in_threadpool(preview_of_example, name))

    # uploads
    async def list_uploads(request: Request) -> Response:
        return JSONResponse([upload.as_dict() for upload in folder.uploads()])

    async def add_upload(request: Request) -> Response:
        sent = content_type(request)
        kind = request.query_params.get("kind", "video" if sent.startswith("video/") else "image")
        if kind == "video":
            if not (sent.startswith("video/") or sent in VIDEO_TYPES):
                return error("send the video file itself as the request body, with a content "
                             "type such as video/mp4 or application/octet-stream", 415)
        elif kind == "image":
            if not (sent.startswith("image/") or sent in IMAGE_TYPES):
                return error("send the image file itself as the request body, with a content "
                             "type such as image/jpeg or application/octet-stream", 415)
        else:
            return error("kind: choose image or video")
        name = request.query_params.get("name", "uploaded file")
        try:
            if kind == "video":
                body = await _read_body(request, folder.max_video_bytes, "the file")
                upload = await run_in_threadpool(folder.add_video, body, name)
            else:
                body = await _read_body(request, folder.max_upload_bytes, "the file")
                upload = await run_in_threadpool(folder.add_upload, body, name)
        except RequestRefused as problem:
            return error(str(problem), problem.status)
        except UploadLimitReached as problem:
            return error(str(problem), 429)
        except UserError as problem:
            return error(str(problem), 400)
        return JSONResponse(upload.as_dict(), status_code=201)

    async def upload_preview(request: Request) -> Response:
        upload_folder = folder.upload_dir(request.path_params["upload_id"])
        if upload_folder is None or not own_file(upload_folder / "preview.png"):
            return error("no such upload", 404)
        return FileResponse(upload_folder / "preview.png", media_type="image/png")

    async def delete_upload(request: Request) -> Response:
        if not folder.delete_upload(request.path_params["upload_id"]):
            return error("no such upload", 404)
        return Response(status_code=204)

    # runs
    async def list_runs(request: Request) -> Response:
        return JSONResponse(manager.listing())

    async def start_run(request: Request) -> Response:
        try:
            body = await json_body(request)
        except RequestRefused as problem:
            return error(str(problem), problem.status)
        if not isinstance(body, dict):
            return error("send the run as a JSON object")
        try:
            run = await run_in_threadpool(manager.submit, body.get("content"),
                                          body.get("styles"), body.get("options"),
                                          body.get("kind"))
        except QueueFull as problem:
            return error(str(problem), 429)
        except OptionError as problem:
            return error(str(problem), 400, problem.field)
        except UserError as problem:
            return error(str(problem), 400)
        return JSONResponse(manager.describe(run), status_code=201)

    async def get_run(request: Request) -> Response:
        run = find_run(request)
        return JSONResponse(manager.describe(run)) if run else error("no such run", 404)

    async def cancel_run(request: Request) -> Response:
        try:
            await json_body(request, optional=True)
        except RequestRefused as problem:
            return error(str(problem), problem.status)
        run = find_run(request)
        if run is None:
            return error("no such run", 404)
        manager.cancel(run)
        return JSONResponse(manager.describe(run))

    async def run_events(request: Request) -> Response:
        run = find_run(request)
        if run is None:
            return error("no such run", 404)

        async def stream():
            seen, quiet = -1, 0.0
            while True:
                if run.version != seen:
                    seen, quiet = run.version, 0.0
                    yield f"event: state\ndata: {json.dumps(manager.describe(run))}\n\n"
                    if run.state in FINAL_STATES:
                        return
                elif quiet >= 15:
                    quiet = 0.0
                    yield ": still here\n\n"
                if manager.closing:
                    return
                await asyncio.sleep(EVENT_INTERVAL)
                quiet += EVENT_INTERVAL

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    def run_file(name: str, download: bool, media_type: str = "image/png"):
        suffix = Path(name).suffix
        what = "video" if media_type.startswith("video/") else "image"

        async def endpoint(request: Request) -> Response:
            run = find_run(request)
            path = folder.runs_dir / run.id / name if run else None
            if path is None or not own_file(path):
                return error(f"no such {what} (yet)", 404)
            return FileResponse(path, media_type=media_type,
                                headers={"Cache-Control": "no-store"},
                                filename=f"painterly-{run.id}{suffix}" if download else None)
        return endpoint

    # experiments
    async def features(request: Request) -> Response:
        query = request.query_params
        try:
            count = int(query.get("count", "32"))
            path = folder.resolve_image(query.get("image", ""))
            figure = await run_in_threadpool(lab.feature_maps_figure, path,
                                             query.get("layer", "relu1_1"), count)
        except ValueError:
            return error("count must be a whole number")
        except UserError as problem:
            return error(str(problem))
        return png(figure)

    async def filters(request: Request) -> Response:
        query = request.query_params
        try:
            count = int(query.get("count", "64"))
            figure = await run_in_threadpool(lab.filters_figure, query.get("layer", "conv1_1"),
                                             count)
        except ValueError:
            return error("count must be a whole number")
        except UserError as problem:
            return error(str(problem))
        return png(figure)

    routes = [
        Route("/", index), Route("/docs", docs), Route("/openapi.json", openapi),
        Route("/api/options", options), Route("/api/examples", examples),
        Route("/api/examples/{name}/preview.png", example_preview),
        Route("/api/uploads", list_uploads, methods=["GET"]),
        Route("/api/uploads", add_upload, methods=["POST"]),
        Route("/api/uploads/{upload_id}/preview.png", upload_preview),
        Route("/api/uploads/{upload_id}", delete_upload, methods=["DELETE"]),
        Route("/api/runs", list_runs, methods=["GET"]),
        Route("/api/runs", start_run, methods=["POST"]),
        Route("/api/runs/{run_id}", get_run),
        Route("/api/runs/{run_id}/cancel", cancel_run, methods=["POST"]),
        Route("/api/runs/{run_id}/events", run_events),
        Route("/api/runs/{run_id}/current.png", run_file("current.png", download=False)),
        Route("/api/runs/{run_id}/result.png", run_file("result.png", download=True)),
        Route("/api/runs/{run_id}/result.mp4", run_file("result.mp4", download=True,
                                                        media_type="video/mp4")),
        Route("/api/experiments/features.png", features),
        Route("/api/experiments/filters.png", filters),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(manager.shutdown)

    middleware = [Middleware(SecurityMiddleware)]
    if allowed_hosts:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.manager, app.state.folder = manager, folder
    return app
