"""Manifests: one job per row, in CSV (a header row naming the columns) or JSON lines (one object
per line). Columns / keys: ``content`` (required), ``style`` or ``styles`` (several separated by
``;`` in CSV, a list in JSON; the command's ``--style`` when empty), ``output`` (the result's file
name; default: made from the inputs' names), and any option of ``painterly transfer``
(``style_weight`` or ``style-weight``), which overrides the command's for that row. Relative paths
are relative to the manifest's folder."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from painterly.errors import UserError
from painterly.examples import example_names
from painterly.io import jsonio
from painterly.io.files import name_problem
from painterly.options import convert, field_named, fields_of
from painterly.style.options import TransferOptions

JOB_COLUMNS = ("content", "style", "styles", "output")
OUTPUT_SUFFIX = ".png"
"""Every result is a PNG; an ``output`` without the suffix gets it."""
STYLE_SEPARATOR = ";"


@dataclass(frozen=True)
class ManifestRow:
    """One row: the job it asks for, or the one-line reason it is unusable."""

    where: str
    """``manifest.csv:7``: the row's file and line, for messages."""
    content: str
    styles: tuple[str, ...]
    output: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def read_manifest(path: str | Path) -> list[ManifestRow]:
    """The rows of a CSV or JSON-lines manifest; UserError for a file that is not one (an unknown
    column, no ``content`` column, unreadable)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read manifest {path}: {error}") from None
    raw = _json_lines(text, path) if path.suffix.lower() in (".jsonl", ".ndjson") else \
        _csv_rows(text, path)
    return [_row(where, values, path.parent) for where, values in raw]


def _csv_rows(text: str, path: Path) -> list[tuple[str, dict]]:
    reader = csv.DictReader(text.splitlines())
    columns = [name.strip() for name in reader.fieldnames or []]
    _check_columns(columns, path)
    rows = []
    for index, values in enumerate(reader, start=2):
        cleaned = {key.strip(): (value or "").strip() for key, value in values.items()
                   if key is not None}
        if not any(cleaned.values()):
            continue
        if None in values:
            cleaned["__extra__"] = "more cells than columns"
        rows.append((f"{path.name}:{index}", {k: v for k, v in cleaned.items() if v != ""}))
    return rows


def _json_lines(text: str, path: Path) -> list[tuple[str, dict]]:
    rows = []
    for index, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{index}"
        try:
            values = jsonio.loads(line)
        except jsonio.BadJSON as error:
            rows.append((where, {"__extra__": f"not JSON: {error}"}))
            continue
        if not isinstance(values, dict):
            rows.append((where, {"__extra__": "not a JSON object"}))
            continue
        _check_columns(list(values), path, where)
        rows.append((where, values))
    return rows


def _check_columns(columns: list[str], path: Path, where: str | None = None) -> None:
    known = {item.name for item in fields_of(TransferOptions)}
    unknown = [c for c in columns if c not in JOB_COLUMNS and _option_name(c) not in known]
    if unknown:
        raise UserError(f"manifest {where or path}: unknown column(s) {', '.join(unknown)} "
                        f"(expected {', '.join(JOB_COLUMNS)} or options of painterly transfer)")
    if where is None and "content" not in columns:
        raise UserError(f"manifest {path} has no 'content' column")


def _option_name(column: str) -> str:
    return column.strip().replace("-", "_")


def _row(where: str, values: dict, folder: Path) -> ManifestRow:
    problem = values.pop("__extra__", None)
    content = values.get("content")
    if problem is None and not isinstance(content, str):
        problem = "no content image"
    styles: tuple[str, ...] = ()
    raw_styles = values.get("styles", values.get("style"))
    if isinstance(raw_styles, str):
        styles = tuple(s.strip() for s in raw_styles.split(STYLE_SEPARATOR) if s.strip())
    elif isinstance(raw_styles, list) and all(isinstance(s, str) for s in raw_styles):
        styles = tuple(raw_styles)
    elif raw_styles is not None and problem is None:
        problem = "style must be a name or a list of names"
    options: dict[str, Any] = {}
    for column, value in values.items():
        if column in JOB_COLUMNS:
            continue
        name = _option_name(column)
        try:
            options[name] = convert(field_named(TransferOptions, name), value)
        except UserError as error:
            problem = problem or str(error)
    output = values.get("output")
    if output is not None and (not isinstance(output, str) or Path(output).name != output
                               or output.startswith(".")):
        problem = problem or "output must be a plain file name (no folders)"
        output = None
    elif output is not None and (trouble := name_problem(output + OUTPUT_SUFFIX)):
        problem = problem or f"output: {trouble}"
        output = None
    return ManifestRow(where, _resolve(content, folder) if isinstance(content, str) else "",
                       tuple(_resolve(s, folder) for s in styles), output, options,
                       None if problem is None else f"{where}: {problem}")


def _resolve(name: str, folder: Path) -> str:
    """A path relative to the manifest's folder (absolute paths and example names as given)."""
    if name in example_names() or name == "none" or Path(name).expanduser().is_absolute():
        return name
    return str(folder / name)
