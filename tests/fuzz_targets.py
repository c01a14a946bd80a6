"""Fuzz targets: one per loader of untrusted bytes. Each takes any ``bytes`` and must either
succeed or refuse with the loader's own clean error (:class:`~painterly.errors.UserError`, or
``ValueError`` for data-folder records, which are moved aside on it); anything else escaping is a
crash. Driven briefly by Hypothesis in ``tests/test_fuzz.py`` (marker ``fuzz``) and at length by
``benchmarks/fuzz.py`` (atheris, coverage-guided).

Each target also has seeds: small valid (or nearly valid) inputs that mutations start from.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import io
import json
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from painterly.digits import mnist
from painterly.errors import UserError
from painterly.io import images
from painterly.nets import vgg
from painterly.style import guides

MAX_FUZZ_PIXELS = 4_000_000
"""Pixel limit while fuzzing images: the same code path as the real limit, faster inputs."""
SCRATCH = Path(tempfile.mkdtemp(prefix="painterly-fuzz-"))
"""Where targets that read files write their input (one file per target, overwritten)."""


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], object]
    seeds: Callable[[], list[bytes]]
    allowed: tuple[type[BaseException], ...] = (UserError,)

    def __call__(self, data: bytes) -> None:
        """Run the target on ``data``; only an allowed error may escape (and is swallowed)."""
        with contextlib.suppress(self.allowed):
            self.run(data)


def _as_file(data: bytes, name: str) -> Path:
    path = SCRATCH / name
    path.write_bytes(data)
    return path


# images: content, style, mask, init ----------------------------------------------------------
def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@functools.cache
def image_seeds() -> list[bytes]:
    rgb = Image.fromarray(np.arange(8 * 6 * 3, dtype=np.uint8).reshape(6, 8, 3), "RGB")
    rgba = rgb.convert("RGBA")
    rgba.putpixel((0, 0), (1, 2, 3, 0))
    return [
        _encoded(rgb, "PNG"), _encoded(rgba, "PNG"), _encoded(rgb.convert("P"), "PNG"),
        _encoded(rgb.convert("L"), "PNG"), _encoded(rgb.convert("1"), "PNG"),
        _encoded(Image.new("I;16", (5, 4), 4000), "PNG"), _encoded(rgb, "JPEG", quality=50),
        _encoded(rgb.convert("CMYK"), "JPEG"), _encoded(rgb, "GIF"), _encoded(rgb, "BMP"),
        _encoded(rgb, "TIFF"), _encoded(rgb, "TIFF", compression="tiff_deflate"),
        _encoded(rgb, "WEBP", lossless=True), _encoded(rgb, "PPM"), _encoded(rgba, "ICO"),
    ]


def load_image(data: bytes) -> None:
    """A content or style image: decoded, normalized, bounded as a style, made a tensor and
    resized as a run does."""
    from painterly.style.transfer import _bounded_style

    path = _as_file(data, "image")
    image = images.load_image(path, what="content image", max_pixels=MAX_FUZZ_PIXELS)
    _bounded_style(image, 64, 1.0)
    tensor = images.to_tensor(image)
    assert tensor.shape[:2] == (1, 3) and 0 <= float(tensor.min()) <= float(tensor.max()) <= 1
    images.resize_tensor(tensor, (3, 5))


def load_mask(data: bytes) -> None:
    """A mask for two styles on an 8x6 content image."""
    mask = images.load_image(_as_file(data, "mask"), what="mask", max_pixels=MAX_FUZZ_PIXELS)
    guides.load_mask(mask, 2, (8, 6))


def load_init(data: bytes) -> None:
    """An init image, brought to the content's size."""
    path = _as_file(data, "init")
    image = images.load_image(path, what="init image", max_pixels=MAX_FUZZ_PIXELS)
    images.resize_tensor(images.to_tensor(image), (6, 8))


# MNIST: IDX files, plain and gzipped ---------------------------------------------------------
@functools.cache
def idx_seeds() -> list[bytes]:
    digits = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    return [mnist.encode_idx(digits), mnist.encode_idx(np.array([3, 7], np.uint8)),
            mnist.encode_idx(np.zeros((2, 3), np.int16)), mnist.encode_idx(np.ones(3, ">f8"))]


def gz_seeds() -> list[bytes]:
    return [gzip.compress(seed, mtime=0) for seed in idx_seeds()]


def load_idx(data: bytes) -> None:
    """Bytes as an IDX file (plain, or gzipped when they start like gzip), then as MNIST."""
    path = _as_file(data, "idx")
    mnist.read_idx(path)
    for reader in (mnist.read_images, mnist.read_labels):
        with contextlib.suppress(UserError):
            reader(path)


# weights files -------------------------------------------------------------------------------
@functools.cache
def weights_seeds() -> list[bytes]:
    state = {"features.0.weight": torch.zeros(2, 3, 1, 1), "features.0.bias": torch.zeros(2)}
    found = []
    for zipped in (True, False):
        buffer = io.BytesIO()
        torch.save(state, buffer, _use_new_zipfile_serialization=zipped)
        found.append(buffer.getvalue())
    buffer = io.BytesIO()
    torch.save({"state_dict": {"module.features.0.weight": 1}}, buffer)
    found.append(buffer.getvalue())
    return found


def load_weights(data: bytes) -> None:
    """Bytes as a ``--weights`` file."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a library warning on a bad file is a finding too
        vgg._load_state_dict(_as_file(data, "weights.pth"))


# web: data-folder records and request bodies -------------------------------------------------
RUN_ID = "0123456789abcdef"


def record_seeds() -> list[bytes]:
    run = {"id": RUN_ID, "kind": "transfer", "content": "tubingen", "styles": ["starry_night"],
           "names": {}, "options": {"size": 32, "steps": 2, "style_layers": ["relu1_1"]},
           "created": 1.5, "state": "queued", "progress": {"loss": 2.0}, "error": None,
           "result": None, "started": None, "finished": None, "image_version": 0, "version": 1}
    upload = {"id": RUN_ID, "name": "photo.png", "width": 8, "height": 6, "created": 2.0}
    return [json.dumps(run).encode(), json.dumps(upload).encode(),
            json.dumps(run | {"kind": "reconstruct-style",
                              "options": {"layers": ["relu1_1"], "cumulative": True}}).encode()]


def load_run_record(data: bytes) -> None:
    """Bytes as ``run.json``: parsed, checked, its options checked as a restart requeues them,
    and shown as the API shows it (strict JSON)."""
    from painterly.io import jsonio
    from painterly.web.options import parse_options, parse_reconstruction_options
    from painterly.web.runs import Run

    run = Run.from_record(jsonio.loads(data), RUN_ID)
    json.dumps(run.as_dict(), allow_nan=False)
    try:
        if run.kind == "transfer":
            parse_options(run.options)
        else:
            parse_reconstruction_options(run.kind, run.options)
    except UserError:
        pass


def load_upload_record(data: bytes) -> None:
    """Bytes as ``upload.json``."""
    from painterly.io import jsonio
    from painterly.web.storage import Upload

    json.dumps(Upload.from_record(jsonio.loads(data), RUN_ID).as_dict(), allow_nan=False)


ROUTES = ("/api/runs", "/api/uploads", f"/api/runs/{RUN_ID}/cancel")
CONTENT_TYPES = (b"application/json", b"image/png", b"application/octet-stream", b"text/plain",
                 b"", b"application/json; charset=utf-8", b"multipart/form-data")


def body_seeds() -> list[bytes]:
    run = {"content": "tubingen", "styles": ["starry_night"],
           "options": {"size": 32, "steps": 1, "layer_weights": [1, 2, 3, 4, 5], "seed": 7}}
    reconstruction = {"kind": "reconstruct-content", "content": "tubingen",
                      "options": {"layers": ["relu2_1"], "size": 32}}
    return [bytes([0, 0]) + json.dumps(run).encode(),
            bytes([0, 0]) + json.dumps(reconstruction).encode(),
            bytes([1, 1]) + image_seeds()[0], bytes([2, 4])]


@functools.cache
def _app():
    """The real app on a scratch data folder, refusing to start runs (so every request goes
    through all checks but no run computes)."""
    from painterly.web import create_app

    app = create_app(SCRATCH / "data", max_upload_pixels=MAX_FUZZ_PIXELS, max_uploads=50)
    app.state.manager.closing = True
    return app, asyncio.new_event_loop()


def post_request(data: bytes) -> None:
    """A POST to a state-changing route: byte 0 picks the route, byte 1 the content type, the
    rest is the body. The answer must be a deliberate status, never a 500 or an exception."""
    if len(data) < 2:
        return
    app, loop = _app()
    route = ROUTES[data[0] % len(ROUTES)]
    kind = CONTENT_TYPES[data[1] % len(CONTENT_TYPES)]
    status = loop.run_until_complete(_call(app, route, kind, data[2:]))
    assert status in (200, 201, 400, 404, 413, 415, 429), f"{route} answered {status}"


async def _call(app, path: str, kind: bytes, body: bytes) -> int:
    headers = [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())]
    if kind:
        headers.append((b"content-type", kind))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"name=fuzz.png", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}
    sent = [{"type": "http.request", "body": body, "more_body": False}]
    status = []

    async def receive():
        return sent.pop() if sent else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


# batch manifests and video clips ---------------------------------------------------------------
@functools.cache
def manifest_seeds() -> list[bytes]:
    return [b"content,style,output,size\nphoto.png,starry_night;the_scream,a,64\n"
            b"photo.png,,b.png,nan\n,starry_night,,\n",
            b'{"content": "photo.png", "styles": ["starry_night"], "style_blend": [1]}\n'
            b'{"content": "photo.png", "style": "starry_night", "output": "x", "size": 1e400}\n'
            b'[1, 2]\n{"content": 3}\n']


def plan_manifest(data: bytes) -> None:
    """Bytes as a CSV manifest (byte 0 even) or a JSON-lines one, planned into jobs as a batch
    into a scratch OUTDIR plans them (files hashed by name, not read)."""
    from painterly.batch import plan_jobs

    suffix = ".jsonl" if data[:1] == b"{" or (data and data[0] % 2) else ".csv"
    manifest = _as_file(data, f"rows{suffix}")
    for job in plan_jobs([str(manifest)], ["starry_night"], {"size": 32}, outdir=SCRATCH,
                         hasher=lambda path: path.name):
        json.dumps(job.options, allow_nan=False, default=str)


@functools.cache
def clip_seeds() -> list[bytes]:
    from painterly.video.synthetic import SyntheticClip

    clip = SyntheticClip(width=16, height=12)
    folder = Path(tempfile.mkdtemp(prefix="painterly-clip-seeds-"))
    return [clip.write(folder / f"seed{suffix}", 2, fps=8).read_bytes()
            for suffix in (".mp4", ".gif", ".webm")]


def open_clip(data: bytes) -> None:
    """Bytes as a video file: opened (every frame surveyed, the pixel cap checked), then its
    first frame decoded."""
    from painterly.video.reader import open_clip as open_video

    clip = open_video(_as_file(data, "clip.bin"), max_pixels=MAX_FUZZ_PIXELS)
    frames = clip.frames()
    try:
        next(frames)
    finally:
        frames.close()


TARGETS = {target.name: target for target in (
    Target("image", load_image, image_seeds),
    Target("mask", load_mask, image_seeds),
    Target("init", load_init, image_seeds),
    Target("idx", load_idx, idx_seeds),
    Target("gz", load_idx, gz_seeds),
    Target("weights", load_weights, weights_seeds),
    Target("run-record", load_run_record, record_seeds, (ValueError,)),
    Target("upload-record", load_upload_record, record_seeds, (ValueError,)),
    Target("request", post_request, body_seeds),
    Target("manifest", plan_manifest, manifest_seeds),
    Target("clip", open_clip, clip_seeds),
)}
"""Every loader of untrusted bytes, by name."""
