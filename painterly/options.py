"""Options declared once. A settings dataclass (``TransferOptions``, ``ReconstructionOptions``,
``TrainOptions``) declares each field with :func:`option`: its default, help, allowed values,
bounds, list rules and how the faces show it. From that one declaration come

* raw values to option values (:func:`convert`): command-line text, manifest cells and JSON
  values, the one converter every face uses;
* given options to validated settings (:func:`resolve`): unknown names, implied options (a
  preset), finite numbers, bounds, whole numbers, choices, list lengths, raising
  :class:`OptionError`, which names the field (never a command-line flag);
* which options name files a run reads (:func:`named_files`, from ``names_file=True``): the
  output guard keeps them, batch and Ray workers get their bytes;
* the command line's flags (:mod:`painterly.cli.options`), the web form and the web API's parsing
  (:mod:`painterly.web.options`), and docs/cli.md (generated from the parser).

A new field with :func:`option` appears everywhere with no other edit.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from painterly.errors import UserError

KINDS = ("bool", "int", "float", "text", "names", "numbers", "ints")
"""What a field (or one alternative of a union) holds: ``names`` is a tuple of strings,
``numbers`` of floats, ``ints`` of whole numbers."""


class OptionError(UserError):
    """A bad value of one option. ``field`` is the dataclass field; each face renders it in its
    own words (``--style-weight`` on the command line, the form field on the web page)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field} {message}")
        self.field, self.message = field, message


class UnknownOptionError(OptionError, TypeError):
    """Keywords that are no field of a settings class. A :class:`OptionError` (it names the
    first of them) and, for Python callers passing a wrong keyword, a ``TypeError``."""

    def __init__(self, names: Sequence[str], what: str = ""):
        names = sorted(names)
        super().__init__(names[0], "is not an option")
        self.names = tuple(names)
        self.args = (f"unknown option(s){what}: {', '.join(names)}",)


@dataclass(frozen=True)
class Spec:
    """How one option is checked and shown (the field's metadata)."""

    help: str
    choices: tuple[str, ...] = ()
    """Allowed text values (for ``names``: allowed items)."""
    free_text: str | None = None
    """Besides the choices, any text is accepted on the command line, described thus (e.g.
    ``PATH of an image``); the web page accepts only the choices."""
    low: float | None = None
    high: float | None = None
    """Inclusive bounds of a number (of each number of a list)."""
    below: float | None = None
    """Exclusive upper bound (the value must be smaller)."""
    positive: bool = False
    """A number that must be > 0 (with ``low`` unset)."""
    special: float | None = None
    """One value allowed outside the bounds, with a meaning of its own (``tile_size`` 0)."""
    min_items: int = 0
    """Fewest items of a list."""
    same_length_as: str | None = None
    """A list must have one value per item of this other list field."""
    flag: str | None = None
    """Command-line flag when not ``--field-name``."""
    aliases: tuple[str, ...] = ()
    metavar: str | None = None
    label: str | None = None
    """Web form label (default: the field name in words)."""
    main: bool = False
    """Shown outside the web page's "advanced" section."""
    web: bool = True
    """False: never set from the web (names files or hardware of the server)."""
    log: bool = False
    """A factor best varied on a log scale (the page's slider)."""
    control: str | None = None
    """The web page's control when not the generic one for the kind (e.g. ``slider``)."""
    names_file: bool = False
    """Text outside the choices is the path of a file the run reads: an output must never
    replace it, and workers on other machines are sent its bytes (:func:`named_files`)."""


def option(default: Any, help: str, **spec: Any) -> Any:
    """A dataclass field with its :class:`Spec`: ``size: int = option(512, "long side ...",
    low=16, high=8192)``."""
    return dataclasses.field(default=default, metadata={"spec": Spec(help=help, **spec)})


def same_as(options_class: type, name: str) -> Any:
    """The declaration of another settings class's field, for a class that takes it as it is
    (``ray: str | None = same_as(WorkerOptions, "ray")``): declared once, one help, one rule."""
    declared = next(item for item in dataclasses.fields(options_class) if item.name == name)
    return dataclasses.field(default=declared.default, metadata=declared.metadata)


@dataclass(frozen=True)
class Field:
    """A declared option: name, default, kinds (alternatives, in order), optional, spec."""

    name: str
    default: Any
    kinds: tuple[str, ...]
    optional: bool
    spec: Spec
    length: int | None = None
    """Exact number of items of a fixed-length tuple (``tuple[int, int]``: 2)."""

    @property
    def flag(self) -> str:
        return self.spec.flag or "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.spec.label or self.name.replace("_", " ").capitalize()

    @property
    def kind(self) -> str:
        """The main kind (that of the default, else the first alternative)."""
        return _value_kind(self.default, self.kinds) or self.kinds[0]


def _kinds_of(annotation: Any) -> tuple[tuple[str, ...], bool, int | None]:
    """(kinds, optional, fixed length) of a type annotation."""
    alternatives = typing.get_args(annotation) if isinstance(
        annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union \
        else (annotation,)
    kinds, optional, length = [], False, None
    for alternative in alternatives:
        if alternative is type(None):
            optional = True
        elif alternative is bool:
            kinds.append("bool")
        elif alternative is int:
            kinds.append("int")
        elif alternative is float:
            kinds.append("float")
        elif alternative is str:
            kinds.append("text")
        elif typing.get_origin(alternative) is tuple:
            items = typing.get_args(alternative)
            item = items[0]
            if len(items) != 2 or items[1] is not Ellipsis:
                length = len(items)
            kinds.append({str: "names", float: "numbers", int: "ints"}[item])
        else:
            raise TypeError(f"option type {alternative!r} is not supported")
    return tuple(kinds), optional, length


@functools.cache
def fields_of(options_class: type) -> tuple[Field, ...]:
    """The declared options of a settings dataclass, in order."""
    hints = typing.get_type_hints(options_class)
    declared = []
    for item in dataclasses.fields(options_class):
        spec = item.metadata.get("spec")
        if spec is None:
            raise TypeError(f"{options_class.__name__}.{item.name} is not declared with option()")
        kinds, optional, length = _kinds_of(hints[item.name])
        declared.append(Field(item.name, item.default, kinds, optional, spec, length))
    return tuple(declared)


def field_named(options_class: type, name: str) -> Field:
    for item in fields_of(options_class):
        if item.name == name:
            return item
    raise KeyError(name)


def _value_kind(value: Any, kinds: Sequence[str]) -> str | None:
    """Which of ``kinds`` a Python value is, or None."""
    if isinstance(value, bool):
        return "bool" if "bool" in kinds else None
    if isinstance(value, int):
        return next((k for k in ("int", "float") if k in kinds), None)
    if isinstance(value, float):
        return "float" if "float" in kinds else None
    if isinstance(value, str):
        return "text" if "text" in kinds else None
    if isinstance(value, (tuple, list)):
        if all(isinstance(v, str) for v in value) and "names" in kinds:
            return "names"
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if numeric and all(float(v).is_integer() for v in value) and "ints" in kinds:
            return "ints"
        if numeric and "numbers" in kinds:
            return "numbers"
    return None


def _describe_kinds(item: Field) -> str:
    words = {"bool": "true or false", "int": "a whole number", "float": "a number",
             "text": "text", "names": "a list of names", "numbers": "a list of numbers",
             "ints": "a list of whole numbers"}
    return " or ".join(words[k] for k in item.kinds)


def _bounds_text(spec: Spec) -> str:
    if spec.below is not None:
        text = f"at least {spec.low:g} and below {spec.below:g}"
    elif spec.positive and spec.high is not None:
        text = f"above 0 and at most {spec.high:g}"
    elif spec.low is not None and spec.high is not None:
        text = f"between {spec.low:g} and {spec.high:g}"
    elif spec.low is not None:
        text = f"at least {spec.low:g}"
    elif spec.high is not None:
        text = f"at most {spec.high:g}"
    else:
        text = "a number > 0"
    return text if spec.special is None else f"{spec.special:g} or {text}"


WHOLE_LIMIT = 2**63
"""Whole-number options stay within a signed 64-bit integer."""


def _check_number(item: Field, value: float, whole: bool) -> None:
    spec = item.spec
    if not math.isfinite(value):
        raise OptionError(item.name, f"must be a finite number, got {value}")
    if whole and value != int(value):
        raise OptionError(item.name, f"must be a whole number, got {value}")
    if spec.special is not None and value == spec.special:
        return
    if ((spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high)
            or (spec.below is not None and value >= spec.below)
            or (spec.positive and value <= 0)):
        raise OptionError(item.name, f"must be {_bounds_text(spec)}, got {value:g}")
    if whole and abs(value) >= WHOLE_LIMIT:  # beyond what torch and NumPy take as integers
        raise OptionError(item.name, f"must be a whole number below 2^63 in size, got {value:g}")


def check_value(item: Field, value: Any, options: Any = None) -> None:
    """Raise OptionError if ``value`` is not allowed for ``item`` (``options``: the whole
    settings object, for rules between fields)."""
    spec = item.spec
    if value is None:
        if not item.optional:
            raise OptionError(item.name, "needs a value")
        return
    kind = _value_kind(value, item.kinds)
    if kind is None:
        raise OptionError(item.name, f"must be {_describe_kinds(item)}, got {value!r}")
    if kind == "bool":
        return
    if kind in ("int", "float"):
        _check_number(item, value, whole=kind == "int")
    elif kind == "text":
        if spec.choices and value not in spec.choices and spec.free_text is None:
            raise OptionError(item.name, f"must be one of {', '.join(spec.choices)}, got "
                                         f"'{value}'")
    elif kind == "names":
        unknown = [v for v in value if spec.choices and v not in spec.choices]
        if unknown:
            raise OptionError(item.name, f"has unknown value(s) {', '.join(unknown)}: choose "
                                         f"from {', '.join(spec.choices)}")
    else:  # numbers, ints
        for number in value:
            _check_number(item, number, whole=kind == "ints")
    if kind in ("names", "numbers", "ints"):
        if len(value) < spec.min_items:
            raise OptionError(item.name, f"needs at least {spec.min_items} value(s)")
        if item.length is not None and len(value) != item.length:
            raise OptionError(item.name, f"needs exactly {item.length} values, got {len(value)}")
        if spec.same_length_as is not None and options is not None:
            other = getattr(options, spec.same_length_as)
            if len(value) != len(other):
                raise OptionError(item.name, f"has {len(value)} values for {len(other)} "
                                             f"{spec.same_length_as.replace('_', ' ')}")


def validate(options: Any) -> Any:
    """Check every field of a settings object against its declaration; returns it, with whole
    numbers given for number fields made floats (a 30-digit integer would overflow torch)."""
    for item in fields_of(type(options)):
        value = getattr(options, item.name)
        check_value(item, value, options)
        if "float" in item.kinds and isinstance(value, int) and not isinstance(value, bool):
            setattr(options, item.name, float(value))
    return options


def check_known(options_class: type, given: typing.Mapping[str, Any], what: str = "") -> None:
    """:class:`UnknownOptionError` (also a TypeError) for keywords that are not fields of
    ``options_class``; ``what`` follows "unknown option(s)" in the message."""
    unknown = set(given) - {item.name for item in fields_of(options_class)}
    if unknown:
        raise UnknownOptionError(sorted(unknown), what)


def resolve(options_class: type, given: typing.Mapping[str, Any], what: str = "") -> Any:
    """Given options (keywords, only those set) -> the validated settings object: unknown
    names refused, the options they imply added (``options_class.implied(given)`` where the class
    has it: a preset's settings), then every field checked against its declaration and the
    class's rules between fields (its ``validated()``). Raises :class:`OptionError` naming the
    field; the one path from given options to settings for every product and face."""
    check_known(options_class, given, what)
    implied = getattr(options_class, "implied", None)
    settings = options_class(**(dict(given) if implied is None else implied(dict(given))))
    checked = getattr(settings, "validated", None)
    return validate(settings) if checked is None else checked()


def file_fields(options_class: type) -> tuple[str, ...]:
    """The fields of ``options_class`` declared ``names_file``, in order."""
    return tuple(item.name for item in fields_of(options_class) if item.spec.names_file)


def named_files(options_class: type, given: typing.Mapping[str, Any]) -> dict[str, str]:
    """The given options that name a file the run reads (declared ``names_file``, set to text
    that is not one of the field's choices), by field name, in declaration order."""
    found = {}
    for item in fields_of(options_class):
        value = given.get(item.name)
        if item.spec.names_file and isinstance(value, str) and value not in item.spec.choices:
            found[item.name] = value
    return found


LIST_KINDS = ("names", "numbers", "ints")
NONE_WORD = "none"
"""In text (a command-line value, a manifest cell), an optional option's "off"."""


def convert(item: Field, raw: Any, *, parse_text: bool = True, paths: bool = True) -> Any:
    """A raw value (command-line text, a manifest cell, a JSON value) -> a value of one of the
    field's kinds; the one converter of every face. Bounds and choices are :func:`validate`'s.

    ``parse_text``: text may spell a number, ``true``/``false``, a comma-separated list or
    ``none`` (an optional option off), as on the command line and in manifests; else text is
    only ever text (the JSON API, whose numbers and lists are JSON's). ``paths=False``: text must
    be one of the choices where there are choices, and never looks like a file path (values
    from the web). Raises :class:`OptionError` naming the field when the value fits none of the
    field's kinds."""
    if raw is None:
        if item.optional:
            return None
        raise OptionError(item.name, "needs a value")
    if isinstance(raw, str):
        value = _from_text(item, raw) if parse_text else _MISMATCH
        if value is _MISMATCH and "text" in item.kinds:
            value = raw
        if isinstance(value, str) and not paths:
            _check_web_text(item, value)
    elif isinstance(raw, bool):
        value = raw if "bool" in item.kinds else _MISMATCH
    elif isinstance(raw, (int, float)):
        value = _from_number(item, raw)
    elif isinstance(raw, (list, tuple)):
        value = _from_list(item, list(raw), parse_text)
    else:
        value = _MISMATCH
    if value is _MISMATCH:
        raise OptionError(item.name, f"must be {_describe_kinds(item)}, got {raw!r}")
    return value


_MISMATCH = object()


def _from_number(item: Field, number: float) -> Any:
    if "int" in item.kinds:
        if not math.isfinite(number) or number != int(number):
            if "float" not in item.kinds:
                raise OptionError(item.name, f"must be a whole number, got {number!r}")
        else:
            return int(number)
    if "float" in item.kinds:
        return float(number)
    list_kind = next((k for k in item.kinds if k in ("numbers", "ints")), None)
    if list_kind is not None:
        return _from_list(item, [number], parse_text=False)
    return _MISMATCH


def _parse_number(text: str, whole: bool) -> Any:
    """A number spelt in text, or _MISMATCH; whole: an int (``3.0`` is 3)."""
    text = text.strip()
    try:
        return int(text) if whole else float(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return _MISMATCH
    if whole:
        return int(number) if math.isfinite(number) and number.is_integer() else _MISMATCH
    return number


def _from_text(item: Field, text: str) -> Any:
    """Text as the field's value by its kinds (text last, so that ``0.5,1`` is numbers where a
    field takes numbers or a name), or _MISMATCH."""
    kinds, choices = item.kinds, item.spec.choices
    if item.optional and text.strip().lower() == NONE_WORD and NONE_WORD not in choices:
        return None
    if "text" in kinds and text in choices:
        return text
    for kind in sorted(kinds, key=lambda k: k == "text"):
        if kind == "bool":
            value = {"true": True, "false": False}.get(text.strip().lower(), _MISMATCH)
        elif kind in ("int", "float"):
            value = _parse_number(text, whole=kind == "int")
        elif kind in LIST_KINDS:
            parts = [part.strip() for part in text.split(",") if part.strip()]
            value = _from_list(item, parts, parse_text=True, kind=kind) if parts else _MISMATCH
            if value is not _MISMATCH and len(value) == 1 and ("float" in kinds or "int" in kinds):
                return value[0]
        else:
            value = text
        if value is not _MISMATCH:
            return value
    return _MISMATCH


def _from_list(item: Field, items: list, parse_text: bool, kind: str | None = None) -> Any:
    """A list as a tuple of the field's list kind (``kind``, else the first that fits), or
    _MISMATCH."""
    for candidate in (kind,) if kind else ("numbers", "ints", "names"):
        if candidate not in item.kinds:
            continue
        if candidate == "names":
            if all(isinstance(v, str) for v in items):
                return tuple(items)
            continue
        whole = candidate == "ints"
        numbers = []
        for v in items:
            if isinstance(v, str) and parse_text:
                v = _parse_number(v, whole)
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or (
                    whole and (not math.isfinite(v) or v != int(v))):
                v = _MISMATCH
            if v is _MISMATCH:
                break
            numbers.append(int(v) if whole else float(v))
        else:
            return tuple(numbers)
    return _MISMATCH


def _check_web_text(item: Field, text: str) -> None:
    if "/" in text or "\\" in text or text.startswith("."):
        raise OptionError(item.name, "must not be a file path (file paths are not accepted here)")
    if item.spec.choices and text not in item.spec.choices:
        raise OptionError(item.name, f"must be one of {', '.join(item.spec.choices)}")


def bounds_text(spec: Spec) -> str:
    """The allowed range in a few characters: ``16..8192``, ``> 0``, ``>= 1``, ``0 or >= 64``;
    empty when unbounded."""
    if spec.low is not None and spec.high is not None:
        text = f"{spec.low:g}..{spec.high:g}"
    elif spec.low is not None and spec.below is not None:
        text = f">= {spec.low:g} and < {spec.below:g}"
    elif spec.low is not None:
        text = f">= {spec.low:g}"
    elif spec.positive:
        text = "> 0" if spec.high is None else f"> 0 and <= {spec.high:g}"
    else:
        return ""
    return text if spec.special is None else f"{spec.special:g} or {text}"


def describe_default(value: Any) -> str:
    """A default as a user writes it: 1e3 -> '1000', ('a', 'b') -> 'a,b', None -> 'off'."""
    if value is None:
        return "off"
    if isinstance(value, (tuple, list)):
        return ",".join(describe_default(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
