"""Strict JSON parsing: web request bodies, data-folder records and batch manifests are parsed with
limits (nesting depth, digits of an integer, finite numbers only) so that a hostile or damaged
document is a clean refusal (:class:`BadJSON`), never a RecursionError or an OverflowError deep
inside. (Writing is :func:`painterly.io.files.write_json`, strict too.)"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted."""
MAX_INT_DIGITS = 20
"""Longest integer literal accepted (20 digits hold any 64-bit integer)."""


class BadJSON(ValueError):
    """Not JSON, or JSON outside the limits; the message says which, in one line."""


def _reject_constant(name: str) -> Any:
    raise BadJSON(f"{name} is not a number JSON can carry: give a finite number")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadJSON(f"an integer of {len(text.lstrip('-'))} digits is too large "
                      f"(at most {MAX_INT_DIGITS} digits)")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJSON(f"{text[:24]} is too large for a number (finite numbers only)")
    return value


def too_deep(text: str) -> bool:
    """True when arrays and objects in ``text`` nest more than :data:`MAX_DEPTH` levels
    (brackets inside strings not counted)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:  # cannot be deeper: skip the scan
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def loads(data: bytes | str) -> Any:
    """Parse strict JSON: UTF-8, nesting at most :data:`MAX_DEPTH`, integers of at most
    :data:`MAX_INT_DIGITS` digits, no NaN/Infinity (not even as 1e999); BadJSON otherwise."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    except UnicodeDecodeError:
        raise BadJSON("not UTF-8 text") from None
    if too_deep(text):
        raise BadJSON(f"nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int,
                          parse_float=_parse_float)
    except BadJSON:
        raise
    except (ValueError, RecursionError) as error:
        raise BadJSON(f"not valid JSON ({str(error).splitlines()[0][:80]})") from None


def read(path: Path) -> Any:
    """The strict JSON in ``path``; OSError if unreadable, BadJSON if not strict JSON."""
    return loads(path.read_bytes())
