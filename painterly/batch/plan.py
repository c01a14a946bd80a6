"""A batch's jobs: every content x style pair (or manifest row) with its inputs' content hashes,
its settings as canonical JSON, a key over both (a job whose key changed is done again), and a
deterministic output file name."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from painterly.errors import UserError
from painterly.io import images
from painterly.io.files import file_problem, name_problem
from painterly.options import OptionError, named_files, resolve
from painterly.style.guides import KEEP_CONTENT
from painterly.style.options import TransferOptions
from painterly.style.transfer import check_style_counts

from .inputs import Skip, expand_all, is_manifest
from .manifest import OUTPUT_SUFFIX, ManifestRow, read_manifest
from .outputs import is_batch_file

HASH_CHUNK = 1 << 20

FileHasher = Callable[[Path], str]
"""``sha256`` hex digest of a file's bytes (the job store caches them by size and mtime)."""


@dataclass(frozen=True)
class Job:
    """One result to make: ``output`` in OUTDIR from these inputs and settings."""

    output: str
    """File name in OUTDIR (unique in the batch)."""
    content: str
    styles: tuple[str, ...]
    """Paths or built-in example names; ``none`` keeps a mask region unstylized."""
    options: dict[str, Any]
    """Keyword arguments of :func:`painterly.transfer.transfer` (the given ones)."""
    inputs: dict[str, Any] = field(default_factory=dict)
    """Content hashes: ``{"content": sha, "styles": [sha or None]}``, and one per option that
    names a file (``mask``, ``init``, ``weights``: those declared ``names_file``)."""
    settings: str = ""
    """Canonical JSON of every TransferOptions field (preset applied, defaults filled in)."""
    key: str = ""
    """sha256 over ``inputs`` and ``settings``: the same key means the same result."""
    problem: str | None = None
    """Why the job cannot run (an unreadable input, a bad option), in one line."""
    rows: tuple[str, ...] = ()
    """The manifest rows (``manifest.csv:7``) that ask for this job; none for CONTENTS x STYLE."""

    def files(self) -> dict[str, str]:
        """The input files by role: ``content``, ``style0``, ``style1``, ..., then each option
        that names a file (``mask``, ``init``, ``weights``) by its field name."""
        found = {"content": self.content}
        found |= {f"style{i}": s for i, s in enumerate(self.styles) if s != KEEP_CONTENT}
        found |= named_files(TransferOptions, self.options)
        return found


def plan_jobs(contents: Sequence[str], styles: Sequence[str] = (),
              options: dict[str, Any] | None = None, *,
              hasher: FileHasher | None = None,
              outdir: str | os.PathLike | None = None) -> list[Job]:
    """The jobs of a batch. ``contents``: image files, folders, glob patterns or manifests;
    ``styles``: the styles of every content image (a job per pair) and of manifest rows that name
    none; ``options``: TransferOptions fields for every job (a manifest row's override them).
    UserError for a command that cannot start (a bad option, nothing found); an unusable item
    (every manifest row, however alike its neighbours) becomes a job with a ``problem`` instead.
    With ``outdir``, a folder or glob never contributes the batch's own results, and a job whose
    output would replace one of the batch's inputs is a problem."""
    options = dict(options or {})
    common = resolve(TransferOptions, options)
    skip = None if outdir is None else _results_in(Path(outdir))
    style_files = expand_all(list(styles), "style image", skip) if styles else []
    rows: list[ManifestRow] = []
    plain: list[str] = []
    for argument in contents:
        if is_manifest(argument):
            rows.extend(read_manifest(argument))
        else:
            plain.append(argument)
    if plain and not style_files:
        raise OptionError("styles", "needs one or more style images (or a manifest with a "
                                    "style column)")
    if plain:
        try:
            check_style_counts(common.style_blend, common.style_scale, 1)
        except OptionError as error:
            raise OptionError(error.field, f"{error.message} (each content x style job has "
                                           "one style image: several per job need a manifest "
                                           "row)") from None
    for content in expand_all(plain, "content image", skip) if plain else []:
        rows.extend(ManifestRow(content, content, (style,)) for style in style_files)
    if not rows:
        raise UserError("no jobs: the manifest(s) have no rows")
    hasher = hasher or hash_file
    jobs = _named([_job(row, options, tuple(style_files), hasher) for row in rows])
    return _unique(jobs if outdir is None else _guarded(jobs, Path(outdir)))


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _job(row: ManifestRow, common: dict[str, Any], default_styles: tuple[str, ...],
         hasher: FileHasher) -> Job:
    options = common | row.options
    styles = row.styles or default_styles
    job = Job("", row.content, styles, options)
    problem = row.problem
    if problem is None and not styles:
        problem = f"{row.where}: no style image (give the batch's styles or a style column)"
    settings: dict[str, Any] = {}
    if problem is None:
        try:
            validated = resolve(TransferOptions, options)
            check_style_counts(validated.style_blend, validated.style_scale, len(styles))
            settings = dataclasses.asdict(validated)
        except UserError as error:
            problem = _located(row, str(error))
    inputs: dict[str, Any] = {"styles": []}
    for role, name in job.files().items():
        digest = None
        if problem is None:
            digest, problem = _hash_input(name, role, hasher)
            problem = problem and _located(row, problem)
        if role.startswith("style"):
            inputs["styles"].append(digest)
        else:
            inputs[role] = digest
    if KEEP_CONTENT in styles:  # keep the position of each style in the list
        digests = iter(inputs["styles"])
        inputs["styles"] = [None if s == KEEP_CONTENT else next(digests) for s in styles]
    for name in named_files(TransferOptions, settings):
        settings[name] = "file"  # the file's hash is in the inputs: moving it changes nothing
    job = dataclasses.replace(job, inputs=inputs, settings=canonical_json(settings),
                              output=row.output or "",
                              rows=(row.where,) if row.where != row.content else ())
    return _with_problem(job, problem)


def _located(row: ManifestRow, problem: str) -> str:
    """``problem`` with the manifest row's file and line in front (a CONTENTS x STYLE job's
    message names its files already)."""
    return problem if row.where == row.content else f"{row.where}: {problem}"


def _with_problem(job: Job, problem: str | None) -> Job:
    """``job`` with its problem (or none) and the key over its inputs, settings and problem."""
    identity = canonical_json({"inputs": job.inputs, "settings": job.settings, "problem": problem,
                               "paths": None if problem is None else list(job.files().values())})
    return dataclasses.replace(job, problem=problem,
                               key=hashlib.sha256(identity.encode()).hexdigest())


def _results_in(outdir: Path) -> Skip:
    """The batch's own files: its results, store and temporary files directly in ``outdir``."""
    folder = outdir.resolve()
    return lambda path: path.resolve().parent == folder and is_batch_file(path)


def _guarded(jobs: list[Job], outdir: Path) -> list[Job]:
    """The output guard: a job whose result would replace any input of the batch (through a
    manifest's ``output``, ``..``, a link), or whose output name no file can have (several long
    style names), is a problem, never run."""
    inputs = images.input_files(name for job in jobs for name in job.files().values())
    guarded = []
    for job in jobs:
        source = inputs.replaced_by(outdir / job.output)
        trouble = name_problem(job.output) if source is None else \
            f"the output {job.output} is one of the inputs ({source}): the result would " \
            "replace it"
        if trouble is not None and job.problem is None:
            where = f"{job.rows[0]}: " if job.rows else ""
            job = _with_problem(job, f"{where}{trouble}")
        guarded.append(job)
    return guarded


def _hash_input(name: str, role: str, hasher: FileHasher) -> tuple[str | None, str | None]:
    what = "style image" if role.startswith("style") else \
        {"weights": "weights file"}.get(role, f"{role} image")
    path = images.resolve_source(name)
    try:
        problem = file_problem(path)
        if problem is not None:
            raise UserError(f"{what} {problem}: {name}")
        return hasher(path), None
    except OSError as error:
        return None, f"cannot read {what} {name}: {error.strerror or error}"
    except UserError as error:
        return None, str(error)


def _stem(name: str) -> str:
    """A file-name-safe short form of an input's name."""
    stem = Path(name).stem if name != KEEP_CONTENT else KEEP_CONTENT
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:60] or "image"


def _named(jobs: list[Job]) -> list[Job]:
    """Output names: ``CONTENT--STYLE.png`` (``STYLE1+STYLE2`` for several), or the manifest's
    ``output``; where two jobs would share a name, each gets ``-`` and 8 hex digits of a hash of
    its inputs' paths and options, so every name stays the same from run to run."""
    base = []
    for job in jobs:
        if job.output:
            name = job.output if Path(job.output).suffix.lower() == OUTPUT_SUFFIX else \
                job.output + OUTPUT_SUFFIX
        else:
            name = f"{_stem(job.content)}--{'+'.join(_stem(s) for s in job.styles)}{OUTPUT_SUFFIX}"
        base.append(name)
    counts: dict[str, int] = {}
    for name in base:
        counts[name] = counts.get(name, 0) + 1
    named = []
    for job, name in zip(jobs, base, strict=True):
        if counts[name] > 1 and not job.output:
            where = canonical_json([job.content, list(job.styles), job.options,
                                    *([job.problem] if job.problem else [])])
            digest = hashlib.sha256(where.encode()).hexdigest()[:8]
            name = f"{name[:-len(OUTPUT_SUFFIX)]}-{digest}{OUTPUT_SUFFIX}"
        named.append(dataclasses.replace(job, output=name))
    return named


def _unique(jobs: list[Job]) -> list[Job]:
    """The same job listed twice runs once (it keeps both rows); two different jobs asking for
    one manifest ``output`` name is the user's error (a row with a problem differs from every
    other row)."""
    by_name: dict[str, Job] = {}
    for job in jobs:
        other = by_name.get(job.output)
        if other is None:
            by_name[job.output] = job
        elif (other.content, other.styles, other.options, other.problem) != (
                job.content, job.styles, job.options, job.problem):
            raise UserError(f"two different jobs would write {job.output}: give each row its "
                            "own output name")
        else:
            by_name[job.output] = dataclasses.replace(other, rows=other.rows + job.rows)
    return list(by_name.values())
