"""What a worker does with one job, wherever it runs (a local process or a Ray actor): the input
files arrive as bytes (workers need no shared disk), the result leaves as tagged PNG bytes, and
every failure as a one-line reason that says whether another try could help."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from painterly.errors import UserError
from painterly.io.images import resolve_source
from painterly.options import named_files
from painterly.style.guides import KEEP_CONTENT
from painterly.style.options import TransferOptions
from painterly.style.transfer import transfer

from .outputs import encode_png
from .plan import Job


@dataclass(frozen=True)
class JobSpec:
    """A job as sent to a worker: its settings, and its input files by role (``content``,
    ``style0``, ..., and each option that names a file: ``mask``, ``init``, ``weights``) as
    (original name, bytes)."""

    output: str
    key: str
    styles: tuple[str, ...]
    options: dict[str, Any]
    files: dict[str, tuple[str, bytes | None]]

    def without_data(self) -> JobSpec:
        """The spec with the bytes left out (sent separately, e.g. through Ray's object
        store)."""
        return dataclasses.replace(self, files={role: (name, None)
                                                for role, (name, _) in self.files.items()})

    def with_data(self, data: list[bytes]) -> JobSpec:
        """The inverse of :meth:`without_data`, given the bytes in the order of ``files``."""
        return dataclasses.replace(self, files={role: (name, blob) for (role, (name, _)), blob in
                                                zip(self.files.items(), data, strict=True)})


@dataclass(frozen=True)
class Rendered:
    png: bytes
    width: int
    height: int
    evaluations: int
    seconds: float


@dataclass(frozen=True)
class Failure:
    error: str
    """One line."""
    retry: bool
    """False when another try would fail the same way (a bad input or option)."""


def job_spec(job: Job) -> JobSpec:
    """The spec of ``job`` with its input files read."""
    files = {role: (name, resolve_source(name).read_bytes())
             for role, name in job.files().items()}
    return JobSpec(job.output, job.key, job.styles, dict(job.options), files)


def render(spec: JobSpec) -> Rendered | Failure:
    """Run one job. Never raises for a job's own problem: returns a Failure instead."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="painterly-job-") as folder:
        paths = _materialize(Path(folder), spec)
        names = {str(paths[role]): name for role, (name, _) in spec.files.items()}
        styles = [KEEP_CONTENT if style == KEEP_CONTENT else str(paths[f"style{index}"])
                  for index, style in enumerate(spec.styles)]
        options = dict(spec.options)
        for option in named_files(TransferOptions, options):
            options[option] = str(paths[option])
        try:
            result = transfer(str(paths["content"]), styles, **options)
        except UserError as error:
            return Failure(_named(str(error), names), retry=False)
        except MemoryError:
            return Failure("out of memory (try a smaller size or fewer workers)", retry=True)
        except torch.OutOfMemoryError:
            return Failure("out of GPU memory (try a smaller size)", retry=True)
        except Exception as error:
            return Failure(_named(f"{type(error).__name__}: {error}", names), retry=True)
    if result.interrupted:
        return Failure("interrupted", retry=True)
    return Rendered(encode_png(result.image, spec.key), result.image.width, result.image.height,
                    result.evaluations, time.perf_counter() - started)


def _materialize(folder: Path, spec: JobSpec) -> dict[str, Path]:
    """Each input's bytes as a file (named like the original, so errors read naturally)."""
    paths = {}
    for number, (role, (name, data)) in enumerate(spec.files.items()):
        path = folder / f"{number}-{Path(name).name or 'image'}"
        path.write_bytes(data or b"")
        paths[role] = path
    return paths


def _named(message: str, names: dict[str, str]) -> str:
    """``message`` with the temporary paths replaced by the user's names for the files."""
    for temporary, name in names.items():
        message = message.replace(temporary, name)
    return " ".join(message.split())
