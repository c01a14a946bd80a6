"""The OpenAPI 3.1 description of the HTTP API (served at ``/openapi.json``, rendered at
``/docs``): the API works without the page, e.g. with curl."""

from __future__ import annotations

from painterly import __version__
from painterly.web.options import RUN_KINDS

_ERROR = {"description": "an error, as {\"error\": \"one line\"}",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_PNG = {"description": "a PNG image", "content": {"image/png": {}}}
_MP4 = {"description": "an H.264 video in .mp4 (plays in browsers)",
        "content": {"video/mp4": {}}}
_RUN = {"description": "the run",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}}


def _id(name: str, what: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": what,
            "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}


def _query(name: str, what: str, kind: str = "string") -> dict:
    return {"name": name, "in": "query", "description": what, "schema": {"type": kind}}


def _get(summary: str, responses: dict, parameters: list | None = None) -> dict:
    return {"get": {"summary": summary, "parameters": parameters or [], "responses": responses}}


RUN_ID = _id("run_id", "a run's id")
UPLOAD_ID = _id("upload_id", "an upload's id")


def openapi_spec() -> dict:
    json_list = {"description": "a list", "content": {"application/json": {
        "schema": {"type": "array", "items": {"type": "object"}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "painterly serve", "version": __version__,
                 "description": "Style transfer runs on this machine. Images are referenced by "
                                "upload id or built-in example name; files are only ever served "
                                "by id."},
        "paths": {
            "/api/options": _get("the settable options of a run: name, default, kind, label, "
                                 "choices; and the server's limits",
                                 {"200": {"description": "fields, suggested values, limits"}}),
            "/api/examples": _get("the built-in example images", {"200": json_list}),
            "/api/examples/{name}/preview.png": _get(
                "a small preview of a built-in example", {"200": _PNG, "404": _ERROR},
                [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]),
            "/api/uploads": {
                "get": {"summary": "the uploaded images and video clips",
                        "responses": {"200": json_list}},
                "post": {
                    "summary": "upload an image or a video clip: the file itself is the request "
                               "body (e.g. curl --data-binary @photo.jpg -H 'Content-Type: "
                               "image/jpeg'); a clip (kind video, or a video/* content type) "
                               "is checked against the clip limits of GET /api/options",
                    "parameters": [_query("name", "the file's name, for display"),
                                   _query("kind", "image (default) or video (default for a "
                                                  "video/* content type)")],
                    "requestBody": {"required": True, "content": {
                        "image/*": {}, "video/*": {}, "application/octet-stream": {}}},
                    "responses": {
                        "201": {"description": "the upload", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Upload"}}}},
                        "400": _ERROR | {"description": "not an image (a video clip), damaged, "
                                                        "too many pixels; a clip longer than "
                                                        "the limit, or a still image"},
                        "413": _ERROR | {"description": "larger than the size limit"},
                        "415": _ERROR | {"description": "not sent as image/* (video/* for a "
                                                        "clip) or application/octet-stream"},
                        "429": _ERROR | {"description": "the data folder holds the maximum "
                                                        "number of uploads"}}}},
            "/api/uploads/{upload_id}/preview.png": _get(
                "a small preview of an upload", {"200": _PNG, "404": _ERROR}, [UPLOAD_ID]),
            "/api/uploads/{upload_id}": {"delete": {
                "summary": "delete an upload", "parameters": [UPLOAD_ID],
                "responses": {"204": {"description": "deleted"}, "404": _ERROR}}},
            "/api/runs": {
                "get": {"summary": "all runs of this data folder, newest first",
                        "responses": {"200": json_list}},
                "post": {
                    "summary": "start (queue) a style transfer, one of the lecture's "
                               "reconstruction figures (kind reconstruct-content or "
                               "reconstruct-style: white noise optimized until chosen layers see "
                               "what they see of the image), or a stylized video (kind video: "
                               "content is a clip's upload id); progress, cancel and the result "
                               "work alike for every kind",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/RunRequest"}}}},
                    "responses": {"201": _RUN, "400": _ERROR | {
                        "description": "a bad run, or JSON that is not strict: NaN, numbers "
                                       "out of range, integers over 20 digits, nesting over "
                                       "32 levels"},
                                  "413": _ERROR | {"description": "a body over 64 kB"},
                                  "415": _ERROR | {"description": "not sent as application/json"},
                                  "429": _ERROR | {"description": "the queue is full"}}}},
            "/api/runs/{run_id}": _get("a run's state, progress and result",
                                       {"200": _RUN, "404": _ERROR}, [RUN_ID]),
            "/api/runs/{run_id}/cancel": {"post": {
                "summary": "cancel a run: a waiting run is dropped, a running one stops and "
                           "keeps its best image so far", "parameters": [RUN_ID],
                "responses": {"200": _RUN, "404": _ERROR, "415": _ERROR | {
                    "description": "a body that is not application/json (an empty one is "
                                   "fine)"}}}},
            "/api/runs/{run_id}/events": _get(
                "server-sent events: an event 'state' with the run (as GET /api/runs/{run_id}) "
                "whenever it changes; the stream ends when the run has finished",
                {"200": {"description": "an event stream",
                         "content": {"text/event-stream": {}}}, "404": _ERROR}, [RUN_ID]),
            "/api/runs/{run_id}/current.png": _get(
                "the image as it is now (rewritten every few seconds while running; of a video "
                "run, the latest finished frame)",
                {"200": _PNG, "404": _ERROR}, [RUN_ID]),
            "/api/runs/{run_id}/result.png": _get(
                "the result, as a download: the picture of a transfer, the titled figure of a "
                "reconstruction (the original, then each reconstruction)",
                {"200": _PNG, "404": _ERROR}, [RUN_ID]),
            "/api/runs/{run_id}/result.mp4": _get(
                "the result of a video run, as a download (a cancelled or interrupted run: "
                "the frames finished)", {"200": _MP4, "404": _ERROR}, [RUN_ID]),
            "/api/experiments/features.png": _get(
                "feature maps of one VGG-19 layer for an image, as a numbered grid",
                {"200": _PNG, "400": _ERROR},
                [_query("image", "upload id or example name"),
                 _query("layer", "a VGG-19 layer, e.g. relu1_1"),
                 _query("count", "how many maps (1-64)", "integer")]),
            "/api/experiments/filters.png": _get(
                "the learned 3x3 kernels of a VGG-19 convolution", {"200": _PNG, "400": _ERROR},
                [_query("layer", "a convolution, e.g. conv1_1"),
                 _query("count", "how many filters (1-64)", "integer")]),
        },
        "components": {"schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
            "Upload": {"type": "object", "properties": {
                "id": {"type": "string"}, "kind": {"enum": ["image", "video"]},
                "name": {"type": "string"}, "frames": {"type": "integer"},
                "fps": {"type": "number"}, "seconds": {"type": "number"},
                "width": {"type": "integer"}, "height": {"type": "integer"},
                "created": {"type": "number"}, "preview": {"type": "string"}}},
            "RunRequest": {"type": "object", "required": ["content"], "properties": {
                "kind": {"enum": list(RUN_KINDS), "default": "transfer"},
                "content": {"type": "string", "description": "upload id or example name: the "
                            "content image of a transfer, the image a reconstruction reconstructs "
                            "(for reconstruct-style usually a painting)"},
                "styles": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                           "maxItems": 8, "description": "transfers only (required there)"},
                "options": {"description": "defaults apply to those left out", "oneOf": [
                    {"type": "object", "title": "transfer", "description": "fields of "
                     "TransferOptions, as listed by GET /api/options under fields"},
                    {"type": "object", "title": "video", "description": "fields of "
                     "VideoOptions and the per-frame TransferOptions, as listed by GET "
                     "/api/options under video.fields"},
                    {"$ref": "#/components/schemas/ReconstructionOptions"}]}}},
            "ReconstructionOptions": {
                "type": "object", "title": "reconstruct-content, reconstruct-style",
                "description": "layer or layers, cumulative (style only), and the fields listed "
                               "by GET /api/options under reconstruction.fields (size, steps, "
                               "seed, noise, optimizer, ...), with the limits of transfers",
                "properties": {
                    "layer": {"type": "string", "description": "one VGG-19 layer, e.g. relu4_2"},
                    "layers": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                               "maxItems": 8, "description": "content: one reconstruction per "
                               "layer, side by side (default [relu4_2]); style: one texture "
                               "from all of them (default relu1_1 ... relu5_1)"},
                    "cumulative": {"type": "boolean", "default": False, "description":
                                   "style only: one texture per prefix of layers (a; a+b; "
                                   "a+b+c; ...), the lecture's figure"},
                    "size": {"type": "integer"}, "steps": {"type": "integer"}}},
            "Run": {"type": "object", "properties": {
                "id": {"type": "string"},
                "kind": {"enum": list(RUN_KINDS)},
                "state": {"enum": ["queued", "running", "done", "cancelled", "failed",
                                   "interrupted"]},
                "queue_position": {"type": ["integer", "null"],
                                   "description": "1 = next to start; null when not waiting"},
                "progress": {"type": ["object", "null"], "description":
                             "scale, scales, width, height, step, steps, done, total, loss, "
                             "content_loss, style_loss, elapsed, eta (seconds); for a "
                             "reconstruction also part, parts (which reconstruction of the "
                             "figure) and layers (its layers, joined by +); for a video: frame "
                             "(the one computed now), frames, done and total (frames "
                             "finished, of all), step, steps (of this frame), width, height, "
                             "loss, elapsed, eta"},
                "result": {"type": ["object", "null"], "description": "width, height, "
                           "evaluations, seconds, loss; for a reconstruction also "
                           "reconstructions: [{layers, evaluations, loss, start_loss, psnr, "
                           "loss_reduction}]; for a video frames, total_frames, computed "
                           "(the rest resumed), width, height, seconds, timing"},
                "error": {"type": ["string", "null"]},
                "image": {"type": ["string", "null"]}, "download": {"type": ["string", "null"]},
                "image_version": {"type": "integer"}, "options": {"type": "object"},
                "content": {"type": "string"}, "styles": {"type": "array"}}},
        }},
    }
